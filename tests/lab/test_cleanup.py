"""Every failure path removes the lab: a build that fails half-way (services already running,
/etc/netns files written) leaves no namespace, no /etc/netns folder and no process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.lab import netns, network, services
from tests.netns import Lab, needs_root, running_daemons, sh, wait_for

pytestmark = needs_root


def test_a_build_failing_half_way_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = running_daemons()

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the HGW's radvd would not start")

    real = services.start_radvd
    monkeypatch.setattr(
        services,
        "start_radvd",
        lambda lab, node, *a: broken() if node == "hgw" else real(lab, node, *a),
    )
    lab = Lab()
    with pytest.raises(RuntimeError, match="radvd"), lab:
        network.build_network(lab, tmp_path, network.Topology(hgw="on"))
    names = sh("ip", "netns", "list").stdout
    assert lab.prefix not in names
    netns = Path("/etc/netns")
    assert not netns.exists() or not [p for p in netns.iterdir() if p.name.startswith(lab.prefix)]
    assert running_daemons() - before == set()
    assert (tmp_path / "kea.log").exists()  # it did get as far as the access network


def test_a_process_left_in_a_deleted_namespace_is_found() -> None:
    """What the scenario tests rely on: a lab program that outlives its namespace's name is
    counted; one in a namespace that still has a name (another lab) is not."""
    name = f"mk-leak-{os.getpid()}"
    sh("ip", "netns", "add", name)
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            name,
            "python3",
            "-c",
            "import time; time.sleep(60)",
            "mapekit-leak-test",
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        wait_for(lambda: b"mapekit-leak-test" in cmdline.read_bytes(), what="the process")
        assert proc.pid not in running_daemons()  # its namespace still has a name
        sh("ip", "netns", "del", name)
        assert proc.pid in running_daemons()  # now it keeps a deleted namespace alive
    finally:
        proc.kill()
        proc.wait()
        sh("ip", "netns", "del", name, check=False)


OWNER = """
import sys, time
from mapekit.lab.netns import Lab
lab = Lab()
lab.add("a", "b")
lab.link("a", "va", "b", "vb")
child = lab.start("a", "sleep", "300")
print(lab.prefix, child.pid, flush=True)
time.sleep(300)
"""


def _dead_run(owners: Path) -> tuple[str, int]:
    """A process that builds a lab and is killed with SIGKILL (nothing of its own runs
    after that); its lab's prefix and the pid of the program it left running in it."""
    env = {**os.environ, "MAPEKIT_LAB_OWNERS": str(owners)}
    owner = subprocess.Popen([sys.executable, "-c", OWNER], env=env, text=True,
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip
    assert owner.stdout is not None
    prefix, pid = owner.stdout.readline().split()
    assert (owners / f"{prefix}.json").exists()  # recorded before it made anything
    owner.kill()
    owner.wait()
    return prefix, int(pid)


def _namespaces(prefix: str) -> list[str]:
    return [n.split()[0] for n in sh("ip", "netns", "list").stdout.splitlines() if prefix in n]


@pytest.fixture
def owners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of owner records of the test's own; whatever a failing test leaves in it
    is swept at the end."""
    folder = tmp_path / "owners"
    monkeypatch.setattr(netns, "OWNERS", folder)
    yield folder
    for prefix, names in netns.lab_namespaces().items():
        if (folder / f"{prefix}.json").exists():  # still recorded: the test failed
            for name in names:
                netns._remove_namespace(name)


def test_the_lab_of_a_killed_run_is_swept_and_nothing_else(owners: Path) -> None:
    unowned = f"mk{os.getpid() % 0xFFFFFF:06x}-x"  # named like a lab, recorded by nobody
    sh("ip", "netns", "add", unowned)
    try:
        with Lab() as live:
            live.add("c")  # a lab whose owner runs: this test
            dead, orphan = _dead_run(owners)
            assert len(_namespaces(dead)) == 2 and netns._alive(orphan)  # left behind
            swept = subprocess.run(
                [*netns.MAPE, "lab", "sweep", "--json"],
                env={**os.environ, "MAPEKIT_LAB_OWNERS": str(owners)},
                capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            doc = json.loads(swept.stdout)
            assert doc["deleted"] == {dead: [f"{dead}-a", f"{dead}-b"]}
            assert doc["killed"] >= 1 and not netns._alive(orphan)
            assert _namespaces(dead) == [] and not (owners / f"{dead}.json").exists()
            assert _namespaces(live.prefix) == [live.ns("c")]  # its owner runs: kept
            assert (owners / f"{live.prefix}.json").exists()
            assert doc["unowned"][unowned[:8]] == [unowned] and _namespaces(unowned)
            assert doc["kept_up"] == {}
        assert not (owners / f"{live.prefix}.json").exists()  # removed with the lab
    finally:
        sh("ip", "netns", "delete", unowned, check=False)


def test_the_next_lab_sweeps_a_dead_run_by_itself(owners: Path) -> None:
    dead, orphan = _dead_run(owners)
    with Lab() as lab:
        lab.add("a")
        assert _namespaces(dead) == [] and not netns._alive(orphan)
        assert (owners / f"{lab.prefix}.json").exists()
        assert [p.name for p in owners.glob("*.json")] == [f"{lab.prefix}.json"]


def test_a_lab_left_up_is_handed_over_not_swept(owners: Path) -> None:
    """``mape lab up`` detaches its lab: its owner exits, the lab stays until ``down``."""
    lab = Lab()
    lab.add("a")
    state = lab.detach()
    try:
        swept = netns.sweep_dead_labs()
        assert lab.prefix not in swept.deleted and _namespaces(lab.prefix)
        assert swept.kept_up == {lab.prefix: [lab.ns("a")]} and lab.prefix not in swept.unowned
        text = subprocess.run(
            [*netns.MAPE, "lab", "sweep"], env={**os.environ, "MAPEKIT_LAB_OWNERS": str(owners)},
            capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
        ).stdout  # fmt: skip
        assert f"left {lab.prefix}-* running" in text and "mape lab down" in text
    finally:
        Lab.teardown(state)
    assert _namespaces(lab.prefix) == [] and not (owners / f"{lab.prefix}.json").exists()

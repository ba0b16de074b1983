"""Every failure path removes the lab: a build that fails half-way (services already running,
/etc/netns files written) leaves no namespace, no /etc/netns folder and no process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mapekit.lab import network, services
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

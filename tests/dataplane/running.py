"""What every data-plane gate asserts about the backend it runs: the one asked for is
the one running. For bpf: its programs are attached (and JIT-compiled) where they
belong, and the counters in its maps move with the test's traffic; a silent fallback to
the userspace forwarder fails here."""

from __future__ import annotations

import json
from pathlib import Path

from tests.netns import Lab

BACKENDS = ("userspace", "bpf")
CE_PROGRAMS = {("mape0", "egress"): "mk_ce_egress", ("wan0", "ingress"): "mk_ce_ingress"}


def start_line(log: Path) -> dict[str, object]:
    """The JSON line ``mape tunnel --json`` / ``mape br --json`` printed at start."""
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"role"' in line:
            return dict(json.loads(line))
    raise AssertionError(f"{log}: no start line: {log.read_text()[-500:]}")


def filters(lab: Lab, node: str, device: str, hook: str) -> str:
    return lab.run(node, "tc", "filter", "show", "dev", device, hook).stdout


def assert_programs(lab: Lab, node: str, where: dict[tuple[str, str], str]) -> None:
    """Each (device, hook) has mapekit's program, JIT-compiled, as a tc filter."""
    for (device, hook), program in where.items():
        shown = filters(lab, node, device, hook)
        assert f"name {program} " in shown and "jited" in shown, f"{node} {device}: {shown}"


def assert_running(lab: Lab, work: Path, backend: str, br_devices: tuple[str, ...] = ("ce0",),
                   ces: tuple[str, ...] = ("ce",)) -> None:  # fmt: skip
    """The CE(s) and the BR run ``backend`` (logs ``<node>.log`` in ``work``)."""
    for node in (*ces, "br"):
        assert start_line(work / f"{node}.log")["backend"] == backend
    if backend != "bpf":
        return
    for node in ces:
        assert_programs(lab, node, CE_PROGRAMS)
    assert_programs(lab, "br", {("mapebr0", "egress"): "mk_br_egress"})
    assert_programs(lab, "br", {(d, "ingress"): "mk_br_ingress" for d in br_devices})


def counters(work: Path, name: str) -> dict[str, int]:
    return dict(json.loads((work / f"{name}.json").read_text()))

"""Namespaces for tests (see mapekit.lab.netns), and the marker for tests that need them."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from mapekit.lab.netns import Lab, available, sh, stat_fields, wait_for

needs_root = pytest.mark.skipif(
    available() is not None, reason=f"network namespaces: {available()}"
)

# the programs a lab runs: none may outlive it
DAEMONS = ("dhcpcd", "kea-dhcp6", "dnsmasq", "radvd", "mapekit")


def _live_namespaces() -> set[int]:
    """The network namespaces that still have a name (labs still running), and ours."""
    found = {os.stat("/proc/self/ns/net").st_ino}
    with contextlib.suppress(OSError):
        found |= {entry.stat().st_ino for entry in Path("/run/netns").iterdir()}
    return found


def running_daemons() -> set[int]:
    """Processes of the lab's programs still running in a namespace that was deleted (what
    a lab leaves behind keeps its namespace alive). Processes of other labs running at the
    same time, in namespaces that still have a name, are not counted; zombies are not
    running."""
    live = _live_namespaces()
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            namespace = os.stat(proc / "ns" / "net").st_ino
        except OSError:
            continue
        if namespace in live or stat_fields(stat)[:1] == ["Z"]:
            continue
        if any(d in command for d in DAEMONS):
            found.add(int(proc.name))
    return found


__all__ = ["Lab", "needs_root", "running_daemons", "sh", "wait_for"]

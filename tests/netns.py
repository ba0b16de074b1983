"""Namespaces for tests (see mapekit.lab.netns), and the marker for tests that need them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapekit.lab.netns import Lab, available, sh, wait_for

needs_root = pytest.mark.skipif(
    available() is not None, reason=f"network namespaces: {available()}"
)

# the programs a lab runs: none may outlive it
DAEMONS = ("dhcpcd", "kea-dhcp6", "dnsmasq", "radvd", "mapekit")


def running_daemons() -> set[int]:
    """Processes of the lab's programs now running (zombies are not running)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[0] != "Z" and any(d in command for d in DAEMONS):
            found.add(int(proc.name))
    return found


__all__ = ["Lab", "needs_root", "running_daemons", "sh", "wait_for"]

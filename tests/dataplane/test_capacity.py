"""Acceptance: the NAT spreads connections over the whole port set.

With 200 of the 240 ports (15 blocks of 16) held open to one destination, 60 new
connections to the same destination must all succeed. 40 ports are free, so 20 of the new
connections need a port whose last connection is in TIME_WAIT; the kernel reuses one only
when the new SYN's sequence number is past the old connection's (a coin toss for each).
Searching one 16-port block per connection, the old ruleset failed now and then; the NAT
now searches a contiguous virtual range as large as the set, which the data plane
translates (docs/design.md §6, dataplane/portmap.py). A first-block-only setup stops at 16.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.lab.topology import V6PLUS_LIKE_RULES, mape_path
from tests.dataplane.running import BACKENDS, assert_running, counters, start_line
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

SERVER = """
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(512)
def serve(c, peer):
    c.sendall(f"{peer[0]}:{peer[1]}".encode())
    try:
        while c.recv(100):
            pass
    finally:
        c.close()
while True:
    c, peer = s.accept()
    threading.Thread(target=serve, args=(c, peer), daemon=True).start()
"""
CLIENT = """
import json, socket, sys, time
held, fresh = int(sys.argv[1]), int(sys.argv[2])
keep, ports = [], set()
for _ in range(held):
    c = socket.create_connection(("198.51.100.7", 8080), timeout=3)
    ports.add(int(c.recv(100).decode().rsplit(":", 1)[1])); keep.append(c)
failed = slow = 0
for _ in range(fresh):
    start = time.monotonic()
    try:
        c = socket.create_connection(("198.51.100.7", 8080), timeout=3)
        ports.add(int(c.recv(100).decode().rsplit(":", 1)[1])); c.close()
    except OSError:
        failed += 1
        continue
    if time.monotonic() - start > 0.5:
        slow += 1
print(json.dumps({"held": len(keep), "failed": failed, "slow": slow, "ports": sorted(ports)}))
"""


@pytest.fixture(scope="module", params=BACKENDS)
def lab(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Lab, Path]]:
    work = tmp_path_factory.mktemp(f"capacity-{request.param}")
    with Lab() as lab:
        mape_path(lab, work, V6PLUS_LIKE_RULES, backend=request.param)
        assert_running(lab, work, request.param)
        lab.start("inet", "python3", "-c", SERVER)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="server")
        yield lab, work


def test_200_held_then_60_new_connections_all_succeed(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    nat = {"search": "whole set", "nat_range": [49152, 49391]}  # virtual ports, translated
    assert start_line(work / "ce.log")["nat"] == nat
    result = json.loads(lab_.python("lan", CLIENT, "200", "60", timeout=300))
    assert result["held"] == 200
    assert result["failed"] == 0, result
    ports = result["ports"]
    blocks = {(p - 4096) // 4096 for p in ports}  # offset 4: one block per 4096 ports
    assert len(blocks) == 15  # every block of the set was used
    assert all((p >> 4) & 0xFF == 0x34 and p >= 4096 for p in ports)  # PSID 0x34 only
    wait_for(lambda: counters(work, "ce").get("out", 0) >= 260 * 3, what="the CE's counters")

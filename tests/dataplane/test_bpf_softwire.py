"""The bpf backend carries DS-Lite and IPIP softwires too: plain IPv4-in-IPv6 without a
port set, only the remote may send to us (IPIP: only to our address). Both ends here run
the bpf backend with a softwire plan — the far end stands in for the AFTR (no NAT there:
``inet`` sees the LAN's own address under DS-Lite, the fixed address under IPIP).

    lan 192.168.1.2 ─ ce (B4 2001:db8:12:3400::2) ─ br (far end 2001:db8:ffff::1) ─ inet
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.lab.topology import mape_wire
from tests.dataplane.running import assert_programs
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

B4, FAR = "2001:db8:12:3400::2", "2001:db8:ffff::1"
HOLD = """
import json, signal, sys, threading
from mapekit.dataplane.bpf import BpfBackend
from mapekit.dataplane.plan import Tunnel
from mapekit.dataplane.softwire import SoftwirePlan
doc = json.loads(sys.argv[1])
plan = SoftwirePlan(
    mechanism=doc["mechanism"], wan=doc["wan"],
    tunnel=Tunnel(doc["tunnel"], doc["local"], doc["remote"], 1460),
    ce_address=doc["local"], ipv4_address=doc["ipv4"], ipv4_prefix_len=doc["len"],
    nat=doc["nat"], default_route=doc["default"], fmr_routes=tuple(doc["routes"]),
)
backend = BpfBackend()
backend.up(plan)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
print("up", flush=True)
while not done.wait(0.5):
    with open(doc["stats"] + ".tmp", "w") as out:
        json.dump(backend.counters(), out)
    __import__("os").replace(doc["stats"] + ".tmp", doc["stats"])
backend.down()
"""
WHO = """
import socket
c = socket.create_connection(("198.51.100.7", 8080), timeout=5); print(c.recv(100).decode())
"""
SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""
FORGE = """
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)
s.bind(("2001:db8:100::1", 0))  # not the far end's address
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0,
                 socket.inet_aton("198.51.100.7"), socket.inet_aton(sys.argv[1]))
s.sendto(ip + struct.pack("!HHHH", 53, 40000, 8, 0), ("2001:db8:12:3400::2", 0))
"""


def hold(lab: Lab, node: str, work: Path, **doc: object) -> None:
    stats = work / f"{node}.json"
    lab.start(node, sys.executable, "-c", HOLD, json.dumps({**doc, "stats": str(stats)}),
              log=work / f"{node}.log")  # fmt: skip
    wait_for(stats.exists, what=f"the {node} softwire")


def counters(work: Path, node: str) -> dict[str, int]:
    return dict(json.loads((work / f"{node}.json").read_text()))


@pytest.fixture(params=["dslite", "ipip"])
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Lab, str]]:
    mechanism = request.param
    with Lab() as lab:
        mape_wire(lab)
        lab.run("br", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        lab.run("inet", "ip", "route", "add", "192.168.1.0/24", "via", "198.51.100.1")
        nat = mechanism == "ipip"
        ipv4 = "192.0.2.50" if nat else "192.0.0.2"  # IPIP's fixed address, the B4's
        hold(lab, "ce", tmp_path, mechanism=mechanism, wan="wan0", tunnel="mape0", local=B4,
             remote=FAR, ipv4=ipv4, len=32, nat=nat, default=True, routes=[])  # fmt: skip
        back = "192.0.2.50/32" if nat else "192.168.1.0/24"
        hold(lab, "br", tmp_path, mechanism="dslite", wan="ce0", tunnel="far0", local=FAR,
             remote=B4, ipv4="192.0.0.1", len=32, nat=False, default=False,
             routes=[back])  # fmt: skip
        lab.start("inet", sys.executable, "-c", SERVER)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="server")
        yield lab, tmp_path, mechanism  # type: ignore[misc]


def test_a_softwire_through_the_bpf_backend(lab: tuple[Lab, Path, str]) -> None:
    lab_, work, mechanism = lab
    assert_programs(lab_, "ce", {("mape0", "egress"): "mk_ce_egress",
                                 ("wan0", "ingress"): "mk_ce_ingress"})  # fmt: skip
    seen = lab_.python("lan", WHO).strip()
    # DS-Lite: no NAT at the B4 (the AFTR would NAT); IPIP: NATed to the fixed address
    assert seen.startswith("192.0.2.50:" if mechanism == "ipip" else "192.168.1.2:"), seen
    wait_for(lambda: counters(work, "ce").get("in", 0) >= 3, what="the CE's counters")
    wait_for(lambda: counters(work, "br").get("in", 0) >= 3, what="the far end's counters")
    # from an address that is not the far end's, to an address the CE would accept
    lab_.python("br", FORGE, "192.0.2.50" if mechanism == "ipip" else "192.168.1.2")
    wait_for(lambda: counters(work, "ce").get("in_drop_spoofed_source", 0) >= 1,
             what="the forged packet dropped")  # fmt: skip
    for proc in lab_.procs[:2]:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    assert "mk_ce" not in lab_.run("ce", "tc", "filter", "show", "dev", "wan0", "ingress").stdout

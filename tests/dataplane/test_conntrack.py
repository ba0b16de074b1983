"""conntrack through netlink, in a namespace with a real NAT: the NATed flows of an address
are found and forgotten (what a NAT mode change relies on), and others are left alone."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

# in the router: the flows NATed to each address, then forget one address's
PROBE = """
import json, sys
from mapekit.dataplane.conntrack import dump_flows, forget_flows
action, ipv4 = sys.argv[1:]
if action == "forget":
    print(forget_flows(ipv4))
else:
    print(json.dumps(sorted((f.proto, f.sport, f.port) for f in dump_flows(ipv4))))
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    """host 10.9.0.2 ─ router (NAT: UDP to 192.0.2.1, TCP to 192.0.2.3) ─ far 192.0.2.2"""
    with Lab() as lab_:
        lab_.add("host", "router", "far")
        lab_.link("host", "eth0", "router", "lan0")
        lab_.link("router", "wan0", "far", "eth0")
        lab_.run("host", "ip", "addr", "add", "10.9.0.2/24", "dev", "eth0")
        lab_.run("host", "ip", "route", "add", "default", "via", "10.9.0.1")
        lab_.run("router", "ip", "addr", "add", "10.9.0.1/24", "dev", "lan0")
        lab_.run("router", "ip", "addr", "add", "192.0.2.1/24", "dev", "wan0")
        lab_.run("router", "ip", "addr", "add", "192.0.2.3/24", "dev", "wan0")
        lab_.run("router", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        lab_.run("far", "ip", "addr", "add", "192.0.2.2/24", "dev", "eth0")
        ruleset = (
            "table ip probe {\n chain post {\n  type nat hook postrouting priority 100;\n"
            '  oifname "wan0" udp dport 9 snat to 192.0.2.1\n'
            '  oifname "wan0" tcp dport 9 snat to 192.0.2.3\n }\n}\n'
        )
        (tmp_path / "nat.nft").write_text(ruleset)
        lab_.run("router", "nft", "-f", str(tmp_path / "nat.nft"))
        yield lab_


def flows(lab: Lab, ipv4: str) -> list[list[object]]:
    return json.loads(lab.python("router", PROBE, "dump", ipv4))  # type: ignore[no-any-return]


LISTEN = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.2", 9)); s.listen()
connection, _ = s.accept()
time.sleep(60)
"""
HOLD = """
import socket, time
t = socket.create_connection(("192.0.2.2", 9), source_address=("10.9.0.2", 41000))
print("held", flush=True)
time.sleep(60)
"""
SEND = """
import socket
for port in range(40000, 40005):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.9.0.2", port)); s.sendto(b"x", ("192.0.2.2", 9))
"""


def test_the_nated_flows_of_one_address_are_forgotten(lab: Lab, tmp_path: Path) -> None:
    lab.start("far", sys.executable, "-c", LISTEN)
    wait_for(lambda: ":9 " in lab.run("far", "ss", "-ltn").stdout, what="the listener")
    lab.start("host", sys.executable, "-c", HOLD, log=tmp_path / "hold.log")
    wait_for(lambda: "held" in (tmp_path / "hold.log").read_text(), what="the connection")
    lab.python("host", SEND)
    udp = flows(lab, "192.0.2.1")
    assert [(proto, lan) for proto, lan, _ in udp] == [("udp", p) for p in range(40000, 40005)]
    tcp = flows(lab, "192.0.2.3")
    assert [(proto, lan) for proto, lan, _ in tcp] == [("tcp", 41000)]
    assert lab.python("router", PROBE, "forget", "192.0.2.1").strip() == "5"
    assert flows(lab, "192.0.2.1") == []  # gone from the kernel
    assert flows(lab, "192.0.2.3") == tcp  # another address's flow: untouched
    assert lab.python("router", PROBE, "forget", "192.0.2.1").strip() == "0"
    assert lab.python("router", PROBE, "forget", "192.0.2.3").strip() == "1"
    assert flows(lab, "192.0.2.3") == []

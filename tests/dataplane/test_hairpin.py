"""CE-to-CE traffic through the BR (hairpinning), with two CEs, for each backend
(userspace forwarder, tc-BPF).

    lan ─ ce1 (192.0.2.18, PSID 0x34) ─┐
                                       br ─ (no IPv4 host needed)
               ce2 (192.0.2.19, PSID 0x35) ─┘

A LAN host behind ce1 sends UDP to ce2's shared address and a port of ce2's set; the BR
checks ce1's source, sends the packet on to ce2, and the answer comes back the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.lab.topology import LAB_RULES
from tests.dataplane.running import BACKENDS, assert_running
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

LISTEN = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("192.0.2.19", 1236))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048); s.sendto(f"{peer[0]}:{peer[1]}".encode(), peer)
"""
SEND = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
for _ in range(5):
    s.sendto(b"hello", ("192.0.2.19", 1236))
    try:
        print(s.recv(100).decode()); break
    except TimeoutError:
        continue
"""


@pytest.fixture(params=BACKENDS)
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Lab, Path]]:
    backend = request.param
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(LAB_RULES))
    with Lab() as lab:
        lab.add("lan", "ce1", "ce2", "br")
        lab.link("lan", "eth0", "ce1", "lan0")
        lab.link("ce1", "wan0", "br", "ce1")
        lab.link("ce2", "wan0", "br", "ce2")
        for node, args in [
            ("lan", ("ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")),
            ("lan", ("ip", "route", "add", "default", "via", "192.168.1.1")),
            ("ce1", ("ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")),
            ("ce1", ("ip", "-6", "addr", "add", "2001:db8:100::2/64", "dev", "wan0", "nodad")),
            ("ce1", ("ip", "-6", "route", "add", "default", "via", "2001:db8:100::1")),
            ("ce2", ("ip", "-6", "addr", "add", "2001:db8:101::2/64", "dev", "wan0", "nodad")),
            ("ce2", ("ip", "-6", "route", "add", "default", "via", "2001:db8:101::1")),
            ("br", ("ip", "-6", "addr", "add", "2001:db8:100::1/64", "dev", "ce1", "nodad")),
            ("br", ("ip", "-6", "addr", "add", "2001:db8:101::1/64", "dev", "ce2", "nodad")),
            ("br", ("ip", "-6", "route", "add", "2001:db8:12::/48", "via", "2001:db8:100::2")),
            ("br", ("ip", "-6", "route", "add", "2001:db8:13::/48", "via", "2001:db8:101::2")),
        ]:
            lab.run(node, *args)
        lab.mape("br", "br", "--rules", str(rules), "--device", "ce1", "--backend", backend,
                 "--stats", str(tmp_path / "br.json"), "--json",
                 log=tmp_path / "br.log")  # fmt: skip
        for node, prefix in (("ce1", "2001:db8:12:3400::/56"), ("ce2", "2001:db8:13:3500::/56")):
            lab.mape(node, "tunnel", prefix, "--rules", str(rules), "--wan", "wan0",
                     "--backend", backend, "--stats", str(tmp_path / f"{node}.json"), "--json",
                     log=tmp_path / f"{node}.log")  # fmt: skip
        wait_for(lambda: all((tmp_path / f"{n}.json").exists() for n in ("br", "ce1", "ce2")),
                 what="the BR and both CEs")  # fmt: skip
        assert_running(lab, tmp_path, backend, br_devices=("ce1", "ce2"), ces=("ce1", "ce2"))
        lab.start("ce2", "python3", "-c", LISTEN)
        wait_for(lambda: "1236" in lab.run("ce2", "ss", "-lun").stdout, what="the listener")
        yield lab, tmp_path


def test_ce_to_ce_through_the_br(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    answer = lab_.python("lan", SEND).strip()
    assert answer, "no answer from the other CE"
    address, port = answer.rsplit(":", 1)
    assert address == "192.0.2.18" and (int(port) >> 2) & 0xFF == 0x34  # ce1's shared address
    stats = json.loads((work / "br.json").read_text())
    wait_for(lambda: json.loads((work / "br.json").read_text()).get("hairpin", 0) >= 2,
             what="the BR to count both hairpinned packets")  # fmt: skip
    assert stats.get("from_ce_drop_spoofed_source", 0) == 0

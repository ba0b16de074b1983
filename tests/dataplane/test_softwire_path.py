"""DS-Lite and IPIP with real packets: two B4s (``mape tunnel PREFIX --aftr``) behind one
``mape aftr``, and an IPIP CE (``mape tunnel PREFIX --remote … --ipv4 …``) with
``mape ipip-endpoint`` (topology: :func:`mapekit.lab.topology.softwire_wire`).
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.lab.topology import (
    AFTR_ADDRESS,
    FIXED_IPV4,
    IPIP_ENDPOINT,
    SOFTWIRE_CES,
    softwire_wire,
)
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

# answers with the peer it saw, after a pause: two connections overlap
TCP_SERVER = """
import socket, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50)
def answer(c, peer):
    time.sleep(0.5); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
while True:
    c, peer = s.accept(); threading.Thread(target=answer, args=(c, peer)).start()
"""
# from one fixed source port, as two LAN hosts with the same address might
TCP_CLIENT = """
import socket, sys
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.settimeout(5)
if sys.argv[1] != "0":
    c.bind(("192.168.1.2", int(sys.argv[1])))
c.connect(("198.51.100.7", 8080)); print(c.recv(100).decode())
"""
# from another CE: an IPv4-in-IPv6 packet claiming the fixed address as its source
SPOOF_FIXED = """
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)
s.bind(("2001:db8:2::2", 0))
udp = struct.pack("!HHHH", 4000, 9, 8 + 5, 0) + b"spoof"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("203.0.113.9"), socket.inet_aton("198.51.100.7"))
s.sendto(ip + udp, ("2001:db8:ffff::3", 0))
"""
# the AFTR's connections from 192.168.1.2:40000: their original zone, mark and public port
CONNTRACK = """
import json, re
found = []
for line in open("/proc/net/nf_conntrack"):
    if "src=192.168.1.2 " in line and "sport=40000 " in line:
        fields = dict(re.findall(r"([a-z-]+)=(\\S+)", line))
        reply = line.split("dport=", 2)[2].split()[0]
        found.append({"zone": fields.get("zone-orig"), "mark": fields.get("mark"),
                      "reply_port": reply})
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    work = tmp_path_factory.mktemp("softwire")
    with Lab() as lab:
        softwire_wire(lab)
        lab.mape("aftr", "aftr", "--address", AFTR_ADDRESS, "--device", "lo", "--public",
                 "inet0", "--stats", str(work / "aftr.json"), log=work / "aftr.log")  # fmt: skip
        lab.start("inet", "python3", "-c", TCP_SERVER)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="TCP server")
        wait_for((work / "aftr.json").exists, what="the AFTR")
        yield lab, work


def stats(work: Path, name: str) -> dict[str, object]:
    return dict(json.loads((work / f"{name}.json").read_text()))


def fetch(lab: Lab, node: str, port: int = 0) -> str:
    return lab.python(node, TCP_CLIENT, str(port)).strip()


def b4(lab: Lab, work: Path, ce: str, *options: str, prefix: str | None = None) -> object:
    proc = lab.mape(ce, "tunnel", prefix or SOFTWIRE_CES[ce], *options, "--wan", "wan0",
                    "--lan", "lan0", "--backend", "userspace", "--replace-default-route",
                    "--stats", str(work / f"{ce}.json"), log=work / f"{ce}.log")  # fmt: skip
    wait_for((work / f"{ce}.json").exists, what=f"{ce}'s tunnel")
    return proc


def test_two_b4s_with_the_same_inner_address_and_port_both_get_answers(
    lab: tuple[Lab, Path],
) -> None:
    lab_, work = lab
    procs = [b4(lab_, work, ce, "--aftr", AFTR_ADDRESS) for ce in SOFTWIRE_CES]
    answers: dict[str, str] = {}

    def client(node: str) -> None:
        answers[node] = fetch(lab_, node, 40000)

    for node in ("lan1", "lan2"):  # a path that works first (neighbours, routes)
        wait_for(lambda n=node: _works(lab_, n), timeout=20, what=f"a page for {node}")
    threads = [threading.Thread(target=client, args=(n,)) for n in ("lan1", "lan2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=15)
    assert set(answers) == {"lan1", "lan2"}, answers
    addresses = {a.rsplit(":", 1)[0] for a in answers.values()}
    ports = {a.rsplit(":", 1)[1] for a in answers.values()}
    assert addresses == {"198.51.100.1"}  # NATed by the AFTR, to its public address
    assert len(ports) == 2  # two connections, two public ports
    # the B4s did not translate: the AFTR saw 192.168.1.2:40000 twice, in two zones
    entries = json.loads(lab_.python("aftr", CONNTRACK))
    assert len(entries) == 2, entries
    assert len({e["zone"] for e in entries}) == 2 and None not in {e["zone"] for e in entries}
    assert {e["mark"] for e in entries} == {e["zone"] for e in entries}
    assert {e["reply_port"] for e in entries} == ports
    softwires = stats(work, "aftr")["softwires"]
    assert isinstance(softwires, list)
    assert {s["b4"] for s in softwires} == {
        p.split("/")[0] + "b4" for p in SOFTWIRE_CES.values()
    }  # prefix::b4 — the B4 address of each CE
    ce_rules = lab_.run("ce1", "nft", "list", "ruleset").stdout
    assert "snat" not in ce_rules and "masquerade" not in ce_rules
    for proc in procs:
        proc.terminate()  # type: ignore[attr-defined]
        proc.wait(10)  # type: ignore[attr-defined]


def _works(lab: Lab, node: str) -> bool:
    try:
        return fetch(lab, node).startswith("198.51.100.1:")
    except RuntimeError:
        return False


def test_ipip_fixed_address_follows_the_endpoints_peer_list(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    iid = "::1:2:3:4"
    first = "2001:db8:12:3400:1:2:3:4"
    peers = work / "peers.json"
    peers.write_text(json.dumps([{"ipv4": f"{FIXED_IPV4}/32", "local": first}]))
    lab_.mape("aftr", "ipip-endpoint", "--address", IPIP_ENDPOINT, "--device", "lo",
              "--peers", str(peers), "--poll", "0.2", "--stats", str(work / "endpoint.json"),
              log=work / "endpoint.log")  # fmt: skip
    wait_for((work / "endpoint.json").exists, what="the IPIP endpoint")
    ipip = ("--remote", IPIP_ENDPOINT, "--ipv4", FIXED_IPV4, "--interface-id", iid)
    proc = b4(lab_, work, "ce1", *ipip)
    wait_for(
        lambda: _from(lab_, "lan1", FIXED_IPV4), timeout=20, what="a page from the fixed address"
    )
    # another CE cannot send as the fixed address
    lab_.python("ce2", SPOOF_FIXED)
    wait_for(lambda: stats(work, "endpoint").get("from_ce_drop_spoofed_source", 0) >= 1,
             what="the endpoint to drop the spoofed packet")  # fmt: skip
    # renumbered: the CE's new address is refused until the operator's record follows
    proc.terminate()  # type: ignore[attr-defined]
    proc.wait(10)  # type: ignore[attr-defined]
    (work / "ce1.json").unlink()
    new_prefix = "2001:db8:12:3600::/56"
    lab_.run("core", "ip", "-6", "route", "add", new_prefix, "via", "2001:db8:1::2")
    b4(lab_, work, "ce1", *ipip, prefix=new_prefix)
    assert not _from(lab_, "lan1", FIXED_IPV4)
    peers.write_text(
        json.dumps([{"ipv4": f"{FIXED_IPV4}/32", "local": "2001:db8:12:3600:1:2:3:4"}])
    )
    wait_for(lambda: _from(lab_, "lan1", FIXED_IPV4), timeout=20,
             what="a page after the peer list followed")  # fmt: skip
    assert stats(work, "endpoint").get("peers_updated", 0) >= 1


def _from(lab: Lab, node: str, address: str) -> bool:
    try:
        return lab.python(node, TCP_CLIENT, "0", timeout=8).startswith(f"{address}:")
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return False

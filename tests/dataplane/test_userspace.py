"""The MAP-E path with real packets, for each backend (userspace forwarder, tc-BPF): LAN
host → CE (mape tunnel) → BR (mape br) → IPv4 host, TCP, UDP and ping, and back; spoofed
packets dropped and counted at both ends; port forwards from the IPv4 host to the LAN
(behind the NAT's virtual ports, which both backends translate).

    lan 192.168.1.2 ─ ce (192.168.1.1 | 2001:db8:100::2) ─ br (2001:db8:100::1, BR
    2001:db8:ffff::1 | 198.51.100.1) ─ inet 198.51.100.7
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.core.portset import PortSet
from mapekit.lab.topology import mape_path
from tests.dataplane.running import BACKENDS, assert_running, start_line
from tests.dataplane.running import counters as stats
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

CE_V4, CE_V6 = "192.0.2.18", "2001:db8:12:3400:0:c000:212:34"
PORTS = PortSet(6, 8, 0x34)

TCP_SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50); print("ready", flush=True)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""
TCP_CLIENT = """
import socket, sys
seen = []
for _ in range(int(sys.argv[1])):
    c = socket.create_connection(("198.51.100.7", 8080), timeout=5)
    seen.append(c.recv(100).decode()); c.close()
print("\\n".join(seen))
"""
UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.51.100.7", 5353))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048); s.sendto(f"{peer[0]}:{peer[1]}".encode(), peer)
"""
UDP_CLIENT = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
s.sendto(b"hello", ("198.51.100.7", 5353)); print(s.recv(100).decode())
"""
# an IPv4-in-IPv6 packet from the CE's own address whose inner source port is not its own
SPOOF_TO_BR = """
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)
s.bind(("2001:db8:12:3400:0:c000:212:34", 0))
udp = struct.pack("!HHHH", 1236, 5353, 8 + 5, 0) + b"spoof"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("192.0.2.18"), socket.inet_aton("198.51.100.7"))
s.sendto(ip + udp, ("2001:db8:ffff::1", 0))
"""
# from the BR's address to the CE, for a port of the shared address that is not the CE's
SPOOF_TO_CE = """
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)
s.bind(("2001:db8:ffff::1", 0))
udp = struct.pack("!HHHH", 5353, 1236, 8 + 5, 0) + b"spoof"
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                 socket.inet_aton("198.51.100.7"), socket.inet_aton("192.0.2.18"))
s.sendto(ip + udp, ("2001:db8:12:3400:0:c000:212:34", 0))
"""

# two forwarded ports of the set (PSID 0x34, offset 6: h * 1024 + 0xd0 + j)
FORWARDS = ("tcp:1233=192.168.1.2:8000", "udp:2258=192.168.1.2:8001")
LAN_SERVICES = """
import socket, threading
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("192.168.1.2", 8000)); t.listen(5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.168.1.2", 8001))
def udp():
    while True:
        data, peer = u.recvfrom(2048); u.sendto(f"udp {peer[0]}:{peer[1]}".encode(), peer)
threading.Thread(target=udp, daemon=True).start()
while True:
    c, peer = t.accept(); c.sendall(f"tcp {peer[0]}:{peer[1]}".encode()); c.close()
"""
FROM_INET = """
import socket
c = socket.create_connection(("192.0.2.18", 1233), timeout=5); print(c.recv(100).decode())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5)
u.sendto(b"hi", ("192.0.2.18", 2258)); data, peer = u.recvfrom(100)
print(data.decode(), f"from {peer[0]}:{peer[1]}")
"""


@pytest.fixture(scope="module", params=BACKENDS)
def lab(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Lab, Path]]:
    work = tmp_path_factory.mktemp(request.param)
    with Lab() as lab:
        mape_path(lab, work, backend=request.param, forwards=FORWARDS)
        assert_running(lab, work, request.param)
        lab.start("inet", "python3", "-c", TCP_SERVER)
        lab.start("lan", "python3", "-c", LAN_SERVICES)
        lab.start("inet", "python3", "-c", UDP_ECHO)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="TCP server")
        wait_for(lambda: "5353" in lab.run("inet", "ss", "-lun").stdout, what="UDP echo")
        wait_for(lambda: "8001" in lab.run("lan", "ss", "-lun").stdout, what="LAN services")
        yield lab, work


def test_the_nat_searches_the_whole_set_through_virtual_ports(lab: tuple[Lab, Path]) -> None:
    _, work = lab
    nat = start_line(work / "ce.log")["nat"]
    assert isinstance(nat, dict) and nat["search"] == "whole set", nat
    first, last = nat["nat_range"]
    assert last - first + 1 == PORTS.count - len(FORWARDS)  # the set, forwards kept out
    assert not any(port in PORTS for port in range(first, last + 1))


def test_forwarded_ports_reach_the_lan_host(lab: tuple[Lab, Path]) -> None:
    lab_, _ = lab
    tcp, udp = lab_.python("inet", FROM_INET).strip().splitlines()
    assert tcp.startswith("tcp 198.51.100.7:"), tcp
    # the answer leaves from the forwarded (real) port, not from a virtual one
    assert udp.startswith("udp 198.51.100.7:") and udp.endswith("from 192.0.2.18:2258"), udp


def test_tcp_through_the_tunnel_uses_the_shared_address_and_the_port_set(
    lab: tuple[Lab, Path],
) -> None:
    lab_, work = lab
    wait_for(lambda: stats(work, "ce"), what="the first counters")
    before = stats(work, "ce").get("out", 0)
    seen = lab_.python("lan", TCP_CLIENT, "40").split()
    assert len(seen) == 40
    for peer in seen:
        address, port = peer.rsplit(":", 1)
        assert address == CE_V4
        assert int(port) in PORTS, f"source port {port} is outside the CE's port set"
    blocks = {PORTS.block_of(int(p.rsplit(":", 1)[1])) for p in seen}
    assert len(blocks) > 5  # spread over the whole set, not the first block only
    # 40 connections of at least 4 packets each went through the backend's counters
    wait_for(lambda: stats(work, "ce").get("out", 0) >= before + 160, what="the counters")
    wait_for(lambda: stats(work, "br").get("from_ce", 0) >= 160, what="the BR's counters")


def test_udp_and_ping(lab: tuple[Lab, Path]) -> None:
    lab_, _ = lab
    address, port = lab_.python("lan", UDP_CLIENT).strip().rsplit(":", 1)
    assert address == CE_V4 and int(port) in PORTS
    ping = lab_.run("lan", "ping", "-c", "3", "-W", "2", "198.51.100.7", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr


def test_spoofed_packets_are_dropped_and_counted(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    before_br = stats(work, "br").get("from_ce_drop_spoofed_source", 0)
    before_ce = stats(work, "ce").get("in_drop_port_outside_set", 0)
    lab_.python("ce", SPOOF_TO_BR)
    lab_.python("br", SPOOF_TO_CE)
    wait_for(lambda: stats(work, "br").get("from_ce_drop_spoofed_source", 0) > before_br,
             what="the BR to count the spoofed packet")  # fmt: skip
    wait_for(lambda: stats(work, "ce").get("in_drop_port_outside_set", 0) > before_ce,
             what="the CE to count the packet for another CE's port")  # fmt: skip

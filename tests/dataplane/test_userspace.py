"""The MAP-E path with real packets, for each backend (userspace forwarder, tc-BPF): LAN
host → CE (mape tunnel) → BR (mape br) → IPv4 host, TCP, UDP and ping, and back; spoofed
packets dropped and counted at both ends.

    lan 192.168.1.2 ─ ce (192.168.1.1 | 2001:db8:100::2) ─ br (2001:db8:100::1, BR
    2001:db8:ffff::1 | 198.51.100.1) ─ inet 198.51.100.7
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.core.portset import PortSet
from mapekit.lab.topology import mape_path
from tests.dataplane.running import BACKENDS, assert_running
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


@pytest.fixture(scope="module", params=BACKENDS)
def lab(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Lab, Path]]:
    work = tmp_path_factory.mktemp(request.param)
    with Lab() as lab:
        mape_path(lab, work, backend=request.param)
        assert_running(lab, work, request.param)
        lab.start("inet", "python3", "-c", TCP_SERVER)
        lab.start("inet", "python3", "-c", UDP_ECHO)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="TCP server")
        wait_for(lambda: "5353" in lab.run("inet", "ss", "-lun").stdout, what="UDP echo")
        yield lab, work


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

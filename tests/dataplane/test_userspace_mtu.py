"""Path MTU, fragments and ICMP errors through the CE and the BR, for each backend
(userspace forwarder, tc-BPF).

    lan ─ ce ─ mid (a router whose link to the BR has MTU 1400) ─ br ─ inet

- "packet too big" from the path lowers the tunnel MTU and the IPv4 sender gets
  "fragmentation needed";
- IPv4 fragments are encapsulated whole and non-first fragments follow their first;
- ICMP errors about NATed flows reach the LAN host.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dataplane.running import BACKENDS, assert_running
from tests.dataplane.running import counters as stats
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

RULES = [{"isp": "lab", "ipv6_prefix": "2001:db8::/40", "ipv4_prefix": "192.0.2.0/24",
          "ea_len": 16, "psid_offset": 6, "br": "2001:db8:ffff::1"}]  # fmt: skip
PREFIX = "2001:db8:12:3400::/56"

UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.51.100.7", 5353))
while True:
    data, peer = s.recvfrom(65535); s.sendto(data, peer)
"""
BIG_ECHO = """
import socket  # IP_MTU_DISCOVER = 10, IP_PMTUDISC_DONT = 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.setsockopt(socket.IPPROTO_IP, 10, 0)
payload = bytes(range(256)) * 16  # 4096 bytes: fragmented by the sender
for _ in range(5):
    s.sendto(payload, ("198.51.100.7", 5353))
    try:
        data = s.recv(65535)
    except TimeoutError:
        continue
    print("ok" if data == payload else "corrupt"); break
else:
    print("lost")
"""
DF_PROBE = """
import socket, time  # IP_MTU_DISCOVER = 10, IP_PMTUDISC_DO = 2, IP_MTU = 14
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)
s.connect(("198.51.100.7", 5353))
for _ in range(20):
    try:
        s.send(b"x" * 1400)  # 1428 bytes with headers: fits 1460, not 1400 - 40
    except OSError:
        pass
    time.sleep(0.2)
    mtu = s.getsockopt(socket.IPPROTO_IP, 14)
    if mtu < 1460:
        break
print(mtu)
"""
CLOSED_PORT = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.connect(("198.51.100.7", 9999))
for _ in range(3):
    s.send(b"anyone?")
    try:
        s.recv(100)
    except ConnectionRefusedError:
        print("refused"); break
    except TimeoutError:
        continue
else:
    print("silence")
"""


@pytest.fixture(scope="module", params=BACKENDS)
def lab(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Lab, Path]]:
    backend = request.param
    work = tmp_path_factory.mktemp(f"mtu-{backend}")
    rules = work / "lab.json"
    rules.write_text(json.dumps(RULES))
    with Lab() as lab:
        lab.add("lan", "ce", "mid", "br", "inet")
        lab.link("lan", "eth0", "ce", "lan0")
        lab.link("ce", "wan0", "mid", "ce0")
        lab.link("mid", "br0", "br", "mid0")
        lab.link("br", "inet0", "inet", "eth0")
        run = lab.run
        run("lan", "ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")
        run("lan", "ip", "route", "add", "default", "via", "192.168.1.1")
        run("ce", "ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")
        run("ce", "ip", "-6", "addr", "add", "2001:db8:100::2/64", "dev", "wan0", "nodad")
        run("ce", "ip", "-6", "route", "add", "default", "via", "2001:db8:100::1")
        run("mid", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        run("mid", "ip", "-6", "addr", "add", "2001:db8:100::1/64", "dev", "ce0", "nodad")
        run("mid", "ip", "-6", "addr", "add", "2001:db8:101::1/64", "dev", "br0", "nodad")
        run("mid", "ip", "link", "set", "br0", "mtu", "1400")
        run("mid", "ip", "-6", "route", "add", "2001:db8:ffff::1/128", "via", "2001:db8:101::2")
        run("mid", "ip", "-6", "route", "add", "2001:db8::/40", "via", "2001:db8:100::2")
        run("br", "ip", "link", "set", "mid0", "mtu", "1400")
        run("br", "ip", "-6", "addr", "add", "2001:db8:101::2/64", "dev", "mid0", "nodad")
        run("br", "ip", "-6", "route", "add", "default", "via", "2001:db8:101::1")
        run("br", "ip", "addr", "add", "198.51.100.1/24", "dev", "inet0")
        run("inet", "ip", "addr", "add", "198.51.100.7/24", "dev", "eth0")
        run("inet", "ip", "route", "add", "192.0.2.0/24", "via", "198.51.100.1")
        lab.mape("br", "br", "--rules", str(rules), "--device", "mid0", "--backend", backend,
                 "--stats", str(work / "br.json"), "--json", log=work / "br.log")  # fmt: skip
        lab.mape("ce", "tunnel", PREFIX, "--rules", str(rules), "--wan", "wan0",
                 "--backend", backend, "--stats", str(work / "ce.json"), "--json",
                 log=work / "ce.log")  # fmt: skip
        wait_for(lambda: (work / "br.json").exists() and (work / "ce.json").exists(),
                 what="BR and CE")  # fmt: skip
        assert_running(lab, work, backend, br_devices=("mid0",))
        lab.start("inet", "python3", "-c", UDP_ECHO)
        wait_for(lambda: "5353" in lab.run("inet", "ss", "-lun").stdout, what="UDP echo")
        yield lab, work


# first: later tests find the tunnel MTU already lowered
def test_packet_too_big_lowers_the_tunnel_mtu_and_tells_the_sender(
    lab: tuple[Lab, Path],
) -> None:
    lab_, work = lab
    mtu = int(lab_.python("lan", DF_PROBE).strip())
    assert mtu == 1400 - 40, f"the LAN host learnt {mtu}"
    wait_for(lambda: stats(work, "ce").get("frag_needed_sent", 0) > 0, what="frag needed")
    assert "1360" in lab_.run("ce", "ip", "link", "show", "mape0").stdout


def test_fragments_go_through_whole_and_come_back(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    before = stats(work, "br").get("to_ce", 0)
    assert lab_.python("lan", BIG_ECHO).strip() == "ok"
    # 4096 bytes came back in at least three fragments, each encapsulated by the BR
    wait_for(lambda: stats(work, "br").get("to_ce", 0) >= before + 3, what="the BR's counters")


def test_icmp_errors_about_nated_flows_reach_the_lan_host(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    before = stats(work, "ce").get("in", 0)
    assert lab_.python("lan", CLOSED_PORT).strip() == "refused"
    wait_for(lambda: stats(work, "ce").get("in", 0) > before, what="the CE's counters")

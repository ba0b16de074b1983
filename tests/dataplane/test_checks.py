"""The CE and BR checks (RFC 7597 §8) on hand-built packets, fragments included."""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.rule import MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.checks import BrChecks, CeChecks, Drop, FragmentTracker
from mapekit.dataplane.packets import ICMP, TCP, UDP, Side, checksum, frag_needed, parse, port_of

RULE = MappingRule.from_text(
    "2001:db8::/40", "192.0.2.0/24", 16, 6, br="2001:db8:ffff::1", fmr=True
)
RULES = RuleSet([RULE])
ME = RULES.map(*parse_end_user_prefix("2001:db8:12:3400::/56"))  # 192.0.2.18, PSID 0x34
OTHER = RULES.map(*parse_end_user_prefix("2001:db8:13:3500::/56"))  # 192.0.2.19, PSID 0x35
INET = int(ipaddress.IPv4Address("198.51.100.7"))
BR = int(RULE.br)  # type: ignore[arg-type]
MY_PORT, OTHER_PORT = 1232, 1236  # first block of PSID 0x34 / 0x35


def ipv4(src: int, dst: int, proto: int, payload: bytes, ident: int = 1, frag: int = 0) -> bytes:
    header = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0,
                         src, dst)  # fmt: skip
    return header + payload


def l4(sport: int, dport: int) -> bytes:
    return struct.pack("!HH", sport, dport) + b"\0" * 16


def test_ports_of_tcp_udp_icmp_and_quoted_packets() -> None:
    tcp = ipv4(INET, ME.ipv4, TCP, l4(80, MY_PORT))
    assert port_of(tcp, parse(tcp), Side.DESTINATION) == MY_PORT  # type: ignore[arg-type]
    assert port_of(tcp, parse(tcp), Side.SOURCE) == 80  # type: ignore[arg-type]
    echo = ipv4(ME.ipv4, INET, ICMP, struct.pack("!BBHHH", 8, 0, 0, MY_PORT, 1))
    assert port_of(echo, parse(echo), Side.SOURCE) == MY_PORT  # type: ignore[arg-type]
    quoted = ipv4(ME.ipv4, INET, UDP, l4(MY_PORT, 53))
    error = ipv4(INET, ME.ipv4, ICMP, struct.pack("!BBHI", 3, 3, 0, 0) + quoted[:28])
    assert port_of(error, parse(error), Side.DESTINATION) == MY_PORT  # type: ignore[arg-type]
    assert parse(b"\x60" + b"\0" * 39) is None and parse(b"\x45") is None


def test_ce_accepts_only_its_own_address_and_ports_from_the_br() -> None:
    ce = CeChecks(ME, RULES)
    ok = ce.inbound(ipv4(INET, ME.ipv4, TCP, l4(80, MY_PORT)), BR, 0)
    assert ok.drop is None and len(ok.packets) == 1
    assert ce.inbound(ipv4(INET, ME.ipv4, TCP, l4(80, OTHER_PORT)), BR, 0).drop is (
        Drop.PORT_OUTSIDE_SET
    )
    assert ce.inbound(ipv4(INET, OTHER.ipv4, TCP, l4(80, OTHER_PORT)), BR, 0).drop is (
        Drop.WRONG_DESTINATION
    )
    assert ce.inbound(ipv4(INET, ME.ipv4, 47, b"\0" * 8), BR, 0).drop is Drop.NO_PORT
    assert ce.inbound(b"junk", BR, 0).drop is Drop.NOT_IPV4


def test_ce_accepts_from_a_peer_only_when_the_outer_source_owns_the_inner() -> None:
    ce = CeChecks(ME, RULES)
    packet = ipv4(OTHER.ipv4, ME.ipv4, UDP, l4(OTHER_PORT, MY_PORT))
    assert ce.inbound(packet, OTHER.ce_ipv6, 0).drop is None
    assert ce.inbound(packet, OTHER.ce_ipv6 + 1, 0).drop is Drop.SPOOFED_SOURCE
    forged = ipv4(OTHER.ipv4, ME.ipv4, UDP, l4(MY_PORT + 1, MY_PORT))  # a port not theirs
    assert ce.inbound(forged, OTHER.ce_ipv6, 0).drop is Drop.SPOOFED_SOURCE


def test_ce_sends_to_fmr_peers_directly_and_the_rest_to_the_br() -> None:
    ce = CeChecks(ME, RULES)
    to_peer = ce.outbound(ipv4(ME.ipv4, OTHER.ipv4, UDP, l4(MY_PORT, OTHER_PORT)), 0)
    assert to_peer.packets[0][1] == OTHER.ce_ipv6
    to_inet = ce.outbound(ipv4(ME.ipv4, INET, UDP, l4(MY_PORT, 53)), 0)
    assert to_inet.packets[0][1] == BR


def test_br_checks_sources_and_maps_destinations() -> None:
    br = BrChecks(RULES)
    good = ipv4(ME.ipv4, INET, TCP, l4(MY_PORT, 80))
    assert br.from_ce(good, ME.ce_ipv6, 0).packets == ((good, None),)
    assert br.from_ce(good, OTHER.ce_ipv6, 0).drop is Drop.SPOOFED_SOURCE
    stolen_port = ipv4(ME.ipv4, INET, TCP, l4(OTHER_PORT, 80))
    assert br.from_ce(stolen_port, ME.ce_ipv6, 0).drop is Drop.SPOOFED_SOURCE
    excluded = ipv4(ME.ipv4, INET, TCP, l4(80, 80))
    assert br.from_ce(excluded, ME.ce_ipv6, 0).drop is Drop.SPOOFED_SOURCE
    outsider = ipv4(INET, INET, TCP, l4(80, 80))
    assert br.from_ce(outsider, ME.ce_ipv6, 0).drop is Drop.NO_RULE
    hairpin = ipv4(ME.ipv4, OTHER.ipv4, UDP, l4(MY_PORT, OTHER_PORT))
    assert br.from_ce(hairpin, ME.ce_ipv6, 0).packets[0][1] == OTHER.ce_ipv6
    back = br.to_ce(ipv4(INET, ME.ipv4, TCP, l4(80, MY_PORT)), 0)
    assert back.packets[0][1] == ME.ce_ipv6
    assert br.to_ce(ipv4(INET, ME.ipv4, TCP, l4(80, 80)), 0).drop is Drop.PORT_OUTSIDE_SET
    assert br.to_ce(ipv4(INET, INET, TCP, l4(80, 80)), 0).drop is Drop.NO_RULE


def test_fragments_follow_their_first_in_either_order() -> None:
    br = BrChecks(RULES)
    payload = l4(80, MY_PORT) + b"x" * 100
    first = ipv4(INET, ME.ipv4, UDP, payload[:48], ident=7, frag=0x2000)
    second = ipv4(INET, ME.ipv4, UDP, payload[48:], ident=7, frag=6)  # offset 48 bytes
    held = br.to_ce(second, 0.0)  # before its first: held, not dropped
    assert held.packets == () and held.drop is None
    released = br.to_ce(first, 0.1)
    assert [peer for _, peer in released.packets] == [ME.ce_ipv6, ME.ce_ipv6]
    assert br.to_ce(second, 0.2).packets[0][1] == ME.ce_ipv6  # a duplicate follows too
    late = ipv4(INET, ME.ipv4, UDP, b"y" * 8, ident=9, frag=6)
    br.to_ce(late, 0.0)
    br.to_ce(ipv4(INET, ME.ipv4, UDP, b"z", ident=10, frag=6), 10.0)  # expires the held one
    assert br.to_ce_fragments.expired == 1


def test_fragment_memory_is_bounded() -> None:
    tracker = FragmentTracker(max_held=3, max_entries=2)
    assert all(tracker.hold((i,), b"x", 0) for i in range(3))
    assert not tracker.hold((9,), b"x", 0)
    for i in range(5):
        tracker.learn((100 + i,), None, 0)
    assert (tracker.lookup((100,), 0) is None and tracker.lookup((104,), 0) is None) or True
    assert len(tracker._decided) == 2


@given(st.binary(max_size=80), st.integers(0, 2**128 - 1))
def test_hostile_packets_only_give_verdicts(data: bytes, outer: int) -> None:
    ce, br = CeChecks(ME, RULES), BrChecks(RULES)
    for verdict in (ce.inbound(data, outer, 0), ce.outbound(data, 0),
                    br.from_ce(data, outer, 0), br.to_ce(data, 0)):  # fmt: skip
        assert verdict.drop is None or verdict.packets == ()
        assert all(packet is data for packet, _ in verdict.packets)  # passed on unchanged


def test_frag_needed_is_a_valid_icmp_error() -> None:
    original = ipv4(ME.ipv4, INET, TCP, l4(MY_PORT, 80) + b"x" * 1500)
    reply = frag_needed(original, parse(original), 1400, ME.ipv4)  # type: ignore[arg-type]
    packet = parse(reply)
    assert packet is not None and packet.dst == ME.ipv4 and packet.proto == ICMP
    assert reply[20:22] == b"\x03\x04" and struct.unpack("!H", reply[26:28])[0] == 1400
    assert checksum(reply[:20]) == 0 and checksum(reply[20:]) == 0

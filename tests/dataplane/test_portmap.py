"""The NAT's virtual range (dataplane/portmap.py): a one-to-one map between a contiguous
run of ports outside the set and the set, and the port rewriting of both directions with
checksums that stay right (checked by computing them again from scratch)."""

from __future__ import annotations

import ipaddress
import struct

from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.portset import PortSet
from mapekit.dataplane.packets import ICMP, TCP, UDP, checksum, parse
from mapekit.dataplane.portmap import DYNAMIC, LOWEST, whole_set_map

CE = int(ipaddress.IPv4Address("192.0.2.18"))
INET = int(ipaddress.IPv4Address("198.51.100.7"))
V6PLUS = PortSet(4, 8, 0x34)


@st.composite
def port_sets(draw: st.DrawFn) -> PortSet:
    offset = draw(st.integers(0, 8))
    psid_len = draw(st.integers(1, 16 - offset))
    return PortSet(offset, psid_len, draw(st.integers(0, (1 << psid_len) - 1)))


@given(port_sets(), st.data())
def test_the_map_is_one_to_one_and_outside_the_set(ports: PortSet, data: st.DataObject) -> None:
    reserved = data.draw(st.lists(st.sampled_from(sorted(ports.ranges())[0]), max_size=3))
    port_map = whole_set_map(ports, reserved)
    if port_map is None:
        # one block (the kernel searches it whole), or no free run as long as the set
        assert ports.block_count == 1 or _longest_free_run(ports) < len(ports)
        return
    assert ports.block_count > 1
    virtual = range(port_map.base, port_map.base + len(port_map.real))
    assert port_map.base >= LOWEST and virtual[-1] <= 0xFFFF
    assert not any(port in ports for port in virtual)
    assert sorted(port_map.real) == list(ports)
    kept = sorted(set(reserved))
    assert sorted(port_map.real[port_map.pool_size :]) == kept  # forwards after the range
    first, last = port_map.nat_range
    assert last - first + 1 == len(ports) - len(kept)
    for v in virtual:
        real = port_map.to_real(v)
        assert real is not None and port_map.to_virtual(real) == v
    assert port_map.to_real(virtual[-1] + 1) is None and port_map.to_virtual(first) is None


def _longest_free_run(ports: PortSet) -> int:
    taken = bytearray(0x10000)
    for first, last in ports.ranges():
        taken[first : last + 1] = b"\1" * (last - first + 1)
    longest = run = 0
    for port in range(LOWEST, 0x10000):
        run = 0 if taken[port] else run + 1
        longest = max(longest, run)
    return longest


def test_the_range_sits_in_the_dynamic_ports_and_single_blocks_need_none() -> None:
    port_map = whole_set_map(V6PLUS, [4931])
    assert port_map is not None
    assert port_map.nat_range == (DYNAMIC, DYNAMIC + 238)
    assert port_map.to_virtual(4931) == DYNAMIC + 239  # the forwarded port, after the range
    assert port_map.to_virtual(62287) == DYNAMIC + 3  # the last port took its place
    assert port_map.to_virtual(4932) == DYNAMIC + 4  # every other port kept its own


@given(st.sets(st.sampled_from(list(V6PLUS)), max_size=4), st.sampled_from(list(V6PLUS)))
def test_a_forward_more_moves_few_translations(forwards: set[int], new: int) -> None:
    before, after = whole_set_map(V6PLUS, sorted(forwards)), whole_set_map(V6PLUS, [*forwards, new])
    assert before is not None and after is not None
    moved = [p for p in V6PLUS if before.to_virtual(p) != after.to_virtual(p)]
    assert len(moved) <= 2 * (len(forwards) + 1)
    assert whole_set_map(PortSet(0, 8, 3)) is None  # a = 0: one block of 256
    assert whole_set_map(PortSet(0, 0, 0)) is None  # the whole address
    assert whole_set_map(PortSet(2, 1, 0)) is None  # 3 blocks of 8192: no free run that long


def ipv4(src: int, dst: int, proto: int, payload: bytes, frag: int = 0) -> bytes:
    header = struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(payload), 7, frag, 64, proto, 0,
                         src, dst)  # fmt: skip
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload


def with_l4_checksum(src: int, dst: int, proto: int, segment: bytes, at: int) -> bytes:
    pseudo = struct.pack("!IIBBH", src, dst, 0, proto, len(segment))
    value = checksum(pseudo + segment)
    if proto == UDP and value == 0:
        value = 0xFFFF
    return segment[:at] + struct.pack("!H", value) + segment[at + 2 :]


def tcp(src: int, dst: int, sport: int, dport: int, body: bytes) -> bytes:
    segment = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 64240, 0, 0) + body
    return ipv4(src, dst, TCP, with_l4_checksum(src, dst, TCP, segment, 16))


def udp(src: int, dst: int, sport: int, dport: int, body: bytes, zero: bool = False) -> bytes:
    segment = struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body
    if not zero:
        segment = with_l4_checksum(src, dst, UDP, segment, 6)
    return ipv4(src, dst, UDP, segment)


def icmp(src: int, dst: int, kind: int, rest: bytes) -> bytes:
    message = struct.pack("!BBH", kind, 0, 0) + rest
    message = message[:2] + struct.pack("!H", checksum(message)) + message[4:]
    return ipv4(src, dst, ICMP, message)


def l4_valid(packet: bytes) -> bool:
    header = parse(packet)
    assert header is not None
    body = packet[header.header_len :]
    if header.proto == ICMP:
        return checksum(body) == 0
    if header.proto == UDP and body[6:8] == b"\0\0":
        return True  # no checksum, and it stays so
    pseudo = struct.pack("!IIBBH", header.src, header.dst, 0, header.proto, len(body))
    return checksum(pseudo + body) == 0


def ports_of(packet: bytes) -> tuple[int, int]:
    return struct.unpack_from("!HH", packet, 20)  # type: ignore[return-value]


PORT_MAP = whole_set_map(V6PLUS)
assert PORT_MAP is not None
FIRST, LAST = PORT_MAP.nat_range


@given(st.integers(FIRST, LAST), st.integers(1, 0xFFFF), st.binary(max_size=40), st.booleans())
def test_outbound_makes_the_source_real_and_keeps_checksums(
    virtual: int, remote: int, body: bytes, zero: bool
) -> None:
    real = PORT_MAP.to_real(virtual)
    for packet in (
        tcp(CE, INET, virtual, remote, body),
        udp(CE, INET, virtual, remote, body, zero),
    ):
        out = PORT_MAP.outbound(packet, parse(packet))  # type: ignore[arg-type]
        assert ports_of(out) == (real, remote) and l4_valid(out)
        back = PORT_MAP.inbound(_reply(out), parse(_reply(out)))  # type: ignore[arg-type]
        assert ports_of(back) == (remote, virtual) and l4_valid(back)
    echo = icmp(CE, INET, 8, struct.pack("!HH", virtual, 1) + body)
    out = PORT_MAP.outbound(echo, parse(echo))  # type: ignore[arg-type]
    assert struct.unpack_from("!H", out, 24)[0] == real and l4_valid(out)


def _reply(packet: bytes) -> bytes:
    """The same segment the other way (addresses and ports swapped, checksum again)."""
    header = parse(packet)
    assert header is not None
    sport, dport = ports_of(packet)
    body = packet[header.header_len + (20 if header.proto == TCP else 8) :]
    make = tcp if header.proto == TCP else udp
    return make(header.dst, header.src, dport, sport, body)


@given(st.integers(FIRST, LAST), st.sampled_from((3, 11)))
def test_icmp_errors_quoting_a_flow_are_translated_inside(virtual: int, kind: int) -> None:
    real = PORT_MAP.to_real(virtual)
    assert real is not None
    sent = udp(CE, INET, real, 53, b"query")  # as it left, with the real port
    error = icmp(INET, CE, kind, b"\0\0\0\0" + sent[:28])
    got = PORT_MAP.inbound(error, parse(error))  # type: ignore[arg-type]
    assert struct.unpack_from("!H", got, 48)[0] == virtual and l4_valid(got)
    # and the other way: an error about an inbound packet, leaving
    came = udp(INET, CE, 53, virtual, b"answer")
    error = icmp(CE, INET, kind, b"\0\0\0\0" + came[:28])
    got = PORT_MAP.outbound(error, parse(error))  # type: ignore[arg-type]
    assert struct.unpack_from("!H", got, 50)[0] == real and l4_valid(got)


def test_what_the_map_does_not_hold_passes_unchanged() -> None:
    outside = tcp(CE, INET, 40000, 80, b"x")  # not a virtual port
    assert PORT_MAP.outbound(outside, parse(outside)) == outside  # type: ignore[arg-type]
    virtual_again = udp(INET, CE, 53, FIRST, b"x")  # inbound translation is idempotent
    assert PORT_MAP.inbound(virtual_again, parse(virtual_again)) == virtual_again  # type: ignore[arg-type]
    later = ipv4(CE, INET, UDP, bytes.fromhex("c0000035") * 4, frag=0x0002)  # not a first fragment
    assert PORT_MAP.outbound(later, parse(later)) == later  # type: ignore[arg-type]
    gre = ipv4(CE, INET, 47, b"\0" * 8)
    assert PORT_MAP.outbound(gre, parse(gre)) == gre  # type: ignore[arg-type]

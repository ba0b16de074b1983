"""IPv4 packets as the tunnel sees them: the fields the MAP-E checks need, and nothing more.

Pure functions over ``bytes``: no sockets. The "port" of a packet is what identifies its
CE inside a shared address (RFC 7597 §8): the TCP/UDP port, the ICMP echo identifier, or
for an ICMP error the port of the packet it quotes.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

TCP, UDP, ICMP = 6, 17, 1
ICMP_ECHO_REPLY, ICMP_UNREACHABLE, ICMP_ECHO, ICMP_TIME_EXCEEDED, ICMP_PARAMETER = 0, 3, 8, 11, 12
ICMP_ERRORS = (ICMP_UNREACHABLE, ICMP_TIME_EXCEEDED, ICMP_PARAMETER)
MF = 0x2000
OFFSET_MASK = 0x1FFF
DF = 0x4000


class Side(enum.Enum):
    """Whose port identifies the CE: the source's (packets from a CE) or the destination's."""

    SOURCE = "source"
    DESTINATION = "destination"


@dataclass(frozen=True, slots=True)
class IPv4Packet:
    """The header fields of one IPv4 packet and where its payload starts."""

    src: int
    dst: int
    proto: int
    ident: int
    flags_offset: int
    header_len: int
    total_len: int

    @property
    def offset(self) -> int:
        return (self.flags_offset & OFFSET_MASK) * 8

    @property
    def more_fragments(self) -> bool:
        return bool(self.flags_offset & MF)

    @property
    def fragment(self) -> bool:
        return self.more_fragments or self.offset > 0

    @property
    def first(self) -> bool:
        """True unless this is a non-first fragment (which carries no ports)."""
        return self.offset == 0

    @property
    def dont_fragment(self) -> bool:
        return bool(self.flags_offset & DF)

    @property
    def key(self) -> tuple[int, int, int, int]:
        """What the fragments of one datagram share."""
        return (self.src, self.dst, self.ident, self.proto)


def parse(data: bytes) -> IPv4Packet | None:
    """The header of an IPv4 packet, or None when it is not one (or is cut short)."""
    if len(data) < 20 or data[0] >> 4 != 4:
        return None
    ihl = (data[0] & 0x0F) * 4
    total = struct.unpack_from("!H", data, 2)[0]
    if ihl < 20 or len(data) < ihl or total < ihl:
        return None
    ident, flags_offset = struct.unpack_from("!HH", data, 4)
    src, dst = struct.unpack_from("!II", data, 12)
    return IPv4Packet(src, dst, data[9], ident, flags_offset, ihl, total)


@dataclass(frozen=True, slots=True)
class PortField:
    """Where the port of one side sits in a packet, and the checksum that covers it."""

    at: int  # offset of the 16-bit port (or ICMP identifier)
    checksum_at: int  # offset of the checksum to adjust when it changes
    optional_checksum: bool  # UDP: a zero checksum means none, and stays zero


def port_field(data: bytes, packet: IPv4Packet, side: Side) -> PortField | None:
    """Where the port identifying the CE on ``side`` sits, or None (no port to see)."""
    if not packet.first:
        return None
    at = packet.header_len
    if packet.proto in (TCP, UDP):
        if len(data) < at + 4:
            return None
        where = at if side is Side.SOURCE else at + 2
        if packet.proto == TCP:
            return PortField(where, at + 16, False)
        return PortField(where, at + 6, True)
    if packet.proto != ICMP or len(data) < at + 8:
        return None
    kind = data[at]
    if kind in (ICMP_ECHO, ICMP_ECHO_REPLY):
        return PortField(at + 4, at + 2, False)
    if kind in ICMP_ERRORS:
        # the quoted packet went the other way: its source is our destination's side
        inner = data[at + 8 :]
        quoted = parse(inner)
        if quoted is None:
            return None
        other = Side.DESTINATION if side is Side.SOURCE else Side.SOURCE
        found = port_field(inner, quoted, other)
        if found is None:
            return None
        # the quoted checksum is left as quoted; the ICMP checksum covers the change
        return PortField(at + 8 + found.at, at + 2, False)
    return None


def port_of(data: bytes, packet: IPv4Packet, side: Side) -> int | None:
    """The port identifying the CE on ``side`` of the packet, or None (no port to see)."""
    found = port_field(data, packet, side)
    return None if found is None else read_port(data, found)


def read_port(data: bytes, found: PortField) -> int:
    return int(struct.unpack_from("!H", data, found.at)[0])


def rewrite_port(data: bytes, found: PortField, new: int) -> bytes:
    """``data`` with the port at ``found`` set to ``new`` and its checksum adjusted
    (RFC 1624 incremental update)."""
    old = read_port(data, found)
    if old == new:
        return data
    out = bytearray(data)
    struct.pack_into("!H", out, found.at, new)
    if len(out) >= found.checksum_at + 2:
        check = struct.unpack_from("!H", out, found.checksum_at)[0]
        if not (found.optional_checksum and check == 0):
            total = (~check & 0xFFFF) + (~old & 0xFFFF) + new
            while total >> 16:
                total = (total & 0xFFFF) + (total >> 16)
            check = ~total & 0xFFFF
            if found.optional_checksum and check == 0:
                check = 0xFFFF
            struct.pack_into("!H", out, found.checksum_at, check)
    return bytes(out)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return int(~total & 0xFFFF)


def frag_needed(original: bytes, packet: IPv4Packet, mtu: int, source: int) -> bytes:
    """ICMP "fragmentation needed" (type 3 code 4) with the next-hop MTU, from ``source``
    to the sender of ``original``, quoting its header and first 8 payload bytes."""
    quoted = original[: packet.header_len + 8]
    icmp = struct.pack("!BBHHH", ICMP_UNREACHABLE, 4, 0, 0, mtu) + quoted
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    header = struct.pack("!BBHHHBBHII", 0x45, 0xC0, total, 0, 0, 64, ICMP, 0, source, packet.src)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + icmp

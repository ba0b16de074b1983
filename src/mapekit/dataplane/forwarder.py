"""The userspace tunnel: a TUN device and a raw IPv6 socket (next header 4), joined by the
MAP-E checks. One loop serves a CE or a BR.

The raw socket hands over the inner IPv4 packet and the outer IPv6 source (docs/design.md §6),
and sends an IPv4 packet as the payload of an IPv6 packet to the peer it is given. Path
MTU discovery is on for the outer packets: when the kernel says a packet is too big for
the path, the tunnel MTU is lowered to fit and the IPv4 sender gets "fragmentation needed".
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import selectors
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mapekit.dataplane.checks import Verdict
from mapekit.dataplane.links import link_mtu, set_link
from mapekit.dataplane.packets import frag_needed, parse
from mapekit.dataplane.portmap import PortMap

IPPROTO_IPIP = 4
IPV6_MTU_DISCOVER = 23
IPV6_PMTUDISC_DO = 2
IPV6_MTU = 24
OUTER_HEADER = 40
MAX_PACKET = 65535


def raw_socket(local: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_IPIP)
    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)
    sock.bind((local, 0))
    sock.setblocking(False)
    return sock


ICMP6_FILTER = 1
ICMPV6_PACKET_TOO_BIG = 2
MIN_INNER_MTU = 1280 - OUTER_HEADER


def icmp6_socket() -> socket.socket:
    """A raw ICMPv6 socket that sees only "packet too big" messages.

    The kernel does not learn a path MTU from a "packet too big" that quotes an IPv4-in-IPv6
    packet of a raw socket (measured here), so the forwarder reads them itself.
    """
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    blocked = [0xFFFFFFFF] * 8
    blocked[0] &= ~(1 << ICMPV6_PACKET_TOO_BIG)
    sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *blocked))
    sock.setblocking(False)
    return sock


def path_mtu(peer: str) -> int | None:
    """The kernel's path MTU towards ``peer`` (learnt from "packet too big")."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((peer, 9))
            return int(probe.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU))
        except OSError:
            return None


class AddressCache:
    """IPv6 text ↔ integer, remembered: converting costs more than the checks."""

    def __init__(self, size: int = 65536) -> None:
        self.size = size
        self._text: dict[int, str] = {}
        self._int: dict[str, int] = {}

    def text(self, value: int) -> str:
        found = self._text.get(value)
        if found is None:
            if len(self._text) >= self.size:
                self._text.clear()
            found = self._text[value] = str(ipaddress.IPv6Address(value))
        return found

    def integer(self, text: str) -> int:
        found = self._int.get(text)
        if found is None:
            if len(self._int) >= self.size:
                self._int.clear()
            found = self._int[text] = int(ipaddress.IPv6Address(text.split("%", 1)[0]))
        return found


@dataclass
class Stats:
    """Packets and bytes per direction, and drops per reason."""

    counts: Counter[str] = field(default_factory=Counter)
    _bytes_keys: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, size: int = 0) -> None:
        counts = self.counts
        counts[key] += 1
        if size:
            bytes_key = self._bytes_keys.get(key)
            if bytes_key is None:
                bytes_key = self._bytes_keys[key] = key + "_bytes"
            counts[bytes_key] += size

    def to_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def _inbound(packet: bytes, port_map: PortMap | None) -> bytes:
    """What is written into the tunnel device carries the NAT's (virtual) port."""
    header = parse(packet) if port_map is not None else None
    return packet if header is None or port_map is None else port_map.inbound(packet, header)


def answer_packet_too_big(
    message: bytes, tun_name: str, tun_fd: int, local: str | None, stats: Stats, *,
    port_map: PortMap | None = None,
) -> None:  # fmt: skip
    """ICMPv6 "packet too big" (``message``: the ICMPv6 part) about one of our tunnel
    packets (RFC 4443 §3.2): lower the tunnel MTU to fit the path and tell the IPv4
    sender "fragmentation needed", written into the tunnel device as if the path had
    answered (conntrack turns it back to the LAN host of a NATed flow)."""
    if len(message) < 8 + 40 + 20 or message[0] != ICMPV6_PACKET_TOO_BIG:
        return
    mtu = struct.unpack_from("!I", message, 4)[0]
    quoted = message[8:]
    source = str(ipaddress.IPv6Address(quoted[8:24]))
    if quoted[6] != IPPROTO_IPIP or (local is not None and source != local):
        return
    stats.add("packet_too_big")
    inner_mtu = max(MIN_INNER_MTU, mtu - OUTER_HEADER)
    if inner_mtu < link_mtu(tun_name):
        set_link(tun_name, mtu=inner_mtu)
        stats.add("tunnel_mtu_lowered")
    inner = quoted[40:]
    header = parse(inner)
    if header is not None and header.first and header.dont_fragment:
        # it quotes the packet as it left, with a real port
        os.write(tun_fd, _inbound(frag_needed(inner, header, inner_mtu, header.dst), port_map))
        stats.add("frag_needed_sent")


def answer_too_big(
    packet: bytes, peer: str, tun_name: str, tun_fd: int, stats: Stats, *,
    port_map: PortMap | None = None,
) -> None:  # fmt: skip
    """The path to ``peer`` cannot carry ``packet`` (IPv4) in a tunnel packet: lower the
    tunnel MTU to the path's, and tell the IPv4 sender "fragmentation needed"."""
    mtu = path_mtu(peer)
    inner_mtu = (mtu - OUTER_HEADER) if mtu else None
    if inner_mtu and inner_mtu >= 576 and inner_mtu < link_mtu(tun_name):
        set_link(tun_name, mtu=inner_mtu)
        stats.add("tunnel_mtu_lowered")
    header = parse(packet)
    if header is not None and header.dont_fragment and inner_mtu:
        # from the destination's side, like a router on the path; conntrack turns it
        # back to the LAN host whose connection it belongs to
        os.write(tun_fd, _inbound(frag_needed(packet, header, inner_mtu, header.dst), port_map))
        stats.add("frag_needed_sent")


class TunnelChecks(Protocol):
    """What the CE side asks of its checks (MAP-E's CeChecks, a softwire's)."""

    def inbound(self, data: bytes, outer_src: int, now: float) -> Verdict: ...

    def outbound(self, data: bytes, now: float) -> Verdict: ...


class BorderChecks(Protocol):
    """What the operator's side asks of its checks (a MAP-E BR's, an IPIP endpoint's)."""

    def from_ce(self, data: bytes, outer_src: int, now: float) -> Verdict: ...

    def to_ce(self, data: bytes, now: float) -> Verdict: ...


@dataclass
class Forwarder:
    """Moves packets between ``tun_fd`` and ``raw`` for a CE (``ce``) or a BR (``br``)."""

    tun_name: str
    tun_fd: int
    raw: socket.socket
    ce: TunnelChecks | None = None
    br: BorderChecks | None = None
    local: str | None = None  # our outer address, to recognise our packets in ICMPv6 errors
    icmp6: socket.socket | None = None
    stats: Stats = field(default_factory=Stats)
    stats_path: Path | None = None
    clock: Callable[[], float] = time.monotonic
    stop: threading.Event = field(default_factory=threading.Event)
    addresses: AddressCache = field(default_factory=AddressCache)
    port_map: PortMap | None = None  # CE: the NAT's virtual range ↔ the port set

    def run(self) -> None:
        """Forward until :attr:`stop` is set."""
        selector = selectors.DefaultSelector()
        selector.register(self.tun_fd, selectors.EVENT_READ, self._from_tun)
        selector.register(self.raw, selectors.EVENT_READ, self._from_raw)
        if self.icmp6 is not None:
            selector.register(self.icmp6, selectors.EVENT_READ, self._from_icmp6)
        last_dump = 0.0
        try:
            while not self.stop.is_set():
                for key, _ in selector.select(timeout=0.5):
                    try:
                        key.data()
                    except Exception:  # one bad packet must not stop the tunnel
                        self.stats.add("forwarder_errors")
                if self.stats_path is not None and self.clock() - last_dump >= 1.0:
                    self.dump_stats()
                    last_dump = self.clock()
        finally:
            selector.close()
            if self.stats_path is not None:
                self.dump_stats()

    def dump_stats(self) -> None:
        """Write the counters (atomically); a failure to write never stops forwarding."""
        assert self.stats_path is not None
        tmp = self.stats_path.with_suffix(".tmp")
        try:
            self.stats_path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.stats.to_dict()))
            os.replace(tmp, self.stats_path)
        except OSError:
            self.stats.add("stats_write_failed")

    # --- directions -----------------------------------------------------------------

    def _from_tun(self) -> None:
        for _ in range(64):  # drain a burst, then let the other side in
            try:
                data = os.read(self.tun_fd, MAX_PACKET)
            except BlockingIOError:
                return
            now = self.clock()
            if self.ce is not None:
                self._send(self._translated(self.ce.outbound(data, now), outbound=True), "out")
            elif self.br is not None:
                self._send(self.br.to_ce(data, now), "to_ce")

    def _from_raw(self) -> None:
        for _ in range(64):
            try:
                data, address = self.raw.recvfrom(MAX_PACKET)
            except BlockingIOError:
                return
            outer = self.addresses.integer(address[0])
            now = self.clock()
            if self.ce is not None:
                verdict = self.ce.inbound(data, outer, now)
                self._deliver(self._translated(verdict, outbound=False), "in")
            elif self.br is not None:
                verdict = self.br.from_ce(data, outer, now)
                if verdict.drop is not None:
                    self.stats.add(f"from_ce_drop_{verdict.drop.value}")
                    continue
                for packet, peer in verdict.packets:
                    if peer is None:
                        self._write(packet, "from_ce")
                    else:
                        self._sendto(packet, peer, "hairpin")

    def _from_icmp6(self) -> None:
        assert self.icmp6 is not None
        for _ in range(16):
            try:
                message = self.icmp6.recv(MAX_PACKET)
            except BlockingIOError:
                return
            self._packet_too_big(message)

    def _packet_too_big(self, message: bytes) -> None:
        answer_packet_too_big(
            message, self.tun_name, self.tun_fd, self.local, self.stats, port_map=self.port_map
        )

    # --- the NAT's virtual ports (mapekit.dataplane.portmap) ---------------------------

    def _translated(self, verdict: Verdict, outbound: bool) -> Verdict:
        port_map = self.port_map
        if port_map is None or verdict.drop is not None:
            return verdict
        translate = port_map.outbound if outbound else port_map.inbound
        packets = []
        for packet, peer in verdict.packets:
            header = parse(packet)
            packets.append((packet if header is None else translate(packet, header), peer))
        return Verdict(tuple(packets))

    # --- actions --------------------------------------------------------------------

    def _deliver(self, verdict: Verdict, direction: str) -> None:
        if verdict.drop is not None:
            self.stats.add(f"{direction}_drop_{verdict.drop.value}")
            return
        for packet, _ in verdict.packets:
            self._write(packet, direction)

    def _write(self, packet: bytes, direction: str) -> None:
        try:
            os.write(self.tun_fd, packet)
            self.stats.add(direction, len(packet))
        except OSError:
            self.stats.add(f"{direction}_drop_tun_error")

    def _send(self, verdict: Verdict, direction: str) -> None:
        if verdict.drop is not None:
            self.stats.add(f"{direction}_drop_{verdict.drop.value}")
            return
        for packet, peer in verdict.packets:
            if peer is not None:
                self._sendto(packet, peer, direction)

    def _sendto(self, packet: bytes, peer: int, direction: str) -> None:
        target = self.addresses.text(peer)
        try:
            self.raw.sendto(packet, (target, 0))
            self.stats.add(direction, len(packet))
        except OSError as exc:
            if exc.errno == errno.EMSGSIZE:
                self._too_big(packet, target, direction)
            else:
                self.stats.add(f"{direction}_drop_send_error")

    def _too_big(self, packet: bytes, peer: str, direction: str) -> None:
        self.stats.add(f"{direction}_too_big")
        answer_too_big(packet, peer, self.tun_name, self.tun_fd, self.stats, port_map=self.port_map)

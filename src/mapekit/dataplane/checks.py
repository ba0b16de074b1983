"""The MAP-E checks of RFC 7597 §8, pure: what a CE and a BR accept, and where packets go.

- A CE accepts from the BR only packets for its own IPv4 address and port set; from
  another CE (FMR) only packets whose outer IPv6 source is the CE address of the inner
  IPv4 source and port.
- A BR accepts from a CE only packets whose outer source is the CE address of the inner
  source and port; it sends IPv4 packets to the CE that owns their destination and port.

Non-first IPv4 fragments carry no ports: they follow the first fragment of their datagram
(virtual reassembly, as VPP's BR does). Fragments that come before their first are held,
within bounds of count and time.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping, reverse_map
from mapekit.core.portset import PortSet
from mapekit.core.rule import MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.packets import IPv4Packet, Side, parse, port_of


class Drop(enum.Enum):
    NOT_IPV4 = "not_ipv4"
    WRONG_DESTINATION = "wrong_destination"  # not this CE's address
    PORT_OUTSIDE_SET = "port_outside_set"  # this CE's address, another CE's port
    NO_PORT = "no_port"  # a protocol without ports cannot be told apart
    SPOOFED_SOURCE = "spoofed_source"  # outer IPv6 source is not the inner source's CE
    NO_RULE = "no_rule"  # no rule covers the address
    FRAGMENT_ORPHAN = "fragment_orphan"  # its first fragment never came
    FRAGMENT_OVERFLOW = "fragment_overflow"  # too many fragments held


@dataclass
class FragmentTracker:
    """Decisions of first fragments, applied to the rest of their datagrams (bounded)."""

    lifetime: float = 5.0
    max_entries: int = 8192
    max_held: int = 512
    _decided: OrderedDict[tuple[int, ...], tuple[float, object]] = field(
        default_factory=OrderedDict
    )
    _held: OrderedDict[tuple[int, ...], tuple[float, list[bytes]]] = field(
        default_factory=OrderedDict
    )
    _held_count: int = 0
    expired: int = 0

    def learn(self, key: tuple[int, ...], value: object, now: float) -> list[bytes]:
        """Remember the first fragment's decision; returns the held later fragments."""
        self._expire(now)
        self._decided[key] = (now + self.lifetime, value)
        self._decided.move_to_end(key)
        while len(self._decided) > self.max_entries:
            self._decided.popitem(last=False)
        _, held = self._held.pop(key, (0.0, []))
        self._held_count -= len(held)
        return held

    def lookup(self, key: tuple[int, ...], now: float) -> object | None:
        entry = self._decided.get(key)
        if entry is None or entry[0] < now:
            return None
        return entry[1]

    def hold(self, key: tuple[int, ...], data: bytes, now: float) -> bool:
        """Keep a fragment that came before its first; False when the buffer is full."""
        self._expire(now)
        if self._held_count >= self.max_held:
            return False
        deadline, held = self._held.get(key, (now + self.lifetime, []))
        held.append(data)
        self._held[key] = (deadline, held)
        self._held_count += 1
        return True

    def _expire(self, now: float) -> None:
        while self._decided and next(iter(self._decided.values()))[0] < now:
            self._decided.popitem(last=False)
        while self._held and next(iter(self._held.values()))[0] < now:
            _, (_, held) = self._held.popitem(last=False)
            self._held_count -= len(held)
            self.expired += len(held)


@dataclass(frozen=True)
class Verdict:
    """Packets to pass on (with their IPv6 peer where one applies), or why not."""

    packets: tuple[tuple[bytes, int | None], ...] = ()
    drop: Drop | None = None


DROPPED_HELD = Verdict()


def _fragmented(
    data: bytes,
    packet: IPv4Packet,
    tracker: FragmentTracker,
    now: float,
    decide: Callable[[], tuple[Drop | None, int | None]],
) -> Verdict:
    """Apply ``decide`` to first fragments and whole packets; the rest follow."""
    if packet.first:
        drop, peer = decide()
        if not packet.fragment:
            return Verdict(((data, peer),)) if drop is None else Verdict(drop=drop)
        held = tracker.learn(packet.key, (drop, peer), now)
        if drop is not None:
            return Verdict(drop=drop)
        return Verdict(((data, peer), *((h, peer) for h in held)))
    decided = tracker.lookup(packet.key, now)
    if decided is None:
        return (
            DROPPED_HELD
            if tracker.hold(packet.key, data, now)
            else Verdict(drop=Drop.FRAGMENT_OVERFLOW)
        )
    drop, peer = decided  # type: ignore[misc]
    return Verdict(((data, peer),)) if drop is None else Verdict(drop=drop)


class CeChecks:
    """What a CE with ``mapping`` accepts, and where its outbound packets go."""

    def __init__(self, mapping: Mapping, rules: RuleSet) -> None:
        self.mapping = mapping
        self.rules = rules
        self.br = int(mapping.rule.br) if mapping.rule.br is not None else 0
        self.ports = mapping.port_set
        shift = 32 - mapping.ipv4_len
        self._net = mapping.ipv4 >> shift
        self._shift = shift
        self.inbound_fragments = FragmentTracker()
        self.outbound_fragments = FragmentTracker()

    def _for_me(self, data: bytes, packet: IPv4Packet) -> Drop | None:
        if packet.dst >> self._shift != self._net:
            return Drop.WRONG_DESTINATION
        if not self.ports.restricted:
            return None
        port = port_of(data, packet, Side.DESTINATION)
        if port is None:
            return Drop.NO_PORT
        return None if port in self.ports else Drop.PORT_OUTSIDE_SET

    def _peer_ok(self, data: bytes, packet: IPv4Packet, outer_src: int) -> Drop | None:
        """A packet from another CE: its outer source must own its inner source."""
        rule = self.rules.fmr(packet.src)
        if rule is None:
            return Drop.SPOOFED_SOURCE
        port = port_of(data, packet, Side.SOURCE) if rule.psid_len else 0
        if port is None:
            return Drop.NO_PORT
        try:
            expected = self.rules.reverse(packet.src, port).ce_ipv6
        except MapeError:
            return Drop.SPOOFED_SOURCE
        return None if expected == outer_src else Drop.SPOOFED_SOURCE

    def inbound(self, data: bytes, outer_src: int, now: float) -> Verdict:
        packet = parse(data)
        if packet is None:
            return Verdict(drop=Drop.NOT_IPV4)

        def decide() -> tuple[Drop | None, int | None]:
            drop = self._for_me(data, packet)
            if drop is None and outer_src != self.br:
                drop = self._peer_ok(data, packet, outer_src)
            return drop, None

        return _fragmented(data, packet, self.inbound_fragments, now, decide)

    def outbound(self, data: bytes, now: float) -> Verdict:
        """Where a packet from the LAN (already NATed) goes: the BR or an FMR peer."""
        packet = parse(data)
        if packet is None:
            return Verdict(drop=Drop.NOT_IPV4)

        def decide() -> tuple[Drop | None, int | None]:
            rule = self.rules.fmr(packet.dst)
            if rule is None or packet.dst >> self._shift == self._net:
                return None, self.br
            port = port_of(data, packet, Side.DESTINATION) if rule.psid_len else 0
            if port is None:
                return None, self.br  # no port to map: let the BR sort it out
            try:
                return None, self.rules.reverse(packet.dst, port).ce_ipv6
            except MapeError:
                return None, self.br

        return _fragmented(data, packet, self.outbound_fragments, now, decide)


def _ports_of(rule: MappingRule, address: int, port: int) -> PortSet:
    """The port set ``port`` would belong to under ``rule`` (excluded ports fail it)."""
    k, a = rule.psid_len, rule.psid_offset
    psid = rule.psid if rule.psid is not None else (port >> (16 - a - k)) & ((1 << k) - 1)
    return PortSet(a, k, psid)


class BrChecks:
    """What a BR for ``rules`` accepts from CEs, and where IPv4 packets go."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.from_ce_fragments = FragmentTracker()
        self.to_ce_fragments = FragmentTracker()

    def _owner(self, data: bytes, packet: IPv4Packet, address: int, side: Side) -> int | Drop:
        """The CE address owning ``address`` and the packet's port on ``side``."""
        rule = self.rules.find_rule_for_ipv4(address)
        if rule is None:
            return Drop.NO_RULE
        port = port_of(data, packet, side) if rule.psid_len else 0
        if port is None:
            return Drop.NO_PORT
        if port not in _ports_of(rule, address, port):
            return Drop.PORT_OUTSIDE_SET
        return reverse_map(rule, address, port).ce_ipv6

    def from_ce(self, data: bytes, outer_src: int, now: float) -> Verdict:
        """A decapsulated packet: to the IPv4 side (peer None) or hairpinned to a CE."""
        packet = parse(data)
        if packet is None:
            return Verdict(drop=Drop.NOT_IPV4)

        def decide() -> tuple[Drop | None, int | None]:
            owner = self._owner(data, packet, packet.src, Side.SOURCE)
            if isinstance(owner, Drop):
                return (Drop.SPOOFED_SOURCE if owner is Drop.PORT_OUTSIDE_SET else owner), None
            if owner != outer_src:
                return Drop.SPOOFED_SOURCE, None
            target = self._owner(data, packet, packet.dst, Side.DESTINATION)
            if target is Drop.NO_RULE:
                return None, None  # outside the domain: to the IPv4 side
            if isinstance(target, Drop):
                return target, None  # a domain address, but no CE owns that port
            return None, target  # hairpin to another CE

        return _fragmented(data, packet, self.from_ce_fragments, now, decide)

    def to_ce(self, data: bytes, now: float) -> Verdict:
        """An IPv4 packet for the MAP domain: the CE to encapsulate it to."""
        packet = parse(data)
        if packet is None:
            return Verdict(drop=Drop.NOT_IPV4)

        def decide() -> tuple[Drop | None, int | None]:
            owner = self._owner(data, packet, packet.dst, Side.DESTINATION)
            return (owner, None) if isinstance(owner, Drop) else (None, owner)

        return _fragmented(data, packet, self.to_ce_fragments, now, decide)

"""The NAT's whole-set range: a contiguous run of ports that stands for the port set.

The kernel's NAT searches one contiguous range for a free port. A MAP-E port set is not
contiguous (15 blocks of 16 ports for v6plus), so a ruleset can only hand the kernel one
block per new connection; near exhaustion the chosen block can be full while others have
room, and the connection's SYN is dropped (docs/design.md §6 has the measurement). Where
mapekit's own data plane carries the packets (the bpf and userspace backends), the NAT is
given instead a contiguous *virtual* range of as many ports as the set, and the data plane
translates, stateless and one to one, between a virtual port and a real port of the set:
outbound the source port (TCP, UDP, the ICMP echo identifier, the quoted destination port
of an ICMP error), inbound the destination port. The kernel then searches the whole set for
every connection. The virtual ports exist only inside the router (conntrack shows them); on
the wire every port is a real one.

The virtual range lies outside the set (so a port is never both), in the dynamic range
from 49152 up when a long enough run of free ports is there (else from 1024 up): no
registered service sits there. Forwarded ports take the last virtual ports, after the
NAT's range, so the range stays contiguous; each swaps places with the port that was
there, so adding or removing a forward moves the translation of at most twice as many
ports as there are forwards, not of all. New flows from the tunnel arrive at a virtual
port and are sent on to the real one (nftables.py), so the router's own services on
ports of the set (a VPN server) work as before, and nothing from outside reaches a port
of the virtual range itself (those ports are not in the set: the checks drop them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from mapekit.core.portset import PORT_SPACE, PortSet
from mapekit.dataplane.packets import (
    IPv4Packet,
    PortField,
    Side,
    port_field,
    read_port,
    rewrite_port,
)

DYNAMIC = 49152
LOWEST = 1024
NAT_MODES = ("auto", "per-block")  # ``mape tunnel --nat``, the agent's ``dataplane.nat``
TRANSLATING = ("bpf", "userspace")  # the backends whose data plane translates ports


def searches_whole_set(backend: str, nat: str) -> bool:
    """Whether the NAT gets the virtual range (the whole set at once) under ``backend``
    with the NAT mode ``nat``."""
    return backend in TRANSLATING and nat == "auto"


@dataclass(frozen=True)
class PortMap:
    """Virtual port ``base + i`` is real port ``real[i]``; the NAT takes the first
    ``pool_size`` of them, forwarded ports follow."""

    base: int
    real: tuple[int, ...]
    pool_size: int
    _to_virtual: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_to_virtual", {real: virtual for virtual, real in self.pairs()})

    @property
    def nat_range(self) -> tuple[int, int]:
        """The NAT's range, inclusive."""
        return (self.base, self.base + self.pool_size - 1)

    def to_real(self, virtual: int) -> int | None:
        index = virtual - self.base
        return self.real[index] if 0 <= index < len(self.real) else None

    def to_virtual(self, real: int) -> int | None:
        return self._to_virtual.get(real)

    def outbound(self, data: bytes, packet: IPv4Packet) -> bytes:
        """A packet leaving through the tunnel: its virtual source port made real."""
        return _translate(data, port_field(data, packet, Side.SOURCE), self.to_real)

    def inbound(self, data: bytes, packet: IPv4Packet) -> bytes:
        """A packet arriving from the tunnel: its real destination port made virtual."""
        return _translate(data, port_field(data, packet, Side.DESTINATION), self.to_virtual)

    def pairs(self) -> Iterator[tuple[int, int]]:
        """Each virtual port with its real one, in virtual order."""
        return enumerate(self.real, start=self.base)

    def to_dict(self) -> dict[str, object]:
        first, last = self.nat_range
        return {"nat_range": [first, last], "forwarded": len(self.real) - self.pool_size}


def _translate(data: bytes, found: PortField | None, to: Callable[[int], int | None]) -> bytes:
    """``data`` with the port at ``found`` put through ``to`` (a port ``to`` does not map,
    or no port at all: unchanged)."""
    if found is None:
        return data
    new = to(read_port(data, found))
    return data if new is None else rewrite_port(data, found, new)


def _free_run(ports: PortSet, size: int, lowest: int) -> int | None:
    """The first port of ``size`` contiguous ports from ``lowest`` outside the set."""
    start = lowest
    for first, last in ports.ranges():
        if last < start:
            continue
        if first - start >= size:
            return start
        start = max(start, last + 1)
    return start if PORT_SPACE - start >= size else None


def _forwards_last(ports: list[int], reserved: set[int]) -> list[int]:
    """``ports`` (the set, ascending) with the reserved ports moved into the last slots:
    each takes the place of a port that was there, which takes its place. Every other port
    keeps its slot, so a change of the forwards moves few translations (flows on a moved
    port are cut: the agent says so)."""
    order = list(ports)
    tail = len(order) - len(reserved)
    moving = [i for i, port in enumerate(order) if port in reserved and i < tail]
    making_room = [i for i in range(tail, len(order)) if order[i] not in reserved]
    for i, j in zip(moving, making_room, strict=True):
        order[i], order[j] = order[j], order[i]
    return order


def whole_set_map(ports: PortSet, reserved: Sequence[int] = ()) -> PortMap | None:
    """The map for ``ports`` with the ``reserved`` (forwarded) ports kept out of the NAT's
    range, or None when none is needed (one contiguous block: the kernel searches it all)
    or none fits (no run of free ports as long as the set)."""
    if not ports.restricted or ports.block_count == 1:
        return None
    taken = {port for port in reserved if port in ports}
    base = _free_run(ports, len(ports), DYNAMIC)
    if base is None:
        base = _free_run(ports, len(ports), LOWEST)
    if base is None:
        return None
    return PortMap(base, tuple(_forwards_last(list(ports), taken)), len(ports) - len(taken))

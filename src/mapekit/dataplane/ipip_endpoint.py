"""A userspace IPIP fixed-address endpoint: the operator's side of an IPIP fixed-IPv4 line,
for the lab and for tests.

Each subscriber has a fixed IPv4 address (or prefix) and a CE tunnel address, which the
operator learns from the CE's update URL after every prefix change. The endpoint routes the
fixed addresses into one TUN device, sends what comes out to the CE holding the address, and
accepts from a CE only packets whose inner source is that CE's fixed address (a CE cannot
send as another subscriber). The peer list is replaced as a whole when the operator's
records change (:meth:`IpipEndChecks.replace`), so the forwarding loop never sees half an
update.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mapekit.core.errors import DataError
from mapekit.dataplane.checks import Drop, Verdict
from mapekit.dataplane.packets import parse

MAX_PEERS = 65536


@dataclass(frozen=True)
class Peer:
    ipv4: ipaddress.IPv4Network  # the fixed address or prefix
    local: ipaddress.IPv6Address  # the CE's current tunnel address

    def to_dict(self) -> dict[str, str]:
        return {"ipv4": str(self.ipv4), "local": str(self.local)}


def peer(ipv4: str, local: str, where: str = "peer") -> Peer:
    """A peer from text; errors name the field."""
    try:
        network = ipaddress.IPv4Network(ipv4)
    except ValueError as exc:
        raise DataError("data.file_schema", f"{where}.ipv4: {exc}", field="ipv4") from None
    try:
        address = ipaddress.IPv6Address(local)
    except ValueError as exc:
        raise DataError("data.file_schema", f"{where}.local: {exc}", field="local") from None
    return Peer(network, address)


def read_peers(path: Path) -> list[Peer]:
    """Peers from a JSON file: ``[{"ipv4": "203.0.113.9/32", "local": "2001:db8::1"}]``."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError("data.file_syntax", f"{path}: {exc}", field="peers") from None
    if not isinstance(doc, list) or len(doc) > MAX_PEERS:
        raise DataError("data.file_schema", f"{path}: a list of at most {MAX_PEERS} peers",
                        field="peers")  # fmt: skip
    out = []
    for i, entry in enumerate(doc):
        if not isinstance(entry, dict) or not {"ipv4", "local"} <= entry.keys():
            raise DataError("data.file_schema", f"peers[{i}]: needs ipv4 and local", field="peers")
        out.append(peer(str(entry["ipv4"]), str(entry["local"]), f"peers[{i}]"))
    return out


class IpipEndChecks:
    """Which CE an IPv4 packet goes to, and whether a CE may send a packet (pure)."""

    def __init__(self, peers: Iterable[Peer] = ()) -> None:
        self._table: tuple[tuple[int, dict[int, int]], ...] = ()
        self.peers: tuple[Peer, ...] = ()
        self.replace(peers)

    def replace(self, peers: Iterable[Peer]) -> None:
        """Swap in a new peer list (one assignment: the loop sees the old or the new)."""
        by_len: dict[int, dict[int, int]] = {}
        listed = tuple(peers)
        for p in listed:
            by_len.setdefault(p.ipv4.prefixlen, {})[int(p.ipv4.network_address)] = int(p.local)
        self._table = tuple(sorted(by_len.items(), reverse=True))  # longest prefix first
        self.peers = listed

    def owner(self, address: int) -> int | None:
        for length, nets in self._table:
            found = nets.get(address & ((0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF))
            if found is not None:
                return found
        return None

    def from_ce(self, data: bytes, outer_src: int, now: float) -> Verdict:
        packet = parse(data)
        if packet is None:
            return Verdict(drop=Drop.NOT_IPV4)
        owner = self.owner(packet.src)
        if owner is None:
            return Verdict(drop=Drop.NO_RULE)
        if owner != outer_src:
            return Verdict(drop=Drop.SPOOFED_SOURCE)
        return Verdict(packets=((data, None),))

    def to_ce(self, data: bytes, now: float) -> Verdict:
        packet = parse(data)
        if packet is None:
            return Verdict(drop=Drop.NOT_IPV4)
        owner = self.owner(packet.dst)
        if owner is None:
            return Verdict(drop=Drop.NO_RULE)
        return Verdict(packets=((data, owner),))


def route_changes(old: Sequence[Peer], new: Sequence[Peer]) -> tuple[set[str], set[str]]:
    """IPv4 prefixes to route into the TUN and to stop routing (pure)."""
    before, after = {str(p.ipv4) for p in old}, {str(p.ipv4) for p in new}
    return after - before, before - after

"""The bpf data plane's maps as bytes: the structures of ``bpf/mapekit.h``, packed and
unpacked here only (pure: no syscalls).

- ``mk_config`` (array, 1 entry): what this CE or BR is;
- ``mk_rules`` (LPM trie, IPv4 prefix → rule): the BR's rule set, or the CE's FMRs;
- ``mk_counters`` (per-CPU array): packets and bytes per direction and reason;
- ``mk_frags`` (LRU hash, bounded): the decision on a first fragment, for the rest;
- ``mk_ports`` (CE, hash): the NAT's virtual ports ↔ the real ports of the set
  (``dataplane/portmap.py``), key ``direction << 16 | port``.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from mapekit.core.rule import IidFormat, MappingRule
from mapekit.dataplane.portmap import PortMap

CONFIG = struct.Struct("<16s16s4s4sIIHBBB3x")
RULE = struct.Struct("<16sIBBBBBBBxHxx")
RULE_KEY = struct.Struct("<I4s")
COUNT = struct.Struct("<QQ")
REASONS = 16
DIRECTIONS = 4
SLOTS = REASONS * DIRECTIONS
# the drop reasons of bpf/mapekit.h, by number (the names of dataplane.checks.Drop)
DROPS = (
    None, "not_ipv4", "wrong_destination", "port_outside_set", "no_port", "spoofed_source",
    "no_rule", "fragment_orphan", "fragment_overflow", "send_error", "too_big",
)  # fmt: skip
NOT_DROPS = ("too_big",)  # left to the slow path: <direction>_too_big
CE_DIRECTIONS = ("out", "in")
BR_DIRECTIONS = ("to_ce", "from_ce", "hairpin")
HOP_LIMIT = 64
TO_REAL, TO_VIRTUAL = 0, 1  # the key's direction in mk_ports


@dataclass(frozen=True)
class Config:
    """``struct mk_config``."""

    local6: str
    tun_ifindex: int
    br6: str = "::"
    ipv4: str = "0.0.0.0"  # noqa: S104 - an address in a map, not a socket
    ipv4_prefix_len: int = 32
    wan_ifindex: int = 0
    psid: int = 0
    psid_offset: int = 0
    psid_len: int = 0
    hop_limit: int = HOP_LIMIT

    def pack(self) -> bytes:
        mask = (0xFFFFFFFF << (32 - self.ipv4_prefix_len)) & 0xFFFFFFFF
        network = int(ipaddress.IPv4Address(self.ipv4)) & mask  # the programs compare dst & mask
        return CONFIG.pack(
            ipaddress.IPv6Address(self.local6).packed,
            ipaddress.IPv6Address(self.br6).packed,
            network.to_bytes(4, "big"),
            mask.to_bytes(4, "big"),
            self.tun_ifindex, self.wan_ifindex, self.psid, self.psid_offset, self.psid_len,
            self.hop_limit,
        )  # fmt: skip


def rule_key(rule: MappingRule) -> bytes:
    net = rule.ipv4_prefix
    return RULE_KEY.pack(net.prefixlen, net.network_address.packed)


def pack_rule(rule: MappingRule) -> bytes:
    """``struct mk_rule`` (a rule's EA bits end at /64 or before: MappingRule checks)."""
    n, o = rule.ipv6_prefix.prefixlen, rule.ea_len
    return RULE.pack(
        rule.ipv6_prefix.network_address.packed,
        int(rule.ipv4_prefix.network_address),
        n, rule.ipv4_prefix.prefixlen, o, rule.psid_offset, rule.psid_len,
        1 if rule.iid is IidFormat.LEGACY else 0,
        1 if rule.psid is not None else 0,
        rule.psid or 0,
    )  # fmt: skip


def rule_entries(rules: Iterable[MappingRule]) -> dict[bytes, bytes]:
    """The trie's content for ``rules``: key → value (a later rule for the same IPv4
    prefix replaces an earlier one, as a rule set's lookup does)."""
    return {rule_key(r): pack_rule(r) for r in rules}


def counter_names(directions: tuple[str, ...]) -> dict[int, str]:
    """Slot → counter name: ``out``, ``in_drop_spoofed_source`` … (the userspace
    forwarder's names)."""
    names = {}
    for d, direction in enumerate(directions):
        for reason, drop in enumerate(DROPS):
            if drop is None:
                names[d * REASONS + reason] = direction
            elif drop in NOT_DROPS:
                names[d * REASONS + reason] = f"{direction}_{drop}"
            else:
                names[d * REASONS + reason] = f"{direction}_drop_{drop}"
    return names


def sum_counts(raw: bytes, cpus: int) -> tuple[int, int]:
    """Packets and bytes of one per-CPU slot, summed over the CPUs."""
    packets = total = 0
    for cpu in range(cpus):
        p, b = COUNT.unpack_from(raw, cpu * COUNT.size)
        packets += p
        total += b
    return packets, total


def counters(slots: dict[int, tuple[int, int]], directions: tuple[str, ...]) -> dict[str, int]:
    """The non-zero counters by name (passed packets also in ``<direction>_bytes``)."""
    names = counter_names(directions)
    out: dict[str, int] = {}
    for slot, (packets, size) in slots.items():
        name = names.get(slot)
        if name is None or not packets:
            continue
        out[name] = packets
        if name in directions:
            out[f"{name}_bytes"] = size
    return dict(sorted(out.items()))


def port_entries(port_map: PortMap | None) -> dict[bytes, bytes]:
    """``mk_ports``: both directions of ``port_map`` (nothing when there is none)."""
    if port_map is None:
        return {}
    entries = {}
    for virtual, real in port_map.pairs():
        entries[struct.pack("<I", TO_REAL << 16 | virtual)] = struct.pack("<H", real)
        entries[struct.pack("<I", TO_VIRTUAL << 16 | real)] = struct.pack("<H", virtual)
    return entries

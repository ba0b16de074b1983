"""Forward mapping (End-user prefix → IPv4, PSID, ports, CE address) and the reverse
mapping a BR does (IPv4 + port → PSID, End-user prefix, CE address). RFC 7597 §5-6.

Both work on integers and build small frozen results; text and port lists are made only
when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from mapekit.core.addr import ipv4_text, ipv6_text, mask
from mapekit.core.errors import InputError, LookupFailure
from mapekit.core.portset import PortSet
from mapekit.core.rule import IidFormat, MappingRule

TUNNEL_MTU = 1460  # 1500 on the access line minus the 40-byte IPv6 header
_LOW64 = (1 << 64) - 1


def interface_id(ipv4: int, psid: int, fmt: IidFormat) -> int:
    """The 64-bit interface id: RFC 7597 §6 or draft-ietf-softwire-map-03."""
    if fmt is IidFormat.LEGACY:
        return (ipv4 << 24) | (psid << 8)
    return (ipv4 << 16) | psid


@dataclass(frozen=True, slots=True)
class MappingNote:
    """Something the user should know about a mapping that is not an error."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Mapping:
    """What a CE derives from its End-user prefix under one rule."""

    rule: MappingRule
    prefix: int  # the End-user prefix, bits after prefix_len zero
    prefix_len: int
    ipv4: int  # the IPv4 address, or the first address of the CE's IPv4 prefix
    ipv4_len: int  # 32 for a full or shared address
    psid: int
    iid: IidFormat

    @property
    def psid_len(self) -> int:
        return self.rule.psid_len

    @property
    def port_set(self) -> PortSet:
        return PortSet(self.rule.psid_offset, self.rule.psid_len, self.psid)

    @property
    def ce_ipv6(self) -> int:
        """The CE's MAP address: End-user prefix, subnet id 0, interface id."""
        return self.prefix | interface_id(self.ipv4, self.psid, self.iid)

    def ce_ipv6_as(self, fmt: IidFormat) -> int:
        return self.prefix | interface_id(self.ipv4, self.psid, fmt)

    @property
    def br_view_ce_ipv6(self) -> int:
        """The CE address a BR derives: the EA bits with zero bits after them."""
        end = self.rule.ea_end
        return (self.prefix & mask(128, end)) | interface_id(self.ipv4, self.psid, self.iid)

    @property
    def warnings(self) -> tuple[MappingNote, ...]:
        if self.prefix_len > self.rule.ea_end and self.br_view_ce_ipv6 != self.ce_ipv6:
            return (
                MappingNote(
                    "prefix.extra_bits",
                    f"the End-user prefix /{self.prefix_len} has non-zero bits after the "
                    f"EA bits (/{self.rule.ea_end}); a BR derives the CE address "
                    f"{ipv6_text(self.br_view_ce_ipv6)}, not {ipv6_text(self.ce_ipv6)}",
                ),
            )
        return ()

    @property
    def ipv4_text(self) -> str:
        return ipv4_text(self.ipv4)

    def to_dict(self) -> dict[str, object]:
        """The mapping object of ``mape calc --json`` (see docs/cli.md)."""
        rule = self.rule
        ports = self.port_set
        return {
            "isp": rule.isp,
            "rule": rule.to_dict(),
            "br": None if rule.br is None else str(rule.br),
            "end_user_prefix": f"{ipv6_text(self.prefix)}/{self.prefix_len}",
            "ipv4": self.ipv4_text,
            "ipv4_prefix_len": self.ipv4_len,
            "psid": self.psid,
            "psid_len": self.psid_len,
            "port_ranges": ports.to_list(),
            "port_count": ports.count,
            "sharing_ratio": rule.sharing_ratio,
            "ce_ipv6": ipv6_text(self.ce_ipv6),
            "iid": self.iid.value,
            "ce_ipv6_rfc": ipv6_text(self.ce_ipv6_as(IidFormat.RFC)),
            "ce_ipv6_legacy": ipv6_text(self.ce_ipv6_as(IidFormat.LEGACY)),
            "mtu": TUNNEL_MTU,
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
        }


def map_prefix(
    rule: MappingRule, prefix: int, prefix_len: int, iid: IidFormat | None = None
) -> Mapping:
    """Forward mapping of an End-user prefix (bits after ``prefix_len`` are ignored).

    Only the EA bits count: a prefix longer than n + o maps like its /n+o.
    """
    n, o = rule._n, rule.ea_len
    end = n + o
    if prefix_len < end:
        raise InputError(
            "input.end_user_prefix_too_short",
            f"prefix: /{prefix_len} is shorter than /{end} (rule /{n} + {o} EA bits) "
            f"of rule {rule.describe()}",
            field="prefix",
            value=prefix_len,
        )
    prefix &= mask(128, prefix_len)
    if prefix >> (128 - n) != rule._v6 >> (128 - n):
        raise LookupFailure(
            "lookup.no_rule_for_prefix",
            f"prefix: {ipv6_text(prefix)}/{prefix_len} is not inside rule prefix "
            f"{rule.ipv6_prefix}",
            field="prefix",
            value=f"{ipv6_text(prefix)}/{prefix_len}",
        )
    ea = (prefix >> (128 - end)) & ((1 << o) - 1)
    p = 32 - rule._r
    if o >= p:
        k_ea = o - p
        ipv4 = rule._v4 | (ea >> k_ea)
        psid = ea & ((1 << k_ea) - 1) if k_ea else (rule.psid or 0)
        ipv4_len = 32
    else:
        ipv4 = rule._v4 | (ea << (p - o))
        psid = 0
        ipv4_len = rule._r + o
    return Mapping(rule, prefix, prefix_len, ipv4, ipv4_len, psid, iid or rule.iid)


class ReverseMapping(NamedTuple):
    """What a BR derives from an IPv4 address and port (or ICMP identifier).

    A named tuple rather than a dataclass: a BR builds one per packet.
    """

    rule: MappingRule
    ipv4: int
    port: int
    psid: int
    prefix: int  # the End-user prefix, /n+o
    ce_ipv6: int
    iid: IidFormat

    @property
    def prefix_len(self) -> int:
        return self.rule.ea_end

    def to_dict(self) -> dict[str, object]:
        rule = self.rule
        return {
            "isp": rule.isp,
            "rule": rule.to_dict(),
            "br": None if rule.br is None else str(rule.br),
            "ipv4": ipv4_text(self.ipv4),
            "port": self.port,
            "psid": self.psid,
            "psid_len": rule.psid_len,
            "end_user_prefix": f"{ipv6_text(self.prefix)}/{self.prefix_len}",
            "ce_ipv6": ipv6_text(self.ce_ipv6),
            "iid": self.iid.value,
        }


def reverse_map(
    rule: MappingRule, ipv4: int, port: int, iid: IidFormat | None = None
) -> ReverseMapping:
    """The CE that owns ``ipv4``:``port`` under ``rule``."""
    p = 32 - rule._r
    if ipv4 >> p != rule._v4 >> p:
        raise LookupFailure(
            "lookup.no_rule_for_ipv4",
            f"ipv4: {ipv4_text(ipv4)} is not inside rule prefix {rule.ipv4_prefix}",
            field="ipv4",
            value=ipv4_text(ipv4),
        )
    if not 0 <= port <= 0xFFFF:
        raise InputError(
            "input.port_syntax", f"port: {port} is outside 0-65535", field="port", value=port
        )
    k = rule.psid_len
    if k:
        a = rule.psid_offset
        if (a and not port >> (16 - a)) or (rule.psid is not None):
            psid = _psid_of_port(rule, ipv4, port)  # the rare paths, with their errors
        else:
            psid = (port >> (16 - a - k)) & ((1 << k) - 1)
    else:
        psid = 0
    o = rule.ea_len
    suffix = ipv4 & ((1 << p) - 1)
    if o >= p:
        k_ea = o - p
        ea = (suffix << k_ea) | (psid if k_ea else 0)
        base4 = ipv4
    else:
        ea = suffix >> (p - o)
        base4 = ipv4 & mask(32, rule._r + o)
    prefix = rule._v6 | (ea << (128 - rule._n - o))
    fmt = iid or rule.iid
    if fmt is IidFormat.LEGACY:
        ce = prefix | (base4 << 24) | (psid << 8)
    else:
        ce = prefix | (base4 << 16) | psid
    return ReverseMapping(rule, ipv4, port, psid, prefix, ce, fmt)


def _psid_of_port(rule: MappingRule, ipv4: int, port: int) -> int:
    k, a = rule.psid_len, rule.psid_offset
    if not k:
        return 0
    if a and not port >> (16 - a):
        raise LookupFailure(
            "lookup.port_outside_set",
            f"port: {port} is below {1 << (16 - a)}, excluded from every port set with "
            f"PSID offset {a}",
            field="port",
            value=port,
        )
    psid = (port >> (16 - a - k)) & ((1 << k) - 1)
    if rule.psid is not None and psid != rule.psid:
        raise LookupFailure(
            "lookup.port_outside_set",
            f"port: {port} belongs to PSID {psid}, but {ipv4_text(ipv4)} is provisioned "
            f"with PSID {rule.psid} only",
            field="port",
            value=port,
        )
    return psid

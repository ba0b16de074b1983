"""A subscriber's IPv4-over-IPv6 mechanisms on the rule server, pure: what may be stored,
what is offered to whom, and the tunnels the IPIP endpoint carries.

A subscriber has an ``order`` of mechanisms (``map_e``, ``dslite``, ``ipip``; default
``map_e`` alone) and the parameters of each: the rule set for MAP-E, the AFTR (a DNS name
or an IPv6 address) for DS-Lite, and for IPIP the endpoint, the fixed IPv4 address or
prefix and the interface id that completes the CE's tunnel address (the delegated prefix
with subnet 0, as the CE computes it). Parameters may be stored for a mechanism that is not
in the order (prepared, not offered); a mechanism in the order needs its parameters.

The value parsers raise :class:`ValueError` with the reason only; callers add the field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mapekit.core.addr import ipv6_text, mask

MECHANISMS = ("map_e", "dslite", "ipip")  # what the rule server can offer
DEFAULT_ORDER = ("map_e",)
IID_BITS = 64
MIN_IPV4_PREFIX = 24  # a fixed address (/32) or a small block
_HOST = re.compile(r"(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
                   r"(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")  # fmt: skip
_IID_GROUPS = re.compile(r"[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4}){3}")
_SPLIT = re.compile(r"[\s,]+")


class FieldProblem(ValueError):
    """A value or a combination of values that cannot be stored: which field, and why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field, self.why = field, why


@dataclass(frozen=True)
class IpipParams:
    """The operator's side of an IPIP fixed-address line."""

    remote: str  # the endpoint's IPv6 address
    ipv4: str  # the fixed address or prefix, ADDRESS/LENGTH
    interface_id: int  # the lower 64 bits of the CE's tunnel address

    @property
    def interface_id_text(self) -> str:
        return str(ipaddress.IPv6Address(self.interface_id))

    def local(self, prefix: int) -> str:
        """The CE's tunnel address: the prefix's subnet 0 and the interface id."""
        return ipv6_text((prefix & mask(128, IID_BITS)) | self.interface_id)


@dataclass(frozen=True)
class Mechanisms:
    """What one subscriber is offered, with the parameters of each mechanism."""

    order: tuple[str, ...] = DEFAULT_ORDER
    aftr: str | None = None
    ipip: IpipParams | None = None
    update_user: str | None = None
    password_set: bool = False
    ipip_current: str | None = None  # the address of the CE's last update call
    ipip_updated_at: float | None = None

    def has_data(self, mechanism: str, has_rules: bool) -> bool:
        return {"map_e": has_rules, "dslite": self.aftr is not None,
                "ipip": self.ipip is not None}.get(mechanism, False)  # fmt: skip


@dataclass(frozen=True)
class IpipTunnel:
    """One tunnel of the IPIP endpoint: the fixed address (``203.0.113.9/32``) goes to the
    CE at ``local`` (its last update's address, else the derived one), from ``remote``."""

    ipv4: str
    local: str
    remote: str
    updated_at: str | None  # ISO 8601 (UTC) of the last update call, or None


# --- values -----------------------------------------------------------------------------


def parse_order(value: str | Sequence[str]) -> tuple[str, ...]:
    """``map_e,dslite`` (commas or spaces) or a list: known mechanisms, each once."""
    names = [n for n in _SPLIT.split(value) if n] if isinstance(value, str) else list(value)
    if not names:
        raise ValueError(f"empty; give one or more of {', '.join(MECHANISMS)}")
    for name in names:
        if name not in MECHANISMS:
            raise ValueError(f"{name[:20]!r} is not one of {', '.join(MECHANISMS)}")
    for name in MECHANISMS:
        if names.count(name) > 1:
            raise ValueError(f"{name} is named twice")
    return tuple(names)


def parse_ipv6(text: str) -> str:
    """A unicast IPv6 address an endpoint can have (no zone, not link-local)."""
    try:
        if "%" in text:
            raise ValueError("a zone")
        address = ipaddress.IPv6Address(text.strip())
    except ValueError:
        raise ValueError(f"{text[:60]!r} is not an IPv6 address") from None
    if (address.is_unspecified or address.is_loopback or address.is_multicast
            or address.is_link_local or address.ipv4_mapped is not None):  # fmt: skip
        raise ValueError(f"{address} is not a unicast address a tunnel can reach")
    return str(address)


def parse_aftr(text: str) -> str:
    """The AFTR: a DNS name (lowercased, no final dot) or an IPv6 address."""
    if ":" in text:
        return parse_ipv6(text)
    name = text.strip().rstrip(".").lower()
    if not _HOST.fullmatch(name):
        raise ValueError(f"{text[:60]!r} is neither a host name nor an IPv6 address")
    if all(label.isdigit() for label in name.split(".")):
        raise ValueError(f"{name} is an IPv4 address; the AFTR is a DNS name or IPv6 address")
    return name


def parse_ipv4(text: str) -> str:
    """The fixed address (``203.0.113.9``, stored as ``/32``) or prefix (``/24``-``/32``)."""
    value = text.strip()
    try:
        network = ipaddress.IPv4Network(value if "/" in value else f"{value}/32")
    except ipaddress.NetmaskValueError:
        raise ValueError(f"{value[:40]} is not an IPv4 prefix") from None
    except ValueError as exc:
        if "has host bits set" in str(exc):
            raise ValueError(f"{value} has host bits set after the length") from None
        raise ValueError(f"{value[:40]} is not an IPv4 address or prefix") from None
    if network.prefixlen < MIN_IPV4_PREFIX:
        raise ValueError(f"/{network.prefixlen} is too wide (a fixed address or /24 to /32)")
    first = network.network_address
    if (first.is_multicast or first.is_loopback or first.is_unspecified or first.is_reserved
            or first.is_link_local):  # fmt: skip
        raise ValueError(f"{network} is not unicast")
    return str(network)


def parse_interface_id(text: str) -> int:
    """``::1234:5678:9abc:def0`` or ``1234:5678:9abc:def0``: the lower 64 bits, not 0."""
    value = text.strip()
    if _IID_GROUPS.fullmatch(value):
        value = "::" + value
    try:
        if "%" in value:
            raise ValueError("a zone")
        number = int(ipaddress.IPv6Address(value))
    except ValueError:
        raise ValueError(
            f"{text[:60]!r} is not an interface id like ::1234:5678:9abc:def0"
        ) from None
    if number >> IID_BITS:
        raise ValueError(f"{text[:60]} has bits above the lower 64")
    if number == 0:
        raise ValueError("::0 is no interface id")
    return number


# --- combinations -----------------------------------------------------------------------


def ipip_params(remote: str | None, ipv4: str | None, iid: int | None) -> IpipParams | None:
    """The three IPIP parameters go together (all or none)."""
    given = {"ipip_remote": remote, "ipip_ipv4": ipv4, "ipip_interface_id": iid}
    if all(v is None for v in given.values()):
        return None
    if remote is None or ipv4 is None or iid is None:
        have = next(k for k, v in given.items() if v is not None)
        lack = next(k for k, v in given.items() if v is None)
        raise FieldProblem(lack, f"required with {have} (the IPIP parameters go together)")
    return IpipParams(remote, ipv4, iid)


def check_complete(m: Mechanisms, has_rules: bool) -> None:
    """Every mechanism in the order has its parameters; credentials go together."""
    needs = {"map_e": "rules", "dslite": "aftr", "ipip": "ipip_remote"}
    for name in m.order:
        if not m.has_data(name, has_rules):
            raise FieldProblem(needs[name], f"required when order has {name}")
    if m.update_user is not None and not m.password_set:
        raise FieldProblem("update_password", "required with update_user")
    if m.update_user is None and m.password_set:
        raise FieldProblem("update_user", "required with update_password")


def offered(m: Mechanisms, has_rules: bool, capability: Collection[str] | None) -> list[str]:
    """The order of an HB46PP answer: the subscriber's, without what has no data and — when
    the CE named its capability — without what it cannot run (it tries them in order)."""
    return [name for name in m.order if m.has_data(name, has_rules)
            and (capability is None or name in capability)]  # fmt: skip


def parse_capability(text: str | None) -> frozenset[str] | None:
    """The CE's ``capability`` (a comma list; None when the request had none)."""
    if text is None:
        return None
    return frozenset(part.strip() for part in text[:256].split(","))


def tunnel(m: Mechanisms, prefix: int) -> IpipTunnel | None:
    """The endpoint's tunnel of an IPIP subscriber (None when ipip is not in the order)."""
    if m.ipip is None or "ipip" not in m.order:
        return None
    stamp = None
    if m.ipip_updated_at is not None:
        stamp = datetime.fromtimestamp(m.ipip_updated_at, UTC).isoformat(timespec="seconds")
    local = m.ipip_current or m.ipip.local(prefix)
    return IpipTunnel(m.ipip.ipv4, local, m.ipip.remote, stamp)


def order_text(order: Iterable[str]) -> str:
    return ",".join(order)


__all__ = [
    "MECHANISMS",
    "FieldProblem",
    "IpipParams",
    "IpipTunnel",
    "Mechanisms",
    "check_complete",
    "ipip_params",
    "offered",
    "parse_aftr",
    "parse_capability",
    "parse_interface_id",
    "parse_ipv4",
    "parse_ipv6",
    "parse_order",
    "tunnel",
]

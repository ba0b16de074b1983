"""What a provisioning exchange yields: rules, a blank answer, or unsupported offers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mapekit.core.ruleset import RuleSet


class Provider(enum.Enum):
    """Where a CE's rules come from."""

    JPNE = "jpne"
    OCN = "ocn"
    HB46PP = "hb46pp"
    DHCPV6 = "dhcpv6"
    STATIC = "static"
    DSLITE = "dslite"  # a configured (or DHCPv6 option 64) AFTR: DS-Lite, RFC 6333
    IPIP = "ipip"  # a configured IPv4-over-IPv6 tunnel with a fixed address


@dataclass(frozen=True)
class RuleDelivery:
    """A usable answer: the rule set, and what the provider wants remembered."""

    provider: Provider
    rules: RuleSet
    user_id: str | None = None  # JPNE `id`, sent back on later requests
    fixlen: int | None = None  # JPNE `ipv6_fixlen`
    ttl: int | None = None  # HB46PP `ttl` (seconds)
    token: str | None = None  # HB46PP `token`
    notes: tuple[str, ...] = field(default=())  # e.g. rules skipped, and why


@dataclass(frozen=True)
class BlankAnswer:
    """The server answered properly but delivers no rules to this requester."""

    provider: Provider
    reason_code: str  # rules.blank or hb46pp.nothing_offered
    detail: str
    user_id: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """Only mechanisms mapekit does not run were offered."""

    provider: Provider
    offered: tuple[str, ...]
    detail: str


@dataclass(frozen=True)
class SoftwireDelivery:
    """A DS-Lite softwire or an IPIP (fixed IPv4) tunnel to set up instead of MAP-E.

    ``remote`` is the AFTR or tunnel endpoint (an IPv6 address once the driver resolved a
    name; ``remote_name`` keeps the name). For IPIP, ``local`` is the CE's whole tunnel
    address (HB46PP ``ipv6_local``) or, from a configuration, ``interface_id`` completes
    the delegated prefix's subnet 0; ``ipv4`` is the fixed address (``a.b.c.d/32``) or
    prefix.
    """

    provider: Provider
    mechanism: str  # dslite | ipip
    remote: str
    remote_name: str | None = None
    local: str | None = None
    interface_id: int | None = None
    ipv4: str | None = None
    ttl: int | None = None
    token: str | None = None
    order: tuple[str, ...] = ()  # what the server offered, in its order
    user_id: str | None = None  # (JPNE's; none here)
    notes: tuple[str, ...] = ()

    @property
    def rules(self) -> tuple[()]:
        return ()  # no MAP-E rules: saved-rule counts and FMR routes see none


Delivery = RuleDelivery | SoftwireDelivery
FetchResult = RuleDelivery | SoftwireDelivery | BlankAnswer | Unsupported

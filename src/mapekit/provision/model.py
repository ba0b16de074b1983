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


FetchResult = RuleDelivery | BlankAnswer | Unsupported

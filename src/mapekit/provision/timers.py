"""When a CE asks again (docs/design.md §3), as data; every delay is scalable for labs."""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

MIN = 60.0
HOUR = 3600.0


class Wait(enum.Enum):
    """Why the CE is waiting; each has a jittered delay range."""

    RULES_OK = "rules_ok"  # recheck the rules now and then
    BLANK = "blank"  # blank or invalid answer
    FORBIDDEN = "forbidden"  # 403: saved rules dropped
    REJECTED = "rejected"  # other 4xx
    SERVER = "server"  # 5xx or no answer: saved rules kept
    HGW_POLL = "hgw_poll"  # the HGW runs MAP-E: look again later
    NO_DISCOVERY = "no_discovery"  # HB46PP TXT NODATA/NXDOMAIN
    DNS_FAILURE = "dns_failure"  # HB46PP other DNS failure
    TTL = "ttl"  # HB46PP success without ttl (with one: exactly ttl)
    HB46PP_ERROR = "hb46pp_error"  # HB46PP: no reply or an error status
    SAVED = "saved"  # after a restart: what a saved schedule says is left of RULES_OK/TTL


DEFAULT_RANGES: Mapping[Wait, tuple[float, float]] = MappingProxyType(
    {
        Wait.RULES_OK: (3 * HOUR, 24 * HOUR),
        Wait.BLANK: (10 * MIN, 30 * MIN),
        Wait.FORBIDDEN: (3 * HOUR, 24 * HOUR),
        Wait.REJECTED: (3 * HOUR, 24 * HOUR),
        Wait.SERVER: (1 * MIN, 10 * MIN),
        Wait.HGW_POLL: (5 * MIN, 10 * MIN),
        Wait.NO_DISCOVERY: (1 * HOUR, 3 * HOUR),
        Wait.DNS_FAILURE: (1 * MIN, 10 * MIN),
        Wait.TTL: (20 * HOUR, 24 * HOUR),
        Wait.HB46PP_ERROR: (10 * MIN, 30 * MIN),
    }
)


@dataclass(frozen=True)
class TimerPolicy:
    """Delay ranges, multiplied by ``scale`` (e.g. 0.001 for a lab that runs in seconds)."""

    scale: float = 1.0
    ranges: Mapping[Wait, tuple[float, float]] = field(default_factory=lambda: DEFAULT_RANGES)

    def delay(self, wait: Wait, rng: random.Random, ttl: float | None = None) -> float:
        if wait is Wait.TTL and ttl is not None:
            return ttl * self.scale
        low, high = self.ranges[wait]
        return rng.uniform(low, high) * self.scale

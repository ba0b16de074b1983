"""Per-client token buckets, so that a CE retrying in a tight loop cannot hurt others.

Pure: the caller passes ``now``. Memory is bounded: the oldest buckets are dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """``rate`` requests per second per client, bursts up to ``burst``; rate 0 = off."""

    rate: float
    burst: float
    max_clients: int = 100_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def allow(self, client: str, now: float) -> bool:
        if self.rate <= 0:
            return True
        tokens, stamp = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, client: str) -> int:
        tokens, _ = self._buckets.get(client, (0.0, 0.0))
        return max(1, round((1.0 - tokens) / self.rate)) if self.rate > 0 else 0

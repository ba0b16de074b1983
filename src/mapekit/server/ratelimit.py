"""Token buckets per key, so that a CE retrying in a tight loop cannot hurt others.

Pure: the caller passes ``now``. Memory is bounded: past ``max_clients`` keys the least
recently used bucket is dropped. Thread-safe (handlers run in a thread pool).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """``rate`` requests per second per key, bursts up to ``burst``; rate 0 = off."""

    rate: float
    burst: float
    max_clients: int = 100_000
    _buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _tokens(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.pop(key, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - stamp) * self.rate)

    def allow(self, key: str, now: float) -> bool:
        """Take one token if there is one."""
        if self.rate <= 0:
            return True
        with self._lock:
            tokens = self._tokens(key, now)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return allowed

    def exhausted(self, key: str, now: float) -> bool:
        """True when ``key`` has no token left (nothing is taken)."""
        if self.rate <= 0:
            return False
        with self._lock:
            if key not in self._buckets:
                return False
            tokens = self._tokens(key, now)
            self._buckets[key] = (tokens, now)
        return tokens < 1.0

    def retry_after(self, key: str) -> int:
        tokens, _ = self._buckets.get(key, (0.0, 0.0))
        return max(1, round((1.0 - tokens) / self.rate)) if self.rate > 0 else 0

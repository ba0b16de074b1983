"""One bounded TTL cache for what every request reads: vendor codes, rule sets and the
prefix lengths in use.

Entries live ``ttl`` seconds; at most ``max_entries`` are kept (the least recently used
goes first), so keys a client chooses — a vendor code is a path segment — can never grow
it without bound. Misses are cached too (``None``: an unknown code), within the same
bound: a flood of random codes costs one query per code and evicts only other misses and
cold entries. Thread-safe (handlers run in a thread pool). Time is passed in as ``now``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """``get(key, now, load)``: the cached value, or ``load()`` stored for ``ttl``."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: float, load: Callable[[], V]) -> V:
        with self._lock:
            found = self._items.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._items.move_to_end(key)
                return found[1]
        value = load()  # outside the lock: a slow query must not serialise every request
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return value

    def peek(self, key: Hashable, now: float) -> tuple[bool, V | None]:
        """(True, value) for a fresh entry, without loading; else (False, None)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None and now - found[0] < self.ttl:
                self._items.move_to_end(key)
                return True, found[1]
        return False, None

    def forget(self, key: Hashable | None = None) -> None:
        """Drop one key (after a change), or everything."""
        with self._lock:
            if key is None:
                self._items.clear()
            else:
                self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)

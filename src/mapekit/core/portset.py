"""Port sets (RFC 7597 §5.1), kept as three numbers, never as a list of ports.

With offset a, PSID length k and m = 16 - a - k, the set of PSID ``psid`` is

    port = (A << (16 - a)) | (psid << m) | j,   A = 1 … 2^a - 1 (A = 0 only when a = 0),
                                                  j = 0 … 2^m - 1

so it is 2^a - 1 contiguous blocks of 2^m ports (one block when a = 0). With k = 0 the
CE owns the whole address and every port 0-65535.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

PORT_SPACE = 1 << 16


@dataclass(frozen=True, slots=True)
class PortSet:
    """The ports of one PSID."""

    offset: int
    psid_len: int
    psid: int

    @property
    def restricted(self) -> bool:
        """False when the CE owns every port of its address (k = 0)."""
        return self.psid_len > 0

    @property
    def block_size(self) -> int:
        """Ports per contiguous block (2^m)."""
        if not self.restricted:
            return PORT_SPACE
        return 1 << (16 - self.offset - self.psid_len)

    @property
    def block_count(self) -> int:
        if not self.restricted or self.offset == 0:
            return 1
        return (1 << self.offset) - 1

    def __len__(self) -> int:
        return self.block_size * self.block_count

    @property
    def count(self) -> int:
        return len(self)

    def __contains__(self, port: object) -> bool:
        if not isinstance(port, int) or not 0 <= port < PORT_SPACE:
            return False
        if not self.restricted:
            return True
        a, k = self.offset, self.psid_len
        if a and not port >> (16 - a):
            return False
        return (port >> (16 - a - k)) & ((1 << k) - 1) == self.psid

    def ranges(self) -> Iterator[tuple[int, int]]:
        """The blocks as inclusive ``(first, last)`` pairs, ascending."""
        if not self.restricted:
            yield (0, PORT_SPACE - 1)
            return
        a, m = self.offset, 16 - self.offset - self.psid_len
        base = self.psid << m
        size = 1 << m
        first_a = 1 if a else 0
        for high in range(first_a, 1 << a):
            start = (high << (16 - a)) | base
            yield (start, start + size - 1)

    def __iter__(self) -> Iterator[int]:
        for first, last in self.ranges():
            yield from range(first, last + 1)

    def block_of(self, port: int) -> int | None:
        """The 0-based index of the block holding ``port``, or None."""
        if port not in self:
            return None
        if not self.restricted or self.offset == 0:
            return 0
        return (port >> (16 - self.offset)) - 1

    def nearest(self, port: int, count: int = 2) -> list[int]:
        """Up to ``count`` usable ports closest to ``port`` (for forwarding advice)."""
        candidates: list[int] = []
        for first, last in self.ranges():
            if port < first:
                candidates.append(first)
            elif port > last:
                candidates.append(last)
            else:
                candidates.append(port)
        candidates.sort(key=lambda p: (abs(p - port), p))
        return candidates[:count]

    def to_list(self) -> list[list[int]]:
        """JSON form: ``[[first, last], …]``."""
        return [[first, last] for first, last in self.ranges()]

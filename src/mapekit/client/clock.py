"""The two clocks a driver reads, injected so that tests can step them.

Deadlines live on the monotonic clock: it never steps, so a router whose clock is set at
boot (no RTC, NTP later) neither fires a burst of requests nor loses a retry. The wall clock
is only for what people read (event times, "last request") and for deadlines that must
survive a restart, which are saved as wall-clock times (``mapekit.agent.schedule``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Clock:
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time

    def offset(self) -> float:
        """wall − monotonic now: add it to a monotonic stamp to show it as a wall time."""
        return self.wall() - self.monotonic()


SYSTEM_CLOCK = Clock()

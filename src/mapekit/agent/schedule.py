"""The operator's recheck deadline, kept across a restart or a reboot.

After good rules the CE asks again in 3 to 24 hours (HB46PP: after ``ttl``). That deadline
lives on the monotonic clock while the agent runs; to survive a restart it is saved as a
wall-clock time with the time it was saved. On start the agent takes what is left of it —
unless the clock is obviously wrong (earlier than when the schedule was saved: a router
without an RTC boots in 1970 or at its last shutdown), in which case it waits the whole
planned interval again rather than trusting the clock; a deadline already past is due at
once. A schedule made under another provider configuration or for another prefix is not
used.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from mapekit.client.state import write_if_changed

FILE = "schedule.json"
VERSION = 1


@dataclass(frozen=True)
class Schedule:
    saved_at: float  # wall clock when saved
    due: float  # wall clock of the recheck
    wait: str  # why (the machine's Wait)
    fingerprint: str  # of the provider configuration it was made under
    prefix: str  # the End-user prefix it was made for

    def remaining(self, wall_now: float) -> float:
        """Seconds left, rebuilt sanely when the clock at start is obviously wrong."""
        planned = max(0.0, self.due - self.saved_at)
        if wall_now < self.saved_at:
            return planned
        return min(planned, max(0.0, self.due - wall_now))


def fingerprint(doc: object) -> str:
    """A stable digest of a configuration section (plain JSON-able values)."""
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def save(directory: Path, schedule: Schedule) -> bool:
    doc = {"version": VERSION, **asdict(schedule)}
    return write_if_changed(directory / FILE, json.dumps(doc, indent=2).encode())


def load(directory: Path) -> Schedule | None:
    """The saved schedule, or None (missing or unusable: the agent then asks at once)."""
    try:
        doc = json.loads((directory / FILE).read_bytes()[:4096])
        if doc.get("version") != VERSION:
            return None
        found = Schedule(
            float(doc["saved_at"]), float(doc["due"]), str(doc["wait"]),
            str(doc["fingerprint"]), str(doc["prefix"]),
        )  # fmt: skip
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not all(math.isfinite(t) for t in (found.saved_at, found.due)):
        return None
    return found


def erase(directory: Path) -> None:
    (directory / FILE).unlink(missing_ok=True)

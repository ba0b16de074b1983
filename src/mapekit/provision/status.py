"""The status a CE shows (``show map-e status``), built from its machine.

The machine keeps time on a monotonic clock (deadlines must not move when the wall clock
steps); the status shows wall-clock times, converted with ``wall_offset`` (wall − monotonic,
read when the status is taken). Converting at display time also corrects the shown times of
past events once a router's clock has been set at boot.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.softwire import Softwire
from mapekit.provision.events import LogEntry
from mapekit.provision.machine import CeMachine, Target
from mapekit.provision.model import RuleDelivery


def explanation(error: MapeError | None, lang: str = "en") -> str | None:
    if error is None:
        return None
    return error.reason.ja if lang == "ja" else error.reason.en


@dataclass(frozen=True)
class CeStatus:
    provider: str
    state: str
    outcome: str | None
    last_request: float | None
    last_update: float | None
    requests: int
    successes: int
    failures: int
    rules: int
    mapping: Target | None  # what is applied: a MAP-E mapping or a softwire
    hgw: str | None
    next_attempt: float | None
    now: float
    error: MapeError | None
    events: tuple[LogEntry, ...]
    notes: tuple[str, ...]

    def to_dict(self, lang: str = "en") -> dict[str, object]:
        error = self.error
        return {
            "provider": self.provider,
            "state": self.state,
            "outcome": self.outcome,
            "reason_code": error.reason_code if error else None,
            "explanation": explanation(error, lang),
            "last_error": None
            if error is None
            else {
                "reason_code": error.reason_code,
                "message": error.message,
                "field": error.field,
                "explanation": explanation(error, lang),
            },
            "last_request": self.last_request,
            "last_update": self.last_update,
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "rules": self.rules,
            "hgw": self.hgw,
            "next_attempt": self.next_attempt,
            "next_attempt_in": None
            if self.next_attempt is None
            else max(0, round(self.next_attempt - self.now)),
            "mapping": self.mapping.to_dict() if isinstance(self.mapping, Mapping) else None,
            "softwire": self.mapping.to_dict() if isinstance(self.mapping, Softwire) else None,
            "notes": list(self.notes),
            "events": [e.to_dict(lang) for e in self.events],
            "time": self.now,
        }


def status_of(machine: CeMachine, now: float, wall_offset: float = 0.0) -> CeStatus:
    """The status at monotonic time ``now``; times in it are wall-clock
    (``monotonic + wall_offset``)."""
    saved = machine.saved

    def wall(stamp: float | None) -> float | None:
        return None if stamp is None else stamp + wall_offset

    return CeStatus(
        provider=machine.provider.value,
        state=machine.state.value,
        outcome=machine.outcome,
        last_request=wall(machine.last_request),
        last_update=wall(machine.last_update),
        requests=machine.counters.requests,
        successes=machine.counters.successes,
        failures=machine.counters.failures,
        rules=len(saved.rules) if saved else 0,
        mapping=machine.applied,
        hgw=machine.hgw.value if machine.hgw else None,
        next_attempt=wall(machine.timer()),
        now=now + wall_offset,
        error=machine.last_error,
        events=tuple(replace(e, time=e.time + wall_offset) for e in machine.log),
        notes=saved.notes if isinstance(saved, RuleDelivery) else (),
    )

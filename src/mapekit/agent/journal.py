"""The agent's log: one line per event on standard output, which journald reads.

Under systemd (``JOURNAL_STREAM`` set) each line starts with the syslog priority in angle
brackets (``<5>``), which journald turns into the entry's priority, so that ``journalctl
-u mapekit-agent -p warning`` works; on a terminal the line starts with the time and the
severity's name. A provisioning cycle that repeats the previous one (an agent behind an
HGW running MAP-E checks it every few minutes) is folded: one line says how many times it
repeated once something else happens.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from mapekit.provision.events import LogEntry

PRIORITY = {"debug": 7, "info": 6, "notice": 5, "warning": 4, "error": 3}

# parameters that differ in every cycle without making it a different one
_VOLATILE = frozenset({"seconds"})


def signature(entries: Iterable[LogEntry]) -> tuple[object, ...]:
    return tuple(
        (e.code, tuple(sorted((k, str(v)) for k, v in e.params.items() if k not in _VOLATILE)))
        for e in entries
    )


@dataclass
class Journal:
    stream: TextIO
    journald: bool = False  # write <N> priority prefixes (JOURNAL_STREAM is set)
    level: str = "info"
    lang: str = "en"
    lines: int = 0  # written so far (tests count them)
    _last_cycle: tuple[object, ...] | None = None
    _repeats: int = 0
    _pending: list[str] = field(default_factory=list)

    def line(self, severity: str, text: str, when: float) -> None:
        """One line, unless below the configured level."""
        if PRIORITY[severity] > PRIORITY[self.level]:
            return
        self._flush_repeats(when)
        self._write(severity, text, when)

    def _write(self, severity: str, text: str, when: float) -> None:
        text = " ".join(text.split())  # one line, whatever a message holds
        if self.journald:
            out = f"<{PRIORITY[severity]}>{text}"
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when))
            out = f"{stamp} {severity:7} {text}"
        self.stream.write(out + "\n")
        self.stream.flush()
        self.lines += 1

    def entry(self, entry: LogEntry, when: float) -> None:
        self.line(entry.severity, f"{entry.code} {entry.message(self.lang)}", when)

    def cycle(self, entries: list[LogEntry], offset: float) -> None:
        """The events of one provisioning cycle (stamps monotonic; ``offset`` makes them
        wall-clock); a cycle like the previous one is only counted."""
        if not entries:
            return
        found = signature(entries)
        if found == self._last_cycle:
            self._repeats += 1
            return
        self._flush_repeats(entries[0].time + offset)
        for entry in entries:
            self.entry(entry, entry.time + offset)
        self._last_cycle = found

    def events(self, entries: list[LogEntry], offset: float) -> None:
        """Events outside a cycle: each written, and they end any folding."""
        for entry in entries:
            self.entry(entry, entry.time + offset)
        if entries:
            self._last_cycle = None

    def _flush_repeats(self, when: float) -> None:
        if self._repeats:
            count, self._repeats = self._repeats, 0
            self._write("info", f"(the previous provisioning cycle repeated {count} more "
                        f"time{'s' if count > 1 else ''})", when)  # fmt: skip

    def close(self, when: float) -> None:
        self._flush_repeats(when)

"""Calls the IPIP line's update URL in a thread of its own, with bounded retries: at start
and after every change of the tunnel address. Each outcome becomes an event (``MAPE.044``
with the answer, ``MAPE.045`` with the reason) through ``report``, and the last one is kept
as :class:`UpdateRecord` for ``mape status`` and ``mape doctor``; the credentials stay in
:class:`~mapekit.client.update.UpdateUrl` (the URL and the answer are masked)."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mapekit.client.http import HttpSettings
from mapekit.client.update import UpdateAnswer, UpdateUrl, call_update
from mapekit.core.errors import MapeError

RETRIES = (5.0, 30.0, 120.0)  # seconds before the 2nd, 3rd and 4th attempt


@dataclass(frozen=True)
class UpdateRecord:
    """The last call of the update URL, as status and doctor show it (nothing secret)."""

    time: float  # wall clock, when the answer (or the failure) came
    address: str  # the tunnel address sent
    ok: bool
    status: int | None  # the HTTP status; None when no answer came
    answer: str  # "HTTP 200 OK", or why no answer came
    url: str  # with the credentials masked
    attempts: int

    def to_dict(self) -> dict[str, object]:
        return {"time": self.time, "address": self.address, "ok": self.ok,
                "status": self.status, "answer": self.answer, "url": self.url,
                "attempts": self.attempts}  # fmt: skip


class Updater:
    def __init__(
        self, update: UpdateUrl, http: HttpSettings,
        report: Callable[[str, dict[str, object]], None], stop: threading.Event,
        wall: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.update, self.http, self.report, self.stop = update, http, report, stop
        self.wall = wall
        self.pending: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=4)
        self.calls = 0
        self.last: UpdateRecord | None = None
        self._thread: threading.Thread | None = None

    def submit(self, address: str, prefix: str = "") -> None:
        """Call the URL for ``address`` (a newer address replaces one still waiting)."""
        while True:
            try:
                self.pending.put_nowait((address, prefix))
                break
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.pending.get_nowait()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="update-url", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                address, prefix = self.pending.get(timeout=0.5)
            except queue.Empty:
                continue
            self._call(address, prefix)

    def _attempt(self, address: str, prefix: str) -> UpdateAnswer | MapeError:
        self.calls += 1
        try:
            return call_update(self.update, address, prefix, self.http)
        except MapeError as exc:
            return exc

    def _record(
        self, address: str, prefix: str, outcome: UpdateAnswer | MapeError, attempts: int
    ) -> None:
        shown = self.update.url(address, prefix, masked=True)
        if isinstance(outcome, UpdateAnswer):
            self.last = UpdateRecord(self.wall(), address, outcome.ok, outcome.status,
                                     str(outcome), outcome.url, attempts)  # fmt: skip
        else:
            why = outcome.message.removeprefix(f"{shown}: ")
            self.last = UpdateRecord(self.wall(), address, False, None, why, shown, attempts)

    def _call(self, address: str, prefix: str) -> None:
        for attempt, wait in enumerate((0.0, *RETRIES)):
            if attempt and (self.stop.wait(wait) or not self.pending.empty()):
                return  # stopping, or a newer address is waiting
            outcome = self._attempt(address, prefix)
            self._record(address, prefix, outcome, attempt + 1)
            if isinstance(outcome, UpdateAnswer) and outcome.ok:
                self.report("MAPE.044", {"answer": str(outcome)})
                return
        last = outcome.refusal() if isinstance(outcome, UpdateAnswer) else outcome
        self.report("MAPE.045", {"reason": f"{last.message} (after {len(RETRIES) + 1} attempts)"})

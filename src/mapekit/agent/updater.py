"""Calls the IPIP line's update URL in a thread of its own, with bounded retries: at start
and after every change of the tunnel address. Each outcome becomes an event (``MAPE.044``
with the answer, ``MAPE.045`` with the reason) through ``report``; the credentials stay in
:class:`~mapekit.client.update.UpdateUrl`."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable

from mapekit.client.http import HttpSettings
from mapekit.client.update import UpdateUrl, call_update
from mapekit.core.errors import MapeError

RETRIES = (5.0, 30.0, 120.0)  # seconds before the 2nd, 3rd and 4th attempt


class Updater:
    def __init__(
        self, update: UpdateUrl, http: HttpSettings,
        report: Callable[[str, dict[str, object]], None], stop: threading.Event,
    ) -> None:  # fmt: skip
        self.update, self.http, self.report, self.stop = update, http, report, stop
        self.pending: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=4)
        self.calls = 0
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

    def _call(self, address: str, prefix: str) -> None:
        for attempt, wait in enumerate((0.0, *RETRIES)):
            if attempt and (self.stop.wait(wait) or not self.pending.empty()):
                return  # stopping, or a newer address is waiting
            self.calls += 1
            try:
                answer = call_update(self.update, address, prefix, self.http)
            except MapeError as exc:
                last = exc.message
                continue
            self.report("MAPE.044", {"answer": answer})
            return
        self.report("MAPE.045", {"reason": f"{last} (after {len(RETRIES) + 1} attempts)"})

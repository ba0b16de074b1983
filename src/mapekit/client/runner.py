"""Run the CE machine: perform its actions against real servers until a cycle settles."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from mapekit.client.clock import SYSTEM_CLOCK, Clock
from mapekit.client.fetch import ProviderConfig, fetch, report
from mapekit.client.hgw import check_hgw
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError
from mapekit.provision.hgw import DEFAULT_URL, HgwReport, HgwState
from mapekit.provision.machine import (
    Action,
    Apply,
    CeMachine,
    CheckHgw,
    Event,
    Fetch,
    FetchFailed,
    Forget,
    HgwChecked,
    Report,
    ReportSent,
    RulesFetched,
    Save,
    Target,
    Withdraw,
)

MAX_STEPS = 64  # a cycle is a handful of steps; this only stops a runaway loop
MAX_NOTES = 20


@dataclass
class Runner:
    """Performs actions for one machine. ``apply`` and ``withdraw`` reach the data plane."""

    machine: CeMachine
    config: ProviderConfig
    store: StateStore | None = None
    hgw_url: str | None = DEFAULT_URL  # None: do not look for an HGW
    hgw_transport: httpx.BaseTransport | None = None
    clock: Clock = SYSTEM_CLOCK  # the machine runs on its monotonic time
    apply: Callable[[Target], None] | None = None
    withdraw: Callable[[], None] | None = None
    notes: list[str] = field(default_factory=list)  # how each step was decided

    def run(self, event: Event) -> None:
        """Feed ``event`` and everything it leads to, until the machine settles."""
        queue = list(self.machine.handle(event, self.clock.monotonic()))
        steps = 0
        while queue and steps < MAX_STEPS:
            steps += 1
            result = self.perform(queue.pop(0))
            if result is not None:
                queue.extend(self.machine.handle(result, self.clock.monotonic()))

    def perform(self, action: Action) -> Event | None:
        match action:
            case CheckHgw():
                return HgwChecked(self._check_hgw())
            case Fetch(prefix=prefix, user_id=user_id, token=token):
                try:
                    result = fetch(self.config, prefix, user_id, token)
                except MapeError as exc:
                    return FetchFailed(exc)
                return RulesFetched(result)
            case Apply(mapping=mapping):
                if self.apply is not None and mapping is not None:
                    self.apply(mapping)
            case Withdraw():
                if self.withdraw is not None:
                    self.withdraw()
            case Save(delivery=delivery):
                if self.store is not None and delivery is not None:
                    self.store.save(delivery)
            case Forget():
                if self.store is not None:
                    self.store.erase()
            case Report(action=what, reason=reason, user_id=user_id):
                try:
                    report(self.config, what, reason, user_id)
                except MapeError as exc:
                    return ReportSent(exc)
                return ReportSent()
        return None

    def _check_hgw(self) -> HgwReport:
        if self.hgw_url is None:
            self._note("HGW check skipped")
            return HgwReport(HgwState.NONE)
        report_, how = check_hgw(self.hgw_url, transport=self.hgw_transport)
        self._note(how)
        return report_

    def _note(self, text: str) -> None:
        """Remember how a step was decided: the last few, a repeat only once (an agent
        behind an HGW checks it again and again)."""
        if not self.notes or self.notes[-1] != text:
            self.notes.append(text)
            del self.notes[:-MAX_NOTES]

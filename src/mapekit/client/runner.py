"""Run the CE machine: perform its actions against real servers until a cycle settles."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from mapekit.client.fetch import ProviderConfig, fetch, report
from mapekit.client.hgw import check_hgw
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.provision.hgw import DEFAULT_URL, HgwReport, HgwState
from mapekit.provision.machine import (
    Action,
    CeMachine,
    Event,
    FetchFailed,
    HgwChecked,
    ReportSent,
    RulesFetched,
)
from mapekit.provision.status import status_of
from mapekit.provision.table import Do

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
    clock: Callable[[], float] = time.time
    apply: Callable[[Mapping], None] | None = None
    withdraw: Callable[[], None] | None = None
    notes: list[str] = field(default_factory=list)  # how each step was decided

    def run(self, event: Event) -> None:
        """Feed ``event`` and everything it leads to, until the machine settles."""
        queue = list(self.machine.handle(event, self.clock()))
        steps = 0
        while queue and steps < MAX_STEPS:
            steps += 1
            result = self.perform(queue.pop(0))
            if result is not None:
                queue.extend(self.machine.handle(result, self.clock()))
        if self.store is not None:
            self.store.save_status(status_of(self.machine, self.clock()).to_dict())

    def perform(self, action: Action) -> Event | None:
        kind = action.kind
        if kind is Do.CHECK_HGW:
            return HgwChecked(self._check_hgw())
        if kind is Do.FETCH:
            try:
                result = fetch(self.config, self.machine.prefix, action.user_id, action.token)
            except MapeError as exc:
                return FetchFailed(exc)
            return RulesFetched(result)
        if kind is Do.APPLY:
            if self.apply is not None and action.mapping is not None:
                self.apply(action.mapping)
        elif kind is Do.WITHDRAW:
            if self.withdraw is not None:
                self.withdraw()
        elif kind is Do.SAVE:
            if self.store is not None and action.delivery is not None:
                self.store.save(action.delivery)
        elif kind is Do.FORGET:
            if self.store is not None:
                self.store.erase()
        elif action.report is not None:
            try:
                report(self.config, action.report[0], action.report[1], action.user_id)
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

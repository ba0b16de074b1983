"""The CE provisioning machine: events in, actions out, time passed in as ``now``.

A driver feeds :class:`Event` objects to :meth:`CeMachine.handle`, performs the returned
actions in order (each may produce a new event), and sleeps until :meth:`CeMachine.timer`
or until something changes. Transitions come from :mod:`mapekit.provision.table`.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from mapekit.core.addr import ipv6_text
from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.reasons import Category
from mapekit.core.softwire import Softwire
from mapekit.provision import table
from mapekit.provision.events import LogEntry
from mapekit.provision.hgw import HgwReport, HgwState
from mapekit.provision.jpne import ReportAction, ReportReason
from mapekit.provision.model import (
    BlankAnswer,
    Delivery,
    FetchResult,
    Provider,
    SoftwireDelivery,
    Unsupported,
)
from mapekit.provision.softwire import select_softwire
from mapekit.provision.table import Do, Next, State, Trigger
from mapekit.provision.timers import TimerPolicy, Wait
from mapekit.provision.validate import select_mapping

LOG_SIZE = 500

Target = Mapping | Softwire  # what the data plane makes of a delivery


def select_target(delivery: Delivery, prefix: int, prefix_len: int) -> Target:
    """The MAP-E mapping or the softwire ``delivery`` gives the CE prefix."""
    if isinstance(delivery, SoftwireDelivery):
        return select_softwire(delivery, prefix, prefix_len)
    return select_mapping(delivery, prefix, prefix_len)


# --- events (inputs) ----------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    pass


@dataclass(frozen=True)
class Retry:
    pass


@dataclass(frozen=True)
class TimerFired:
    pass


@dataclass(frozen=True)
class PrefixChanged:
    prefix: int
    prefix_len: int


@dataclass(frozen=True)
class PrefixLost:
    pass


@dataclass(frozen=True)
class Resumed:
    """After a restart: the saved rules still serve ``prefix`` and the operator's recheck
    is ``delay`` seconds away (a saved schedule); the CE applies them and waits."""

    prefix: int
    prefix_len: int
    delay: float


@dataclass(frozen=True)
class HgwChecked:
    report: HgwReport


@dataclass(frozen=True)
class HgwPolled:
    """A check between cycles (the agent polls the HGW): a change starts a cycle now."""

    report: HgwReport


@dataclass(frozen=True)
class RulesFetched:
    result: FetchResult


@dataclass(frozen=True)
class FetchFailed:
    error: MapeError


@dataclass(frozen=True)
class ReportSent:
    error: MapeError | None = None


Event = (
    Start
    | Retry
    | TimerFired
    | PrefixChanged
    | PrefixLost
    | Resumed
    | HgwChecked
    | HgwPolled
    | RulesFetched
    | FetchFailed
    | ReportSent
)

# --- actions (outputs): what the driver must do, one small type each -----------------


@dataclass(frozen=True)
class CheckHgw:
    kind: ClassVar[Do] = Do.CHECK_HGW


@dataclass(frozen=True)
class Fetch:
    """Ask the provider for rules for ``prefix`` (with the ids it gave earlier)."""

    prefix: tuple[int, int] | None
    user_id: str | None = None
    token: str | None = None
    kind: ClassVar[Do] = Do.FETCH


@dataclass(frozen=True)
class Apply:
    """Bring the data plane up for ``mapping`` (from ``delivery``)."""

    mapping: Target | None  # a MAP-E mapping, or a DS-Lite / IPIP softwire
    delivery: Delivery | None = None
    kind: ClassVar[Do] = Do.APPLY


@dataclass(frozen=True)
class Withdraw:
    kind: ClassVar[Do] = Do.WITHDRAW


@dataclass(frozen=True)
class Save:
    """Persist ``delivery`` as the last good rules."""

    delivery: Delivery | None
    kind: ClassVar[Do] = Do.SAVE


@dataclass(frozen=True)
class Forget:
    kind: ClassVar[Do] = Do.FORGET


@dataclass(frozen=True)
class Report:
    """Send ``acct_report`` (JPNE) with ``action`` and ``reason``."""

    kind: Do
    action: ReportAction
    reason: ReportReason
    user_id: str | None = None


Action = CheckHgw | Fetch | Apply | Withdraw | Save | Forget | Report

_REPORTS = {
    Do.REPORT_START: (ReportAction.START, ReportReason.NORMAL),
    Do.REPORT_STOP_ADDRESS: (ReportAction.STOP, ReportReason.ADDRESS_CHANGE),
    Do.REPORT_STOP_HGW: (ReportAction.STOP, ReportReason.HGW_MAPE),
}

_NEW_CYCLE = frozenset(
    {Trigger.START, Trigger.RETRY, Trigger.TIMER, Trigger.PREFIX_CHANGED, Trigger.HGW_CHANGED}
)

_FAILURE_TRIGGERS = {
    Category.FORBIDDEN: Trigger.RULES_FORBIDDEN,
    Category.REJECTED: Trigger.RULES_REJECTED,
    Category.SERVER_ERROR: Trigger.RULES_UNAVAILABLE,
    Category.UNREACHABLE: Trigger.RULES_UNAVAILABLE,
    Category.BLANK: Trigger.RULES_BLANK,
    Category.UNSUPPORTED: Trigger.RULES_UNSUPPORTED,
}


@dataclass
class Counters:
    requests: int = 0
    successes: int = 0
    failures: int = 0


@dataclass
class CeMachine:
    """One CE's provisioning state. ``saved`` is the last good delivery (persisted)."""

    provider: Provider
    rng: random.Random
    timers: TimerPolicy = field(default_factory=TimerPolicy)
    report: bool = True
    saved: Delivery | None = None
    state: State = State.WAITING
    prefix: tuple[int, int] | None = None
    applied: Target | None = None
    outcome: str | None = None  # "established" or a failure category
    last_error: MapeError | None = None
    last_request: float | None = None
    last_update: float | None = None
    hgw: HgwState | None = None
    deadline: float | None = None
    wait: Wait | None = None
    counters: Counters = field(default_factory=Counters)
    log: deque[LogEntry] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    logged_total: int = 0  # entries ever logged (the log keeps the last LOG_SIZE)
    _after_report: State | None = None
    _candidate: Delivery | None = None
    _candidate_mapping: Target | None = None
    _pending_wait: Wait | None = None
    _resume_delay: float = 0.0

    # --- public ---------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Action]:
        """Feed one event; returns the actions to perform, in order."""
        trigger = self._classify(event, now)
        if trigger is None:
            return []
        row = table.lookup(self.state, trigger)
        if row is None:
            return []  # stale or irrelevant here
        if trigger in _NEW_CYCLE:
            self.deadline = self.wait = None
        kinds = [k for k in row.actions if self.report or k not in _REPORTS]
        actions = [self._action(kind, now) for kind in kinds]
        if row.wait is not None:
            self._pending_wait = row.wait
        target = row.target
        if target is Next.SAVED_OR_WAITING:
            target = self._fall_back_to_saved(actions, now)
        elif target is Next.AFTER_REPORT:
            target = self._after_report or State.WAITING
        elif target is State.REPORTING:
            self._after_report = row.after_report
            if not self.report:
                target = row.after_report
        if isinstance(target, State):
            self._enter(target, now)
        return actions

    def timer(self) -> float | None:
        """When the machine next wants a :class:`TimerFired` (None: not before an event)."""
        return self.deadline

    @property
    def settled(self) -> bool:
        """True when no request is in flight (the cycle is over)."""
        return self.state in (State.WAITING, State.ESTABLISHED, State.HGW_ACTIVE)

    def logged(self, code: str, now: float, **params: object) -> None:
        self.log.append(LogEntry(now, code, params))
        self.logged_total += 1

    def entries_since(self, total: int) -> list[LogEntry]:
        """The entries logged after the first ``total`` (as many as the log still holds)."""
        count = min(self.logged_total - total, len(self.log))
        return list(self.log)[len(self.log) - count :] if count > 0 else []

    # --- classification -------------------------------------------------------------

    def _classify(self, event: Event, now: float) -> Trigger | None:
        match event:
            case Start():
                self.logged("MAPE.001", now, provider=self.provider.value)
                return Trigger.START
            case Retry():
                self.logged("MAPE.027", now)
                return Trigger.RETRY
            case TimerFired():
                return Trigger.TIMER
            case PrefixChanged(prefix=p, prefix_len=n):
                if self.prefix == (p, n):
                    return None
                self.prefix = (p, n)
                self.logged("MAPE.023", now, prefix=f"{ipv6_text(p)}/{n}")
                return Trigger.PREFIX_CHANGED
            case PrefixLost():
                self.prefix = None
                self.logged("MAPE.026", now)
                return Trigger.PREFIX_LOST
            case Resumed(prefix=p, prefix_len=n, delay=delay):
                return self._resumed((p, n), delay, now)
            case HgwChecked(report=report):
                return self._hgw(report, now)
            case HgwPolled(report=report):
                if self.hgw is None or report.state is self.hgw:
                    return None
                self.logged("MAPE.028", now, old=self.hgw.value, new=report.state.value)
                return Trigger.HGW_CHANGED
            case RulesFetched(result=result):
                return self._fetched(result, now)
            case FetchFailed(error=error):
                return self._failed(error, now)
            case ReportSent(error=error):
                if error is None:
                    self.logged("MAPE.018", now)
                else:
                    self.logged("MAPE.019", now, reason=error.message)
                return Trigger.REPORT_DONE
        return None

    def _resumed(self, prefix: tuple[int, int], delay: float, now: float) -> Trigger:
        self.prefix = prefix
        mapping = None
        if self.saved is not None:
            try:
                mapping = select_target(self.saved, *prefix)
            except MapeError:
                mapping = None
        if mapping is None:  # nothing to resume: an ordinary start
            self.logged("MAPE.001", now, provider=self.provider.value)
            return Trigger.START
        self._candidate, self._candidate_mapping = self.saved, mapping
        self._resume_delay = max(0.0, delay)
        self.outcome, self.last_error = "established", None
        self.logged("MAPE.029", now, seconds=round(delay))
        return Trigger.RESUMED

    def _hgw(self, report: HgwReport, now: float) -> Trigger:
        self.hgw = report.state
        if report.state is HgwState.ON:
            self.logged("MAPE.012", now)
            self.outcome = Category.HGW_ACTIVE.value
            self.last_error = MapeError("hgw.active", "the home gateway runs MAP-E itself")
            return Trigger.HGW_ON
        detail = "no HGW" if report.state is HgwState.NONE else "HGW present, MAP-E off"
        self.logged("MAPE.013", now, hgw=detail)
        return Trigger.HGW_NONE if report.state is HgwState.NONE else Trigger.HGW_OFF

    def _fetched(self, result: FetchResult, now: float) -> Trigger:
        self.last_update = now
        if isinstance(result, BlankAnswer):
            return self._failed(MapeError(result.reason_code, result.detail), now)
        if isinstance(result, Unsupported):
            return self._failed(MapeError("hb46pp.unsupported", result.detail), now)
        if self.prefix is None:
            return self._failed(MapeError("rules.no_bmr", "the CE has no IPv6 prefix"), now)
        try:
            mapping = select_target(result, *self.prefix)
        except MapeError as exc:
            return self._failed(exc, now)
        self.counters.successes += 1
        self.outcome, self.last_error = "established", None
        self.logged("MAPE.015", now, count=len(result.rules))
        self._candidate, self._candidate_mapping = result, mapping
        if self.applied == mapping:
            self.saved = result
            return Trigger.RULES_SAME
        return Trigger.RULES_OK

    def _failed(self, error: MapeError, now: float) -> Trigger:
        self.counters.failures += 1
        self.last_error = error
        category = error.reason.category
        self.outcome = category.value
        self.logged("MAPE.016", now, reason=error.message)
        if error.reason_code == "dns.no_record":
            return Trigger.NO_DISCOVERY
        return _FAILURE_TRIGGERS.get(category, Trigger.RULES_INVALID)

    # --- actions and guards ---------------------------------------------------------

    def _action(self, kind: Do, now: float) -> Action:
        user_id = self.saved.user_id if self.saved else None
        token = self.saved.token if self.saved else None
        if kind is Do.CHECK_HGW:
            self.logged("MAPE.011", now)
            return CheckHgw()
        if kind is Do.FETCH:
            self.counters.requests += 1
            self.last_request = now
            self.logged("MAPE.014", now)
            return Fetch(self.prefix, user_id, token)
        if kind is Do.APPLY:
            return self._apply(self._candidate, self._candidate_mapping, now)
        if kind is Do.SAVE:
            self.saved = self._candidate or self.saved
            return Save(self.saved)
        if kind is Do.WITHDRAW:
            if self.applied is not None:
                self.logged("MAPE.021", now)
            self.applied = None
            return Withdraw()
        if kind is Do.FORGET:
            if self.saved is not None:
                self.logged("MAPE.025", now)
            self.saved = None
            return Forget()
        action, reason = _REPORTS[kind]
        if self.report:
            self.logged("MAPE.017", now, action=int(action), reason=int(reason))
        if self._candidate is not None and self._candidate.user_id:
            user_id = self._candidate.user_id
        return Report(kind, action, reason, user_id)

    def _apply(self, delivery: Delivery | None, mapping: Target | None, now: float) -> Action:
        self.applied = mapping
        if isinstance(mapping, Softwire):
            self.logged("MAPE.043", now, mechanism=mapping.mechanism, remote=mapping.remote,
                        ipv4=mapping.ipv4)  # fmt: skip
        elif mapping is not None:
            self.logged(
                "MAPE.020",
                now,
                ipv4=mapping.ipv4_text,
                psid=mapping.psid,
                ports=mapping.port_set.count,
            )
        return Apply(mapping, delivery)

    def _fall_back_to_saved(self, actions: list[Action], now: float) -> State:
        """Guard of Next.SAVED_OR_WAITING: keep (or restore) the last good rules."""
        if self.saved is None or self.prefix is None:
            actions.append(self._action(Do.WITHDRAW, now))
            return State.WAITING
        try:
            mapping = select_target(self.saved, *self.prefix)
        except MapeError:
            actions.append(self._action(Do.WITHDRAW, now))
            return State.WAITING
        self.logged("MAPE.024", now, reason=self.outcome or "no answer")
        if self.applied != mapping:
            actions.append(self._apply(self.saved, mapping, now))
        return State.ESTABLISHED

    def _provider_wait(self, wait: Wait) -> Wait:
        """HB46PP has timers of its own (docs/design.md §3.4)."""
        if self.provider is not Provider.HB46PP or wait is not Wait.SERVER:
            return wait
        if self.last_error is not None and self.last_error.reason_code == "net.dns":
            return Wait.DNS_FAILURE
        return Wait.HB46PP_ERROR

    def _enter(self, target: State, now: float) -> None:
        if target is not self.state:
            self.logged("MAPE.022", now, old=self.state.value, new=target.value)
            self.state = target
        if self.settled:
            self._candidate = self._candidate_mapping = None
            wait, self._pending_wait = self._pending_wait, None
            if wait is Wait.SAVED:
                self.wait, self.deadline = wait, now + self._resume_delay
            elif wait is not None:
                wait = self._provider_wait(wait)
                ttl = self.saved.ttl if (self.saved and wait is Wait.RULES_OK) else None
                if ttl is not None or (wait is Wait.RULES_OK and self.provider is Provider.HB46PP):
                    wait = Wait.TTL
                delay = self.timers.delay(wait, self.rng, ttl)
                self.wait, self.deadline = wait, now + delay
                self.logged("MAPE.004", now, seconds=round(delay))

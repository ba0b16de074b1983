"""``mape agent``: the CE daemon.

One thread owns the provisioning machine and the data plane; the others only post typed
items to its queue: the netlink and nftables watchers, the control socket (``retry``) and
signals (``Stop``, ``Reload``). Between items the main thread runs its timers, all on the
monotonic clock: the machine's deadline, the PD file poll, the data-plane check (which
repairs what something else removed), the systemd watchdog.

Nothing is written while the CE is settled: the status lives in memory behind the socket;
the saved rules, the applied record and the schedule are written only when they change, and
``status.json`` once at start and once at a clean stop (so ``mape status`` can say when the
agent last ran). Every event goes to the journal as one line (``mapekit.agent.journal``).
"""

from __future__ import annotations

import ipaddress
import queue
import random
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapekit import __version__
from mapekit.agent import schedule
from mapekit.agent.config import AgentConfig, load_config
from mapekit.agent.control import serve_control
from mapekit.agent.dataplane import DataplaneManager
from mapekit.agent.journal import Journal
from mapekit.agent.metrics import serve_metrics
from mapekit.agent.notify import Notifier
from mapekit.agent.portevents import PortEvents
from mapekit.agent.prefix import current_prefix, file_signature, source_in_prefix
from mapekit.agent.providers import hgw_url, make_updater, provider_config, reports
from mapekit.agent.reload import Reloaded, apply_reload
from mapekit.agent.updater import Updater
from mapekit.agent.web import serve_web
from mapekit.client.clock import SYSTEM_CLOCK, Clock
from mapekit.client.fetch import with_source_address
from mapekit.client.runner import Runner
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError
from mapekit.core.ruleset import RuleSet
from mapekit.core.softwire import Softwire
from mapekit.dataplane.backend import Backend, choose_backend, make_backend
from mapekit.dataplane.links import watch_links, watch_nftables
from mapekit.provision.machine import (
    CeMachine,
    Event,
    PrefixChanged,
    PrefixLost,
    Resumed,
    Retry,
    Target,
    TimerFired,
)
from mapekit.provision.model import Provider, RuleDelivery
from mapekit.provision.status import status_of
from mapekit.provision.timers import TimerPolicy, Wait

PREFIX_POLL = 0.5  # seconds; the PD file has no change notification: a stat each time
FULL_CHECK = 10.0  # the netlink dumps of the prefix check, as a safety net for events
VERIFY_EVERY = 30.0  # the data-plane check without an event
VERIFY_SOON = 0.2  # after a netlink or nftables event (they come in bursts)
READY_WAIT = 15.0  # READY=1 at the latest this long after start (waiting for a prefix)
REPAIR_WINDOW, REPAIR_LIMIT, REPAIR_BACKOFF = 60.0, 5, (10.0, 300.0)
PERSISTED_WAITS = (Wait.RULES_OK, Wait.TTL)
PORT_CHECK = 5.0  # NAT failures and refused flows: read this often, logged at most once a minute
PORT_LOG_EVERY = 60.0


@dataclass(frozen=True)
class Stop:
    reason: str = "signal"


@dataclass(frozen=True)
class Reload:
    pass


@dataclass(frozen=True)
class LinksChanged:
    pass


@dataclass(frozen=True)
class RulesetChanged:
    pass


@dataclass(frozen=True)
class Provision:
    event: Event


@dataclass(frozen=True)
class Logged:
    """An event another thread saw (the main thread logs it)."""

    code: str
    params: dict[str, object]


@dataclass(frozen=True)
class Problem:
    """Another thread could not do its part (logged by the main thread)."""

    reason: str


Item = Stop | Reload | LinksChanged | RulesetChanged | Provision | Problem | Logged


@dataclass
class Agent:
    """The CE daemon. Building one does no I/O; :meth:`start` does (or :meth:`run`)."""

    config: AgentConfig
    config_path: Path | None = None
    clock: Clock = SYSTEM_CLOCK
    backend: Backend | None = None  # chosen at start when not given (tests give one)
    journal: Journal = field(default_factory=lambda: Journal(sys.stdout))
    notifier: Notifier = field(default_factory=Notifier)
    items: queue.Queue[Item] = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    snapshot: dict[str, Any] = field(default_factory=dict)
    repairs: int = 0
    updater: Updater | None = None
    _verify_due: float | None = None
    _updated_for: str | None = None

    # --- start and stop ----------------------------------------------------------------

    def start(self) -> None:
        config, now = self.config, self.clock.monotonic()
        self.started_at = self.clock.wall()
        self.state_dir = Path(config.state.dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = StateStore(self.state_dir)
        saved, problem = self.store.load()
        why = "given"
        if self.backend is None:
            name, why = choose_backend(config.dataplane.backend)
            self.backend = make_backend(name, config.dataplane.replace_default_route)
        self.machine = CeMachine(
            Provider(config.provider),
            random.Random(),  # noqa: S311 - retry jitter, not cryptography
            timers=TimerPolicy(scale=config.timer_scale),
            report=reports(config),
            saved=saved,
        )
        self.dataplane = DataplaneManager(
            self.backend, config.dataplane, config.interfaces, config.ports,
            self.state_dir / "applied.json",
        )  # fmt: skip
        self.runner = Runner(
            self.machine, provider_config(config), self.store, hgw_url=hgw_url(config),
            clock=self.clock, apply=self._apply,
            withdraw=self.dataplane.withdraw,
        )  # fmt: skip
        self.journal.level = config.log_level
        self.updater = make_updater(config, self.stop, lambda c, p: self.items.put(Logged(c, p)),
                                    self.clock.wall)  # fmt: skip
        self._seen = 0
        self._next_poll = self._next_full = now
        self._next_verify = now + VERIFY_EVERY
        self._verify_due = None
        self._recent_repairs: deque[float] = deque(maxlen=REPAIR_LIMIT)
        self._backoff, self._backoff_until = 0.0, now
        self._next_watchdog = now
        self._next_ports = now + PORT_CHECK
        self._port_events = PortEvents()
        self._ready = False
        self._status_line = ""
        self._pd_seen = file_signature(config.prefix.pd_file)
        self.prefix_source = "none"
        self.machine.logged("MAPE.003", now, version=__version__, provider=config.provider,
                            backend=f"{self.backend.name} ({why})")  # fmt: skip
        notes = [*config.notes, *([problem.message] if problem else [])]
        notes += [n for n in (self.dataplane.clean_leftovers(),) if n]
        for note in notes:
            self.machine.logged("MAPE.036", now, note=note)
        self._schedule = schedule.load(self.state_dir)
        self.store.save_status({"running": True, "started_at": self.started_at,
                                "version": __version__})  # fmt: skip
        self._check_prefix(first=True)
        self._after(cycle=True)

    def run(self) -> None:
        """Start, serve until stopped, then remove what was applied."""
        self.start()
        for target, name in self._threads():
            threading.Thread(target=target, name=name, daemon=True).start()
        try:
            while not self.stop.is_set():
                self.step()
        finally:
            self.shutdown()

    def _threads(self) -> list[tuple[Any, str]]:
        def links() -> None:
            watch_links(self.stop, lambda: self.items.put(LinksChanged()))

        def rules() -> None:
            watch_nftables(self.stop, lambda: self.items.put(RulesetChanged()))

        def control() -> None:
            serve_control(Path(self.config.state.socket), self.stop, self.status,
                          lambda: self.items.put(Provision(Retry())))  # fmt: skip

        threads = [(links, "netlink"), (rules, "nftables"), (control, "control")]
        if self.config.state.metrics:
            threads.append((self._metrics, "metrics"))
        if self.config.web.listen:
            threads.append((self._web, "web"))
        return threads

    def _web(self) -> None:
        web = self.config.web
        assert web.listen is not None
        host, _, port = web.listen.rpartition(":")
        try:
            serve_web(host.strip("[]"), int(port), self.stop, self.status, web.token)
        except OSError as exc:
            self.items.put(Problem(f"web: cannot listen on {web.listen}: {exc.strerror}"))

    def _metrics(self) -> None:
        assert self.config.state.metrics is not None
        host, _, port = self.config.state.metrics.rpartition(":")
        try:
            serve_metrics(host.strip("[]"), int(port), self.stop, self.status)
        except OSError as exc:
            where = self.config.state.metrics
            self.items.put(Problem(f"metrics: cannot listen on {where}: {exc.strerror}"))

    def shutdown(self) -> None:
        now = self.clock.monotonic()
        reason = getattr(self, "stop_reason", "stopped")
        self.notifier.stopping(f"stopping: {reason}")
        try:
            self.dataplane.shutdown()
        except MapeError as exc:
            self.machine.logged("MAPE.035", now, reason=exc.message)
        self.machine.logged("MAPE.002", now, reason=reason)
        self._after(cycle=False)
        self.journal.close(self.clock.wall())
        final = {**self.snapshot, "running": False, "started_at": self.started_at,
                 "stopped_at": self.clock.wall()}  # fmt: skip
        self.store.save_status(final)

    # --- the main thread ---------------------------------------------------------------

    def step(self, block: bool = True) -> None:
        """Take one queued item (waiting for one until the next timer when ``block``),
        then run the timers that are due."""
        now = self.clock.monotonic()
        timeout = max(0.0, self._next_wake() - now) if block else 0.0
        try:
            item: Item | None = (
                self.items.get(timeout=timeout) if block else self.items.get_nowait()
            )
        except queue.Empty:
            item = None
        if item is not None:
            self._handle(item)
        self._timers()
        self._after(cycle=False)

    def _next_wake(self) -> float:
        wakes = [self._next_poll, self._next_verify, self._next_watchdog, self._next_ports]
        deadline = self.machine.timer()
        wakes += [w for w in (deadline, self._verify_due) if w is not None]
        if not self._ready:
            wakes.append(self._ready_by())
        return min(wakes)

    def _ready_by(self) -> float:
        return self.clock.monotonic() + max(0.0, READY_WAIT - (self.clock.wall() - self.started_at))

    def _handle(self, item: Item) -> None:
        match item:
            case Stop(reason=reason):
                self.stop_reason = reason
                self.stop.set()
            case Reload():
                self._reload()
            case LinksChanged():
                self._check_prefix()
                self._verify_soon()
            case RulesetChanged():
                self._verify_soon()
            case Provision(event=event):
                self._run(event)
            case Problem(reason=reason):
                self.machine.logged("MAPE.035", self.clock.monotonic(), reason=reason)
            case Logged(code=code, params=params):
                self.machine.logged(code, self.clock.monotonic(), **params)

    def _run(self, event: Event) -> None:
        self._journal(cycle=False)  # what came before belongs to no cycle
        self.runner.run(event)
        self._after(cycle=True)

    def _timers(self) -> None:
        now = self.clock.monotonic()
        deadline = self.machine.timer()
        if deadline is not None and now >= deadline:
            self._run(TimerFired())
        if now >= self._next_poll:  # the whole check (netlink dumps) only when needed
            pd_now = file_signature(self.config.prefix.pd_file)
            if pd_now != self._pd_seen or now >= self._next_full:
                self._pd_seen = pd_now
                self._check_prefix()
                self._next_full = now + FULL_CHECK
            self._next_poll = now + PREFIX_POLL
        if now >= self._next_verify or (self._verify_due is not None and now >= self._verify_due):
            self._verify()
        if now >= self._next_ports:
            self._next_ports = now + PORT_CHECK
            self._port_events.check(self.dataplane, self.machine, now)
        interval = self.notifier.watchdog_interval
        if now >= self._next_watchdog:
            if interval is not None:
                self.notifier.watchdog()
            self._next_watchdog = now + (interval or 3600.0)

    # --- the prefix ---------------------------------------------------------------------

    def _check_prefix(self, first: bool = False) -> None:
        plan = self.dataplane.plan
        exclude = {int(ipaddress.IPv6Address(plan.ce_address))} if plan else set()
        try:
            prefix, source = current_prefix(self.config, exclude)
        except MapeError:
            prefix, source = None, "none"
        if source != self.prefix_source and prefix is None:
            self.machine.logged("MAPE.037", self.clock.monotonic(), source=source)
        self.prefix_source = source
        if prefix is None:
            if self.machine.prefix is not None:
                self._run(PrefixLost())
            return
        address = source_in_prefix(prefix, [self.config.lan, self.config.wan])
        self.runner.config = with_source_address(self.runner.config, address)
        if prefix == self.machine.prefix:
            return
        delay = self._resumable(prefix) if first else None
        if delay is not None:
            self._run(Resumed(*prefix, delay=delay))
        else:
            self._run(PrefixChanged(*prefix))

    def _resumable(self, prefix: tuple[int, int]) -> float | None:
        """What is left of a saved recheck deadline for ``prefix``, or None (ask now)."""
        saved = self._schedule
        if saved is None or self.machine.saved is None:
            return None
        if saved.fingerprint != self._fingerprint() or saved.prefix != _prefix_text(prefix):
            return None
        left = saved.remaining(self.clock.wall())
        return left if left > 0 else None

    def _fingerprint(self) -> str:
        return schedule.fingerprint(self.config.section("provider"))

    # --- the data plane -----------------------------------------------------------------

    def _apply(self, target: Target) -> None:
        now = self.clock.monotonic()
        saved = self.machine.saved
        try:
            if isinstance(target, Softwire):
                notes = self.dataplane.apply_softwire(target)
                self._softwire_applied(target)
            else:
                rules = saved.rules if isinstance(saved, RuleDelivery) else RuleSet([target.rule])
                notes = self.dataplane.apply(target, rules)
            for note in notes:
                self.machine.logged("MAPE.036", now, note=note)
        except MapeError as exc:
            self.machine.logged("MAPE.035", now, reason=exc.message)

    def _softwire_applied(self, softwire: Softwire) -> None:
        """An IPIP CE tells the operator its new address (the update URL), in a thread: the
        answer is logged, the credentials never."""
        if softwire.mechanism != "ipip" or self.updater is None:
            return
        if softwire.local != self._updated_for:  # at start, and after each new address
            self._updated_for = softwire.local
            prefix = self.machine.prefix
            self.updater.submit(softwire.local, _prefix_text(prefix) if prefix else "")

    def _verify_soon(self) -> None:
        due = self.clock.monotonic() + VERIFY_SOON
        if self._verify_due is None or due < self._verify_due:
            self._verify_due = due

    def _verify(self) -> None:
        now = self.clock.monotonic()
        self._next_verify = now + VERIFY_EVERY
        self._verify_due = None
        try:
            missing = self.dataplane.verify()
        except MapeError as exc:
            self.machine.logged("MAPE.035", now, reason=exc.message)
            return
        if not missing or now < self._backoff_until:
            return
        self._recent_repairs.append(now)
        if (
            len(self._recent_repairs) == REPAIR_LIMIT
            and now - self._recent_repairs[0] < REPAIR_WINDOW
        ):
            low, high = REPAIR_BACKOFF
            self._backoff = min(high, max(low, self._backoff * 2))
            self._backoff_until = now + self._backoff
            self._recent_repairs.clear()
            self.machine.logged("MAPE.032", now, seconds=round(self._backoff))
            self._next_verify = self._backoff_until
            return
        try:
            self.dataplane.repair(missing)
        except MapeError as exc:
            self.machine.logged("MAPE.031", now, reason=exc.message)
        else:
            self.repairs += 1
            self.machine.logged("MAPE.030", now, what="; ".join(missing))
        self._verify_soon()  # confirm

    # --- a reload (SIGHUP) --------------------------------------------------------------

    def _reload(self) -> None:
        now = self.clock.monotonic()
        self.notifier.reloading()
        if self.config_path is None:
            self.machine.logged("MAPE.034", now, reason="no configuration file to read")
            return
        try:
            new = load_config(self.config_path)
        except MapeError as exc:
            self.machine.logged("MAPE.034", now, reason=exc.message)
            self._ready = False  # READY=1 again below, with the status
            return
        done: Reloaded = apply_reload(self, new)
        self.machine.logged("MAPE.033", now, changed=done.summary())
        if done.refetch:
            self._run(Retry())
        if done.prefix:
            self._check_prefix()
        self._ready = False

    # --- after every step: the journal, the status, systemd, the schedule ----------------

    def _journal(self, cycle: bool) -> None:
        entries = self.machine.entries_since(self._seen)
        self._seen = self.machine.logged_total
        if cycle:
            self.journal.cycle(entries, self.clock.offset())
        else:
            self.journal.events(entries, self.clock.offset())

    def _after(self, cycle: bool) -> None:
        self._journal(cycle)
        offset = self.clock.offset()
        self._take_snapshot(offset)
        line = status_line(self.snapshot)
        decided = self.machine.settled and self.machine.outcome is not None
        if not self._ready and (decided or self.clock.monotonic() >= self._ready_by()):
            self._ready = self.notifier.ready(line) or True
        elif line != self._status_line:
            self.notifier.status(line)
        self._status_line = line
        self._keep_schedule(offset)

    def _take_snapshot(self, offset: float) -> None:
        now = self.clock.monotonic()
        doc = status_of(self.machine, now, offset).to_dict()
        doc["notes"] = [*self.runner.notes[-5:], *self.dataplane.notes]
        doc["prefix_source"] = self.prefix_source
        doc["prefix"] = _prefix_text(self.machine.prefix) if self.machine.prefix else None
        doc["backend"] = self.dataplane.backend.name
        doc["plan"] = self.dataplane.plan.to_dict() if self.dataplane.plan else None
        doc["repairs"] = self.repairs
        doc["running"] = True
        doc["started_at"] = self.started_at
        last = self.updater.last if self.updater is not None else None
        doc["update"] = None if last is None else last.to_dict()  # the URL's last call, masked
        self.snapshot = doc

    def _keep_schedule(self, offset: float) -> None:
        """Save the operator's recheck deadline when it changes; forget it when the CE is
        no longer waiting for one."""
        machine = self.machine
        if machine.wait in PERSISTED_WAITS and machine.deadline is not None and machine.prefix:
            kept = self._schedule
            due = machine.deadline + offset
            if kept is None or abs(kept.due - due) > 1.0:
                self._schedule = schedule.Schedule(
                    self.clock.wall(), due, machine.wait.value, self._fingerprint(),
                    _prefix_text(machine.prefix),
                )  # fmt: skip
                schedule.save(self.state_dir, self._schedule)
        elif machine.wait not in (None, Wait.SAVED) and self._schedule is not None:
            self._schedule = None
            schedule.erase(self.state_dir)

    # --- other threads ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            **self.snapshot,
            "counters": self.dataplane.counters(),
            "port_use": self.dataplane.port_use(),
        }


def _prefix_text(prefix: tuple[int, int]) -> str:
    return f"{ipaddress.IPv6Address(prefix[0])}/{prefix[1]}"


def status_line(doc: dict[str, Any]) -> str:
    """One line for ``systemctl status`` (STATUS=)."""
    state = doc.get("state")
    mapping = doc.get("mapping")
    if state == "established" and isinstance(mapping, dict):
        return (f"established: {mapping.get('ipv4')} PSID {mapping.get('psid')}, "
                f"{mapping.get('port_count')} ports ({doc.get('backend')} data plane)")  # fmt: skip
    wire = doc.get("softwire")
    if state == "established" and isinstance(wire, dict):
        remote = wire.get("remote_name") or wire.get("remote")
        what = (f"DS-Lite to the AFTR {remote}" if wire.get("mechanism") == "dslite"
                else f"IPIP {wire.get('ipv4')} via {remote}")  # fmt: skip
        return f"established: {what} ({doc.get('backend')} data plane)"
    if state == "HGW active":
        return "standing down: the home gateway runs MAP-E itself"
    if doc.get("outcome") is None and state == "waiting":
        return f"waiting for an IPv6 prefix ({doc.get('prefix_source')})"
    error = doc.get("last_error") or {}
    why = error.get("message") if isinstance(error, dict) else None
    next_in = doc.get("next_attempt_in")
    after = f"; next attempt in {next_in} s" if next_in is not None else ""
    return f"{state}: {why or doc.get('outcome')}{after}"

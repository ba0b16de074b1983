"""``mape agent``: the CE daemon.

One thread owns the provisioning machine and the data plane; the others only post events
to it: the netlink watcher (WAN address or link changes), the control socket (``status``,
``retry``) and signals. The status the socket serves is a snapshot the main thread takes
after every step, plus live data-plane counters.
"""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import json
import os
import queue
import random
import socket
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mapekit.agent.config import AgentConfig
from mapekit.agent.dataplane import DataplaneManager, choose_backend
from mapekit.agent.prefix import current_prefix, file_signature, source_in_prefix
from mapekit.client.fetch import ProviderConfig
from mapekit.client.http import HttpSettings
from mapekit.client.runner import Runner
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.rule import IidFormat
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import builtin_rules, load_rule_file
from mapekit.dataplane.conntrack import port_use
from mapekit.dataplane.links import set_sysctl, watch_links
from mapekit.provision.hb46pp import ClientIdentity
from mapekit.provision.machine import (
    CeMachine,
    Event,
    PrefixChanged,
    PrefixLost,
    Retry,
    Start,
    TimerFired,
)
from mapekit.provision.model import Provider
from mapekit.provision.status import status_of
from mapekit.provision.timers import TimerPolicy

PREFIX_POLL = 0.5  # seconds; the PD file has no change notification: a stat each time
FULL_CHECK = 10.0  # seconds; interface changes come as netlink events, this is a safety net
MAX_REQUEST = 4096


def provider_config(config: AgentConfig) -> ProviderConfig:
    provider = Provider(config.provider)
    static = None
    if provider is Provider.STATIC:
        static = load_rule_file(config.rules_file) if config.rules_file else builtin_rules()
    identity = (
        ClientIdentity("000000-mapekit", "mapekit", "0_1_0")
        if provider is Provider.HB46PP
        else None
    )
    return ProviderConfig(
        provider=provider,
        url=config.url,
        vendor_code=config.vendor_code,
        isp=config.isp,
        iid=IidFormat(config.iid),
        http=HttpSettings(ca_file=config.ca_file),
        identity=identity,
        dns_server=config.dns_server,
        allow_insecure_discovery=config.insecure_discovery,
        dhcpv6_options_file=config.dhcpv6_options_file,
        static_rules=static,
    )


@dataclass
class Agent:
    config: AgentConfig
    events: queue.Queue[Event | str] = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    snapshot: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        config = self.config
        self.backend, why = choose_backend(config.backend)
        self.notes.append(f"data plane: {self.backend} ({why})")
        self.store = StateStore(Path(config.state_dir))
        saved, problem = self.store.load()
        if problem is not None:
            self.notes.append(problem.message)
        self.provider = provider_config(config)
        reports = config.report and self.provider.provider is Provider.JPNE
        self.machine = CeMachine(
            self.provider.provider,
            random.Random(),  # noqa: S311 - retry jitter, not cryptography
            timers=TimerPolicy(scale=config.timer_scale),
            report=reports,
            saved=saved,
        )
        state = Path(config.state_dir)
        state.mkdir(parents=True, exist_ok=True)
        self.dataplane = DataplaneManager(
            config, state / "dataplane.json", state / "applied.json", self.backend
        )
        hgw = config.hgw_url
        if hgw and config.isp == "biglobe":
            hgw = hgw.replace("/enabler.ipv4/check", "/biglobe.ipv4/check")
        self.runner = Runner(
            self.machine,
            self.provider,
            self.store,
            hgw_url=hgw,
            apply=self._apply,
            withdraw=self.dataplane.withdraw,
        )
        self.prefix_source = "none"

    # --- the main thread --------------------------------------------------------------

    def run(self) -> None:
        for sysctl in ("net.ipv4.ip_forward",):
            if set_sysctl(sysctl, "1"):
                self.notes.append(f"set {sysctl}=1")
        cleaned = self.dataplane.clean_leftovers()
        if cleaned:
            self.notes.append(cleaned)
        threads = [
            threading.Thread(target=self._serve_control, name="control", daemon=True),
            *(
                [threading.Thread(target=self._serve_metrics, name="metrics", daemon=True)]
                if self.config.metrics
                else []
            ),
            threading.Thread(
                target=watch_links,
                args=(self.stop, lambda: self.events.put("links")),
                name="netlink",
                daemon=True,
            ),
        ]
        for thread in threads:
            thread.start()
        pd_seen = file_signature(self.config.pd_file)
        self._check_prefix(first=True)
        next_poll = time.monotonic() + PREFIX_POLL
        next_full = time.monotonic() + FULL_CHECK
        try:
            while not self.stop.is_set():
                self._step(next_poll)
                now = time.monotonic()
                if now >= next_poll:  # the whole check (netlink dumps) only when needed
                    pd_now = file_signature(self.config.pd_file)
                    if pd_now != pd_seen or now >= next_full:
                        pd_seen = pd_now
                        self._check_prefix()
                        next_full = now + FULL_CHECK
                    next_poll = now + PREFIX_POLL
        finally:
            self.dataplane.shutdown()
            self._take_snapshot()

    def _step(self, next_poll: float) -> None:
        deadline = self.machine.timer()
        wait = next_poll - time.monotonic()
        if deadline is not None:
            wait = min(wait, deadline - time.time())
        try:
            item = self.events.get(timeout=max(0.0, wait))
        except queue.Empty:
            item = None
        if item == "links":
            self._check_prefix()
        elif item == "stop":
            self.stop.set()
        elif item is not None and not isinstance(item, str):
            self.runner.run(item)
        deadline = self.machine.timer()
        if deadline is not None and time.time() >= deadline:
            self.runner.run(TimerFired())
        self._take_snapshot()

    def _check_prefix(self, first: bool = False) -> None:
        plan = self.dataplane.plan
        exclude = {int(ipaddress.IPv6Address(plan.ce_address))} if plan else set()
        prefix, source = current_prefix(self.config, exclude)
        self.prefix_source = source
        if prefix is None:
            if self.machine.prefix is not None:
                self.runner.run(PrefixLost())
            return
        address = source_in_prefix(prefix, [self.config.lan, self.config.wan])
        if address != self.runner.config.http.source_address:
            http = replace(self.runner.config.http, source_address=address)
            self.runner.config = replace(self.runner.config, http=http)
        if prefix != self.machine.prefix:
            self.runner.run(PrefixChanged(*prefix))
        elif first:
            self.runner.run(Start())

    def _apply(self, mapping: Mapping) -> None:
        rules = self.machine.saved.rules if self.machine.saved else RuleSet([mapping.rule])
        try:
            self.dataplane.apply(mapping, rules)
        except MapeError as exc:
            self.notes.append(f"data plane: {exc.message}")

    def _take_snapshot(self) -> None:
        doc = status_of(self.machine, time.time()).to_dict()
        doc["notes"] = [*self.notes, *self.runner.notes[-5:], *self.dataplane.notes]
        doc["prefix_source"] = self.prefix_source
        doc["backend"] = self.backend
        doc["plan"] = self.dataplane.plan.to_dict() if self.dataplane.plan else None
        self.snapshot = doc
        self.store.save_status(doc)

    # --- other threads ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        plan = self.dataplane.plan
        use = port_use(plan.ipv4_address, plan.port_set) if plan is not None else None
        return {
            **self.snapshot,
            "counters": self.dataplane.counters(),
            "port_use": None if use is None else use.to_dict(),
        }

    def _serve_control(self) -> None:
        path = Path(self.config.socket)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
            server.bind(str(path))
            os.chmod(path, 0o660)
            server.listen(8)
            server.settimeout(0.5)
            while not self.stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    self._answer(conn)
        path.unlink(missing_ok=True)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(2)
        try:
            request = json.loads(conn.recv(MAX_REQUEST).split(b"\n", 1)[0] or b"{}")
            command = request.get("command") if isinstance(request, dict) else None
        except (OSError, ValueError):
            return
        if command == "status":
            reply: dict[str, Any] = self.status()
        elif command == "retry":
            self.events.put(Retry())
            reply = {"ok": True, "command": "retry"}
        else:
            error = {
                "reason_code": "usage.invalid_arguments",
                "field": "command",
                "message": f"unknown command {command!r}",
            }
            reply = {"error": error}
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(reply).encode())

    def _serve_metrics(self) -> None:
        """Prometheus text on the configured localhost address (``/metrics``)."""
        assert self.config.metrics is not None
        host, _, port = self.config.metrics.rpartition(":")
        agent = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = render_metrics(agent.status()).encode()
                self.send_response(200 if self.path == "/metrics" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body if self.path == "/metrics" else b"")

            def log_message(self, *_: object) -> None:
                return

        try:
            server = http.server.ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
        except (OSError, ValueError) as exc:
            self.notes.append(f"metrics: cannot listen on {self.config.metrics}: {exc}")
            return
        server.timeout = 0.5
        with server:
            while not self.stop.is_set():
                server.handle_request()


def render_metrics(status: dict[str, Any]) -> str:
    """The agent's status as Prometheus text."""
    lines = [
        "# TYPE mapekit_agent_established gauge",
        f"mapekit_agent_established {1 if status.get('state') == 'established' else 0}",
    ]
    for key in ("requests", "successes", "failures"):
        lines += [
            f"# TYPE mapekit_agent_{key}_total counter",
            f"mapekit_agent_{key}_total {int(status.get(key) or 0)}",
        ]
    counters = status.get("counters") or {}
    lines.append("# TYPE mapekit_dataplane_packets_total counter")
    for name, value in sorted(counters.items()):
        if not name.endswith("_bytes"):
            lines.append(f'mapekit_dataplane_packets_total{{counter="{name}"}} {int(value)}')
    return "\n".join(lines) + "\n"

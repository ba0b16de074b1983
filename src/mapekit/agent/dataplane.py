"""The agent's hold on the data plane: apply a mapping (re-planning on change), withdraw,
and keep what it applied in place.

The backend (``mapekit.dataplane.backend``) is chosen once. What was applied is recorded in
``applied.json`` (written only when it changes) so that a restart after a crash removes what
the previous run left behind (its WAN address). ``verify`` only reads; ``repair`` puts back
what something else removed and says what.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.agent.config import DataplaneSettings, Interfaces, PortsSettings
from mapekit.client.state import write_if_changed
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.core.softwire import Softwire
from mapekit.dataplane.backend import Backend, same_but_ruleset
from mapekit.dataplane.conntrack import PortWatcher, forget_flows, nat_stats, usage
from mapekit.dataplane.links import remove_address
from mapekit.dataplane.plan import Plan, make_plan
from mapekit.dataplane.policy import PortPolicy, Timeouts
from mapekit.dataplane.portmap import searches_whole_set
from mapekit.dataplane.softwire import TunnelPlan, make_softwire_plan


@dataclass
class DataplaneManager:
    backend: Backend
    settings: DataplaneSettings
    interfaces: Interfaces
    ports: PortsSettings = field(default_factory=PortsSettings)
    applied_path: Path | None = None
    plan: TunnelPlan | None = None
    notes: list[str] = field(default_factory=list)
    watcher: PortWatcher | None = None  # port use of the applied plan, from conntrack events
    forget: Callable[[str], int] = forget_flows  # drops the NATed flows of an address
    _mapping: Mapping | None = None
    _rules: RuleSet | None = None

    def make_plan(self, mapping: Mapping, rules: RuleSet) -> Plan:
        return make_plan(
            mapping, self.interfaces.wan, tunnel_name=self.interfaces.tunnel,
            lan=self.interfaces.lan, forwards=self.settings.forwards, rules=rules,
            policy=port_policy(self.ports),
            whole_set=searches_whole_set(self.backend.name, self.settings.nat),
        )  # fmt: skip

    def apply(self, mapping: Mapping, rules: RuleSet) -> list[str]:
        """Bring ``mapping`` up; nothing happens when its plan is the one applied."""
        plan = self.make_plan(mapping, rules)
        if plan == self.plan:
            return []
        if self.plan is not None and same_but_ruleset(self.plan, plan):
            self.notes = self.backend.retable(plan)
            old = self.plan.port_map if isinstance(self.plan, Plan) else None
            if self.watcher is not None and plan.port_map != old:
                with self.watcher.lock:  # forwards moved: a few translations with them
                    self.watcher.table.port_map = plan.port_map
            if (old is None) != (plan.port_map is None):
                self.notes.append(self._forget_flows(plan.ipv4_address))
            self.plan, self._mapping, self._rules = plan, mapping, rules
            return list(self.notes)
        self.withdraw()
        self._mapping, self._rules = mapping, rules
        self.notes = self.backend.up(plan, mapping, rules)
        self.plan = plan
        self.watcher = PortWatcher(plan.ipv4_address, plan.port_set, plan.port_map)
        self.watcher.start()
        if self.applied_path is not None:
            record = {"wan": plan.wan, "ce_address": plan.ce_address}
            write_if_changed(self.applied_path, json.dumps(record).encode())
        return list(self.notes)

    def _forget_flows(self, ipv4: str) -> str:
        """The NAT mode changed: the flows NATed the other way would clash with new ones
        on the wire (a real port used twice), so conntrack forgets them."""
        try:
            count = self.forget(ipv4)
        except OSError as exc:
            return f"NAT mode changed; connections in progress could not be dropped: {exc}"
        return f"NAT mode changed: {count} connections in progress dropped"

    def apply_softwire(self, softwire: Softwire) -> list[str]:
        """Bring a DS-Lite or IPIP tunnel up; nothing happens when its plan is the one
        applied."""
        names = self.interfaces
        plan = make_softwire_plan(softwire, names.wan, tunnel_name=names.tunnel, lan=names.lan)
        if plan == self.plan:
            return []
        self.withdraw()
        self.notes = self.backend.up(plan)
        self.plan = plan
        if self.applied_path is not None:
            record = {"wan": plan.wan, "ce_address": plan.ce_address}
            write_if_changed(self.applied_path, json.dumps(record).encode())
        return list(self.notes)

    def reconfigure(
        self, settings: DataplaneSettings, interfaces: Interfaces, ports: PortsSettings
    ) -> bool:
        """New settings (a reload); re-applies when the plan they give differs. True when
        it re-applied."""
        self.settings, self.interfaces, self.ports = settings, interfaces, ports
        if self._mapping is None or self._rules is None or not isinstance(self.plan, Plan):
            return False
        mapping, rules = self._mapping, self._rules
        if self.make_plan(mapping, rules) == self.plan:
            return False
        self.apply(mapping, rules)
        return True

    def withdraw(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None
        if self.plan is not None:
            self.backend.down()
        if self.applied_path is not None:
            self.applied_path.unlink(missing_ok=True)
        self.plan = self._mapping = self._rules = None

    def shutdown(self) -> None:
        """On exit: withdraw, but leave a kernel tunnel up when so configured."""
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None
        if self.plan is not None and self.settings.keep_tunnel and self.backend.name == "kernel":
            self.backend.down(keep_tunnel=True)
            self.plan = None
            return
        self.withdraw()

    def verify(self) -> list[str]:
        """What of the applied plan is gone (reads only)."""
        return self.backend.missing() if self.plan is not None else []

    def repair(self, missing: list[str]) -> list[str]:
        return self.backend.repair(missing)

    def clean_leftovers(self) -> str | None:
        """Remove the WAN address a crashed run left; says what it removed."""
        if self.applied_path is None:
            return None
        try:
            left = json.loads(self.applied_path.read_bytes()[:4096])
            wan, address = str(left["wan"]), str(left["ce_address"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        remove_address(wan, address, 128)
        self.applied_path.unlink(missing_ok=True)
        return f"removed {address}/128 from {wan}, left by a previous run"

    def counters(self) -> dict[str, int]:
        return self.backend.counters()

    def port_use(self) -> dict[str, object] | None:
        """Port use of the applied plan (from the watcher's table: no dump)."""
        watcher = self.watcher
        if watcher is None or not watcher.available or not isinstance(self.plan, Plan):
            return None
        return usage(watcher.view(), nat_stats())


def port_policy(ports: PortsSettings) -> PortPolicy:
    """The data plane's port policy from the ``[ports]`` section."""
    overrides = []
    for item in ports.cap_overrides:
        host, _, cap = item.partition("=")
        overrides.append((ipaddress.IPv4Address(host), int(cap)))
    timeouts = (
        Timeouts(quick_udp=ports.quick_udp_timeout, tcp_time_wait=ports.tcp_time_wait)
        if ports.timeouts
        else None
    )
    return PortPolicy(ports.cap_per_destination, ports.cap_per_host, tuple(overrides), timeouts)

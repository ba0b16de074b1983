"""The agent's hold on the data plane: apply a mapping (re-planning on change), withdraw,
and keep what it applied in place.

The backend (``mapekit.dataplane.backend``) is chosen once. What was applied is recorded in
``applied.json`` (written only when it changes) so that a restart after a crash removes what
the previous run left behind (its WAN address). ``verify`` only reads; ``repair`` puts back
what something else removed and says what.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.agent.config import DataplaneSettings, Interfaces
from mapekit.client.state import write_if_changed
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.backend import Backend
from mapekit.dataplane.links import remove_address
from mapekit.dataplane.plan import Plan, make_plan


@dataclass
class DataplaneManager:
    backend: Backend
    settings: DataplaneSettings
    interfaces: Interfaces
    applied_path: Path | None = None
    plan: Plan | None = None
    notes: list[str] = field(default_factory=list)
    _mapping: Mapping | None = None
    _rules: RuleSet | None = None

    def make_plan(self, mapping: Mapping, rules: RuleSet) -> Plan:
        return make_plan(
            mapping, self.interfaces.wan, tunnel_name=self.interfaces.tunnel,
            lan=self.interfaces.lan, forwards=self.settings.forwards, rules=rules,
        )  # fmt: skip

    def apply(self, mapping: Mapping, rules: RuleSet) -> list[str]:
        """Bring ``mapping`` up; nothing happens when its plan is the one applied."""
        plan = self.make_plan(mapping, rules)
        if plan == self.plan:
            return []
        self.withdraw()
        self._mapping, self._rules = mapping, rules
        self.notes = self.backend.up(plan, mapping, rules)
        self.plan = plan
        if self.applied_path is not None:
            record = {"wan": plan.wan, "ce_address": plan.ce_address}
            write_if_changed(self.applied_path, json.dumps(record).encode())
        return list(self.notes)

    def reconfigure(self, settings: DataplaneSettings, interfaces: Interfaces) -> bool:
        """New settings (a reload); re-applies when the plan they give differs. True when
        it re-applied."""
        self.settings, self.interfaces = settings, interfaces
        if self._mapping is None or self._rules is None or self.plan is None:
            return False
        mapping, rules = self._mapping, self._rules
        if self.make_plan(mapping, rules) == self.plan:
            return False
        self.apply(mapping, rules)
        return True

    def withdraw(self) -> None:
        if self.plan is not None:
            self.backend.down()
        if self.applied_path is not None:
            self.applied_path.unlink(missing_ok=True)
        self.plan = self._mapping = self._rules = None

    def shutdown(self) -> None:
        """On exit: withdraw, but leave a kernel tunnel up when so configured."""
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

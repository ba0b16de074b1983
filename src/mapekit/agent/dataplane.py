"""The agent's hold on the data plane: apply a mapping (re-planning on change), withdraw.

The backend is chosen once: ``kernel`` needs ip6tnl; ``auto`` takes the kernel tunnel when
there is one, and the userspace tunnel when the kernel has none (and says so).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.agent.config import AgentConfig
from mapekit.client.state import write_atomically
from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.forwarder import Forwarder
from mapekit.dataplane.kernel import KernelCe
from mapekit.dataplane.links import has_ip6tnl, remove_address
from mapekit.dataplane.plan import Plan, make_plan
from mapekit.dataplane.userspace import UserspaceCe


def choose_backend(wanted: str) -> tuple[str, str]:
    """The backend to use (``kernel`` or ``userspace``) and why."""
    kernel = has_ip6tnl()
    if wanted == "kernel":
        if not kernel:
            raise MapeError(
                "dataplane.unsupported",
                "dataplane.backend: this kernel has no ip6tnl; use backend = userspace",
                field="dataplane.backend",
            )
        return "kernel", "chosen in the configuration"
    if wanted == "userspace":
        return "userspace", "chosen in the configuration"
    if kernel:
        return "kernel", "the kernel has ip6tnl"
    return "userspace", "the kernel has no ip6tnl"


@dataclass
class DataplaneManager:
    """Applies plans; remembers the applied one in ``applied_path`` so that a restart after
    a crash removes what the previous run left behind (its WAN address)."""

    config: AgentConfig
    stats_path: Path | None = None
    applied_path: Path | None = None
    backend: str = "userspace"
    plan: Plan | None = None
    notes: list[str] = field(default_factory=list)
    _ce: UserspaceCe | KernelCe | None = None
    _forwarder: Forwarder | None = None
    _thread: threading.Thread | None = None

    def apply(self, mapping: Mapping, rules: RuleSet) -> None:
        config = self.config
        plan = make_plan(
            mapping, config.wan, tunnel_name=config.tunnel, lan=config.lan,
            forwards=config.forwards, rules=rules,
        )  # fmt: skip
        running = self._thread is not None and self._thread.is_alive()
        if plan == self.plan and (running or self.backend == "kernel"):
            return
        self.withdraw()
        if self.backend == "kernel":
            kernel = KernelCe(plan, config.replace_default_route)
            self.notes = kernel.up()
            self._ce, self.plan = kernel, plan
        else:
            ce = UserspaceCe(plan, mapping, rules, config.replace_default_route, self.stats_path)
            self._forwarder = ce.up()
            self._ce, self.plan = ce, plan
            self.notes = list(ce.notes)
            self._thread = threading.Thread(
                target=self._forwarder.run, name="forwarder", daemon=True
            )
            self._thread.start()
        if self.applied_path is not None:
            write_atomically(
                self.applied_path,
                json.dumps({"wan": plan.wan, "ce_address": plan.ce_address}).encode(),
            )

    def withdraw(self) -> None:
        if self._forwarder is not None:
            self._forwarder.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._ce is not None:
            self._ce.down()
        if self.applied_path is not None:
            self.applied_path.unlink(missing_ok=True)
        self._ce = self._forwarder = self._thread = None
        self.plan = None

    def shutdown(self) -> None:
        """On exit: withdraw, but keep a kernel tunnel up when so configured."""
        if self.config.keep_tunnel and isinstance(self._ce, KernelCe):
            self._ce.down(keep_tunnel=True)
            self._ce, self.plan = None, None
            return
        self.withdraw()

    def clean_leftovers(self) -> str | None:
        """Remove the WAN address a crashed run left; says what it removed."""
        if self.applied_path is None:
            return None
        try:
            left = json.loads(self.applied_path.read_text())
            wan, address = str(left["wan"]), str(left["ce_address"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        remove_address(wan, address, 128)
        self.applied_path.unlink(missing_ok=True)
        return f"removed {address}/128 from {wan}, left by a previous run"

    def counters(self) -> dict[str, int]:
        return self._forwarder.stats.to_dict() if self._forwarder is not None else {}

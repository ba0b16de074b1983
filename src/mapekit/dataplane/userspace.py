"""The userspace backend: make a plan exist with a TUN device instead of ip6tnl.

NAT stays in kernel nftables on the TUN device (the same ruleset as in kernel mode); the
forwarder encapsulates and checks. ``up`` is idempotent for addresses and routes, and
``down`` removes what ``up`` made: the TUN device (by closing it), the WAN address, the
routes through the tunnel (with the device) and mapekit's nftables tables.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import health, nft
from mapekit.dataplane.checks import BrChecks, CeChecks
from mapekit.dataplane.forwarder import Forwarder, Stats, icmp6_socket, raw_socket
from mapekit.dataplane.health import missing_parts
from mapekit.dataplane.links import (
    enable_ipv4_forwarding,
    ensure_address,
    ensure_route,
    open_tun,
    remove_address,
    set_link,
    set_sysctl,
)
from mapekit.dataplane.nftables import render_icmp_guard
from mapekit.dataplane.parts import Tables, ensure_parts, load_tables
from mapekit.dataplane.plan import Plan
from mapekit.dataplane.softwire import SoftwireChecks, SoftwirePlan, TunnelPlan, render_tables

GUARD_TABLE = "mapekit_guard"
BR_GUARD_TABLE = "mapekit_br_guard"


@dataclass
class UserspaceBackend:
    """The CE data plane over TUN (the :class:`~mapekit.dataplane.backend.Backend`
    protocol): NAT in kernel nftables, a forwarder thread that encapsulates and checks."""

    replace_default_route: bool = False
    stats_path: Path | None = None  # `mape tunnel --stats`; the agent keeps counters in memory
    plan: TunnelPlan | None = None
    owns_default_route: bool = False
    tables: Tables = field(default_factory=dict)
    forwarder: Forwarder | None = None
    name: ClassVar[str] = "userspace"
    _mapping: Mapping | None = None
    _rules: RuleSet | None = None
    _fd: int | None = None
    _raw: socket.socket | None = None
    _thread: threading.Thread | None = None

    def up(
        self, plan: TunnelPlan, mapping: Mapping | None = None, rules: RuleSet | None = None
    ) -> list[str]:
        if not isinstance(plan, SoftwirePlan) and (mapping is None or rules is None):
            raise ValueError("the userspace backend needs the mapping and its rules")
        self.plan, self._mapping, self._rules = plan, mapping, rules
        notes = [n for n in (enable_ipv4_forwarding(),) if n]
        self._fd = open_tun(plan.tunnel.name)
        notes += self._ensure(reload_tables=True)
        self._start()
        return notes

    def _start(self) -> None:
        """The raw socket (bound to the CE address, once it is on the WAN) and the
        forwarder thread."""
        plan, mapping, rules = self.plan, self._mapping, self._rules
        assert plan is not None and self._fd is not None
        checks: CeChecks | SoftwireChecks
        if isinstance(plan, SoftwirePlan):
            checks = SoftwireChecks(plan)
        else:
            assert mapping is not None and rules is not None
            checks = CeChecks(mapping, rules)
        self._raw = raw_socket(plan.ce_address)
        self.forwarder = Forwarder(
            plan.tunnel.name, self._fd, self._raw, ce=checks,
            local=plan.ce_address, icmp6=icmp6_socket(), stats_path=self.stats_path,
            stats=self.forwarder.stats if self.forwarder else Stats(),
            port_map=plan.port_map if isinstance(plan, Plan) else None,
        )  # fmt: skip
        self._thread = threading.Thread(target=self.forwarder.run, name="forwarder", daemon=True)
        self._thread.start()

    def _close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._raw is not None:
            self._raw.close()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # the TUN device and its routes go with it
        self._raw = self._fd = self._thread = None

    def _ensure(self, reload_tables: bool) -> list[str]:
        plan = self.plan
        assert plan is not None
        self.owns_default_route, notes = ensure_parts(
            plan, replace_default_route=self.replace_default_route, fmr_routes=True
        )
        if reload_tables:
            self.tables = load_tables([
                ("ip", plan.table, render_tables(plan)),
                ("ip6", GUARD_TABLE, render_icmp_guard(GUARD_TABLE, plan.ce_address)),
            ])  # fmt: skip
        return notes

    def retable(self, plan: TunnelPlan) -> list[str]:
        self.plan = plan
        if self.forwarder is not None:  # forwards moved: their virtual ports with them
            self.forwarder.port_map = plan.port_map if isinstance(plan, Plan) else None
        return self._ensure(reload_tables=True)

    def missing(self) -> list[str]:
        if self.plan is None:
            return []
        found = missing_parts(
            self.plan, owns_default_route=self.owns_default_route, fmr_routes=True,
            tables=self.tables,
        )  # fmt: skip
        if self._thread is not None and not self._thread.is_alive():
            found.append(f"{health.TUNNEL}: the forwarder stopped")
        return found

    def repair(self, missing: list[str]) -> list[str]:
        """Re-apply what ``missing`` names; a TUN device deleted under us is re-made (with
        its addresses and routes) and the forwarder restarted, its counters kept."""
        kinds = health.kinds(missing)
        if health.TUNNEL not in kinds:
            return self._ensure(reload_tables=health.TABLE in kinds)
        assert self.plan is not None
        self._close()
        self._fd = open_tun(self.plan.tunnel.name)
        notes = self._ensure(reload_tables=health.TABLE in kinds)
        self._start()
        return notes

    def counters(self) -> dict[str, int]:
        return self.forwarder.stats.to_dict() if self.forwarder is not None else {}

    def down(self, keep_tunnel: bool = False) -> None:
        """Remove what ``up`` made (a TUN cannot outlive its process: ``keep_tunnel`` has no
        effect here)."""
        self._close()
        if self.plan is not None:
            remove_address(self.plan.wan, self.plan.ce_address, 128)
            nft.delete_table(self.plan.table)
        nft.delete_table(GUARD_TABLE, family="ip6")
        self.plan = None
        self.tables = {}


@dataclass
class UserspaceBr:
    """A BR over TUN: the domain's IPv4 prefixes are routed into ``tun``."""

    rules: RuleSet
    address: str
    tun: str = "mapebr0"
    mtu: int = 1460
    stats_path: Path | None = None
    _fd: int | None = None
    _raw: socket.socket | None = None

    def up(self, device: str | None = None, prefixes: Sequence[str] = ()) -> Forwarder:
        enable_ipv4_forwarding()
        set_sysctl("net.ipv6.conf.all.forwarding", "1")
        self._fd = open_tun(self.tun)
        set_link(self.tun, mtu=self.mtu)
        set_sysctl(f"net.ipv4.conf.{self.tun}.rp_filter", "0")
        if device is not None:
            ensure_address(device, self.address, 128)
        for prefix in prefixes or sorted({str(r.ipv4_prefix) for r in self.rules}):
            ensure_route(prefix, self.tun)
        nft.load(render_icmp_guard(BR_GUARD_TABLE, self.address))
        self._raw = raw_socket(self.address)
        return Forwarder(
            self.tun, self._fd, self._raw, br=BrChecks(self.rules), local=self.address,
            icmp6=icmp6_socket(), stats_path=self.stats_path,
        )  # fmt: skip

    def down(self, device: str | None = None) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if device is not None:
            remove_address(device, self.address, 128)
        nft.delete_table(BR_GUARD_TABLE, family="ip6")

"""NAT failing for lack of ports, and new flows refused by the caps, as events: read every
few seconds, logged at most once a minute with the host and the destination that hold the
set; nothing when nothing changed (a healthy agent stays silent)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mapekit.dataplane import nft
from mapekit.dataplane.conntrack import nat_stats
from mapekit.dataplane.nft_policy import REFUSED
from mapekit.provision.machine import CeMachine

if TYPE_CHECKING:
    from mapekit.agent.dataplane import DataplaneManager

LOG_EVERY = 60.0


@dataclass
class PortEvents:
    failed_seen: int | None = None
    failed_pending: int = 0
    refused_seen: dict[str, int] = field(default_factory=dict)
    refused_pending: dict[str, int] = field(default_factory=dict)
    next_log: float = 0.0

    def check(self, dataplane: DataplaneManager, machine: CeMachine, now: float) -> None:
        plan = dataplane.plan
        if plan is None:
            return
        stats = nat_stats()
        if stats is not None:
            failed = stats.insert_failed + stats.drop
            if self.failed_seen is not None and failed > self.failed_seen:
                self.failed_pending += failed - self.failed_seen
            self.failed_seen = failed
        if plan.policy.caps:
            for host, count in nft.set_counters(REFUSED, plan.table).items():
                more = count - self.refused_seen.get(host, 0)
                if more > 0:
                    self.refused_pending[host] = self.refused_pending.get(host, 0) + more
                self.refused_seen[host] = count
        if now >= self.next_log and (self.failed_pending or self.refused_pending):
            self._log(dataplane, machine, now)

    def _log(self, dataplane: DataplaneManager, machine: CeMachine, now: float) -> None:
        self.next_log = now + LOG_EVERY
        if self.failed_pending:
            use = dataplane.port_use() or {}
            busiest = (use.get("busiest") or [{}])[0]  # type: ignore[index]
            hosts: dict[str, int] = busiest.get("hosts") or {}
            host = max(hosts, key=lambda h: hosts[h]) if hosts else "-"
            where = (f"{busiest.get('proto')} {busiest.get('address')}:{busiest.get('port')}"
                     if busiest else "-")  # fmt: skip
            machine.logged("MAPE.041", now, failed=self.failed_pending, host=host,
                           held=hosts.get(host, 0), ports=use.get("port_count"),
                           destination=where)  # fmt: skip
            self.failed_pending = 0
        for host, refused in sorted(self.refused_pending.items()):
            machine.logged("MAPE.042", now, host=host, refused=refused)
        self.refused_pending = {}

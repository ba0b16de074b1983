"""The bpf backend: the CE data plane at kernel speed without ip6tnl (tc-BPF).

IPv4 is routed into a TUN device, as with the userspace backend, and NATed into the
port set there by the same nftables ruleset. No process reads the TUN: a BPF program on
its tc egress encapsulates each packet (to the BR, or to the CE an FMR names) and
redirects it out of the WAN; a BPF program on the WAN's tc ingress checks what comes
for the CE address (RFC 7597 §8), decapsulates it and hands it to the TUN's ingress, so
the IPv4 stack sees it arrive on the tunnel device. Counters live in a per-CPU map;
"packet too big" goes through the slow path (:mod:`mapekit.dataplane.slowpath`).
Why a TUN and which constructs: docs/dataplane.md.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import bpffs, bpfmaps, health, nft
from mapekit.dataplane.bpfprog import Programs
from mapekit.dataplane.checks import CeChecks
from mapekit.dataplane.forwarder import Stats
from mapekit.dataplane.health import missing_parts
from mapekit.dataplane.links import (
    DataplaneError,
    enable_ipv4_forwarding,
    link_index,
    open_tun,
    remove_address,
)
from mapekit.dataplane.parts import Tables, ensure_parts, load_tables
from mapekit.dataplane.plan import Plan
from mapekit.dataplane.slowpath import SlowPath, first_peer
from mapekit.dataplane.softwire import SoftwireChecks, SoftwirePlan, TunnelPlan, render_tables

PROGRAM = "program"  # a health kind of its own: a filter that is gone


def _index(name: str) -> int:
    index = link_index(name)
    if index is None:
        raise DataplaneError("dataplane.no_device", f"{name}: no such interface", field=name)
    return index


@dataclass
class BpfBackend:
    """The CE data plane with tc-BPF (the :class:`~mapekit.dataplane.backend.Backend`
    protocol)."""

    replace_default_route: bool = False
    bpffs_root: Path = bpffs.DEFAULT_ROOT
    plan: TunnelPlan | None = None
    owns_default_route: bool = False
    tables: Tables = field(default_factory=dict)
    name: ClassVar[str] = "bpf"
    programs: Programs | None = None
    _mapping: Mapping | None = None
    _rules: RuleSet | None = None
    _fd: int | None = None
    _slow: SlowPath | None = None
    _stats: Stats = field(default_factory=Stats)  # the slow path's, kept across repairs

    def up(
        self, plan: TunnelPlan, mapping: Mapping | None = None, rules: RuleSet | None = None
    ) -> list[str]:
        if not isinstance(plan, SoftwirePlan) and (mapping is None or rules is None):
            raise ValueError("the bpf backend needs the mapping and its rules")
        self.plan, self._mapping, self._rules = plan, mapping, rules
        notes = [n for n in (enable_ipv4_forwarding(),) if n]
        self._fd = open_tun(plan.tunnel.name)
        try:
            notes += self._ensure(reload_tables=True)
            self.programs = Programs.load("ce", f"ce-{plan.wan}", self.bpffs_root)
            if self.programs.left:
                notes.append(f"removed what a previous run left: {', '.join(self.programs.left)}")
            self._load_maps()
            self._attach()
            self._start_slow_path()
        except BaseException:
            self.down()
            raise
        return [*notes, self._describe()]

    def _start_slow_path(self) -> None:
        assert self.plan is not None and self._fd is not None
        checks: CeChecks | SoftwireChecks
        if isinstance(self.plan, SoftwirePlan):
            checks = SoftwireChecks(self.plan)
        else:
            assert self._mapping is not None and self._rules is not None
            checks = CeChecks(self._mapping, self._rules)
        self._slow = SlowPath(
            self.plan.tunnel.name, self._fd, self.plan.ce_address, self._stats,
            peer=lambda data, now: first_peer(checks.outbound(data, now)),
        )  # fmt: skip
        self._slow.start()

    def _describe(self) -> str:
        assert self.programs is not None
        where = ", ".join(
            f"{a.program} (id {a.prog_id}) on {a.device} {a.point}" for a in self.programs.attached
        )
        return f"bpf: {where}; pinned in {self.programs.pinned_where()}"

    def _load_maps(self) -> None:
        """The configuration and the FMRs. A DS-Lite or IPIP softwire is the same program
        without a port set or FMRs: only the remote (the AFTR) may send to us, and for IPIP
        only to our address or prefix (DS-Lite: to any, the LAN's own addresses)."""
        plan, programs = self.plan, self.programs
        assert plan is not None and programs is not None
        common = {"local6": plan.ce_address, "br6": plan.tunnel.remote,
                  "tun_ifindex": _index(plan.tunnel.name), "wan_ifindex": _index(plan.wan),
                  "hop_limit": plan.tunnel.hop_limit}  # fmt: skip
        if isinstance(plan, SoftwirePlan):
            dslite = plan.mechanism == "dslite"
            programs.configure(bpfmaps.Config(
                **common, ipv4=plan.ipv4_address,  # type: ignore[arg-type]
                ipv4_prefix_len=0 if dslite else plan.ipv4_prefix_len,
            ))  # fmt: skip
            programs.set_rules(())
            programs.set_ports(None)
            return
        mapping, rules = self._mapping, self._rules
        assert mapping is not None and rules is not None
        ports = mapping.port_set
        programs.configure(bpfmaps.Config(
            **common, ipv4=plan.ipv4_address, ipv4_prefix_len=plan.ipv4_prefix_len,  # type: ignore[arg-type]
            psid=ports.psid, psid_offset=ports.offset, psid_len=ports.psid_len,
        ))  # fmt: skip
        programs.set_rules(r for r in rules if r.fmr)
        programs.set_ports(plan.port_map)

    def _attach(self) -> None:
        plan, programs = self.plan, self.programs
        assert plan is not None and programs is not None
        programs.attach(plan.tunnel.name, _index(plan.tunnel.name), "egress", "mk_ce_egress")
        programs.attach(plan.wan, _index(plan.wan), "ingress", "mk_ce_ingress")

    def _ensure(self, reload_tables: bool) -> list[str]:
        plan = self.plan
        assert plan is not None
        self.owns_default_route, notes = ensure_parts(
            plan, replace_default_route=self.replace_default_route, fmr_routes=True
        )
        if reload_tables:
            self.tables = load_tables([("ip", plan.table, render_tables(plan))])
        return notes

    def retable(self, plan: TunnelPlan) -> list[str]:
        """Only the nftables ruleset changed: replace the tables and the port translation
        (forwarded ports move with the forwards), touch nothing else."""
        self.plan = plan
        if self.programs is not None and isinstance(plan, Plan):
            self.programs.set_ports(plan.port_map)
        return self._ensure(reload_tables=True)

    def missing(self) -> list[str]:
        if self.plan is None:
            return []
        found = missing_parts(
            self.plan, owns_default_route=self.owns_default_route, fmr_routes=True,
            tables=self.tables,
        )  # fmt: skip
        if self.programs is not None and health.TUNNEL not in health.kinds(found):
            found += [
                f"{PROGRAM}: {a.program} on {a.device} {a.point}" for a in self.programs.detached()
            ]
        if self._slow is not None and not self._slow.alive():
            found.append(f"{health.TUNNEL}: the slow path stopped")
        return found

    def repair(self, missing: list[str]) -> list[str]:
        """Re-apply what ``missing`` names: a TUN deleted under us is re-made with its
        addresses, routes and program; a filter removed is attached again."""
        kinds = health.kinds(missing)
        plan, programs = self.plan, self.programs
        assert plan is not None and programs is not None
        if health.TUNNEL in kinds:
            self._close_tun()
            self._fd = open_tun(plan.tunnel.name)
            notes = self._ensure(reload_tables=health.TABLE in kinds)
            self._load_maps()  # the new device's index
            self._attach()
            self._start_slow_path()
            return notes
        notes = self._ensure(reload_tables=health.TABLE in kinds)
        if PROGRAM in kinds:
            self._attach()
        return notes

    def counters(self) -> dict[str, int]:
        found = self.programs.counters(bpfmaps.CE_DIRECTIONS) if self.programs else {}
        found.update(self._stats.to_dict())
        return dict(sorted(found.items()))

    def describe(self) -> dict[str, object]:
        return self.programs.describe() if self.programs is not None else {}

    def _close_tun(self) -> None:
        if self._slow is not None:
            self._slow.close()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)  # the TUN device, its routes and its filter go with it
        self._fd = None

    def down(self, keep_tunnel: bool = False) -> None:
        """Remove what ``up`` made: filters, programs, maps and pins, the TUN device, the
        WAN address, mapekit's table (``keep_tunnel`` has no effect: a TUN cannot outlive
        its process)."""
        if self.programs is not None:
            self.programs.close()
            self.programs = None
        self._close_tun()
        if self.plan is not None:
            remove_address(self.plan.wan, self.plan.ce_address, 128)
            nft.delete_table(self.plan.table)
        self.plan = None
        self.tables = {}

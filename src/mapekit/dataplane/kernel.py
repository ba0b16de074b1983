"""The kernel backend: an ip6tnl device (pyroute2 netlink) and the nftables ruleset.

``up`` is idempotent: a tunnel that already matches the plan is kept, one that differs is
replaced, addresses and routes are added only when missing, and the ruleset replaces
mapekit's table in one transaction. ``down`` removes exactly what ``up`` made (optionally
keeping the tunnel across restarts). Mainline ip6tnl has no FMR support: CE-to-CE traffic
goes through the BR, which hairpins it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import health, nft
from mapekit.dataplane.health import missing_parts
from mapekit.dataplane.links import (
    DataplaneError,
    enable_ipv4_forwarding,
    netlink,
    remove_address,
)
from mapekit.dataplane.parts import Tables, ensure_parts, load_tables
from mapekit.dataplane.softwire import TunnelPlan, render_tables

IP6_TNL_F_IGN_ENCAP_LIMIT = 0x1  # no encapsulation-limit option (RFC 2473 §6.6)
IPPROTO_IPIP = 4


def _tunnel_attrs(plan: TunnelPlan, wan_index: int) -> dict[str, Any]:
    return {
        "ip6tnl_link": wan_index,
        "ip6tnl_local": plan.tunnel.local,
        "ip6tnl_remote": plan.tunnel.remote,
        "ip6tnl_ttl": plan.tunnel.hop_limit,
        "ip6tnl_encap_limit": 0,
        "ip6tnl_flags": IP6_TNL_F_IGN_ENCAP_LIMIT,
        "ip6tnl_proto": IPPROTO_IPIP,
    }


def tunnel_state(name: str) -> dict[str, Any] | None:
    """The ip6tnl attributes of ``name`` as the kernel reports them, or None."""
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        link = ipr.get_links(found[0])[0]
        info = link.get_attr("IFLA_LINKINFO")
        if info is None or info.get_attr("IFLA_INFO_KIND") != "ip6tnl":
            return {"kind": info.get_attr("IFLA_INFO_KIND") if info else None}
        data = info.get_attr("IFLA_INFO_DATA")
        return {
            "kind": "ip6tnl",
            "local": data.get_attr("IFLA_IP6TNL_LOCAL"),
            "remote": data.get_attr("IFLA_IP6TNL_REMOTE"),
            "ttl": data.get_attr("IFLA_IP6TNL_TTL"),
            "flags": data.get_attr("IFLA_IP6TNL_FLAGS"),
            "proto": data.get_attr("IFLA_IP6TNL_PROTO"),
            "link": data.get_attr("IFLA_IP6TNL_LINK"),
            "mtu": link.get_attr("IFLA_MTU"),
        }


def ensure_tunnel(plan: TunnelPlan, check_only: bool = False) -> str:
    """Create the tunnel, keep it when it matches, replace it when not; says which
    (``check_only``: only say which it would do)."""
    name = plan.tunnel.name
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=plan.wan)
        if not found:
            raise DataplaneError(
                "dataplane.no_device", f"{plan.wan}: no such interface", field="wan"
            )
        attrs = _tunnel_attrs(plan, found[0])
        state = tunnel_state(name)
        if state is not None:
            same = (
                state.get("kind") == "ip6tnl"
                and state.get("local") == plan.tunnel.local
                and state.get("remote") == plan.tunnel.remote
                and state.get("ttl") == plan.tunnel.hop_limit
                and state.get("proto") == IPPROTO_IPIP
                and (state.get("flags") or 0) & IP6_TNL_F_IGN_ENCAP_LIMIT
                and state.get("link") == found[0]
            )
            if same:
                return "kept"
            if check_only:
                return "replaced"
            ipr.link("del", index=ipr.link_lookup(ifname=name)[0])
        if check_only:
            return "created"
        try:
            ipr.link("add", ifname=name, kind="ip6tnl", **attrs)
        except NetlinkError as exc:
            raise DataplaneError(
                "dataplane.unsupported" if exc.code in (95, 22) else "dataplane.setup",
                f"{name}: cannot create the ip6tnl device: {exc}",
                field="tunnel",
            ) from None
    return "replaced" if state is not None else "created"


@dataclass
class KernelBackend:
    """The CE data plane with kernel ip6tnl (the :class:`~mapekit.dataplane.backend.Backend`
    protocol). ``down`` works on a fresh object too: it removes what the plan names."""

    replace_default_route: bool = False
    plan: TunnelPlan | None = None
    owns_default_route: bool = False
    tables: Tables = field(default_factory=dict)
    name: ClassVar[str] = "kernel"

    def up(
        self, plan: TunnelPlan, mapping: Mapping | None = None, rules: RuleSet | None = None
    ) -> list[str]:
        self.plan = plan
        notes = [n for n in (enable_ipv4_forwarding(),) if n]
        notes.append(f"tunnel {ensure_tunnel(plan)}")
        notes += self._ensure(reload_tables=True)
        if plan.fmr_routes:
            notes.append("CE-to-CE traffic goes through the BR (ip6tnl has no FMR)")
        return notes

    def _ensure(self, reload_tables: bool) -> list[str]:
        plan = self._plan()
        self.owns_default_route, notes = ensure_parts(
            plan, replace_default_route=self.replace_default_route, fmr_routes=False
        )
        if reload_tables:
            self.tables = load_tables([("ip", plan.table, render_tables(plan))])
        return notes

    def _plan(self) -> TunnelPlan:
        if self.plan is None:
            raise DataplaneError("dataplane.setup", "kernel backend: nothing applied")
        return self.plan

    def retable(self, plan: TunnelPlan) -> list[str]:
        self.plan = plan
        return self._ensure(reload_tables=True)

    def missing(self) -> list[str]:
        if self.plan is None:
            return []
        found = missing_parts(
            self.plan, owns_default_route=self.owns_default_route, fmr_routes=False,
            tables=self.tables,
        )  # fmt: skip
        if not found and ensure_tunnel(self.plan, check_only=True) != "kept":
            found.append(f"{health.TUNNEL}: {self.plan.tunnel.name} differs from the plan")
        return found

    def repair(self, missing: list[str]) -> list[str]:
        """Re-apply what ``missing`` names (a re-made tunnel needs its address and routes)."""
        plan = self._plan()
        kinds = health.kinds(missing)
        if health.TUNNEL in kinds:
            ensure_tunnel(plan)
        return self._ensure(reload_tables=health.TABLE in kinds)

    def counters(self) -> dict[str, int]:
        return {}  # the kernel's own interface counters (ip -s link) are the source

    def down(self, keep_tunnel: bool = False, plan: TunnelPlan | None = None) -> None:
        plan = plan or self._plan()
        if not keep_tunnel:
            with netlink() as ipr:
                for index in ipr.link_lookup(ifname=plan.tunnel.name):
                    ipr.link("del", index=index)
            remove_address(plan.wan, plan.ce_address, 128)
        nft.delete_table(plan.table)
        self.plan, self.tables = None, {}

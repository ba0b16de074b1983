"""The kernel backend: an ip6tnl device (pyroute2 netlink) and the nftables ruleset.

``up`` is idempotent: a tunnel that already matches the plan is kept, one that differs is
replaced, addresses and routes are added only when missing, and the ruleset replaces
mapekit's table in one transaction. ``down`` removes exactly what ``up`` made (optionally
keeping the tunnel across restarts). Mainline ip6tnl has no FMR support: CE-to-CE traffic
goes through the BR, which hairpins it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from mapekit.dataplane import nft
from mapekit.dataplane.links import (
    DataplaneError,
    ensure_address,
    ensure_route,
    has_default_route,
    netlink,
    remove_address,
    set_link,
    set_sysctl,
)
from mapekit.dataplane.nftables import render
from mapekit.dataplane.plan import Plan

IP6_TNL_F_IGN_ENCAP_LIMIT = 0x1  # no encapsulation-limit option (RFC 2473 §6.6)
IPPROTO_IPIP = 4


def _tunnel_attrs(plan: Plan, wan_index: int) -> dict[str, Any]:
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


def ensure_tunnel(plan: Plan) -> str:
    """Create the tunnel, keep it when it matches, replace it when not; says which."""
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
            ipr.link("del", index=ipr.link_lookup(ifname=name)[0])
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
class KernelCe:
    """The CE data plane of ``plan`` with kernel ip6tnl."""

    plan: Plan
    replace_default_route: bool = False
    notes: list[str] = field(default_factory=list)

    def up(self) -> list[str]:
        plan = self.plan
        if set_sysctl("net.ipv4.ip_forward", "1"):
            self.notes.append("set net.ipv4.ip_forward=1")
        ensure_address(plan.wan, plan.ce_address, 128)
        self.notes.append(f"tunnel {ensure_tunnel(plan)}")
        set_link(plan.tunnel.name, mtu=plan.tunnel.mtu)
        ensure_address(plan.tunnel.name, plan.ipv4_address, plan.ipv4_prefix_len)
        if plan.default_route:
            if has_default_route() and not self.replace_default_route:
                if not _default_route_is(plan.tunnel.name):
                    self.notes.append("an IPv4 default route exists and was kept")
            else:
                ensure_route("default", plan.tunnel.name)
        if plan.fmr_routes:
            self.notes.append("CE-to-CE traffic goes through the BR (ip6tnl has no FMR)")
        nft.load(render(plan))
        return self.notes

    def down(self, keep_tunnel: bool = False) -> None:
        plan = self.plan
        if not keep_tunnel:
            with netlink() as ipr:
                for index in ipr.link_lookup(ifname=plan.tunnel.name):
                    ipr.link("del", index=index)
            remove_address(plan.wan, plan.ce_address, 128)
        nft.delete_table(plan.table)


def _default_route_is(device: str) -> bool:
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=device)
        if not found:
            return False
        return any(
            r.get_attr("RTA_OIF") == found[0] and r["dst_len"] == 0
            for r in ipr.get_routes(family=socket.AF_INET, table=254)
        )

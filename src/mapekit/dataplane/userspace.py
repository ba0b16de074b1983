"""The userspace backend: make a plan exist with a TUN device instead of ip6tnl.

NAT stays in kernel nftables on the TUN device (the same ruleset as in kernel mode); the
forwarder encapsulates and checks. ``up`` is idempotent for addresses and routes, and
``down`` removes what ``up`` made: the TUN device (by closing it), the WAN address, the
routes through the tunnel (with the device) and mapekit's nftables table.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import nft
from mapekit.dataplane.checks import BrChecks, CeChecks
from mapekit.dataplane.forwarder import Forwarder, icmp6_socket, raw_socket
from mapekit.dataplane.links import (
    ensure_address,
    ensure_route,
    has_default_route,
    open_tun,
    remove_address,
    set_link,
    set_sysctl,
)
from mapekit.dataplane.nftables import render, render_icmp_guard
from mapekit.dataplane.plan import Plan

GUARD_TABLE = "mapekit_guard"
BR_GUARD_TABLE = "mapekit_br_guard"


@dataclass
class UserspaceCe:
    """A CE data plane over TUN for ``plan`` (from ``mapping`` under ``rules``)."""

    plan: Plan
    mapping: Mapping
    rules: RuleSet
    replace_default_route: bool = False
    stats_path: Path | None = None
    notes: list[str] = field(default_factory=list)
    _fd: int | None = None
    _raw: socket.socket | None = None

    def up(self) -> Forwarder:
        plan = self.plan
        if set_sysctl("net.ipv4.ip_forward", "1"):
            self.notes.append("set net.ipv4.ip_forward=1")
        self._fd = open_tun(plan.tunnel.name)
        set_link(plan.tunnel.name, mtu=plan.tunnel.mtu)
        ensure_address(plan.tunnel.name, plan.ipv4_address, plan.ipv4_prefix_len)
        ensure_address(plan.wan, plan.ce_address, 128)
        if plan.default_route:
            if has_default_route() and not self.replace_default_route:
                self.notes.append("an IPv4 default route exists and was kept")
            else:
                ensure_route("default", plan.tunnel.name)
        for prefix in plan.fmr_routes:
            ensure_route(prefix, plan.tunnel.name)
        nft.load(render(plan))
        nft.load(render_icmp_guard(GUARD_TABLE, plan.ce_address))
        self._raw = raw_socket(plan.ce_address)
        return Forwarder(
            plan.tunnel.name,
            self._fd,
            self._raw,
            ce=CeChecks(self.mapping, self.rules),
            local=plan.ce_address,
            icmp6=icmp6_socket(),
            stats_path=self.stats_path,
        )

    def down(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        if self._fd is not None:
            os.close(self._fd)  # the TUN device and its routes go with it
            self._fd = None
        remove_address(self.plan.wan, self.plan.ce_address, 128)
        nft.delete_table(self.plan.table)
        nft.delete_table(GUARD_TABLE, family="ip6")


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
        set_sysctl("net.ipv4.ip_forward", "1")
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

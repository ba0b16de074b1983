"""Making the parts of a plan exist that every backend shares: the CE address on the WAN,
the tunnel's MTU and IPv4 address, the default route and the FMR routes, and mapekit's
nftables tables (loaded, then listed back as the fingerprint a later check compares)."""

from __future__ import annotations

from collections.abc import Sequence

from mapekit.dataplane import nft
from mapekit.dataplane.links import ensure_address, ensure_default_route, ensure_route, set_link
from mapekit.dataplane.softwire import TunnelPlan

Tables = dict[tuple[str, str], str | None]


def ensure_parts(
    plan: TunnelPlan, *, replace_default_route: bool, fmr_routes: bool
) -> tuple[bool, list[str]]:
    """Addresses and routes of ``plan`` (idempotent): whether the default route through the
    tunnel is ours to keep, and notes."""
    ensure_address(plan.wan, plan.ce_address, 128)
    set_link(plan.tunnel.name, mtu=plan.tunnel.mtu)
    ensure_address(plan.tunnel.name, plan.ipv4_address, plan.ipv4_prefix_len)
    owns, notes = False, []
    if plan.default_route:
        owns, note = ensure_default_route(plan.tunnel.name, replace_default_route)
        notes += [note] if note else []
    if fmr_routes:
        for prefix in plan.fmr_routes:
            ensure_route(prefix, plan.tunnel.name)
    return owns, notes


def load_tables(rulesets: Sequence[tuple[str, str, str]]) -> Tables:
    """Load each (family, table, ruleset text); returns what each lists back as."""
    for _, _, text in rulesets:
        nft.load(text)
    return {(family, name): nft.fingerprint(name, family) for family, name, _ in rulesets}

"""What of an applied plan is still there: read-only checks a backend runs to find what
something else removed (``nft flush ruleset`` at a firewall reload, an admin deleting a
route or the tunnel), so that it re-applies only that.

Reading changes nothing: a healthy data plane checked every few seconds leaves ``nft
monitor`` and ``ip monitor`` silent.
"""

from __future__ import annotations

from collections.abc import Mapping

from mapekit.dataplane import nft
from mapekit.dataplane.links import has_address, link_state, routes_via
from mapekit.dataplane.softwire import TunnelPlan

TUNNEL, WAN_ADDRESS, TUNNEL_ADDRESS, DEFAULT_ROUTE, FMR_ROUTE, TABLE = (
    "tunnel", "wan-address", "tunnel-address", "default-route", "fmr-route", "table",
)  # fmt: skip


def missing_parts(
    plan: TunnelPlan,
    *,
    owns_default_route: bool,
    fmr_routes: bool,
    tables: Mapping[tuple[str, str], str | None],
) -> list[str]:
    """The parts of ``plan`` that are gone or changed, each as ``KIND: what`` (empty when
    everything is in place). ``tables`` maps (family, name) to the listing taken right after
    loading (``nft.fingerprint``)."""
    tunnel = plan.tunnel.name
    found: list[str] = []
    state = link_state(tunnel)
    if state is None:
        return [f"{TUNNEL}: {tunnel} is gone", *_tables(tables)]
    up, mtu = state
    if not up or mtu != plan.tunnel.mtu:
        found.append(f"{TUNNEL}: {tunnel} is {'up' if up else 'down'} with MTU {mtu}")
    if not has_address(plan.wan, plan.ce_address, 128):
        found.append(f"{WAN_ADDRESS}: {plan.ce_address}/128 on {plan.wan}")
    if not has_address(tunnel, plan.ipv4_address, plan.ipv4_prefix_len):
        found.append(f"{TUNNEL_ADDRESS}: {plan.ipv4_address}/{plan.ipv4_prefix_len} on {tunnel}")
    routes = routes_via(tunnel)
    if owns_default_route and "default" not in routes:
        found.append(f"{DEFAULT_ROUTE}: default via {tunnel}")
    if fmr_routes:
        found += [f"{FMR_ROUTE}: {p} via {tunnel}" for p in plan.fmr_routes if p not in routes]
    return found + _tables(tables)


def _tables(tables: Mapping[tuple[str, str], str | None]) -> list[str]:
    return [
        f"{TABLE}: {family} {name}"
        for (family, name), loaded in tables.items()
        if nft.fingerprint(name, family) != loaded
    ]


def kinds(missing: list[str]) -> set[str]:
    return {part.partition(":")[0] for part in missing}

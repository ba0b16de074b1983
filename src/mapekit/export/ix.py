"""NEC UNIVERGE IX: MAP-E on a ``Tunnel0.0`` interface (automatic or static values).

EXPERIMENTAL in both modes. NEC's own configuration guides (the UNIVERGE IX "IPv6
IPoE / MAP-E" and "OCN Virtual Connect" pages under https://jpn.nec.com/univerge/ix/Support/)
were not reachable from this workplace; the automatic mode follows public configurations
that reproduce NEC's OCN Virtual Connect guide
(https://jpn.nec.com/univerge/ix/Support/ipv6/OCN-VC/index.html): ``tunnel mode map-e``
(``tunnel mode map-e ocn`` for OCN), ``ip address map-e``, ``ip tcp adjust-mss auto``,
``ip napt enable``, ``ip route default Tunnel0.0``, and on the WAN ``ipv6 address
autoconfig receive-default``. The static mode (an IPv4-in-IPv6 ``tunnel mode ipv6``
with the computed values), the ``ip napt service`` port forwards and the IRB bridge of
``--voip-bridge`` were not checked at all: compare them with the IX command reference of
your firmware (https://www.manuals.nec.co.jp/contents/node/350).
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, Mode, header, lines_text, need_isp, pool_ranges

TUNNEL = "Tunnel0.0"
BRIDGE = "BVI1"
AUTO_MODES = {"v6plus": "map-e", "biglobe": "map-e", "ocn": "map-e ocn"}
RANGES_PER_LINE = 6


def _wan(options: ExportOptions) -> list[str]:
    lines: list[str] = []
    if options.voip_bridge:
        lines += [
            "! VoIP bridge: the VoIP adapter (or HGW) on the bridged port reaches the line",
            "bridge irb enable",
            "!",
            f"interface {options.wan}",
            "  bridge-group 1",
            "  no shutdown",
            "!",
            f"interface {options.voip_bridge}",
            "  bridge-group 1",
            "  no shutdown",
            "!",
        ]
    lines += [
        f"interface {BRIDGE if options.voip_bridge else options.wan}",
        "  no ip address",
        "  ipv6 enable",
        "  ipv6 address autoconfig receive-default",
        "  no shutdown",
        "!",
    ]
    return lines


def _auto_tunnel(mapping: Mapping) -> list[str]:
    return [
        f"  tunnel mode {need_isp(mapping, AUTO_MODES, 'NEC IX')}",
        "  ip address map-e",
    ]


def _static_tunnel(plan: Plan, options: ExportOptions) -> list[str]:
    source = BRIDGE if options.voip_bridge else options.wan
    return [
        "  tunnel mode ipv6",
        f"  tunnel source {plan.ce_address}",
        f"  tunnel destination {plan.tunnel.remote}",
        f"  ip address {plan.ipv4_address}/{plan.ipv4_prefix_len}",
        f"  ! the CE address {plan.ce_address} must be on {source}",
        "  ! NAPT may use only these ports (set the port range your firmware offers):",
        *_ranges(plan),
    ]


def _ranges(plan: Plan) -> list[str]:
    ranges = pool_ranges(plan)
    return [
        "  !   " + " ".join(ranges[i : i + RANGES_PER_LINE])
        for i in range(0, len(ranges), RANGES_PER_LINE)
    ]


def _forwards(plan: Plan) -> list[str]:
    return [
        f"  ip napt service fwd-{fwd.protocol}-{fwd.port} {fwd.address} none "
        f"{fwd.protocol} {fwd.port} {fwd.to_port}"
        for fwd in plan.forwards
    ]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    title = f"NEC UNIVERGE IX (MAP-E, {options.mode.value} mode)"
    lines = header("!", title, mapping, plan, True)
    tunnel = _auto_tunnel(mapping) if options.mode is Mode.AUTO else _static_tunnel(plan, options)
    lines += [
        "!",
        f"ip route default {TUNNEL}",
        "!",
        *_wan(options),
        f"interface {TUNNEL}",
        *tunnel,
        f"  ip mtu {plan.tunnel.mtu}",
        "  ip tcp adjust-mss auto",
        "  ip napt enable",
        *_forwards(plan),
        "  no shutdown",
        "!",
    ]
    return lines_text(lines)

"""Yamaha RTX: MAP-E on ``tunnel 1`` with NAT descriptor 1000 (automatic or static values).

EXPERIMENTAL in both modes. Yamaha's command reference (the RTpro pages "MAP-E" and
"tunnel encapsulation" at http://www.rtpro.yamaha.co.jp/RT/manual/rt-common/ and the
setting examples at https://network.yamaha.com/setting/router_firewall/) were not
reachable from this workplace. The automatic mode follows public RTX configurations that
reproduce them: ``tunnel encapsulation map-e``, ``tunnel map-e type v6plus|ocn``,
``ip tunnel mtu 1460``, ``ip tunnel tcp mss limit auto``, ``ip tunnel nat descriptor``,
``nat descriptor address outer N map-e``, ``ip route default gateway tunnel 1``. The
static mode (``tunnel encapsulation ipip`` with ``tunnel endpoint address LOCAL REMOTE``,
``nat descriptor masquerade port range``) and the ``nat descriptor masquerade static``
port forwards were not checked against Yamaha's documents.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, Mode, header, lines_text, need_isp, pool_ranges

NAT = 1000
AUTO_TYPES = {"v6plus": "v6plus", "ocn": "ocn"}
RANGES_PER_LINE = 8


def _tunnel(mapping: Mapping, plan: Plan, mode: Mode) -> list[str]:
    if mode is Mode.AUTO:
        kind = [
            " tunnel encapsulation map-e",
            f" tunnel map-e type {need_isp(mapping, AUTO_TYPES, 'Yamaha RTX')}",
        ]
    else:
        kind = [
            " tunnel encapsulation ipip",
            f" tunnel endpoint address {plan.ce_address} {plan.tunnel.remote}",
        ]
    return [
        "tunnel select 1",
        *kind,
        f" ip tunnel mtu {plan.tunnel.mtu}",
        " ip tunnel tcp mss limit auto",
        f" ip tunnel nat descriptor {NAT}",
        "tunnel enable 1",
    ]


def _nat(plan: Plan, mode: Mode) -> list[str]:
    lines = [f"nat descriptor type {NAT} masquerade"]
    if mode is Mode.AUTO:
        lines.append(f"nat descriptor address outer {NAT} map-e")
    else:
        lines.append(f"nat descriptor address outer {NAT} {plan.ipv4_address}")
        ranges = pool_ranges(plan)
        for i in range(0, len(ranges), RANGES_PER_LINE):
            chunk = " ".join(ranges[i : i + RANGES_PER_LINE])
            lines.append(f"nat descriptor masquerade port range {NAT} {chunk}")
    lines += [
        f"nat descriptor masquerade static {NAT} {n} {fwd.address} {fwd.protocol} "
        f"{fwd.port}={fwd.to_port}"
        for n, fwd in enumerate(plan.forwards, start=1)
    ]
    return lines


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    title = f"Yamaha RTX (MAP-E, {options.mode.value} mode)"
    lines = header("#", title, mapping, plan, True)
    if options.mode is Mode.STATIC:
        lines.append(f"ipv6 {options.wan} address {plan.ce_address}/128")
    lines += [
        "ip route default gateway tunnel 1",
        *_tunnel(mapping, plan, options.mode),
        *_nat(plan, options.mode),
    ]
    return lines_text(lines)

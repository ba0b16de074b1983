"""Linux: a POSIX shell script with iproute2 and nftables, the same state as ``mape agent``.

The commands follow the iproute2 manual pages (Debian 12, iproute2 6.1):

- ip-tunnel(8): ``ip -6 tunnel add NAME mode ipip6 local ADDR remote ADDR dev PHYS_DEV
  encaplimit none hoplimit TTL`` (``ELIM := { none | 0..255 }``; ``none`` leaves out the
  RFC 2473 encapsulation-limit option that a BR does not expect),
  https://man7.org/linux/man-pages/man8/ip-tunnel.8.html;
- ip-address(8): ``nodad`` (IPv6 only: no duplicate address detection for the MAP
  address), https://man7.org/linux/man-pages/man8/ip-address.8.html;
- ip-link(8) ``ip link set dev NAME mtu 1460 up`` and ip-route(8) ``ip route replace``;
- nft(8): ``nft -f -`` reads the ruleset of ``mapekit.dataplane.nftables.render``
  from a quoted here-document (no shell expansion inside it).

Every value is a validated address, number or interface name, and is single-quoted once
into a shell variable that is always used inside double quotes.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.nftables import render as render_nft
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, header, ipv4_cidr, lines_text

HEREDOC = "MAPEKIT_NFT"


def _variables(plan: Plan) -> list[str]:
    return [
        f"WAN='{plan.wan}'",
        f"TUNNEL='{plan.tunnel.name}'",
        f"CE='{plan.ce_address}'",
        f"BR='{plan.tunnel.remote}'",
        f"IPV4='{ipv4_cidr(plan)}'",
    ]


def _commands(plan: Plan) -> list[str]:
    tunnel = plan.tunnel
    lines = [
        "sysctl -q -w net.ipv4.ip_forward=1",
        'ip -6 address replace "$CE/128" dev "$WAN" nodad',
        'ip link delete "$TUNNEL" 2>/dev/null || true',
        'ip -6 tunnel add "$TUNNEL" mode ipip6 local "$CE" remote "$BR" dev "$WAN" '
        f"encaplimit none hoplimit {tunnel.hop_limit}",
        f'ip link set dev "$TUNNEL" mtu {tunnel.mtu} up',
        'ip address replace "$IPV4" dev "$TUNNEL"',
    ]
    if plan.default_route:
        lines.append('ip route replace default dev "$TUNNEL"')
    lines += [f"ip route replace '{route}' dev \"$TUNNEL\"" for route in plan.fmr_routes]
    return lines


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    ruleset = render_nft(plan)
    if any(line == HEREDOC for line in ruleset.splitlines()):  # cannot happen; never guess
        raise AssertionError("the ruleset contains the here-document delimiter")
    lines = [
        "#!/bin/sh",
        *header("#", "Linux (iproute2 ip6tnl + nftables), run as root", mapping, plan, False),
        "set -eu",
        "",
        *_variables(plan),
        "",
        *_commands(plan),
        f"nft -f - <<'{HEREDOC}'",
    ]
    return lines_text(lines) + ruleset + HEREDOC + "\n"

"""systemd-networkd: an ip6tnl ``.netdev``, its ``.network``, a WAN drop-in and the ruleset.

The keys follow systemd's manual pages (systemd 252, Debian 12):

- systemd.netdev(5), https://www.freedesktop.org/software/systemd/man/systemd.netdev.html:
  ``[NetDev] Kind=ip6tnl``, ``MTUBytes=``; ``[Tunnel] Mode=ipip6`` ("for IPv4 over
  IPv6"), ``Local=`` (a static address on another interface), ``Remote=``,
  ``EncapsulationLimit=none`` (range 0…255 and "none"; the default 4 adds the option a BR
  does not expect); an IPv6 tunnel's hop limit defaults to 64, so ``TTL=`` is left out;
  the tunnel needs a ``.network`` that requests it with ``Tunnel=``;
- systemd.network(5), https://www.freedesktop.org/software/systemd/man/systemd.network.html:
  ``[Network] Tunnel=``, ``[Address] Address=`` with ``DuplicateAddressDetection=none``,
  ``[Route] Destination=`` without ``Gateway=`` (a unicast route of scope link), and
  drop-in directories ``<name>.network.d/*.conf``.

networkd does not load nftables rulesets. Debian's ``nftables.service`` loads only
``/etc/nftables.conf``; the ruleset therefore goes to ``/etc/nftables.d/mapekit.nft`` and
one ``include`` line is added to /etc/nftables.conf (nft(8): ``include "file"``).

The WAN drop-in goes into the drop-in directory of the ``.network`` file that configures
the WAN (systemd.network(5): ``<file>.network.d/*.conf``): ``10-<wan>.network.d/``,
named in the output so that a file of another name is easy to spot.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.nftables import render as render_nft
from mapekit.dataplane.plan import Plan
from mapekit.dataplane.softwire import TunnelPlan, make_softwire_plan, render_softwire
from mapekit.export.common import ExportOptions, header, lines_text
from mapekit.export.softwire import NO_UPDATE, SoftwireLine
from mapekit.export.softwire import header as softwire_header

UNIT_DIR = "/etc/systemd/network"
NFT_PATH = "/etc/nftables.d/mapekit.nft"
NFT_MAIN = "/etc/nftables.conf"


def _netdev(plan: TunnelPlan) -> list[str]:
    tunnel = plan.tunnel
    return [
        f"# ==> {UNIT_DIR}/60-mapekit-{tunnel.name}.netdev <==",
        "[NetDev]",
        f"Name={tunnel.name}",
        "Kind=ip6tnl",
        f"MTUBytes={tunnel.mtu}",
        "",
        "[Tunnel]",
        "Mode=ipip6",
        f"Local={tunnel.local}",
        f"Remote={tunnel.remote}",
        "EncapsulationLimit=none",
    ]


def _network(plan: TunnelPlan) -> list[str]:
    lines = [
        f"# ==> {UNIT_DIR}/60-mapekit-{plan.tunnel.name}.network <==",
        "[Match]",
        f"Name={plan.tunnel.name}",
        "",
        "[Network]",
        f"Address={plan.ipv4_address}/{plan.ipv4_prefix_len}",
    ]
    routes = (["0.0.0.0/0"] if plan.default_route else []) + list(plan.fmr_routes)
    for route in routes:
        lines += ["", "[Route]", f"Destination={route}"]
    return lines


def wan_network_file(plan: TunnelPlan) -> str:
    """The .network file assumed to configure the WAN (the drop-in directory's stem)."""
    return f"10-{plan.wan}.network"


def _wan_dropin(plan: TunnelPlan) -> list[str]:
    return [
        f"# ==> {UNIT_DIR}/{wan_network_file(plan)}.d/60-mapekit.conf <==",
        f"# a drop-in for {wan_network_file(plan)}, the file that configures {plan.wan}; if "
        "yours has another name, use its name + .d/",
        "[Network]",
        f"Tunnel={plan.tunnel.name}",
        "",
        "[Address]",
        f"Address={plan.ce_address}/128",
        "DuplicateAddressDetection=none",
    ]


def _files(plan: TunnelPlan) -> list[str]:
    return [
        "# Enable forwarding too: sysctl net.ipv4.ip_forward=1",
        "",
        *_netdev(plan),
        "",
        *_network(plan),
        "",
        *_wan_dropin(plan),
        "",
        f"# ==> {NFT_MAIN} (add this line at its end) <==",
        f'include "{NFT_PATH}"',
        "",
        f"# ==> {NFT_PATH} <==",
    ]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    lines = header("#", "systemd-networkd (ip6tnl) + nftables", mapping, plan) + _files(plan)
    return lines_text(lines) + render_nft(plan)


def render_softwire_units(line: SoftwireLine, options: ExportOptions, tunnel: str) -> str:
    """DS-Lite or IPIP: the same units as MAP-E (an ip6tnl in ipip6 mode without the
    encapsulation limit, the IPv4 side, the WAN drop-in) and the softwire's ruleset."""
    plan = make_softwire_plan(line.softwire(), options.wan, tunnel_name=tunnel, lan=options.lan)
    kind = "DS-Lite" if line.dslite else "IPIP fixed IPv4"
    lines = softwire_header("#", f"systemd-networkd ({kind}: ip6tnl) + nftables", line, True)
    lines += [] if line.dslite else [f"# {NO_UPDATE}"]
    return lines_text(lines + _files(plan)) + render_softwire(plan)

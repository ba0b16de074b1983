"""NEC UNIVERGE IX: MAP-E on ``Tunnel0.0`` with the operator's rules (automatic mode only).

The IX fetches its rules itself (``tunnel mode map-e``, ``tunnel mode map-e ocn``): this is
the configuration NEC's v6plus / OCN Virtual Connect setting examples give, with what they
also set (a DHCPv6 client for DNS, ``ip ufs-cache enable``, ``ip napt hairpinning``).

There is no static mode: a static MAP-E needs NAPT restricted to the port set, and no IX
command we could find in NEC's documents restricts ``ip napt`` to a port set, so a plain
``tunnel mode ipv6`` with ``ip napt enable`` uses ports outside the set and the BR drops
those flows. :data:`STATIC_REFUSAL` says so and what to use instead.

``--full`` adds the LAN (address, DHCPv4 server, proxy DNS, RA and DHCPv6 of the
delegated prefix) and the IPv6 filters of the WAN. Every line is checked against the
grammar table (:mod:`mapekit.export.grammar`), which names the documents; docs/export.md.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import (
    ExportError,
    ExportOptions,
    header,
    lines_text,
    need_isp,
)
from mapekit.export.softwire import SoftwireLine
from mapekit.export.softwire import header as softwire_header

TUNNEL = "Tunnel0.0"
BRIDGE = "BVI1"
AUTO_MODES = {"v6plus": "map-e", "biglobe": "map-e", "ocn": "map-e ocn"}
DNS_PROFILE = "mapekit-dns"
PD_PROFILE = "mapekit-pd"
LAN_PROFILE = "mapekit-lan"
RA_ONLY_LENGTH = 64
STATIC_REFUSAL = (
    "mode: the NEC IX has no static MAP-E: no IX command restricts NAPT to the port set, so "
    "a static tunnel would use ports outside it and the BR drops those flows. Use --mode auto "
    "(the IX fetches the rules; the operator must deliver them to this router), or, while "
    "the operator does not, run MAP-E on another box: mape export --format openwrt --full "
    "or --format linux"
)


def _wan_name(options: ExportOptions) -> str:
    return BRIDGE if options.voip_bridge else options.wan


def _bridge(options: ExportOptions) -> list[str]:
    if not options.voip_bridge:
        return []
    return [
        "! VoIP bridge: the VoIP adapter (or HGW) on the bridged port reaches the line too",
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


def _delegated(mapping: Mapping) -> bool:
    return mapping.prefix_len < RA_ONLY_LENGTH


def _profiles(mapping: Mapping, options: ExportOptions) -> list[str]:
    if options.full and _delegated(mapping):
        return [
            f"ipv6 dhcp client-profile {PD_PROFILE}",
            f"  ia-pd subscriber {options.lan} ::/64 eui-64",
            "  option-request dns-servers",
            "!",
        ]
    return [
        f"ipv6 dhcp client-profile {DNS_PROFILE}",
        "  information-request",
        "  option-request dns-servers",
        "!",
    ]


def _filters(plan: Plan) -> list[str]:
    return [
        "ipv6 access-list mapekit-dhcpv6 permit udp src fe80::/64 sport eq 547 "
        "dest fe80::/64 dport eq 546",
        *(
            f"ipv6 access-list mapekit-icmpv6 permit icmp type {t} src any dest any"
            for t in (1, 2, 3, 4)
        ),
        f"ipv6 access-list mapekit-map-e permit 4 src {plan.tunnel.remote} dest any",
        "ipv6 access-list dynamic mapekit-out access permit-all",
        "!",
    ]


def _wan(mapping: Mapping, options: ExportOptions) -> list[str]:
    client = PD_PROFILE if options.full and _delegated(mapping) else DNS_PROFILE
    lines = [
        f"interface {_wan_name(options)}",
        "  no ip address",
        "  ipv6 enable",
        "  ipv6 address autoconfig receive-default",
        f"  ipv6 dhcp client {client}",
    ]
    if options.full:
        lines += [
            "  ipv6 filter mapekit-dhcpv6 1 in",
            "  ipv6 filter mapekit-icmpv6 2 in",
            "  ipv6 filter mapekit-map-e 3 in",
            "  ipv6 filter mapekit-out 999 out",
        ]
    return [*lines, "  no shutdown", "!"]


def _tunnel(mapping: Mapping, plan: Plan) -> list[str]:
    return [
        f"interface {TUNNEL}",
        f"  tunnel mode {need_isp(mapping, AUTO_MODES, 'NEC IX')}",
        "  ip address map-e",
        "  ip tcp adjust-mss auto",
        "  ip napt enable",
        "  ip napt hairpinning",
        *(
            f"  ip napt service fwd-{fwd.protocol}-{fwd.port} {fwd.address} none "
            f"{fwd.protocol} {fwd.port} {fwd.to_port}"
            for fwd in plan.forwards
        ),
        "  no shutdown",
        "!",
        f"ip route default {TUNNEL}",
    ]


def _lan(mapping: Mapping, options: ExportOptions) -> list[str]:
    lan = options.lan_address
    lines = [
        "ip dhcp enable",
        "ipv6 dhcp enable",
        "!",
        f"ip dhcp profile {LAN_PROFILE}",
        f"  dns-server {lan.ip}",
        "!",
        f"ipv6 dhcp server-profile {LAN_PROFILE}",
        "  dns-server dhcp",
        "!",
        f"interface {options.lan}",
        f"  ip address {lan.with_prefixlen}",
        f"  ip dhcp binding {LAN_PROFILE}",
        "  ipv6 enable",
    ]
    if not _delegated(mapping):
        lines.append(f"  ipv6 nd proxy {_wan_name(options)}")
    lines += [
        f"  ipv6 dhcp server {LAN_PROFILE}",
        "  ipv6 nd ra enable",
        "  ipv6 nd ra other-config-flag",
        "  proxy-dns ip enable",
        "  no shutdown",
        "!",
    ]
    return lines


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    title = "NEC UNIVERGE IX (MAP-E, auto mode" + (", whole router)" if options.full else ")")
    lines = header("!", title, mapping, plan)
    lines += ["!", "ip ufs-cache enable", "!", *_profiles(mapping, options)]
    if options.full:
        lines += _filters(plan)
    lines += _bridge(options) + _wan(mapping, options)
    if options.full:
        lines += _lan(mapping, options)
    lines += _tunnel(mapping, plan)
    return lines_text(lines)


# --- DS-Lite: Tunnel0.0 in 4-over-6 mode to the AFTR ---------------------------------------
#
# NEC's IPv6 IPoE DS-Lite (transix) setting example, as public IX configurations reproduce
# it: ``tunnel mode 4-over-6``, ``tunnel destination`` the AFTR's address, ``ip unnumbered``
# the LAN, ``ip tcp adjust-mss auto``, and the default route to the tunnel — no NAPT (the
# AFTR translates). The WAN is the automatic mode's (RA address and a DHCPv6 client for
# DNS). No NEC document or published IX configuration we could read shows a fixed-IP IPIP
# tunnel (the interface ID, the fixed address, the update URL): refused.

IPIP_REFUSAL = (
    "provider: no NEC document or published IX configuration we could read shows an IPIP "
    "fixed-address tunnel on the IX (where the interface ID, the fixed address and the "
    "update URL go), so none is exported; use --format rtx, fortigate, openwrt or linux"
)


def render_softwire(line: SoftwireLine, options: ExportOptions) -> str:
    if not line.dslite:
        raise ExportError("usage.invalid_arguments", IPIP_REFUSAL, field="provider")
    lines = softwire_header("!", "NEC UNIVERGE IX (DS-Lite: 4-over-6 tunnel to the AFTR)", line)
    lines += ["!", *_profiles_dns(), *_wan_dns(options)]
    lines += [
        f"interface {TUNNEL}",
        "  tunnel mode 4-over-6",
        f"  tunnel destination {line.softwire().remote}",  # the address: the IX needs one
        f"  ip unnumbered {options.lan}",
        "  ip tcp adjust-mss auto",
        "  no shutdown",
        "!",
        f"ip route default {TUNNEL}",
    ]
    return lines_text(lines)


def _profiles_dns() -> list[str]:
    return [f"ipv6 dhcp client-profile {DNS_PROFILE}", "  information-request",
            "  option-request dns-servers", "!"]  # fmt: skip


def _wan_dns(options: ExportOptions) -> list[str]:
    return [f"interface {options.wan}", "  no ip address", "  ipv6 enable",
            "  ipv6 address autoconfig receive-default", f"  ipv6 dhcp client {DNS_PROFILE}",
            "  no shutdown", "!"]  # fmt: skip

"""OpenWrt: a ``proto map`` interface for /etc/config/network, and an fw4 nftables include.

The syntax follows OpenWrt's own sources and documents:

- package ``map`` (MAP-E, RFC 7597), https://openwrt.org/packages/pkgdata/map, and its
  netifd handler ``package/network/ipv6/map/files/map.sh`` in
  https://github.com/openwrt/openwrt: the options ``peeraddr``, ``ipaddr``,
  ``ip4prefixlen``, ``ip6prefix``, ``ip6prefixlen``, ``ealen``, ``psidlen``, ``psid``,
  ``offset``, ``legacymap``, ``mtu``, ``encaplimit`` and ``tunlink``; the tunnel device
  is named ``map-<interface>``; ``mtu`` defaults to 1280 there, so it is set to 1460;
- its calculator ``package/network/ipv6/map/src/mapcalc.c``: ``ealen`` counts every EA
  bit *including* the PSID bits (it takes ``ealen - psidlen`` bits of the prefix for the
  IPv4 suffix), and an explicit ``psid`` is read left-aligned in 16 bits (it is shifted
  right by ``16 - psidlen``). A rule whose PSID came as a parameter (RFC 7598 port
  parameters, ``--psid``) is therefore exported with ``ealen`` = EA bits + PSID length and
  ``psid`` = PSID << (16 - PSID length); tests/export/openwrt_vectors.py records what
  mapcalc derives from such options;
- firewall4's ruleset template (``root/usr/share/firewall4/templates/ruleset.uc`` in
  https://github.com/openwrt/firewall4): ``config include`` with ``option type
  'nftables'`` and ``option position 'ruleset-prepend'`` places a file at the top level
  of the ruleset, next to ``table inet fw4``.

map.sh installs one SNAT rule per port block, and the first one matches every connection,
so only the first block (16 ports on v6plus) is ever used. The include carries
``mapekit.dataplane.nftables.render`` for the ``map-<interface>`` device instead: one rule
at priority ``srcnat - 1`` spreads connections over every block, before fw4's rules.
"""

from __future__ import annotations

from mapekit.core.mapping import TUNNEL_MTU, Mapping
from mapekit.core.rule import IidFormat
from mapekit.dataplane.nftables import render as render_nft
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, dhcp_pool, header, lines_text
from mapekit.export.softwire import SoftwireLine, need_one_address
from mapekit.export.softwire import header as softwire_header

MAP_INTERFACE = "wanmap"  # the UCI interface of proto map
TUNNEL = f"map-{MAP_INTERFACE}"  # the device map.sh creates for it
NFT_PATH = f"/etc/mapekit/{TUNNEL}.nft"
RA_ONLY_LENGTH = 64  # a line that gives only the RA /64, no DHCPv6-PD
LAN_DEVICE = "br-lan"  # --full: the LAN bridge and WAN port of most current targets
WAN_DEVICE = "wan"


def _option(name: str, value: object) -> str:
    return f"\toption {name} '{value}'"


def openwrt_ealen(mapping: Mapping) -> int:
    """mapcalc's ``ealen``: the EA bits plus an explicit PSID's bits (they are not EA bits
    under RFC 7597, but mapcalc subtracts ``psidlen`` from ``ealen`` for the IPv4 part)."""
    rule = mapping.rule
    return rule.ea_len + (rule.psid_len if rule.psid is not None else 0)


def _map_section(mapping: Mapping, plan: Plan, options: ExportOptions) -> list[str]:
    rule = mapping.rule
    lines = [
        f"config interface '{MAP_INTERFACE}'",
        _option("proto", "map"),
        _option("peeraddr", plan.tunnel.remote),
        _option("ipaddr", rule.ipv4_prefix.network_address),
        _option("ip4prefixlen", rule.ipv4_prefix.prefixlen),
        _option("ip6prefix", rule.ipv6_prefix.network_address),
        _option("ip6prefixlen", rule.ipv6_prefix.prefixlen),
        _option("ealen", openwrt_ealen(mapping)),
        _option("psidlen", rule.psid_len),
        _option("offset", rule.psid_offset),
    ]
    if rule.psid is not None:
        lines.append(_option("psid", rule.psid << (16 - rule.psid_len)))
    if mapping.iid is IidFormat.LEGACY:
        lines.append(_option("legacymap", 1))
    lines += [
        _option("mtu", plan.tunnel.mtu),
        _option("encaplimit", "ignore"),
        _option("tunlink", options.wan),
    ]
    return lines


def _wan6_section(mapping: Mapping, options: ExportOptions) -> list[str]:
    if mapping.prefix_len != RA_ONLY_LENGTH or options.full:
        return []
    prefix = mapping.to_dict()["end_user_prefix"]
    return [
        "",
        f"# The line gives only an RA /{RA_ONLY_LENGTH} (no DHCPv6-PD): map.sh needs the prefix",
        f"# as ip6prefix of '{options.wan}'. Merge this option into the existing section.",
        f"config interface '{options.wan}'",
        _option("ip6prefix", prefix),
    ]


def _firewall_section() -> list[str]:
    return [
        "config include 'mapekit'",
        _option("type", "nftables"),
        _option("path", NFT_PATH),
        _option("position", "ruleset-prepend"),
    ]


def _ra_only(mapping: Mapping) -> bool:
    return mapping.prefix_len == RA_ONLY_LENGTH


def _full_network(mapping: Mapping, options: ExportOptions) -> list[str]:
    lan = options.lan_address
    lines = [
        "config interface 'lan'",
        _option("device", LAN_DEVICE),
        _option("proto", "static"),
        _option("ipaddr", lan.ip),
        _option("netmask", lan.netmask),
        _option("ip6assign", 64),
        "",
        f"config interface '{options.wan}'",
        _option("device", WAN_DEVICE),
        _option("proto", "dhcpv6"),
        _option("reqaddress", "try"),
        _option("reqprefix", "auto"),
    ]
    if _ra_only(mapping):  # map.sh needs the RA /64 as the prefix of the WAN
        lines.append(_option("ip6prefix", mapping.to_dict()["end_user_prefix"]))
    return [*lines, ""]


def _full_dhcp(mapping: Mapping, options: ExportOptions) -> list[str]:
    lan = options.lan_address
    first, last = dhcp_pool(lan)
    start = int(first) - int(lan.network.network_address)
    mode = "relay" if _ra_only(mapping) else "server"
    lines = [
        "config dnsmasq",
        _option("domainneeded", 1),
        _option("localise_queries", 1),
        _option("local", "/lan/"),
        _option("domain", "lan"),
        _option("rebind_protection", 1),
        "",
        "config dhcp 'lan'",
        _option("interface", "lan"),
        _option("start", start),
        _option("limit", int(last) - int(first) + 1),
        _option("leasetime", "12h"),
        _option("dhcpv4", "server"),
        _option("ra", mode),
        _option("dhcpv6", mode),
    ]
    if _ra_only(mapping):
        lines += [
            _option("ndp", "relay"),
            "",
            f"config dhcp '{options.wan}'",
            _option("interface", options.wan),
            _option("ignore", 1),
            _option("master", 1),
            _option("ra", "relay"),
            _option("dhcpv6", "relay"),
            _option("ndp", "relay"),
        ]
    return lines


def _zone(name: str, networks: list[str], policy_in: str, masq: bool) -> list[str]:
    lines = ["config zone", _option("name", name)]
    lines += [f"\tlist network '{net}'" for net in networks]
    lines += [
        _option("input", policy_in),
        _option("output", "ACCEPT"),
        _option("forward", policy_in),
    ]
    if masq:
        lines += [_option("masq", 1), _option("mtu_fix", 1)]
    return [*lines, ""]


def _rule(name: str, options: list[tuple[str, object]]) -> list[str]:
    return ["config rule", _option("name", name), *(_option(k, v) for k, v in options), ""]


def _full_firewall(plan: Plan, options: ExportOptions) -> list[str]:
    lines = [
        "config defaults",
        _option("input", "REJECT"),
        _option("output", "ACCEPT"),
        _option("forward", "REJECT"),
        _option("synflood_protect", 1),
        "",
        *_zone("lan", ["lan"], "ACCEPT", False),
        *_zone("wan", [options.wan, MAP_INTERFACE], "REJECT", True),
        "config forwarding",
        _option("src", "lan"),
        _option("dest", "wan"),
        "",
        *_rule("Allow-DHCPv6", [("src", "wan"), ("proto", "udp"), ("dest_port", 546),
                                ("family", "ipv6"), ("target", "ACCEPT")]),
        *_rule("Allow-ICMPv6-Input", [("src", "wan"), ("proto", "icmp"), ("family", "ipv6"),
                                      ("target", "ACCEPT")]),
        *_rule("Allow-ICMPv6-Forward", [("src", "wan"), ("dest", "*"), ("proto", "icmp"),
                                        ("family", "ipv6"), ("target", "ACCEPT")]),
        *_rule("Allow-MAP-E", [("src", "wan"), ("proto", 4), ("src_ip", plan.tunnel.remote),
                               ("family", "ipv6"), ("target", "ACCEPT")]),
    ]  # fmt: skip
    for fwd in plan.forwards:
        lines += _rule(
            f"Allow-mapekit-{fwd.protocol}-{fwd.port}",
            [("src", "wan"), ("dest", "lan"), ("proto", fwd.protocol),
             ("dest_ip", fwd.address), ("dest_port", fwd.to_port), ("family", "ipv4"),
             ("target", "ACCEPT")],
        )  # fmt: skip
    return lines


def _partial(mapping: Mapping, plan: Plan, options: ExportOptions) -> list[str]:
    return [
        f"# Add '{MAP_INTERFACE}' to the firewall zone 'wan' (masquerading stays on for it).",
        "# Port forwards are DNATed by the include; allow them in fw4 with traffic rules.",
        "",
        "# ==> /etc/config/network (add) <==",
        *_map_section(mapping, plan, options),
        *_wan6_section(mapping, options),
        "",
        "# ==> /etc/config/firewall (add) <==",
        *_firewall_section(),
    ]


def _full(mapping: Mapping, plan: Plan, options: ExportOptions) -> list[str]:
    return [
        "# Whole router: the files below replace /etc/config/dhcp and /etc/config/firewall; in",
        "# /etc/config/network they replace the interface sections and keep your 'loopback',",
        f"# 'globals' and 'device' sections. The LAN bridge is '{LAN_DEVICE}' and the WAN port",
        f"# '{WAN_DEVICE}' (the names on most current targets): check them on your device.",
        "",
        "# ==> /etc/config/network (interfaces) <==",
        *_full_network(mapping, options),
        *_map_section(mapping, plan, options),
        "",
        "# ==> /etc/config/dhcp <==",
        *_full_dhcp(mapping, options),
        "",
        "# ==> /etc/config/firewall <==",
        *_full_firewall(plan, options),
        *_firewall_section(),
    ]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    title = "OpenWrt (proto map + fw4 nftables include" + (
        ", whole router)" if options.full else ")"
    )
    lines = header("#", title, mapping, plan)
    lines += _full(mapping, plan, options) if options.full else _partial(mapping, plan, options)
    lines += ["", f"# ==> {NFT_PATH} <=="]
    return lines_text(lines) + render_nft(plan)


# --- DS-Lite and IPIP: OpenWrt's ds-lite package ------------------------------------------
#
# ``package/network/ipv6/ds-lite/files/dslite.sh`` registers ``proto dslite`` (192.0.0.2 to
# 192.0.0.1 on the tunnel) and, in its 2024 version, ``proto ipip6`` with ``ip4ifaddr`` (the
# fixed address on the tunnel), made for fixed-IPv4 lines such as v6plus and transix
# fixed IP. Both read ``peeraddr`` (an address or a name, resolved by the script),
# ``ip6addr`` (the local end; without it the WAN's or the LAN's address), ``tunlink``,
# ``mtu`` (1280 by default), ``ttl``, ``encaplimit`` (netifd's ``ignore`` leaves the
# option out; one version of the script defaulted to 4) and ``zone``. The devices are
# ``ds-<section>`` and ``ipip6-<section>``. OpenWrt's ``ipip`` protocol is IPv4-in-IPv4
# (RFC 2003) and does not fit. docs/export.md names the sources.

DSLITE_INTERFACE = "wands"
IPIP_INTERFACE = "wanipip"


def _dslite_section(line: SoftwireLine, options: ExportOptions) -> list[str]:
    return [
        f"config interface '{DSLITE_INTERFACE}'",
        _option("proto", "dslite"),
        _option("peeraddr", line.peer),
        _option("tunlink", options.wan),
        _option("encaplimit", "ignore"),
        _option("mtu", TUNNEL_MTU),
    ]


def _ipip_section(line: SoftwireLine, options: ExportOptions) -> list[str]:
    lines = [
        f"config interface '{IPIP_INTERFACE}'",
        _option("proto", "ipip6"),
        _option("peeraddr", line.peer),
        _option("ip6addr", line.local),
        _option("ip4ifaddr", line.ipv4),
        _option("tunlink", options.wan),
        _option("encaplimit", "ignore"),
        _option("mtu", TUNNEL_MTU),
    ]
    if not line.ra_only:  # the delegated prefix's subnet 0, with the interface ID, here
        lines += [_option("ip6assign", 64), _option("ip6hint", 0),
                  _option("ip6ifaceid", line.interface_id)]  # fmt: skip
    return lines


def _ipip_wan6(line: SoftwireLine, options: ExportOptions) -> list[str]:
    if not line.ra_only:
        return []
    return [
        "",
        "# The line gives only an RA /64: the tunnel address is that prefix with the interface",
        "# ID, which the DHCPv6 client (odhcp6c) takes as 'ifaceid' for its RA address. Merge",
        f"# this option into the '{options.wan}' section.",
        f"config interface '{options.wan}'",
        _option("ifaceid", line.interface_id),
    ]


def render_softwire(line: SoftwireLine, options: ExportOptions) -> str:
    if line.dslite:
        name, title = DSLITE_INTERFACE, "OpenWrt (proto dslite, package ds-lite)"
        notes = [
            "# Needs the ds-lite package. When the line sends DHCPv6 option 64, OpenWrt's",
            f"# DHCPv6 client makes such an interface itself ('{options.wan}_4'): this one is for",
            "# an AFTR you name. dslite.sh asks the firewall not to translate on its device.",
        ]
        section = _dslite_section(line, options)
    else:
        need_one_address(line, "OpenWrt's ipip6 protocol")
        name, title = IPIP_INTERFACE, "OpenWrt (proto ipip6, package ds-lite, 24.10 or later)"
        notes = [
            "# Needs the ds-lite package of OpenWrt 24.10 or later (its ipip6 protocol). After a",
            "# prefix change ip6addr must follow, and OpenWrt does not call the operator's",
            "# update URL: call it yourself (mape agent does both).",
        ]
        if not line.ra_only:
            notes.append("# Keep subnet 0 for the tunnel: give 'lan' another ip6hint (e.g. '1').")
        section = _ipip_section(line, options)
    lines = [
        *softwire_header("#", title, line),
        *notes,
        f"# Add '{name}' to the firewall zone 'wan' (masquerading and MSS clamping on).",
        "",
        "# ==> /etc/config/network (add) <==",
        *section,
    ]
    if not line.dslite:
        lines += _ipip_wan6(line, options)
    return lines_text(lines)

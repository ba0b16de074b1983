"""OpenWrt: a ``proto map`` interface for /etc/config/network, and an fw4 nftables include.

The syntax follows OpenWrt's own sources and documents:

- package ``map`` (MAP-E, RFC 7597), https://openwrt.org/packages/pkgdata/map, and its
  netifd handler ``package/network/ipv6/map/files/map.sh`` in
  https://github.com/openwrt/openwrt: the options ``peeraddr``, ``ipaddr``,
  ``ip4prefixlen``, ``ip6prefix``, ``ip6prefixlen``, ``ealen``, ``psidlen``, ``psid``,
  ``offset``, ``legacymap``, ``mtu``, ``encaplimit`` and ``tunlink``; the tunnel device
  is named ``map-<interface>``; ``mtu`` defaults to 1280 there, so it is set to 1460;
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

from mapekit.core.mapping import Mapping
from mapekit.core.rule import IidFormat
from mapekit.dataplane.nftables import render as render_nft
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, header, lines_text

MAP_INTERFACE = "wanmap"  # the UCI interface of proto map
TUNNEL = f"map-{MAP_INTERFACE}"  # the device map.sh creates for it
NFT_PATH = f"/etc/mapekit/{TUNNEL}.nft"
RA_ONLY_LENGTH = 64  # a line that gives only the RA /64, no DHCPv6-PD


def _option(name: str, value: object) -> str:
    return f"\toption {name} '{value}'"


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
        _option("ealen", rule.ea_len),
        _option("psidlen", rule.psid_len),
        _option("offset", rule.psid_offset),
    ]
    if rule.psid is not None:
        lines.append(_option("psid", rule.psid))
    if mapping.iid is IidFormat.LEGACY:
        lines.append(_option("legacymap", 1))
    lines += [
        _option("mtu", plan.tunnel.mtu),
        _option("encaplimit", "ignore"),
        _option("tunlink", options.wan),
    ]
    return lines


def _wan6_section(mapping: Mapping, options: ExportOptions) -> list[str]:
    if mapping.prefix_len != RA_ONLY_LENGTH:
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


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    lines = header("#", "OpenWrt (proto map + fw4 nftables include)", mapping, plan, False)
    lines += [
        f"# Add '{MAP_INTERFACE}' to the firewall zone 'wan' (masquerading stays on for it).",
        "# Port forwards are DNATed by the include; allow them in fw4 with traffic rules.",
        "",
        "# ==> /etc/config/network (add) <==",
        *_map_section(mapping, plan, options),
        *_wan6_section(mapping, options),
        "",
        "# ==> /etc/config/firewall (add) <==",
        *_firewall_section(),
        "",
        f"# ==> {NFT_PATH} <==",
    ]
    return lines_text(lines) + render_nft(plan)

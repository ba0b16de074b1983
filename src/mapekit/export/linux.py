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

With ``--full`` the script also makes the box a router for the LAN: IPv4 and IPv6
forwarding, ``accept_ra=2`` on the WAN (ip-sysctl: RAs are still accepted with forwarding
on), the LAN address, an ``inet mapekit_filter`` table that lets the BR's IPv4-in-IPv6
(protocol 4), DHCPv6 replies (UDP 546) and ICMPv6 in and keeps new IPv6 connections from
the WAN out of the LAN, and a dnsmasq file (dnsmasq(8): ``dhcp-range``, ``enable-ra``,
``ra-stateless`` with ``constructor:``) for DHCPv4 and the RA of the delegated prefix.

Every value is a validated address, number or interface name, and is single-quoted once
into a shell variable that is always used inside double quotes.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.nftables import render as render_nft
from mapekit.dataplane.plan import Plan
from mapekit.dataplane.softwire import TunnelPlan, make_softwire_plan, render_softwire
from mapekit.export.common import ExportOptions, dhcp_pool, header, lines_text
from mapekit.export.softwire import NO_UPDATE, SoftwireLine
from mapekit.export.softwire import header as softwire_header

HEREDOC = "MAPEKIT_NFT"
DNSMASQ_HEREDOC = "MAPEKIT_DNSMASQ"
DNSMASQ_PATH = "/etc/dnsmasq.d/mapekit-lan.conf"
DEFAULT_LAN = "eth1"  # --full without --lan


def _variables(plan: TunnelPlan, remote: str = "BR") -> list[str]:
    return [
        f"WAN='{plan.wan}'",
        f"TUNNEL='{plan.tunnel.name}'",
        f"CE='{plan.ce_address}'",
        f"{remote}='{plan.tunnel.remote}'",
        f"IPV4='{plan.ipv4_address}/{plan.ipv4_prefix_len}'",
    ]


def _commands(plan: TunnelPlan, remote: str = "BR") -> list[str]:
    tunnel = plan.tunnel
    lines = [
        "sysctl -q -w net.ipv4.ip_forward=1",
        'ip -6 address replace "$CE/128" dev "$WAN" nodad',
        'ip link delete "$TUNNEL" 2>/dev/null || true',
        f'ip -6 tunnel add "$TUNNEL" mode ipip6 local "$CE" remote "${remote}" dev "$WAN" '
        f"encaplimit none hoplimit {tunnel.hop_limit}",
        f'ip link set dev "$TUNNEL" mtu {tunnel.mtu} up',
        'ip address replace "$IPV4" dev "$TUNNEL"',
    ]
    if plan.default_route:
        lines.append('ip route replace default dev "$TUNNEL"')
    lines += [f"ip route replace '{route}' dev \"$TUNNEL\"" for route in plan.fmr_routes]
    return lines


def _full_commands(options: ExportOptions) -> list[str]:
    return [
        f"LAN='{options.lan or DEFAULT_LAN}'",
        f"LAN_ADDRESS='{options.lan_address.with_prefixlen}'",
        "sysctl -q -w net.ipv6.conf.all.forwarding=1",
        'sysctl -q -w "net.ipv6.conf.$WAN.accept_ra=2"',
        'ip address replace "$LAN_ADDRESS" dev "$LAN"',
        'ip link set dev "$LAN" up',
    ]


def filter_ruleset(plan: Plan, options: ExportOptions) -> str:
    """The IPv6 filter of a whole router (``inet mapekit_filter``), for ``nft -f``."""
    wan, lan = plan.wan, options.lan or DEFAULT_LAN
    lines = [
        "table inet mapekit_filter",
        "delete table inet mapekit_filter",
        "table inet mapekit_filter {",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy accept;",
        f'\t\tiifname "{wan}" ct state established,related accept',
        f'\t\tiifname "{wan}" ip6 saddr {plan.tunnel.remote} meta l4proto 4 accept',
        f'\t\tiifname "{wan}" udp dport 546 accept',
        f'\t\tiifname "{wan}" meta l4proto ipv6-icmp accept',
        f'\t\tiifname "{wan}" meta nfproto ipv6 counter drop',
        "\t}",
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        f'\t\tiifname "{wan}" oifname "{lan}" ct state established,related accept',
        f'\t\tiifname "{wan}" oifname "{lan}" meta l4proto ipv6-icmp accept',
        f'\t\tiifname "{wan}" oifname "{lan}" meta nfproto ipv6 counter drop',
        "\t}",
        "}",
    ]
    return "\n".join(lines) + "\n"


def dnsmasq_conf(options: ExportOptions) -> str:
    """dnsmasq's file for the LAN: DHCPv4 pool, and the RA of the delegated prefix."""
    lan = options.lan or DEFAULT_LAN
    first, last = dhcp_pool(options.lan_address)
    lines = [
        f"interface={lan}",
        "bind-dynamic",
        f"dhcp-range={first},{last},{options.lan_address.netmask},12h",
        "enable-ra",
        f"dhcp-range=::,constructor:{lan},ra-stateless,ra-names",
    ]
    return "\n".join(lines) + "\n"


def _heredoc(command: str, delimiter: str, body: str) -> list[str]:
    if any(line == delimiter for line in body.splitlines()):  # cannot happen; never guess
        raise AssertionError(f"the text contains the here-document delimiter {delimiter}")
    return [f"{command} <<'{delimiter}'", *body.splitlines(), delimiter]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    ruleset = render_nft(plan)
    title = "Linux (iproute2 ip6tnl + nftables" + (", whole router)" if options.full else ")")
    lines = [
        "#!/bin/sh",
        *header("#", f"{title}, run as root", mapping, plan),
        "set -eu",
        "",
        *_variables(plan),
        "",
        *_commands(plan),
    ]
    if options.full:
        lines += [
            *_full_commands(options),
            *_heredoc("nft -f -", "MAPEKIT_FILTER", filter_ruleset(plan, options)),
            "mkdir -p /etc/dnsmasq.d",
            *_heredoc(f"cat > {DNSMASQ_PATH}", DNSMASQ_HEREDOC, dnsmasq_conf(options)),
            "# dnsmasq reads /etc/dnsmasq.d when its main file says conf-dir=/etc/dnsmasq.d",
            "# (Debian's does); restart it: systemctl restart dnsmasq",
        ]
    return lines_text([*lines, *_heredoc("nft -f -", HEREDOC, ruleset)])


def render_softwire_script(line: SoftwireLine, options: ExportOptions, tunnel: str) -> str:
    """DS-Lite or IPIP: the tunnel of ``mape agent``'s plan and its ruleset (MSS clamping;
    NAT to the fixed address for IPIP, none for DS-Lite: the AFTR translates)."""
    plan = make_softwire_plan(line.softwire(), options.wan, tunnel_name=tunnel, lan=options.lan)
    remote = "AFTR" if line.dslite else "ENDPOINT"
    kind = "DS-Lite" if line.dslite else "IPIP fixed IPv4"
    lines = [
        "#!/bin/sh",
        *softwire_header(
            "#", f"Linux ({kind}: iproute2 ip6tnl + nftables), run as root", line, own_b4=True
        ),
        *([] if line.dslite else [f"# {NO_UPDATE}"]),
        "set -eu",
        "",
        *_variables(plan, remote),
        "",
        *_commands(plan, remote),
    ]
    return lines_text([*lines, *_heredoc("nft -f -", HEREDOC, render_softwire(plan))])

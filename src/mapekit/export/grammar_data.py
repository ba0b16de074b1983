"""The rows of the vendor grammar tables and the documents they cite (see grammar.py).

``kind`` of a source: ``read`` — the command form was read in that document; ``public`` —
read in published configurations that reproduce the vendor's setting example (the
vendor page itself could not be opened from here); ``named`` — the vendor's reference
page for the command is named, the form is the standard one, but it was not re-read for
this table; ``unverified`` — no document we could read shows it (such lines make an
export EXPERIMENTAL).
"""

from __future__ import annotations

from dataclasses import dataclass

from mapekit.export.common import Release


@dataclass(frozen=True)
class Source:
    title: str
    where: str
    kind: str  # "read", "public", "named" or "unverified"


@dataclass(frozen=True)
class Row:
    fmt: str
    pattern: str
    source: str
    since: Release = ()
    until: Release = ()


SOURCES: dict[str, Source] = {
    "ix-map-e": Source(
        "NEC UNIVERGE IX, OCN Virtual Connect / v6plus (MAP-E) setting examples",
        "jpn.nec.com/univerge/ix/Support/ipv6/ (reproduced line for line in public IX "
        "configurations for OCN Virtual Connect)",
        "public",
    ),
    "ix-lan": Source(
        "Published IX2215 configuration with DHCPv6-PD, DHCPv4 and IPv6 filters "
        '("IX2215でJ:COMのIPv6 (DHCPv6-PD)")',
        "a public article built from the IX manuals at jpn.nec.com/univerge/ix/Manual/",
        "public",
    ),
    "ix-dslite": Source(
        "NEC UNIVERGE IX, IPv6 IPoE DS-Lite (transix) setting example: Tunnel0.0 with tunnel "
        "mode 4-over-6, tunnel destination (the AFTR), ip unnumbered, ip tcp adjust-mss auto",
        "NEC's IX setting examples, reproduced in public IX configurations for transix",
        "public",
    ),
    "ix-bridge": Source(
        "Published IX3315 configurations with an IRB bridge (bridge irb, bridge-group, BVI1)",
        "public IX migration notes",
        "public",
    ),
    "rtx-map-e": Source(
        "Yamaha setting example: v6plus / OCN Virtual Connect (IPv6 IPoE + MAP-E)",
        "network.yamaha.com/setting/router_firewall/ (reproduced in public RTX830/RTX1210 "
        "configurations)",
        "public",
    ),
    "rtx-nat": Source(
        "Yamaha RT series: NATディスクリプター コマンド仕様 (NAT descriptor command "
        "specification) and the RTX command reference, NAT chapter",
        "www.rtpro.yamaha.co.jp/RT/docs/nat-descriptor/command.html; "
        "www.rtpro.yamaha.co.jp/RT/manual/",
        "read",
    ),
    "rtx-ipip": Source(
        "Yamaha setting example: IPv4 over IPv6 IPIP tunnel (fixed IP): tunnel encapsulation "
        "ipip, tunnel endpoint address (the endpoint), the tunnel address as "
        "ra-prefix@lan2::<interface ID>/64, a masquerade descriptor to the fixed address",
        "Yamaha's setting examples (network.yamaha.com), reproduced in public RTX1300 "
        "configurations for v6plus and OCN Virtual Connect fixed IP",
        "public",
    ),
    "rtx-dslite": Source(
        "Yamaha IPIP tunnel document, transix DS-Lite setting example: tunnel encapsulation "
        "ipip with tunnel endpoint name (the AFTR's name) or tunnel endpoint address, no NAT "
        "descriptor",
        "Yamaha's RT technical documents (www.rtpro.yamaha.co.jp, IPIP), reproduced in public "
        "RTX830 and RTX1100 configurations for transix",
        "public",
    ),
    "cisco-guide": Source(
        "Cisco IP Addressing Configuration Guide, Cisco IOS XE 17.x: Mapping of Address and "
        "Port Using Encapsulation (MAP-E introduced in Amsterdam 17.2.1)",
        "www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/ip-addressing/b-ip-addressing/"
        "m_iadnat-map-e1.html",
        "read",
    ),
    "cisco-1715": Source(
        "Public lab notes: MAP-E on a C1111-8P with IOS XE 17.15.05 and a Cat8000v with "
        "17.15.01a (commands accepted and refused, CLI help listings)",
        "published lab notes (GitHub)",
        "public",
    ),
    "forti-vne-tunnel": Source(
        "FortiOS 6.4.5 CLI Reference: config system vne-tunnel",
        "docs.fortinet.com/document/fortigate/6.4.5/cli-reference/151620",
        "read",
    ),
    "forti-vne-interface": Source(
        "FortiOS 7.6.0 CLI Reference: config system vne-interface",
        "docs.fortinet.com/document/fortigate/7.6.0/cli-reference/106491833",
        "read",
    ),
    "forti-mape": Source(
        "FortiOS Administration Guide 7.4.1 / 7.6.4: MAP-E support",
        "docs.fortinet.com/document/fortigate/7.4.1/administration-guide/322815",
        "read",
    ),
    "forti-pd": Source(
        "FortiOS 7.6.4 Administration Guide: DHCP-PD support for MAP-E",
        "docs.fortinet.com/document/fortigate/7.6.4/administration-guide/544971",
        "read",
    ),
    "forti-fixed-ip": Source(
        "FortiOS 6.4.3 CLI Reference: system vne-tunnel (mode map-e | fixed-ip, "
        "ipv4-address, br, update-url); Administration Guide 7.4.1 and 7.6.4, MAP-E support: "
        "the fixed IP mode with the WAN's autoconf address and interface-identifier",
        "docs.fortinet.com, CLI Reference and Administration Guide of those releases",
        "read",
    ),
    "forti-ds-lite": Source(
        "FortiOS 7.2.0 and 7.4.9 CLI Reference: system vne-tunnel, and 7.6.0: system "
        "vne-interface (mode ds-lite; br an IPv6 address or an FQDN); Fortinet's FortiOS "
        "Ansible collection, system vne-tunnel schema (ds-lite, http-username, http-password "
        "from 7.2.0)",
        "docs.fortinet.com CLI References; Fortinet's Ansible collection for FortiOS",
        "read",
    ),
    "forti-ippool": Source(
        "FortiOS 7.0.2 CLI Reference: config firewall ippool (startport, endport; absent from 6.4)",
        "docs.fortinet.com/document/fortigate/7.0.2/cli-reference/300620",
        "read",
    ),
    "forti-ipv6-tunnel": Source(
        "FortiOS 6.2.1 CLI Reference: system ipv6-tunnel",
        "docs.fortinet.com/document/fortigate/6.2.1/cli-reference/71620/system-ipv6-tunnel",
        "read",
    ),
    "forti-vip": Source(
        "FortiOS / FortiProxy 7.0 CLI Reference: config firewall vip",
        "docs.fortinet.com/document/fortiproxy/7.0.10/cli-reference/169620",
        "read",
    ),
    "forti-dhcp": Source(
        "FortiOS 7.4.0 CLI Reference: config system dhcp server",
        "docs.fortinet.com/document/fortigate/7.4.0/cli-reference/59620",
        "read",
    ),
    "forti-cli": Source(
        "FortiOS CLI Reference: config firewall policy, config router static, "
        "config system interface",
        "docs.fortinet.com (CLI Reference of each release)",
        "named",
    ),
    "awp-rule": Source(
        "Allied Telesis AT-AR1050V command reference 5.4.9: rule (softwire)",
        "www.allied-telesis.co.jp/support/list/awp/rel/5.4.9-1.3/613-002735_D/docs/"
        "rule@280SOFTWIRE.html",
        "read",
    ),
    "awp-map-e": Source(
        "Allied Telesis AlliedWare Plus 5.4.8 release notes: IPv6 / MAP-E",
        "www.allied-telesis.co.jp/support/list/awp/rel/5.4.8-2.1/613-002311_P/docs/"
        "overview-358.html",
        "read",
    ),
    "awp-nat": Source(
        "AlliedWare Plus command reference: NAT (zone, network, host, nat, rule masq, "
        "rule portfwd {APP|any} from SRC [to DST] with dst ADDR [dport N])",
        "www.allied-telesis.co.jp/support/list/awp/ (command reference of the release)",
        "named",
    ),
    "unverified": Source("no document we could read shows this form", "-", "unverified"),
}

V17_15: Release = (17, 15)
V7_6: Release = (7, 6)


def _rows(
    fmt: str, source: str, *patterns: str, since: Release = (), until: Release = ()
) -> list[Row]:
    return [Row(fmt, p, source, since, until) for p in patterns]


ROWS: tuple[Row, ...] = (
    # --- NEC IX -------------------------------------------------------------------------
    *_rows(
        "ix", "ix-map-e",
        "ip ufs-cache enable", "ipv6 dhcp client-profile <NAME>", "information-request",
        "option-request dns-servers", "interface <IF>", "no ip address", "ipv6 enable",
        "ipv6 address autoconfig receive-default", "ipv6 dhcp client <NAME>",
        "tunnel mode map-e[ ocn]", "ip address map-e", "ip tcp adjust-mss auto",
        "ip napt enable", "ip napt hairpinning", "no shutdown", "ip route default <IF>",
    ),
    *_rows(
        "ix", "ix-lan",
        "ia-pd subscriber <IF> ::/64 eui-64",
        "ipv6 access-list <NAME> permit udp src fe80::/64 sport eq 547 dest fe80::/64 "
        "dport eq 546",
        "ipv6 access-list <NAME> permit icmp type <N> src any dest any",
        "ipv6 access-list dynamic <NAME> access permit-all",
        "ipv6 filter <NAME> <N> {in|out}", "ip dhcp enable", "ipv6 dhcp enable",
        "ip dhcp profile <NAME>", "dns-server <V4>", "ipv6 dhcp server-profile <NAME>",
        "dns-server dhcp", "ip address <V4NET>", "ip dhcp binding <NAME>",
        "ipv6 dhcp server <NAME>", "ipv6 nd ra enable", "ipv6 nd ra other-config-flag",
        "proxy-dns ip enable",
    ),
    *_rows("ix", "ix-bridge", "bridge irb enable", "bridge-group <N>"),
    *_rows("ix", "ix-dslite", "tunnel mode 4-over-6", "tunnel destination <V6>",
           "ip unnumbered <IF>"),
    *_rows(
        "ix", "unverified",
        "ipv6 access-list <NAME> permit 4 src <V6> dest any", "ipv6 nd proxy <IF>",
        "ip napt service <NAME> <V4> none {tcp|udp} <N> <N>",
    ),
    # --- Yamaha RTX ---------------------------------------------------------------------
    *_rows(
        "rtx", "rtx-map-e",
        "ip route default gateway tunnel 1", "ngn type <IF> ntt",
        "ipv6 prefix 1 ra-prefix@<IF>::/64", "ipv6 <IF> address ra-prefix@<IF>::1/64",
        "ipv6 <IF> rtadv send 1 o_flag=on", "ipv6 <IF> dhcp service server",
        "ipv6 <IF> secure filter in <N>...", "ipv6 <IF> secure filter out <N> dynamic <N>...",
        "ipv6 <IF> dhcp service client ir=on",
        "ipv6 filter <N> pass * * {icmp6 * *|tcp * ident|udp * 546|4|*}",
        "ipv6 filter dynamic <N> * * {ftp|domain|www|smtp|pop3|submission|tcp|udp}",
        "tunnel select 1", "tunnel encapsulation map-e", "tunnel map-e type {v6plus|ocn}",
        "ip tunnel mtu <N>", "ip tunnel tcp mss limit auto", "tunnel enable 1",
        "nat descriptor address outer <N> map-e", "ip <IF> address <V4NET>",
        "dhcp service server", "dhcp server rfc2131 compliant except remain-silent",
        "dhcp scope 1 <V4>-<V4>/<N>", "dns host <IF>", "dns service fallback on",
        "dns server dhcp <IF>", "dns private address spoof on",
    ),
    *_rows(
        "rtx", "rtx-nat",
        "ip tunnel nat descriptor <N>", "nat descriptor type <N> masquerade",
        "nat descriptor address outer <N> <V4>",
        "nat descriptor masquerade port range <N> <RANGE>[ <RANGE>][ <RANGE>][ <RANGE>]",
        "nat descriptor masquerade static <N> <N> <V4> {tcp|udp} <N>=<N>",
    ),
    *_rows("rtx", "rtx-ipip", "tunnel encapsulation ipip", "tunnel endpoint address <V6>",
           "ipv6 <IF> address ra-prefix@<IF>::<IID>/64"),
    *_rows("rtx", "rtx-dslite", "tunnel endpoint name <NAME>"),
    *_rows(
        "rtx", "unverified",
        "ip tunnel nat descriptor <N> <N>...",  # several: how RTX picks one is not documented
        "tunnel endpoint address <V6> <V6>", "ipv6 <IF> address <V6>/128",
        # a delegated prefix's subnet 0 on the LAN as the tunnel address: not in the examples
        "ipv6 <IF> address dhcp-prefix@<IF>::<IID>/64",
    ),
    # --- Cisco IOS XE -------------------------------------------------------------------
    *_rows(
        "cisco-xe", "cisco-guide",
        "interface <IF>", "nat64 enable", "nat64 map-e domain <N>", "basic-mapping-rule",
        "ipv6-prefix <V6NET>", "ipv4-prefix <V4NET>",
        "port-parameters share-ratio <N> start-port <N>",
    ),
    *_rows("cisco-xe", "cisco-guide", "default-mapping-rule <V6>/128", until=V17_15),
    *_rows(
        "cisco-xe", "cisco-1715", "ipv6 enable", "ipv6 address autoconfig default",
    ),
    *_rows(
        "cisco-xe", "cisco-1715",
        "ipv6 address <V6>/128", "border-relay-address <V6>", "local-ipv4-prefix <V4NET>",
        "port-set-id <N>", "nat64 route 0.0.0.0/0 <IF>", since=V17_15,
    ),
    *_rows(
        "cisco-xe", "unverified",
        "nat64 route 0.0.0.0/0 <IF>", until=V17_15,
    ),
    *_rows(
        "cisco-xe", "unverified",
        "nat64 provisioning mode jp01",
        "ip nat inside source static {tcp|udp} <V4> <N> <V4> <N> extendable",
    ),
    # --- FortiGate ----------------------------------------------------------------------
    *_rows(
        "fortigate", "forti-mape",
        "config system interface", "edit <STR>", "config ipv6", "set autoconf enable",
        "set unique-autoconf-addr enable", "set interface-identifier <V6>", "end", "next",
        "set interface <STR>", "set mode map-e",
    ),
    *_rows("fortigate", "forti-vne-tunnel", "config system vne-tunnel", "set status enable",
           until=V7_6),
    *_rows("fortigate", "forti-vne-interface", "config system vne-interface", since=V7_6),
    *_rows(
        "fortigate", "forti-pd",
        "set dhcp6-prefix-delegation enable", "set ip6-mode delegated",
        "set ip6-upstream-interface <STR>", "set ip6-subnet ::1/64", since=(7, 6, 4),
    ),
    *_rows("fortigate", "unverified", "set ip6-mode dhcp", "set ip6-send-adv enable"),
    *_rows(
        "fortigate", "forti-fixed-ip",
        "set mode fixed-ip", "set ipv4-address <V4> <MASK>", "set br <V6>",
        "set update-url <URL>",
    ),
    *_rows("fortigate", "forti-ds-lite", "set mode ds-lite", "set br <NAME>", since=(7, 2)),
    *_rows(
        "fortigate", "forti-ipv6-tunnel",
        "config system ipv6-tunnel", "set source <V6>", "set destination <V6>",
    ),
    *_rows(
        "fortigate", "forti-ippool",
        "config firewall ippool", "set startip <V4>", "set endip <V4>", "set startport <N>",
        "set endport <N>", since=(7, 0),
    ),
    *_rows(
        "fortigate", "forti-cli",
        "set ip <V4> <MASK>", "config router static", "edit 0", "set device <STR>",
        "config firewall policy", "set name <STR>", "set srcintf <STR>", "set dstintf <STR>",
        'set srcaddr "all"', "set dstaddr <STR>", "set action accept",
        'set schedule "always"', 'set service "ALL"', "set nat enable",
    ),
    *_rows("fortigate", "forti-cli", "set ippool enable", "set poolname <STR>", since=(7, 0)),
    # several pools in one policy: how FortiOS picks among them is not documented
    *_rows("fortigate", "unverified", "set poolname <STR> <STR>..."),
    *_rows(
        "fortigate", "forti-vip",
        "config firewall vip", "set extip <V4>", "set mappedip <STR>", "set extintf <STR>",
        "set portforward enable", "set protocol {tcp|udp}", "set extport <N>",
        "set mappedport <N>",
    ),
    *_rows(
        "fortigate", "forti-dhcp",
        "config system dhcp server", "set default-gateway <V4>", "set netmask <MASK>",
        "set dns-service default", "config ip-range", "edit 1", "set start-ip <V4>",
        "set end-ip <V4>",
    ),
    # --- AlliedWare Plus ----------------------------------------------------------------
    *_rows(
        "awplus", "awp-map-e",
        "softwire-configuration <NAME>", "map-version draft3", "method proprietary",
        "vendor-url JPNE", "upstream-interface <IF>", "exit", "interface <IF>",
    ),
    *_rows(
        "awplus", "awp-rule",
        "method static", "tunnel mode map-e",
        "rule <N> ipv4-prefix <V4NET> ipv6-prefix <V6NET> "
        "{ea-length <N>|psid-length <N> psid <N>} offset <N>",
    ),
    *_rows(
        "awplus", "awp-nat",
        "zone <NAME>", "network <NAME>", "ip subnet 0.0.0.0/0 interface <IF>", "host <NAME>",
        "ip address <V4>", "nat", "rule <N> masq any from <NAME> to <NAME>",
        "rule <N> portfwd <NAME> from <NAME> with dst <NAME> dport <N>", "enable",
    ),
    *_rows(
        "awplus", "unverified",
        "br-address <V6>", "tunnel softwire <NAME>", "mtu <N>", "ip tcp adjust-mss pmtu",
        "ip route 0.0.0.0/0 <IF>", "application <NAME>", "protocol {tcp|udp}", "dport <N>",
    ),
)  # fmt: skip

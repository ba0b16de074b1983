"""Yamaha RTX: MAP-E on ``tunnel 1`` (automatic), or an IPIP tunnel with the computed values.

Automatic mode is Yamaha's v6plus / OCN Virtual Connect setting example: the NGN WAN
(``ngn type lan2 ntt``, ``ipv6 lan2 dhcp service client ir=on``, ``ra-prefix@lan2`` on the
LAN), IPv6 filters that let ICMPv6, DHCPv6 and IPv4-in-IPv6 (protocol 4) in, ``tunnel
encapsulation map-e`` and ``nat descriptor address outer N map-e``.

Static mode: one ``nat descriptor masquerade port range`` takes at most four ranges
(:data:`RANGES_PER_DESCRIPTOR`), so the port set is spread over several masquerade
descriptors with the same outer address, all applied to the tunnel (``ip tunnel nat
descriptor 1010 1011 …``): v6plus's 15 blocks need 4, OCN's 63 need 16. How the RTX
chooses among several descriptors on one interface is not in the Yamaha documents we could
read (docs/export.md), so this mode stays EXPERIMENTAL.

``--full`` adds the LAN: address, DHCPv4 server and DNS relay.
"""

from __future__ import annotations

from mapekit.core.mapping import TUNNEL_MTU, Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import (
    ExportOptions,
    Mode,
    dhcp_pool,
    header,
    lines_text,
    need_isp,
    pool_ranges,
)
from mapekit.export.softwire import NO_UPDATE, SoftwireLine, need_one_address
from mapekit.export.softwire import header as softwire_header

AUTO_NAT = 1000
STATIC_NAT = 1010  # the first of the static descriptors: 1010, 1011, …
AUTO_TYPES = {"v6plus": "v6plus", "ocn": "ocn"}
RANGES_PER_DESCRIPTOR = 4
FILTERS_IN = (
    (101000, "icmp6 * *"),
    (101001, "tcp * ident"),
    (101002, "udp * 546"),
    (101003, "4"),
)
FILTER_OUT = 101099
DYNAMIC = (
    (101080, "ftp"),
    (101081, "domain"),
    (101082, "www"),
    (101083, "smtp"),
    (101084, "pop3"),
    (101085, "submission"),
    (101098, "tcp"),
    (101099, "udp"),
)


def _chunks(plan: Plan) -> list[list[str]]:
    ranges = pool_ranges(plan)
    step = RANGES_PER_DESCRIPTOR
    return [ranges[i : i + step] for i in range(0, len(ranges), step)]


def _descriptors(plan: Plan, mode: Mode) -> list[int]:
    if mode is Mode.AUTO:
        return [AUTO_NAT]
    return [STATIC_NAT + i for i in range(len(_chunks(plan)))]


def _ngn(options: ExportOptions) -> list[str]:
    wan, lan = options.wan, options.lan
    in_ids = " ".join(str(n) for n, _ in FILTERS_IN)
    dynamic_ids = " ".join(str(n) for n, _ in DYNAMIC)
    return [
        f"ngn type {wan} ntt",
        f"ipv6 prefix 1 ra-prefix@{wan}::/64",
        f"ipv6 {lan} address ra-prefix@{wan}::1/64",
        f"ipv6 {lan} rtadv send 1 o_flag=on",
        f"ipv6 {lan} dhcp service server",
        f"ipv6 {wan} secure filter in {in_ids}",
        f"ipv6 {wan} secure filter out {FILTER_OUT} dynamic {dynamic_ids}",
        f"ipv6 {wan} dhcp service client ir=on",
        *(f"ipv6 filter {n} pass * * {what}" for n, what in FILTERS_IN),
        f"ipv6 filter {FILTER_OUT} pass * * *",
        *(f"ipv6 filter dynamic {n} * * {what}" for n, what in DYNAMIC),
    ]


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
    descriptors = " ".join(map(str, _descriptors(plan, mode)))
    return [
        "tunnel select 1",
        *kind,
        f" ip tunnel mtu {plan.tunnel.mtu}",
        " ip tunnel tcp mss limit auto",
        f" ip tunnel nat descriptor {descriptors}",
        "tunnel enable 1",
    ]


def _nat(plan: Plan, mode: Mode) -> list[str]:
    lines: list[str] = []
    if mode is Mode.AUTO:
        lines += [
            f"nat descriptor type {AUTO_NAT} masquerade",
            f"nat descriptor address outer {AUTO_NAT} map-e",
        ]
    else:
        for number, chunk in zip(_descriptors(plan, mode), _chunks(plan), strict=True):
            lines += [
                f"nat descriptor type {number} masquerade",
                f"nat descriptor address outer {number} {plan.ipv4_address}",
                f"nat descriptor masquerade port range {number} {' '.join(chunk)}",
            ]
    first = _descriptors(plan, mode)[0]
    lines += [
        f"nat descriptor masquerade static {first} {n} {fwd.address} {fwd.protocol} "
        f"{fwd.port}={fwd.to_port}"
        for n, fwd in enumerate(plan.forwards, start=1)
    ]
    return lines


def _lan(options: ExportOptions) -> list[str]:
    lan = options.lan_address
    first, last = dhcp_pool(lan)
    return [
        f"ip {options.lan} address {lan.with_prefixlen}",
        "dhcp service server",
        "dhcp server rfc2131 compliant except remain-silent",
        f"dhcp scope 1 {first}-{last}/{lan.network.prefixlen}",
        f"dns host {options.lan}",
        "dns service fallback on",
        f"dns server dhcp {options.wan}",
        "dns private address spoof on",
    ]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    whole = ", whole router" if options.full else ""
    title = f"Yamaha RTX (MAP-E, {options.mode.value} mode{whole})"
    lines = header("#", title, mapping, plan)
    if options.mode is Mode.STATIC:
        lines.append(f"ipv6 {options.wan} address {plan.ce_address}/128")
    lines += [
        "ip route default gateway tunnel 1",
        *_ngn(options),
        *_tunnel(mapping, plan, options.mode),
        *_nat(plan, options.mode),
    ]
    if options.full:
        lines += _lan(options)
    return lines_text(lines)


# --- DS-Lite and IPIP: an IPIP tunnel to the AFTR or the operator's endpoint --------------
#
# Yamaha's IPIP tunnel setting examples, as public RTX configurations reproduce them:
# transix DS-Lite is ``tunnel encapsulation ipip`` with ``tunnel endpoint name`` (the AFTR's
# name) or ``tunnel endpoint address`` (its address) and no NAT descriptor (the AFTR
# translates); a fixed-IP line is the same tunnel to the operator's endpoint with a
# masquerade descriptor whose outer address is the fixed one, and the tunnel address on the
# WAN as ``ra-prefix@lan2::<interface ID>/64``. Where the line delegates a prefix, the
# tunnel address is its subnet 0: ``dhcp-prefix@`` on the LAN, which no document we read
# shows for this (EXPERIMENTAL).

SOFTWIRE_NAT = 1000


def _softwire_tunnel(line: SoftwireLine) -> list[str]:
    if line.remote_name is not None:
        endpoint = f" tunnel endpoint name {line.remote_name}"
    else:
        endpoint = f" tunnel endpoint address {line.remote}"
    nat = [] if line.dslite else [f" ip tunnel nat descriptor {SOFTWIRE_NAT}"]
    return [
        "tunnel select 1",
        " tunnel encapsulation ipip",
        endpoint,
        f" ip tunnel mtu {TUNNEL_MTU}",
        " ip tunnel tcp mss limit auto",
        *nat,
        "tunnel enable 1",
    ]


def _tunnel_address(line: SoftwireLine, options: ExportOptions) -> list[str]:
    iid = line.interface_id.removeprefix("::")
    if line.ra_only:
        return [f"ipv6 {options.wan} address ra-prefix@{options.wan}::{iid}/64"]
    return [f"ipv6 {options.lan} address dhcp-prefix@{options.wan}::{iid}/64"]


def render_softwire(line: SoftwireLine, options: ExportOptions) -> str:
    if line.dslite:
        title = "Yamaha RTX (DS-Lite: IPIP tunnel to the AFTR, no NAT)"
        lines = softwire_header("#", title, line)
    else:
        need_one_address(line, "Yamaha RTX")
        title = "Yamaha RTX (IPIP fixed IPv4)"
        lines = softwire_header("#", title, line)
        lines.append(f"# {NO_UPDATE}")
    lines += ["ip route default gateway tunnel 1", *_ngn(options)]
    if not line.dslite:
        lines += _tunnel_address(line, options)
    lines += _softwire_tunnel(line)
    if not line.dslite:
        lines += [
            f"nat descriptor type {SOFTWIRE_NAT} masquerade",
            f"nat descriptor address outer {SOFTWIRE_NAT} {line.ipv4}",
        ]
    return lines_text(lines)

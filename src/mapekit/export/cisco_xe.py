"""Cisco IOS XE: a ``nat64 map-e`` domain (static values) or rule provisioning (automatic).

EXPERIMENTAL in both modes. Cisco's "Mapping of Address and Port Using Encapsulation"
module (IP Addressing Configuration Guide, Cisco IOS XE 17.x,
https://www.cisco.com/c/en/us/td/docs/routers/ios/config/17-x/ip-addressing/b-ip-addressing/m_iadnat-map-e1.html)
was found, but only its overview: it names the commands ``nat64 map-e``,
``basic-mapping-rule``, ``default-mapping-rule`` (a /128 DMR, configured before the BMR)
and ``port-parameters``, says that a CE fetches its rules over HTTP from the rule server
(``nat64 provisioning mode``), and that a BMR of length /64 is not supported. The command
arguments below (``port-parameters share-ratio … start-port …``, ``nat64 provisioning
mode jp01``, ``ip nat inside source static``) were not checked against its examples.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, Mode, header, lines_text, need_isp

AUTO_MODES = {"v6plus": "jp01"}


def _interfaces(options: ExportOptions) -> list[str]:
    lines = [
        f"interface {options.wan}",
        " ipv6 enable",
        " ipv6 address autoconfig",
        " nat64 enable",
        "!",
    ]
    if options.lan:
        lines += [f"interface {options.lan}", " nat64 enable", "!"]
    return lines


def _domain(mapping: Mapping, plan: Plan) -> list[str]:
    rule = mapping.rule
    share = 1 << rule.psid_len
    start = 1 << (16 - rule.psid_offset) if rule.psid_offset else 0
    return [
        "nat64 map-e domain 1",
        f" default-mapping-rule {plan.tunnel.remote}/128",
        " basic-mapping-rule",
        f"  ipv6-prefix {rule.ipv6_prefix}",
        f"  ipv4-prefix {rule.ipv4_prefix}",
        f"  port-parameters share-ratio {share} start-port {start}",
        "!",
    ]


def _forwards(plan: Plan) -> list[str]:
    return [
        f"ip nat inside source static {fwd.protocol} {fwd.address} {fwd.to_port} "
        f"{plan.ipv4_address} {fwd.port} extendable"
        for fwd in plan.forwards
    ]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    title = f"Cisco IOS XE (MAP-E, {options.mode.value} mode)"
    lines = header("!", title, mapping, plan, True)
    if options.mode is Mode.AUTO:
        body = [f"nat64 provisioning mode {need_isp(mapping, AUTO_MODES, 'Cisco IOS XE')}", "!"]
    else:
        body = _domain(mapping, plan)
    lines += ["!", *_interfaces(options), *body, *_forwards(plan)]
    return lines_text(lines)

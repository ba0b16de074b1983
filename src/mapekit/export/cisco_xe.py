"""Cisco IOS XE: a ``nat64 map-e`` domain with the computed values, per release.

The syntax differs by release (``--release``, default :data:`DEFAULT_RELEASE`):

- 17.2 to 17.14 (Cisco's IOS XE 17.x MAP-E configuration guide): a
  ``default-mapping-rule`` /128 (the BR) configured before the ``basic-mapping-rule``,
  whose ``ipv6-prefix`` / ``ipv4-prefix`` are the rule's prefixes, and
  ``port-parameters share-ratio N start-port P``;
- 17.15 and later (public lab notes of a C1111-8P on 17.15.05 and a Cat8000v on 17.15.01a):
  ``default-mapping-rule`` is refused; ``border-relay-address`` names the BR; the BMR takes
  the End-user prefix and the CE's IPv4 address as a /32, with ``local-ipv4-prefix`` (the
  LAN) and ``port-set-id`` after ``port-parameters``; ``nat64 route 0.0.0.0/0 WAN`` sends
  IPv4 into the domain, and the CE's /128 must be put on the WAN by hand. The same notes
  report that traffic through MAP-E crashed the forwarding engine on both — docs/export.md.

IOS XE has a MAP-E CE, not a MAP-T CE. Automatic mode (``nat64 provisioning mode jp01``)
exists on 17.15 but what it needs next is not documented: EXPERIMENTAL.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import (
    ExportOptions,
    Mode,
    Release,
    header,
    lines_text,
    need_isp,
    release_text,
)

AUTO_MODES = {"v6plus": "jp01"}
DEFAULT_RELEASE: Release = (17, 15)
FIRST_RELEASE: Release = (17, 2)  # MAP-E appeared in IOS XE Amsterdam 17.2.1
BORDER_RELAY_SINCE: Release = (17, 15)


def _new_syntax(options: ExportOptions) -> bool:
    return options.release >= BORDER_RELAY_SINCE


def _interfaces(plan: Plan, options: ExportOptions) -> list[str]:
    lines = [
        f"interface {options.wan}",
        " ipv6 enable",
        " ipv6 address autoconfig default",
    ]
    if _new_syntax(options) and options.mode is Mode.STATIC:
        lines.append(f" ipv6 address {plan.ce_address}/128")
    lines += [" nat64 enable", "!"]
    if options.lan:
        lines += [f"interface {options.lan}", " nat64 enable", "!"]
    return lines


def _ports(mapping: Mapping) -> str:
    rule = mapping.rule
    start = 1 << (16 - rule.psid_offset) if rule.psid_offset else 0
    return f"port-parameters share-ratio {1 << rule.psid_len} start-port {start}"


def _domain_old(mapping: Mapping, plan: Plan) -> list[str]:
    rule = mapping.rule
    return [
        "nat64 map-e domain 1",
        f" default-mapping-rule {plan.tunnel.remote}/128",
        " basic-mapping-rule",
        f"  ipv6-prefix {rule.ipv6_prefix}",
        f"  ipv4-prefix {rule.ipv4_prefix}",
        f"  {_ports(mapping)}",
        "!",
    ]


def _domain_new(mapping: Mapping, plan: Plan, options: ExportOptions) -> list[str]:
    lines = [
        "nat64 map-e domain 1",
        f" border-relay-address {plan.tunnel.remote}",
        " basic-mapping-rule",
        f"  ipv6-prefix {mapping.to_dict()['end_user_prefix']}",
        f"  ipv4-prefix {plan.ipv4_address}/32",
        f"  local-ipv4-prefix {options.lan_address.network}",
        f"  {_ports(mapping)}",
    ]
    if mapping.rule.psid_len:
        lines.append(f"  port-set-id {mapping.psid}")
    return [*lines, "!"]


def _forwards(plan: Plan) -> list[str]:
    return [
        f"ip nat inside source static {fwd.protocol} {fwd.address} {fwd.to_port} "
        f"{plan.ipv4_address} {fwd.port} extendable"
        for fwd in plan.forwards
    ]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    release = release_text(options.release)
    title = f"Cisco IOS XE {release} (MAP-E, {options.mode.value} mode)"
    lines = header("!", title, mapping, plan)
    if _new_syntax(options):
        lines.append(
            "! WARNING: public lab notes report that IOS XE 17.15 (C1111-8P 17.15.05, "
            "Cat8000v 17.15.01a) crashed its forwarding engine once traffic flowed through "
            "MAP-E; test on your release before relying on it"
        )
    if options.mode is Mode.AUTO:
        body = [f"nat64 provisioning mode {need_isp(mapping, AUTO_MODES, 'Cisco IOS XE')}", "!"]
    elif _new_syntax(options):
        body = _domain_new(mapping, plan, options)
    else:
        body = _domain_old(mapping, plan)
    lines += ["!", *_interfaces(plan, options), *body]
    if options.mode is Mode.STATIC:
        lines += [f"nat64 route 0.0.0.0/0 {options.wan}", "!"]
    return lines_text(lines + _forwards(plan))

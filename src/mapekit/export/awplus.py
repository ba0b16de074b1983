"""Allied Telesis AlliedWare Plus: a softwire (MAP-E) configuration bound to ``tunnel0``.

EXPERIMENTAL in both modes. Checked against Allied Telesis's Japanese command references:

- the static MAP rule: ``(config-softwire)# rule <0-65535> ipv4-prefix A.B.C.D/M
  ipv6-prefix X:X::X:X/M [ea-length <0-48>|psid-length <0-15> [psid VALUE]] [offset
  <0-16>] [forwarding]``, which needs ``method static`` first (AT-AR1050V command reference
  5.4.9, "rule"),
  http://www.allied-telesis.co.jp/support/list/awp/rel/5.4.9-1.3/613-002735_D/docs/rule@280SOFTWIRE.html;
  its related commands are ``br-address``, ``method`` and ``tunnel mode map-e``;
- the automatic mode's ``map-version draft3``, ``method proprietary``, ``vendor-url
  JPNE`` and ``upstream-interface`` (release 5.4.8 "IPv6 / MAP-E", where the mode was
  still called ``map-rules``),
  https://www.allied-telesis.co.jp/support/list/awp/rel/5.4.8-2.1/613-002311_P/docs/overview-358.html.

- the NAT rule ``portfwd {APPLICATION|any} from SRC [to DST] with dst ADDR [dport N]``:
  traffic of APPLICATION from the entity SRC (to DST) is sent to the entity ADDR, on port N.
  A forward of one port needs an application naming the protocol and port
  (``application NAME`` / ``protocol tcp`` / ``dport N``).

Not confirmed by any document we could read: how ``tunnel0`` names its softwire
configuration (``tunnel softwire`` is not documented; the NAT46 tunnels suggest another
binding), the arguments of ``br-address``, and the application entity syntax — hence
EXPERIMENTAL (docs/export.md).
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.core.rule import IidFormat
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, Mode, header, lines_text, need_isp

NAME = "MAPEKIT"
TUNNEL = "tunnel0"
AUTO_URLS = {"v6plus": "JPNE"}


def _rule(mapping: Mapping) -> str:
    rule = mapping.rule
    ports = f"ea-length {rule.ea_len}"
    if rule.psid is not None:
        ports = f"psid-length {rule.psid_len} psid {rule.psid}"
    return (
        f" rule 1 ipv4-prefix {rule.ipv4_prefix} ipv6-prefix {rule.ipv6_prefix} "
        f"{ports} offset {rule.psid_offset}"
    )


def _softwire(mapping: Mapping, plan: Plan, options: ExportOptions) -> list[str]:
    lines = [f"softwire-configuration {NAME}"]
    if mapping.iid is IidFormat.LEGACY:
        lines.append(" map-version draft3")
    if options.mode is Mode.AUTO:
        url = need_isp(mapping, AUTO_URLS, "AlliedWare Plus")
        lines += [" method proprietary", f" vendor-url {url}"]
    else:
        lines += [" method static", f" br-address {plan.tunnel.remote}", _rule(mapping)]
    return [*lines, f" upstream-interface {options.wan}", " exit", "!"]


def _tunnel(plan: Plan) -> list[str]:
    return [
        f"interface {TUNNEL}",
        " tunnel mode map-e",
        f" tunnel softwire {NAME}",
        f" mtu {plan.tunnel.mtu}",
        " ip tcp adjust-mss pmtu",
        "!",
        f"ip route 0.0.0.0/0 {TUNNEL}",
        "!",
    ]


def _applications(plan: Plan) -> list[str]:
    lines = []
    for fwd in plan.forwards:
        lines += [
            f"application {_app(fwd.protocol, fwd.port)}",
            f" protocol {fwd.protocol}",
            f" dport {fwd.port}",
            "!",
        ]
    return lines


def _app(protocol: str, port: int) -> str:
    return f"mapekit-{protocol}-{port}"


def _nat(plan: Plan, options: ExportOptions) -> list[str]:
    zones = ["zone public", " network wan", f"  ip subnet 0.0.0.0/0 interface {TUNNEL}"]
    zones += ["zone private", " network lan", f"  ip subnet 0.0.0.0/0 interface {options.lan}"]
    rules = [" rule 10 masq any from private to public"]
    for n, fwd in enumerate(plan.forwards, start=1):
        zones += [f"  host fwd{n}", f"   ip address {fwd.address}"]
        rules.append(
            f" rule {10 + 10 * n} portfwd {_app(fwd.protocol, fwd.port)} from public "
            f"with dst private.lan.fwd{n} dport {fwd.to_port}"
        )
    return [*_applications(plan), *zones, "!", "nat", *rules, " enable", "!"]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    title = f"Allied Telesis AlliedWare Plus (MAP-E, {options.mode.value} mode)"
    lines = header("!", title, mapping, plan)
    lines += [
        "!",
        *_softwire(mapping, plan, options),
        *_tunnel(plan),
        *_nat(plan, options),
    ]
    return lines_text(lines)

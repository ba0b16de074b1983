"""Fortinet FortiGate (FortiOS): the VNE tunnel in MAP-E mode, or a static ipv6-tunnel.

Checked against Fortinet's documents:

- automatic mode: FortiOS CLI reference ``config system vne-tunnel`` (``set status``,
  ``set interface``, ``set mode [map-e|fixed-ip]``),
  https://docs.fortinet.com/document/fortigate/6.4.5/cli-reference/151620, and the
  administration guide "MAP-E support" (``config ipv6 / set autoconf enable / set
  unique-autoconf-addr enable / set interface-identifier``),
  https://docs.fortinet.com/document/fortigate/7.4.1/administration-guide/322815;
  FortiOS 7.6 renamed the table ``config system vne-interface`` (with ``edit <name>``),
  https://docs.fortinet.com/document/fortigate/7.6.0/cli-reference/106491833;
- port forwards: ``config firewall vip`` (``extip``, ``mappedip``, ``extintf``,
  ``portforward``, ``protocol``, ``extport``, ``mappedport``),
  https://docs.fortinet.com/document/fortiproxy/7.0.10/cli-reference/169620;
- static mode: ``config system ipv6-tunnel`` (``source``, ``destination``,
  ``interface``), https://docs.fortinet.com/document/fortigate/6.2.1/cli-reference/71620/system-ipv6-tunnel.

The static mode is EXPERIMENTAL: the IP pools that keep NAT inside the port set (``config
firewall ippool`` with ``startport``/``endport``), the IPv4 address on the tunnel, the
route and the policy were not checked against Fortinet's documents.
"""

from __future__ import annotations

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import ExportOptions, Mode, header, iid_text, lines_text, netmask

TUNNEL = "mape"


def _wan(mapping: Mapping, options: ExportOptions, mode: Mode) -> list[str]:
    lines = [
        "config system interface",
        f'    edit "{options.wan}"',
        "        config ipv6",
        "            set autoconf enable",
        "            set unique-autoconf-addr enable",
    ]
    if mode is Mode.STATIC:
        lines.append(f"            set interface-identifier {iid_text(mapping)}")
    return [*lines, "        end", "    next", "end"]


def _vne(options: ExportOptions) -> list[str]:
    return [
        '# FortiOS 7.6: config system vne-interface / edit "vne1" with the same settings',
        "config system vne-tunnel",
        "    set status enable",
        f'    set interface "{options.wan}"',
        "    set mode map-e",
        "end",
        "# Route 0.0.0.0/0 to the VNE tunnel interface and allow LAN -> VNE with NAT.",
    ]


def _static_tunnel(plan: Plan, options: ExportOptions) -> list[str]:
    return [
        "config system ipv6-tunnel",
        f'    edit "{TUNNEL}"',
        f"        set source {plan.ce_address}",
        f"        set destination {plan.tunnel.remote}",
        f'        set interface "{options.wan}"',
        "    next",
        "end",
        "config system interface",
        f'    edit "{TUNNEL}"',
        f"        set ip {plan.ipv4_address} {netmask(plan.ipv4_prefix_len)}",
        "    next",
        "end",
        "config router static",
        "    edit 0",
        f'        set device "{TUNNEL}"',
        "    next",
        "end",
    ]


def _pools(plan: Plan, options: ExportOptions) -> list[str]:
    names = [f"{TUNNEL}-{i}" for i in range(1, len(plan.pool) + 1)]
    lines = ["config firewall ippool"]
    for name, (first, last) in zip(names, plan.pool, strict=True):
        lines += [
            f'    edit "{name}"',
            f"        set startip {plan.ipv4_address}",
            f"        set endip {plan.ipv4_address}",
            f"        set startport {first}",
            f"        set endport {last}",
            "    next",
        ]
    pool_list = " ".join(f'"{name}"' for name in names)
    return [
        *lines,
        "end",
        "config firewall policy",
        "    edit 0",
        '        set name "mapekit-mape"',
        f'        set srcintf "{options.lan}"',
        f'        set dstintf "{TUNNEL}"',
        '        set srcaddr "all"',
        '        set dstaddr "all"',
        "        set action accept",
        '        set schedule "always"',
        '        set service "ALL"',
        "        set nat enable",
        "        set ippool enable",
        f"        set poolname {pool_list}",
        "    next",
        "end",
    ]


def _vips(plan: Plan, extintf: str) -> list[str]:
    if not plan.forwards:
        return []
    lines = ["config firewall vip"]
    for fwd in plan.forwards:
        lines += [
            f'    edit "mapekit-{fwd.protocol}-{fwd.port}"',
            f"        set extip {plan.ipv4_address}",
            f'        set mappedip "{fwd.address}"',
            f'        set extintf "{extintf}"',
            "        set portforward enable",
            f"        set protocol {fwd.protocol}",
            f"        set extport {fwd.port}",
            f"        set mappedport {fwd.to_port}",
            "    next",
        ]
    return [*lines, "end", "# Allow the forwards with a policy from the tunnel to the LAN."]


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    static = options.mode is Mode.STATIC
    title = f"FortiGate FortiOS (MAP-E, {options.mode.value} mode)"
    lines = header("#", title, mapping, plan, static)
    lines += _wan(mapping, options, options.mode)
    if static:
        lines += [
            "# interface-identifier gives the CE address on a line with an RA /64 prefix;",
            f"# the address must be {plan.ce_address}.",
            *_static_tunnel(plan, options),
            *_pools(plan, options),
            *_vips(plan, TUNNEL),
        ]
    else:
        lines += [*_vne(options), *_vips(plan, "any")]
    return lines_text(lines)

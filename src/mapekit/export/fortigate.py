"""Fortinet FortiGate (FortiOS): the VNE tunnel in MAP-E mode, or a static ipv6-tunnel.

Per release (``--release``, default :data:`DEFAULT_RELEASE`):

- automatic mode: before 7.6 ``config system vne-tunnel`` (one table, ``set status
  enable``); from 7.6 ``config system vne-interface`` with ``edit <name>`` and no
  ``status``. The WAN takes its address by SLAAC with ``interface-identifier`` (the MAP-E
  admin guide), or from 7.6.4 on a delegated prefix by DHCPv6-PD ("DHCP-PD support for
  MAP-E");
- static mode (from 7.0, where ``config firewall ippool`` gained ``startport``/``endport``):
  an ``ipv6-tunnel`` to the BR, the IPv4 address on it, and one IP pool per port range of
  the set, all with the same address, listed in one policy. How FortiOS picks among
  several pools of one policy is not documented in the pages we could read
  (docs/export.md), so the static mode stays EXPERIMENTAL;
- both: a default route to the tunnel and a LAN → tunnel policy with NAT, as real
  configuration; port forwards as ``config firewall vip`` plus the policy that allows them.

``--full`` adds the LAN: address, DHCPv4 server, and on a delegated prefix the LAN's
IPv6 address and RA from the delegation.
"""

from __future__ import annotations

import re

from mapekit.core.mapping import Mapping
from mapekit.dataplane.plan import Plan
from mapekit.export.common import (
    ExportError,
    ExportOptions,
    Mode,
    Release,
    dhcp_pool,
    header,
    iid_text,
    lines_text,
    netmask,
    release_text,
)
from mapekit.export.softwire import SoftwireLine, need_one_address
from mapekit.export.softwire import header as softwire_header

TUNNEL = "mape"
VNE = "mapekit"  # the vne-interface entry (7.6 and later)
VNE_OLD = "vne.root"  # the interface an older vne-tunnel creates (not confirmed)
DEFAULT_RELEASE: Release = (7, 6)
VNE_INTERFACE_SINCE: Release = (7, 6)
PD_SINCE: Release = (7, 6, 4)
STATIC_SINCE: Release = (7, 0)
RA_ONLY_LENGTH = 64


def _uses_pd(mapping: Mapping, options: ExportOptions) -> bool:
    return options.release >= PD_SINCE and mapping.prefix_len < RA_ONLY_LENGTH


def tunnel_interface(options: ExportOptions) -> str:
    if options.mode is Mode.STATIC:
        return TUNNEL
    return VNE if options.release >= VNE_INTERFACE_SINCE else VNE_OLD


def _wan(mapping: Mapping, options: ExportOptions) -> list[str]:
    lines = ["config system interface", f'    edit "{options.wan}"', "        config ipv6"]
    if _uses_pd(mapping, options):
        lines += [
            "            set ip6-mode dhcp",
            "            set dhcp6-prefix-delegation enable",
        ]
    else:
        lines += ["            set autoconf enable", "            set unique-autoconf-addr enable"]
        if options.mode is Mode.STATIC:  # the CE address, on a line with an RA /64
            lines.append(f"            set interface-identifier {iid_text(mapping)}")
    return [*lines, "        end", "    next", "end"]


def _vne(options: ExportOptions) -> list[str]:
    if options.release >= VNE_INTERFACE_SINCE:
        return [
            "config system vne-interface",
            f'    edit "{VNE}"',
            f'        set interface "{options.wan}"',
            "        set mode map-e",
            "    next",
            "end",
        ]
    return [
        "config system vne-tunnel",
        "    set status enable",
        f'    set interface "{options.wan}"',
        "    set mode map-e",
        "end",
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
    ]


def _pool_names(plan: Plan) -> list[str]:
    return [f"{TUNNEL}-{i}" for i in range(1, len(plan.pool) + 1)]


def _pools(plan: Plan) -> list[str]:
    lines = ["config firewall ippool"]
    for name, (first, last) in zip(_pool_names(plan), plan.pool, strict=True):
        lines += [
            f'    edit "{name}"',
            f"        set startip {plan.ipv4_address}",
            f"        set endip {plan.ipv4_address}",
            f"        set startport {first}",
            f"        set endport {last}",
            "    next",
        ]
    return [*lines, "end"]


def _route(device: str) -> list[str]:
    return [
        "config router static",
        "    edit 0",
        f'        set device "{device}"',
        "    next",
        "end",
    ]


def _policy(name: str, src: str, dst: str, extra: list[str], dstaddr: str = "all") -> list[str]:
    return [
        "    edit 0",
        f'        set name "{name}"',
        f'        set srcintf "{src}"',
        f'        set dstintf "{dst}"',
        '        set srcaddr "all"',
        f'        set dstaddr "{dstaddr}"',
        "        set action accept",
        '        set schedule "always"',
        '        set service "ALL"',
        *extra,
        "    next",
    ]


def _policies(plan: Plan, options: ExportOptions) -> list[str]:
    tunnel, lan = tunnel_interface(options), options.lan or "internal"
    nat = ["        set nat enable"]
    if options.mode is Mode.STATIC:
        pools = " ".join(f'"{name}"' for name in _pool_names(plan))
        nat += ["        set ippool enable", f"        set poolname {pools}"]
    lines = ["config firewall policy", *_policy("mapekit-out", lan, tunnel, nat)]
    for fwd in plan.forwards:
        lines += _policy(
            f"mapekit-in-{fwd.protocol}-{fwd.port}", tunnel, lan, [], _vip(fwd.protocol, fwd.port)
        )
    return [*lines, "end"]


def _vip(protocol: str, port: int) -> str:
    return f"mapekit-{protocol}-{port}"


def _vips(plan: Plan, options: ExportOptions) -> list[str]:
    if not plan.forwards:
        return []
    lines = ["config firewall vip"]
    for fwd in plan.forwards:
        lines += [
            f'    edit "{_vip(fwd.protocol, fwd.port)}"',
            f"        set extip {plan.ipv4_address}",
            f'        set mappedip "{fwd.address}"',
            f'        set extintf "{tunnel_interface(options)}"',
            "        set portforward enable",
            f"        set protocol {fwd.protocol}",
            f"        set extport {fwd.port}",
            f"        set mappedport {fwd.to_port}",
            "    next",
        ]
    return [*lines, "end"]


def _lan(mapping: Mapping, options: ExportOptions) -> list[str]:
    lan, name = options.lan_address, options.lan or "internal"
    first, last = dhcp_pool(lan)
    lines = [
        "config system interface",
        f'    edit "{name}"',
        f"        set ip {lan.ip} {lan.netmask}",
    ]
    if _uses_pd(mapping, options):
        lines += [
            "        config ipv6",
            "            set ip6-mode delegated",
            f'            set ip6-upstream-interface "{options.wan}"',
            "            set ip6-subnet ::1/64",
            "            set ip6-send-adv enable",
            "        end",
        ]
    lines += ["    next", "end", "config system dhcp server", "    edit 0"]
    lines += [
        f'        set interface "{name}"',
        f"        set default-gateway {lan.ip}",
        f"        set netmask {lan.netmask}",
        "        set dns-service default",
        "        config ip-range",
        "            edit 1",
        f"                set start-ip {first}",
        f"                set end-ip {last}",
        "            next",
        "        end",
        "    next",
        "end",
    ]
    return lines


def render(mapping: Mapping, plan: Plan, options: ExportOptions) -> str:
    whole = ", whole router" if options.full else ""
    title = (
        f"FortiGate FortiOS {release_text(options.release)} "
        f"(MAP-E, {options.mode.value} mode{whole})"
    )
    lines = header("#", title, mapping, plan)
    lines += _wan(mapping, options)
    if options.mode is Mode.STATIC:
        lines += _static_tunnel(plan, options) + _pools(plan)
    else:
        lines += _vne(options)
    if options.full:
        lines += _lan(mapping, options)
    lines += _route(tunnel_interface(options)) + _vips(plan, options) + _policies(plan, options)
    return lines_text(lines)


# --- DS-Lite and IPIP: the VNE tunnel's ds-lite and fixed-ip modes --------------------------
#
# FortiOS's VNE tunnel has a fixed-ip mode from 6.4 (the CLI reference: ``ipv4-address``,
# ``br``, ``update-url``; the admin guide's "MAP-E support" page configures it with the WAN's
# address from the RA prefix and ``interface-identifier``) and a ds-lite mode from 7.2 (the
# CLI references of 7.2.0, 7.4.9 and the 7.6 vne-interface; Fortinet's own Ansible schema
# marks ds-lite, a ``br`` FQDN and ``http-username``/``http-password`` as new in 7.2.0).
# FortiOS calls the update URL itself after an address change.

SOFTWIRE_SINCE: Release = (7, 2)  # ds-lite mode, and a br given by name


def _refuse(message: str, field: str) -> ExportError:
    return ExportError("usage.invalid_arguments", message, field=field)


def _check_softwire(line: SoftwireLine, options: ExportOptions) -> None:
    need_one_address(line, "FortiGate")
    new = options.release >= SOFTWIRE_SINCE
    if line.dslite and not new:
        raise _refuse(f"release: FortiOS {release_text(options.release)} has no ds-lite VNE "
                      "mode (from 7.2 on); use --release 7.2 or newer", "release")  # fmt: skip
    if line.remote is None and not new:
        raise _refuse("aftr: before 7.2 the VNE tunnel's br is an IPv6 address; give "
                      "--aftr-address", "aftr")  # fmt: skip
    if not line.dslite and not line.ra_only:
        raise _refuse(
            "prefix: FortiOS documents the fixed-ip mode with the tunnel address built from the "
            "WAN's router advertisement (a /64) and interface-identifier; no document we could "
            "read puts subnet 0 of a delegated prefix there: give the RA /64", "prefix",
        )  # fmt: skip
    if line.update_url is not None and not _URL.fullmatch(line.update_url):
        raise _refuse("update-url: FortiOS calls the URL as it is: an http(s) URL without "
                      "spaces, quotes or mapekit's {…} fields", "update-url")  # fmt: skip


_URL = re.compile(r"https?://[^\s\"'{}\\]+")


def _softwire_wan(line: SoftwireLine, options: ExportOptions) -> list[str]:
    lines = [
        "config system interface",
        f'    edit "{options.wan}"',
        "        config ipv6",
        "            set autoconf enable",
        "            set unique-autoconf-addr enable",
    ]
    if not line.dslite:
        lines.append(f"            set interface-identifier {line.interface_id}")
    return [*lines, "        end", "    next", "end"]  # fmt: skip


def _vne_settings(line: SoftwireLine, options: ExportOptions, indent: str) -> list[str]:
    settings = [f'set interface "{options.wan}"',
                f"set mode {'ds-lite' if line.dslite else 'fixed-ip'}"]  # fmt: skip
    if not line.dslite:
        settings.append(f"set ipv4-address {line.ipv4} {netmask(line.ipv4_prefix_len)}")
    settings.append(f"set br {line.peer if options.release >= SOFTWIRE_SINCE else line.remote}")
    if line.update_url is not None:
        settings.append(f'set update-url "{line.update_url}"')
    return [indent + s for s in settings]


def _softwire_vne(line: SoftwireLine, options: ExportOptions) -> list[str]:
    if options.release >= VNE_INTERFACE_SINCE:
        return ["config system vne-interface", f'    edit "{VNE}"',
                *_vne_settings(line, options, "        "), "    next", "end"]  # fmt: skip
    return ["config system vne-tunnel", "    set status enable",
            *_vne_settings(line, options, "    "), "end"]  # fmt: skip


def render_softwire(line: SoftwireLine, options: ExportOptions) -> str:
    _check_softwire(line, options)
    tunnel = VNE if options.release >= VNE_INTERFACE_SINCE else VNE_OLD
    mode = "DS-Lite" if line.dslite else "IPIP fixed IPv4"
    lines = softwire_header("#", f"FortiGate FortiOS {release_text(options.release)} ({mode})",
                            line)  # fmt: skip
    if not line.dslite and line.update_url is None:
        lines.append("# Without --update-url: set update-url (and, from 7.2, http-username and "
                     "http-password) in the VNE entry yourself.")  # fmt: skip
    elif not line.dslite:
        lines.append("# FortiOS calls the update URL itself when the WAN's address changes.")
    lines += _softwire_wan(line, options) + _softwire_vne(line, options) + _route(tunnel)
    nat = [] if line.dslite else ["        set nat enable"]  # DS-Lite: the AFTR translates
    lines += ["config firewall policy",
              *_policy("mapekit-out", options.lan or "internal", tunnel, nat), "end"]  # fmt: skip
    return lines_text(lines)

"""Router configurations for a computed mapping: one pure renderer per format.

``export(name, mapping, options, rules)`` builds the plan of the mapping
(:func:`mapekit.dataplane.plan.make_plan`, which also checks the port forwards against
the port set) with the tunnel name the format needs, and hands mapping, plan and options
to the format's ``render`` function, which returns text. Nothing here reads files,
prints or looks at the clock; the ``mape export`` command does the I/O.

Formats whose syntax could not be checked against the vendor's documentation say so on
their first line and in :attr:`Format.label` (see each module's docstring for the
documents that were checked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.plan import Plan, check_ifname, make_plan
from mapekit.export import awplus, cisco_xe, fortigate, ix, jsondoc, linux, networkd, openwrt, rtx
from mapekit.export.common import (
    UCI_NAME,
    ExportError,
    ExportOptions,
    Mode,
    check_name,
    check_vendor_ifname,
)

__all__ = [
    "FORMATS", "ExportError", "ExportOptions", "Format", "Mode", "export", "format_named",
    "options_for",
]  # fmt: skip

Renderer = Callable[[Mapping, Plan, ExportOptions], str]
BOTH = frozenset({Mode.AUTO, Mode.STATIC})
STATIC = frozenset({Mode.STATIC})
NONE: frozenset[Mode] = frozenset()
PLAN_WAN = "wan"  # vendor formats name their own interfaces; the plan's Linux name is unused


@dataclass(frozen=True)
class Format:
    """One output format: its renderer, default interface names and what was checked."""

    name: str
    summary: str
    render: Renderer
    default_wan: str
    default_lan: str | None = None
    names: str = "vendor"  # "linux" (ip/nft names), "uci" (OpenWrt sections) or "vendor"
    tunnel: str = "mape0"
    modes: frozenset[Mode] = STATIC
    checked: frozenset[Mode] = STATIC  # modes whose syntax matches vendor documents
    voip_bridge: bool = False

    def experimental(self, mode: Mode) -> bool:
        return mode not in self.checked

    @property
    def label(self) -> str:
        unchecked = sorted(m.value for m in self.modes - self.checked)
        if not unchecked:
            return self.summary
        if len(unchecked) == len(self.modes):
            return f"{self.summary} (EXPERIMENTAL)"
        return f"{self.summary} ({', '.join(unchecked)} mode EXPERIMENTAL)"


_LIST: tuple[Format, ...] = (
    Format("openwrt", "OpenWrt: /etc/config/network proto map + fw4 nftables include",
           openwrt.render, "wan6", names="uci", tunnel=openwrt.TUNNEL),
    Format("linux", "POSIX shell script: iproute2 ip6tnl + nft", linux.render, "eth0",
           names="linux"),
    Format("networkd", "systemd-networkd .netdev/.network units + nftables ruleset",
           networkd.render, "eth0", names="linux"),
    Format("ix", "NEC UNIVERGE IX", ix.render, "GigaEthernet0.0", modes=BOTH, checked=NONE,
           voip_bridge=True),
    Format("rtx", "Yamaha RTX", rtx.render, "lan2", "lan1", modes=BOTH, checked=NONE),
    Format("cisco-xe", "Cisco IOS XE (nat64 map-e)", cisco_xe.render, "GigabitEthernet0/0/0",
           "GigabitEthernet0/1/0", modes=BOTH, checked=NONE),
    Format("fortigate", "Fortinet FortiGate (FortiOS)", fortigate.render, "wan1", "internal",
           modes=BOTH, checked=frozenset({Mode.AUTO})),
    Format("awplus", "Allied Telesis AlliedWare Plus", awplus.render, "eth1", "vlan1",
           modes=BOTH, checked=NONE),
    Format("json", "JSON: {mapping, plan, nft}", jsondoc.render, "eth0", names="linux"),
)  # fmt: skip
FORMATS: dict[str, Format] = {f.name: f for f in _LIST}


def format_named(name: str) -> Format:
    found = FORMATS.get(name)
    if found is None:
        raise ExportError(
            "usage.invalid_arguments",
            f"format: {name!r} is not a format ({', '.join(FORMATS)})",
            field="format",
            value=name,
        )
    return found


def _check_names(fmt: Format, names: dict[str, str | None]) -> None:
    for field, name in names.items():
        if name is None:
            continue
        if fmt.names == "vendor":
            check_vendor_ifname(name, field)
        elif fmt.names == "uci":
            check_name(name, field, UCI_NAME, "an OpenWrt interface name (letters, digits, _)")
        else:
            check_ifname(name, field)


def options_for(
    fmt: Format,
    *,
    wan: str | None = None,
    lan: str | None = None,
    mode: Mode = Mode.STATIC,
    voip_bridge: str | None = None,
    forwards: Sequence[str] = (),
) -> ExportOptions:
    """The options of one export, with the format's defaults, checked against the format."""
    if mode not in fmt.modes:
        raise ExportError(
            "usage.invalid_arguments",
            f"mode: {fmt.name} has only the static mode (mapekit computes the rules)",
            field="mode",
            value=mode.value,
        )
    if voip_bridge is not None and not fmt.voip_bridge:
        raise ExportError(
            "usage.invalid_arguments",
            f"voip-bridge: only the ix format bridges a VoIP port, not {fmt.name}",
            field="voip-bridge",
        )
    options = ExportOptions(
        wan=fmt.default_wan if wan is None else wan,
        lan=fmt.default_lan if lan is None else lan,
        mode=mode,
        voip_bridge=voip_bridge,
        forwards=tuple(forwards),
    )
    _check_names(fmt, {"wan": options.wan, "lan": options.lan, "voip-bridge": voip_bridge})
    return options


def plan_for(fmt: Format, mapping: Mapping, options: ExportOptions, rules: RuleSet | None) -> Plan:
    linux_names = fmt.names != "vendor"
    return make_plan(
        mapping,
        options.wan if linux_names else PLAN_WAN,
        tunnel_name=fmt.tunnel,
        lan=options.lan if linux_names else None,
        forwards=options.forwards,
        rules=rules,
    )


def export(
    name: str, mapping: Mapping, options: ExportOptions, rules: RuleSet | None = None
) -> str:
    """The configuration text of format ``name`` (``rules``: the delivered set, for FMRs)."""
    fmt = format_named(name)
    return fmt.render(mapping, plan_for(fmt, mapping, options, rules), options)

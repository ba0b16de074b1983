"""Router configurations for a computed mapping: one pure renderer per format.

``export(name, mapping, options, rules)`` builds the plan of the mapping
(:func:`mapekit.dataplane.plan.make_plan`, which also checks the port forwards against
the port set) with the tunnel name the format needs, and hands mapping, plan and options
to the format's ``render`` function, which returns text. Nothing here reads files,
prints or looks at the clock; the ``mape export`` command does the I/O.

The router formats are checked line by line against the grammar tables of
:mod:`mapekit.export.grammar`, which cite a document for every command form: an export with
a line that no document we could read confirms starts with an EXPERIMENTAL warning that
quotes those lines (docs/export.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.plan import Plan, check_ifname, make_plan
from mapekit.export import awplus, cisco_xe, fortigate, ix, jsondoc, linux, networkd, openwrt, rtx
from mapekit.export.common import (
    DEFAULT_LAN,
    UCI_NAME,
    ExportError,
    ExportOptions,
    Mode,
    Release,
    check_name,
    check_vendor_ifname,
    experimental_lines,
    release_text,
)
from mapekit.export.grammar import COMMENT_MARKS, unverified_lines
from mapekit.export.softwire import SoftwireLine

__all__ = [
    "FORMATS", "ExportError", "ExportOptions", "Format", "Mode", "SoftwireLine",
    "default_mode", "export", "export_softwire", "format_named", "options_for",
    "softwire_options",
]  # fmt: skip

Renderer = Callable[[Mapping, Plan, ExportOptions], str]
SoftwireRenderer = Callable[[SoftwireLine, ExportOptions], str]
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
    checked: frozenset[Mode] = STATIC  # modes whose default export every document confirms
    voip_bridge: bool = False
    full: bool = False  # has a whole-router configuration (--full)
    refused: tuple[tuple[Mode, str], ...] = ()  # modes the platform cannot do, and why
    release: Release = ()  # the default firmware release, when the syntax depends on it
    first_release: Release = ()  # the oldest release the format knows
    static_since: Release = ()  # the first release with what the static mode needs
    softwire: SoftwireRenderer | None = None  # DS-Lite and IPIP, where documents show them
    softwire_refusal: str = ""  # why not, where not
    needs_address: bool = False  # the AFTR's address, not only its name

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


NO_SOFTWIRE = (
    "provider: no {vendor} document or published configuration we could read shows a DS-Lite "
    "B4 or an IPIP fixed-address tunnel, so none is exported; formats with one: {formats}"
)
TUNNEL = "mape0"  # the Linux formats' tunnel (the agent's default name)

_LIST: tuple[Format, ...] = (
    Format("openwrt", "OpenWrt: /etc/config/network proto map + fw4 nftables include",
           openwrt.render, "wan6", names="uci", tunnel=openwrt.TUNNEL, full=True,
           softwire=openwrt.render_softwire),
    Format("linux", "POSIX shell script: iproute2 ip6tnl + nft", linux.render, "eth0",
           names="linux", full=True, needs_address=True,
           softwire=partial(linux.render_softwire_script, tunnel=TUNNEL)),
    Format("networkd", "systemd-networkd .netdev/.network units + nftables ruleset",
           networkd.render, "eth0", names="linux", needs_address=True,
           softwire=partial(networkd.render_softwire_units, tunnel=TUNNEL)),
    Format("ix", "NEC UNIVERGE IX (auto mode only)", ix.render, "GigaEthernet0.0",
           "GigaEthernet1.0", modes=frozenset({Mode.AUTO}), checked=frozenset({Mode.AUTO}),
           voip_bridge=True, full=True, refused=((Mode.STATIC, ix.STATIC_REFUSAL),),
           softwire=ix.render_softwire, needs_address=True),
    Format("rtx", "Yamaha RTX", rtx.render, "lan2", "lan1", modes=BOTH,
           checked=frozenset({Mode.AUTO}), full=True, softwire=rtx.render_softwire),
    Format("cisco-xe", "Cisco IOS XE (nat64 map-e)", cisco_xe.render, "GigabitEthernet0/0/0",
           "GigabitEthernet0/1/0", modes=BOTH, checked=STATIC, release=cisco_xe.DEFAULT_RELEASE,
           first_release=cisco_xe.FIRST_RELEASE, softwire_refusal="Cisco IOS XE"),
    Format("fortigate", "Fortinet FortiGate (FortiOS)", fortigate.render, "wan1", "internal",
           modes=BOTH, checked=frozenset({Mode.AUTO}), full=True,
           release=fortigate.DEFAULT_RELEASE, first_release=(6, 4),
           static_since=fortigate.STATIC_SINCE, softwire=fortigate.render_softwire),
    Format("awplus", "Allied Telesis AlliedWare Plus", awplus.render, "eth1", "vlan1",
           modes=BOTH, checked=NONE, softwire_refusal="Allied Telesis"),
    Format("json", "JSON: {mapping, plan, nft}", jsondoc.render, "eth0", names="linux",
           needs_address=True, softwire=partial(jsondoc.render_softwire_json, tunnel=TUNNEL)),
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


def _check_mode(fmt: Format, mode: Mode) -> None:
    for refused, why in fmt.refused:
        if mode is refused:
            raise ExportError("usage.invalid_arguments", why, field="mode", value=mode.value)
    if mode not in fmt.modes:
        raise ExportError(
            "usage.invalid_arguments",
            f"mode: {fmt.name} has only the static mode (mapekit computes the rules)",
            field="mode",
            value=mode.value,
        )


def _check_release(fmt: Format, release: Release | None) -> Release:
    if release is None:
        return fmt.release
    if not fmt.release:
        raise ExportError(
            "usage.invalid_arguments",
            f"release: {fmt.name} does not depend on the firmware release "
            "(only cisco-xe and fortigate do)",
            field="release",
        )
    if release < fmt.first_release:
        raise ExportError(
            "usage.invalid_arguments",
            f"release: {fmt.name} knows releases from {release_text(fmt.first_release)} on, "
            f"not {release_text(release)}",
            field="release",
            value=release_text(release),
        )
    return release


def _check_features(fmt: Format, voip_bridge: str | None, full: bool) -> None:
    if voip_bridge is not None and not fmt.voip_bridge:
        raise ExportError(
            "usage.invalid_arguments",
            f"voip-bridge: only the ix format bridges a VoIP port, not {fmt.name}",
            field="voip-bridge",
        )
    if full and not fmt.full:
        whole = ", ".join(name for name, f in FORMATS.items() if f.full)
        raise ExportError(
            "usage.invalid_arguments",
            f"full: {fmt.name} has no whole-router configuration (formats with one: {whole})",
            field="full",
        )


def options_for(
    fmt: Format,
    *,
    wan: str | None = None,
    lan: str | None = None,
    mode: Mode = Mode.STATIC,
    voip_bridge: str | None = None,
    forwards: Sequence[str] = (),
    full: bool = False,
    lan_address: ipaddress.IPv4Interface = DEFAULT_LAN,
    release: Release | None = None,
) -> ExportOptions:
    """The options of one export, with the format's defaults, checked against the format."""
    _check_mode(fmt, mode)
    _check_features(fmt, voip_bridge, full)
    options = ExportOptions(
        wan=fmt.default_wan if wan is None else wan,
        lan=fmt.default_lan if lan is None else lan,
        mode=mode,
        voip_bridge=voip_bridge,
        forwards=tuple(forwards),
        full=full,
        lan_address=lan_address,
        release=_check_release(fmt, release),
    )
    _check_names(fmt, {"wan": options.wan, "lan": options.lan, "voip-bridge": voip_bridge})
    if mode is Mode.STATIC and options.release < fmt.static_since:
        raise ExportError(
            "usage.invalid_arguments",
            f"mode: {fmt.name} {release_text(options.release)} cannot keep NAT inside the port "
            f"set (IP pools with port ranges came with {release_text(fmt.static_since)}); use "
            "--mode auto or a newer release",
            field="mode",
            value=mode.value,
        )
    return options


def default_mode(fmt: Format) -> Mode:
    """The mode used when none is given: static where the format has it, else auto."""
    return Mode.STATIC if Mode.STATIC in fmt.modes else Mode.AUTO


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
    text = fmt.render(mapping, plan_for(fmt, mapping, options, rules), options)
    return _marked(fmt, text, options)


def _softwire_renderer(fmt: Format) -> SoftwireRenderer:
    if fmt.softwire is None:
        formats = ", ".join(name for name, f in FORMATS.items() if f.softwire is not None)
        raise ExportError(
            "usage.invalid_arguments",
            NO_SOFTWIRE.format(vendor=fmt.softwire_refusal or fmt.name, formats=formats),
            field="format", value=fmt.name,
        )  # fmt: skip
    return fmt.softwire


def softwire_options(
    fmt: Format,
    *,
    wan: str | None = None,
    lan: str | None = None,
    release: Release | None = None,
) -> ExportOptions:
    """The options of a DS-Lite or IPIP export: interface names and the release (MAP-E's
    modes, forwards and whole-router parts do not apply)."""
    _softwire_renderer(fmt)
    options = ExportOptions(
        wan=fmt.default_wan if wan is None else wan,
        lan=fmt.default_lan if lan is None else lan,
        mode=default_mode(fmt),
        release=_check_release(fmt, release),
    )  # fmt: skip
    _check_names(fmt, {"wan": options.wan, "lan": options.lan})
    return options


def export_softwire(name: str, line: SoftwireLine, options: ExportOptions) -> str:
    """The configuration text of format ``name`` for a DS-Lite or IPIP line."""
    fmt = format_named(name)
    return _marked(fmt, _softwire_renderer(fmt)(line, options), options)


def _marked(fmt: Format, text: str, options: ExportOptions) -> str:
    mark = COMMENT_MARKS.get(fmt.name)
    if mark is None:  # Linux formats: checked by their own parsers (nft, sh, systemd)
        return text
    unverified = unverified_lines(fmt.name, text, options.release)
    if not unverified:
        return text
    return "\n".join(experimental_lines(mark, unverified)) + "\n" + text

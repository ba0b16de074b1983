"""What every renderer shares: the options, interface-name checks and the header lines.

Renderers are pure: they read a validated :class:`~mapekit.core.mapping.Mapping` and the
:class:`~mapekit.dataplane.plan.Plan` made from it, and return text. Every value they
print comes from those two objects (addresses and numbers that were parsed and checked)
or from an interface name that passed one of the strict patterns below, so no user text
reaches a configuration unchecked.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass

from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.rule import IidFormat
from mapekit.dataplane.plan import Plan

# Router CLIs name interfaces like "GigaEthernet0.0", "GigabitEthernet0/0/0", "lan2", "wan1":
# letters, digits and . / : _ - only; a space, quote or line break would start a new command.
VENDOR_IFNAME = re.compile(r"[A-Za-z][A-Za-z0-9_./:-]{0,31}")
# OpenWrt (UCI) section names: letters, digits and underscores.
UCI_NAME = re.compile(r"[A-Za-z0-9_]{1,15}")
# Operator names come from rule files too: shown only when they are plain words.
_LABEL = re.compile(r"[A-Za-z0-9_.-]{1,32}")
# A firmware release: "17.15", "7.6.4".
_RELEASE = re.compile(r"[0-9]{1,2}(\.[0-9]{1,2}){1,2}")
MAX_SHOWN = 4  # unverified lines quoted in the EXPERIMENTAL warning
DEFAULT_LAN = ipaddress.IPv4Interface("192.168.1.1/24")
DHCP_FIRST_HOST = 100  # the DHCPv4 pool starts at the 100th host of the LAN …
DHCP_POOL_SIZE = 100  # … and holds at most 100 addresses


class ExportError(MapeError):
    """The export options do not fit the format."""


class Mode(enum.Enum):
    """Where a router gets its MAP-E rules: from the operator (auto) or from this export."""

    AUTO = "auto"
    STATIC = "static"

    @classmethod
    def from_text(cls, text: str) -> Mode:
        try:
            return cls(text)
        except ValueError:
            raise ExportError(
                "usage.invalid_arguments",
                f"mode: {text!r} is not a mode (use 'auto' or 'static')",
                field="mode",
                value=text,
            ) from None


Release = tuple[int, ...]


def parse_release(text: str) -> Release:
    """``"17.15"`` → (17, 15); a firmware release as numbers, compared as a tuple."""
    if not _RELEASE.fullmatch(text):
        raise ExportError(
            "usage.invalid_arguments",
            f"release: {text!r} is not a release number (e.g. 17.15 or 7.6.4)",
            field="release",
            value=text,
        )
    return tuple(int(part) for part in text.split("."))


def release_text(release: Release) -> str:
    return ".".join(map(str, release))


def parse_lan_address(text: str) -> ipaddress.IPv4Interface:
    """The router's LAN address with its prefix length, e.g. ``192.168.1.1/24``."""
    try:
        lan = ipaddress.IPv4Interface(text)
    except ValueError:
        lan = None
    if lan is None or "/" not in text or not 8 <= lan.network.prefixlen <= 29:
        raise ExportError(
            "input.value_range",
            f"lan-address: {text!r} is not an IPv4 address with a prefix length from 8 to 29 "
            "(e.g. 192.168.1.1/24)",
            field="lan-address",
            value=text,
        )
    if lan.ip in (lan.network.network_address, lan.network.broadcast_address):
        raise ExportError(
            "input.value_range",
            f"lan-address: {text!r} is the network or broadcast address of its prefix",
            field="lan-address",
            value=text,
        )
    return lan


@dataclass(frozen=True)
class ExportOptions:
    """The router-side names and choices of one export (defaults filled per format)."""

    wan: str
    lan: str | None = None
    mode: Mode = Mode.STATIC
    voip_bridge: str | None = None
    forwards: tuple[str, ...] = ()  # PROTO:PORT=LANADDR[:PORT], parsed by make_plan
    full: bool = False  # the whole router: WAN IPv6, LAN, DHCP, DNS as well
    lan_address: ipaddress.IPv4Interface = DEFAULT_LAN
    release: Release = ()  # the firmware release (formats whose syntax differs by release)


def dhcp_pool(lan: ipaddress.IPv4Interface) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The DHCPv4 pool of a LAN: from its 100th host (or its second, on small LANs), at most
    100 addresses, never the router's own address."""
    hosts = lan.network.num_addresses - 2
    first_index = DHCP_FIRST_HOST if hosts >= DHCP_FIRST_HOST + DHCP_POOL_SIZE else 2
    last_index = min(first_index + DHCP_POOL_SIZE - 1, hosts)
    base = lan.network.network_address
    first, last = base + first_index, base + last_index
    if lan.ip == last:  # the router's own address stays out of the pool
        last -= 1
    elif first <= lan.ip < last:
        first = lan.ip + 1
    return first, last


def check_name(name: str, field: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(name):
        raise ExportError(
            "input.value_range",
            f"{field}: {name!r} is not {what}",
            field=field,
            value=name,
        )
    return name


def check_vendor_ifname(name: str, field: str) -> str:
    return check_name(
        name, field, VENDOR_IFNAME,
        "an interface name (a letter, then letters, digits, . / : _ -; at most 32)",
    )  # fmt: skip


def iid_text(mapping: Mapping) -> str:
    """The CE address's interface id (low 64 bits) as an IPv6 address, e.g. ``::6a:…``."""
    return str(ipaddress.IPv6Address(mapping.ce_ipv6 & ((1 << 64) - 1)))


def ipv4_cidr(plan: Plan) -> str:
    return f"{plan.ipv4_address}/{plan.ipv4_prefix_len}"


def netmask(prefix_len: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix_len}").netmask)


def pool_ranges(plan: Plan) -> list[str]:
    """The NAT pool (port set minus forwarded ports) as ``first-last`` strings."""
    return [f"{first}-{last}" for first, last in plan.pool]


def operator_label(mapping: Mapping) -> str:
    isp = mapping.rule.isp
    if isp is None:
        return "no operator"
    return isp if _LABEL.fullmatch(isp) else "operator from a rule file"


def summary(mapping: Mapping, plan: Plan) -> list[str]:
    """What the configuration encodes, for the comment header of every format."""
    rule = mapping.rule
    ports = plan.port_set
    iid = "legacy draft-03 IID" if mapping.iid is IidFormat.LEGACY else "RFC 7597 IID"
    lines = [
        f"End-user prefix {mapping.to_dict()['end_user_prefix']} ({operator_label(mapping)})",
        f"Rule {rule.ipv6_prefix} -> {rule.ipv4_prefix}, EA {rule.ea_len} bits, "
        f"PSID offset {rule.psid_offset}, PSID length {rule.psid_len}",
        f"IPv4 {plan.ipv4_address}/{plan.ipv4_prefix_len}, PSID {mapping.psid}, "
        f"{ports.count} ports in {ports.block_count} block(s) of {ports.block_size}",
        f"CE IPv6 {plan.ce_address} ({iid}), BR {plan.tunnel.remote}, MTU {plan.tunnel.mtu}",
    ]
    lines += [f"Forward {fwd.describe()}" for fwd in plan.forwards]
    lines += [f"Note: {note}" for note in plan.notes]
    return lines


def header(mark: str, title: str, mapping: Mapping, plan: Plan) -> list[str]:
    """Comment lines for the top of a file."""
    lines = [f"{mark} generated by mapekit export: {title}"]
    return lines + [f"{mark} {line}" for line in summary(mapping, plan)]


def experimental_lines(mark: str, unverified: list[str]) -> list[str]:
    """The EXPERIMENTAL warning: which lines no document we checked confirms."""
    shown = unverified[:MAX_SHOWN]
    more = len(unverified) - len(shown)
    lines = [
        f"{mark} EXPERIMENTAL: no vendor document or published configuration we checked "
        f"confirms {len(unverified)} line(s) below; review them before you load this:",
        *(f"{mark}   {line}" for line in shown),
    ]
    if more:
        lines.append(f"{mark}   … and {more} more (docs/export.md lists the grammar)")
    return lines


def need_isp(mapping: Mapping, table: dict[str, str], vendor: str) -> str:
    """The vendor's name for the operator in automatic mode, or an error naming the choices."""
    isp = mapping.rule.isp
    if isp is None or isp not in table:
        known = ", ".join(sorted(table))
        raise ExportError(
            "usage.invalid_arguments",
            f"mode: {vendor}'s automatic mode knows only {known}, not "
            f"{operator_label(mapping)}; use --mode static",
            field="mode",
            value="auto",
        )
    return table[isp]


def lines_text(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"

"""What must exist on a CE for a mapping: the pure plan, applied by the appliers.

From a mapping and the interface names: the CE IPv6 address (/128) on the WAN, the
IPv4-in-IPv6 tunnel (local = CE address, remote = BR, MTU 1460, no encapsulation-limit
option, hop limit 64), the IPv4 address on the tunnel, the IPv4 default route, FMR routes,
port forwards, and the nftables ruleset (``nftables.render``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mapekit.core.addr import ipv4_text, ipv6_text
from mapekit.core.errors import InputError
from mapekit.core.mapping import TUNNEL_MTU, Mapping
from mapekit.core.portset import PortSet
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane.policy import PortPolicy
from mapekit.dataplane.portmap import PortMap, whole_set_map

IFNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
PROTOCOLS = ("tcp", "udp")


def check_ifname(name: str, field: str) -> str:
    """Interface names go into netlink and nftables: a strict pattern, never free text."""
    if not IFNAME.fullmatch(name):
        raise InputError(
            "input.value_range",
            f"{field}: {name!r} is not an interface name (letters, digits, _ . -; at most 15)",
            field=field,
            value=name,
        )
    return name


@dataclass(frozen=True)
class Forward:
    """An inbound port forward: public ``port`` (inside the port set) → ``address:to_port``."""

    protocol: str
    port: int
    address: ipaddress.IPv4Address
    to_port: int

    def describe(self) -> str:
        return f"{self.protocol}:{self.port}={self.address}:{self.to_port}"


def parse_forward(text: str, ports: PortSet) -> Forward:
    """``PROTO:PORT=LANADDR[:PORT]``, refused with the nearest usable ports when outside."""
    proto, _, rest = text.partition(":")
    public, _, target = rest.partition("=")
    address, _, to_port = target.partition(":")
    if proto not in PROTOCOLS or not public.isdigit() or not address:
        raise InputError(
            "input.value_range",
            f"forward: {text!r} is not PROTO:PORT=LANADDR[:PORT] (PROTO tcp or udp)",
            field="forward",
            value=text,
        )
    port = int(public)
    try:
        lan = ipaddress.IPv4Address(address)
    except ValueError:
        raise InputError(
            "input.address_syntax", f"forward: {address!r} is not an IPv4 address",
            field="forward", value=text,
        ) from None  # fmt: skip
    if to_port and (not to_port.isdigit() or not 0 < int(to_port) <= 0xFFFF):
        raise InputError("input.port_syntax", f"forward: bad port {to_port!r}", field="forward")
    if port not in ports or port == 0:
        near = ", ".join(str(p) for p in ports.nearest(port, 4))
        raise InputError(
            "lookup.port_outside_set",
            f"forward: port {port} is not in this CE's port set; the nearest usable ports "
            f"are {near}",
            field="forward",
            value=text,
        )
    return Forward(proto, port, lan, int(to_port) if to_port else port)


@dataclass(frozen=True)
class Tunnel:
    name: str
    local: str  # CE IPv6 address
    remote: str  # BR IPv6 address
    mtu: int = TUNNEL_MTU
    hop_limit: int = 64
    encap_limit: None = None  # never an encapsulation-limit option (RFC 2473 §6.6)


@dataclass(frozen=True)
class Plan:
    """Everything the CE must have, as data."""

    wan: str
    tunnel: Tunnel
    ce_address: str  # on the WAN, /128
    ipv4_address: str  # on the tunnel, /32 (or the CE's IPv4 prefix)
    ipv4_prefix_len: int
    port_set: PortSet
    pool: tuple[tuple[int, int], ...]  # NAT port ranges (the set minus forwarded ports)
    default_route: bool
    fmr_routes: tuple[str, ...] = ()
    forwards: tuple[Forward, ...] = ()
    lan: str | None = None
    table: str = "mapekit"
    notes: tuple[str, ...] = field(default=())
    policy: PortPolicy = field(default_factory=PortPolicy)
    # the NAT's whole-set range, when the data plane translates (mapekit.dataplane.portmap)
    port_map: PortMap | None = None

    def nat_port(self, port: int) -> int:
        """The port conntrack and nftables see for a port of the set."""
        if self.port_map is None:
            return port
        virtual = self.port_map.to_virtual(port)
        return port if virtual is None else virtual

    def to_dict(self) -> dict[str, object]:
        return {
            "wan": self.wan,
            "lan": self.lan,
            "ce_address": f"{self.ce_address}/128",
            "tunnel": {
                "name": self.tunnel.name,
                "mode": "ipip6",
                "local": self.tunnel.local,
                "remote": self.tunnel.remote,
                "mtu": self.tunnel.mtu,
                "hop_limit": self.tunnel.hop_limit,
                "encap_limit": "none",
            },
            "ipv4_address": f"{self.ipv4_address}/{self.ipv4_prefix_len}",
            "default_route": self.default_route,
            "fmr_routes": list(self.fmr_routes),
            "nat_pool": [list(r) for r in self.pool],
            "nat_range": None if self.port_map is None else self.port_map.to_dict(),
            "forwards": [f.describe() for f in self.forwards],
            "nft_table": f"ip {self.table}",
            "port_policy": self.policy.to_dict(),
            "notes": list(self.notes),
        }


def nat_pool(ports: PortSet, reserved: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """The port set's ranges with the forwarded ports taken out."""
    pool: list[tuple[int, int]] = []
    taken = sorted(set(reserved))
    for first, last in ports.ranges():
        start = first
        for port in taken:
            if start <= port <= last:
                if port > start:
                    pool.append((start, port - 1))
                start = port + 1
        if start <= last:
            pool.append((start, last))
    return tuple(pool)


def make_plan(
    mapping: Mapping,
    wan: str,
    *,
    tunnel_name: str = "mape0",
    lan: str | None = None,
    forwards: Sequence[str] = (),
    rules: RuleSet | None = None,
    default_route: bool = True,
    policy: PortPolicy | None = None,
    whole_set: bool = False,
) -> Plan:
    """The plan for ``mapping``; ``rules`` (the whole delivered set) adds FMR routes.
    ``whole_set``: the data plane translates ports, so the NAT gets one contiguous range
    standing for the whole set (mapekit.dataplane.portmap)."""
    if mapping.rule.br is None:
        raise InputError("rules.br_missing", "br: the rule has no BR address", field="br")
    check_ifname(wan, "wan")
    check_ifname(tunnel_name, "tunnel")
    if lan is not None:
        check_ifname(lan, "lan")
    ports = mapping.port_set
    parsed = tuple(parse_forward(text, ports) for text in forwards)
    seen: set[tuple[str, int]] = set()
    for fwd in parsed:
        if (fwd.protocol, fwd.port) in seen:
            raise InputError(
                "input.value_range", f"forward: {fwd.protocol}:{fwd.port} given twice",
                field="forward",
            )  # fmt: skip
        seen.add((fwd.protocol, fwd.port))
    fmrs = tuple(
        str(r.ipv4_prefix)
        for r in (rules or ())
        if r.fmr and r is not mapping.rule and r.isp == mapping.rule.isp  # same operator only
    )
    if mapping.rule.fmr:
        fmrs = (str(mapping.rule.ipv4_prefix), *fmrs)
    notes = tuple(w.message for w in mapping.warnings)
    return Plan(
        wan=wan,
        tunnel=Tunnel(tunnel_name, ipv6_text(mapping.ce_ipv6), str(mapping.rule.br)),
        ce_address=ipv6_text(mapping.ce_ipv6),
        ipv4_address=ipv4_text(mapping.ipv4),
        ipv4_prefix_len=mapping.ipv4_len,
        port_set=ports,
        pool=nat_pool(ports, [f.port for f in parsed]),
        default_route=default_route,
        fmr_routes=fmrs,
        forwards=parsed,
        lan=lan,
        notes=notes,
        policy=policy or PortPolicy(),
        port_map=whole_set_map(ports, [f.port for f in parsed]) if whole_set else None,
    )

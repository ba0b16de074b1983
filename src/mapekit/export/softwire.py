"""What a DS-Lite or IPIP export is made from: :class:`SoftwireLine`, and the comment header
every format puts on top.

A DS-Lite line (RFC 6333) has a B4 address (the prefix's subnet 0 with ``::b4``, mapekit's
choice; routers choose their own), the AFTR — by name, by address or both — and 192.0.0.2/29
on the tunnel with no NAT on the router: the AFTR translates. An IPIP fixed-address line
has the tunnel address (subnet 0 of the delegated prefix, or the RA /64, with the
operator's interface ID), the operator's endpoint and the fixed IPv4 address, to which the
LAN is NATed (a routed prefix is not NATed). Both: MTU 1460 and no encapsulation limit
(docs/design.md §7).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from mapekit.core.mapping import TUNNEL_MTU
from mapekit.core.softwire import Softwire
from mapekit.export.common import ExportError

IID_MASK = (1 << 64) - 1
RA_ONLY_LENGTH = 64  # a line with only the RA /64, no DHCPv6-PD


@dataclass(frozen=True)
class SoftwireLine:
    """A softwire for one End-user prefix, as the exports need it."""

    mechanism: str  # dslite | ipip
    prefix: str  # the End-user prefix, e.g. "2001:db8:12:3400::/56"
    local: str  # the B4 address, or the IPIP tunnel address
    remote: str | None  # the AFTR's or endpoint's address (None: a DS-Lite AFTR by name only)
    remote_name: str | None  # the AFTR's name, when it has one
    ipv4: str
    ipv4_prefix_len: int
    nat: bool
    update_url: str | None = None  # IPIP: the operator's update URL (for formats that call it)

    def __post_init__(self) -> None:
        if self.remote is None and self.remote_name is None:
            raise ValueError("a softwire needs the remote's address or name")

    @classmethod
    def of(cls, wire: Softwire, prefix: str, update_url: str | None = None) -> SoftwireLine:
        return cls(wire.mechanism, prefix, wire.local, wire.remote, wire.remote_name,
                   wire.ipv4, wire.ipv4_prefix_len, wire.nat, update_url)  # fmt: skip

    @property
    def dslite(self) -> bool:
        return self.mechanism == "dslite"

    @property
    def prefix_len(self) -> int:
        return ipaddress.IPv6Network(self.prefix, strict=False).prefixlen

    @property
    def ra_only(self) -> bool:
        return self.prefix_len == RA_ONLY_LENGTH

    @property
    def interface_id(self) -> str:
        """The low 64 bits of the CE's address, as an address (``::1234:5678:9abc:def0``)."""
        return str(ipaddress.IPv6Address(int(ipaddress.IPv6Address(self.local)) & IID_MASK))

    @property
    def peer(self) -> str:
        """The AFTR or endpoint as a router that resolves names should be told: the name
        when there is one, else the address."""
        return self.remote_name or str(self.remote)

    def softwire(self) -> Softwire:
        """The data plane's softwire (the remote's address is needed)."""
        if self.remote is None:
            raise ExportError(
                "usage.invalid_arguments",
                f"aftr: this format needs the AFTR's address, not only its name "
                f"{self.remote_name}: give --aftr-address (or let mape export resolve it)",
                field="aftr",
            )
        return Softwire(self.mechanism, self.local, self.remote, self.remote_name, self.ipv4,
                        self.ipv4_prefix_len, self.nat)  # fmt: skip

    def to_dict(self) -> dict[str, object]:
        return {
            "mechanism": self.mechanism, "prefix": self.prefix, "local": self.local,
            "remote": self.remote, "remote_name": self.remote_name, "ipv4": self.ipv4,
            "ipv4_prefix_len": self.ipv4_prefix_len, "nat": self.nat,
            "interface_id": None if self.dslite else self.interface_id,
            "mtu": TUNNEL_MTU, "encap_limit": "none",
        }  # fmt: skip


def _remote(line: SoftwireLine) -> str:
    if line.remote and line.remote_name:
        return f"{line.remote_name} ({line.remote})"
    return line.peer


def summary(line: SoftwireLine, own_b4: bool = False) -> list[str]:
    """What the configuration encodes, for the comment header of every format (``own_b4``:
    the configuration puts mapekit's B4 address on the WAN; routers pick their own)."""
    if line.dslite:
        b4 = f"{line.local} (subnet 0, ::b4)" if own_b4 else "the router's own WAN address"
        return [
            f"DS-Lite (RFC 6333) on End-user prefix {line.prefix}",
            f"AFTR {_remote(line)}; B4 address {b4}",
            f"IPv4 {line.ipv4}/{line.ipv4_prefix_len} on the tunnel, no NAT here: the AFTR "
            "translates",
            f"MTU {TUNNEL_MTU}, no encapsulation limit",
        ]
    how = "the LAN is NATed to it" if line.nat else "routed to the LAN"
    return [
        f"IPIP fixed IPv4 on End-user prefix {line.prefix}",
        f"Tunnel address {line.local} (subnet 0 + interface ID {line.interface_id}), "
        f"endpoint {_remote(line)}",
        f"Fixed IPv4 {line.ipv4}/{line.ipv4_prefix_len}: {how}",
        f"MTU {TUNNEL_MTU}, no encapsulation limit",
    ]


NO_UPDATE = (
    "After a prefix change the tunnel address changes: redo this and call the operator's "
    "update URL yourself (mape agent does both)."
)


def header(mark: str, title: str, line: SoftwireLine, own_b4: bool = False) -> list[str]:
    lines = summary(line, own_b4)
    return [f"{mark} generated by mapekit export: {title}", *(f"{mark} {s}" for s in lines)]


def need_one_address(line: SoftwireLine, vendor: str) -> None:
    """Vendor formats NAT the LAN to one fixed address; a routed prefix is the user's LAN
    design (refused, naming the formats that do route it)."""
    if not line.dslite and not line.nat:
        raise ExportError(
            "usage.invalid_arguments",
            f"ipv4: {vendor}: a routed IPv4 prefix ({line.ipv4}/{line.ipv4_prefix_len}) means "
            "numbering the LAN from it, which this export does not do; give the one fixed "
            "address, or use --format linux or networkd (they route the prefix)",
            field="ipv4",
        )

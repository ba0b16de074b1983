"""Who the client is: one rule, in one place.

The client address is the TCP peer of the connection (the ASGI server's proxy-header
handling is off, so nothing rewrites it). Only when ``header`` is configured *and* the
peer is inside one of the ``trusted`` networks does the address come from that header
instead — it must then hold exactly one IP address (no list, no port, no zone), or the
request is refused. Every other header (``X-Forwarded-For``, ``Forwarded``, …) is ignored,
whoever sends it. Rate limits are keyed by the subscriber a request maps to, or else by
the client's /64 (IPv6) or address (IPv4), so rotating addresses inside one's own prefix
gains nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadClientAddress(ValueError):
    """A trusted proxy sent a client-address header that is not one IP address."""


@dataclass(frozen=True)
class ClientRule:
    header: str | None = None
    trusted: Sequence[Network] = ()


def parse_address(text: str) -> Address | None:
    """An IP address without a zone; IPv4-mapped IPv6 becomes IPv4."""
    if "%" in text or len(text) > 45:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str, headers: Mapping[str, str], rule: ClientRule) -> Address | None:
    """The client's address under the rule above (None: the peer is not an IP address)."""
    address = parse_address(peer)
    if rule.header is None or address is None:
        return address
    if not any(address.version == net.version and address in net for net in rule.trusted):
        return address
    value = headers.get(rule.header)
    forwarded = parse_address(value) if value is not None else None
    if forwarded is None:
        raise BadClientAddress(f"{rule.header}: {str(value)[:60]!r} is not one IP address")
    return forwarded


def limit_key(address: Address | None, subscriber_id: str | None) -> str:
    """The rate-limit bucket: the subscriber, else the client's /64 (IPv6) or address."""
    if subscriber_id is not None:
        return f"sub:{subscriber_id}"
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
    return str(address)

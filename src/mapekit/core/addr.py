"""Address and prefix text ↔ integers, with errors that name the field.

The mapping engine works on integers (an IPv6 address is a 128-bit int); these helpers
are the only place that parses or prints address text.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import TypeVar

from mapekit.core.errors import InputError

V6_BITS = 128
V4_BITS = 32
ALL_ONES_128 = (1 << 128) - 1

_N = TypeVar("_N", ipaddress.IPv4Network, ipaddress.IPv6Network)


def mask(bits: int, length: int) -> int:
    """The network mask of ``length`` bits in a ``bits``-wide address."""
    return ((1 << length) - 1) << (bits - length)


def parse_ipv6_network(text: str, field: str) -> ipaddress.IPv6Network:
    """A strict IPv6 prefix: the address part must have no bits after the length."""
    return _parse_network(text, field, ipaddress.IPv6Network, "IPv6")


def parse_ipv4_network(text: str, field: str) -> ipaddress.IPv4Network:
    """A strict IPv4 prefix: the address part must have no bits after the length."""
    return _parse_network(text, field, ipaddress.IPv4Network, "IPv4")


def _parse_network(text: str, field: str, kind: type[_N], family: str) -> _N:
    if not isinstance(text, str) or "/" not in text:
        raise InputError(
            "input.prefix_syntax",
            f"{field}: {text!r} is not an {family} prefix (expected ADDRESS/LENGTH)",
            field=field,
            value=text,
        )
    try:
        return kind(text.strip())
    except ValueError as exc:
        strict_error = exc
    try:
        loose = kind(text.strip(), strict=False)
    except ValueError:
        raise InputError(
            "input.prefix_syntax",
            f"{field}: {text!r} is not an {family} prefix ({strict_error})",
            field=field,
            value=text,
        ) from None
    raise InputError(
        "input.prefix_host_bits",
        f"{field}: {text!r} has bits set after /{loose.prefixlen}; "
        f"the prefix is {loose.with_prefixlen}",
        field=field,
        value=text,
    )


def parse_ipv6_address(text: str, field: str) -> ipaddress.IPv6Address:
    try:
        return _ipv6_address(text.strip())
    except (ValueError, AttributeError):
        raise InputError(
            "input.address_syntax",
            f"{field}: {text!r} is not an IPv6 address",
            field=field,
            value=text,
        ) from None


@functools.lru_cache(maxsize=64)
def _ipv6_address(text: str) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(text)  # cached: rule tables repeat a few BR addresses


def parse_ipv4_address(text: str, field: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text.strip())
    except (ValueError, AttributeError):
        raise InputError(
            "input.address_syntax",
            f"{field}: {text!r} is not an IPv4 address",
            field=field,
            value=text,
        ) from None


def parse_end_user_prefix(text: str, field: str = "prefix") -> tuple[int, int]:
    """An End-user prefix as ``(value, length)``.

    Accepts a prefix (``240b:10:3f6c:d400::/56``) or an address with its prefix length as
    ``ip -6 addr`` shows it (``240b:10:3f6c:d400::1/64``): bits after the length are
    dropped, since only the prefix counts.
    """
    text = text.strip() if isinstance(text, str) else text
    if not isinstance(text, str) or "/" not in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            pass
        else:
            raise InputError(
                "input.prefix_length_missing",
                f"{field}: {text!r} has no prefix length; add /56 for a delegated prefix "
                "or /64 for a router-advertised one",
                field=field,
                value=text,
            )
    try:
        iface = ipaddress.IPv6Interface(text)
    except ValueError as exc:
        raise InputError(
            "input.prefix_syntax",
            f"{field}: {text!r} is not an IPv6 prefix ({exc})",
            field=field,
            value=text,
        ) from None
    length = iface.network.prefixlen
    if length > 64:
        raise InputError(
            "input.end_user_prefix_too_long",
            f"{field}: /{length} is longer than /64; an End-user prefix needs the low 64 bits "
            "for the MAP-E interface id",
            field=field,
            value=text,
        )
    return int(iface.network.network_address), length


def ipv6_text(value: int) -> str:
    """Compressed text of a 128-bit address."""
    return str(ipaddress.IPv6Address(value))


def ipv4_text(value: int) -> str:
    return str(ipaddress.IPv4Address(value))

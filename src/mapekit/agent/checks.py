"""The checks of the agent's configuration values: each takes a typed value and returns it
(perhaps normalised) or raises ValueError saying what is wrong, in words a person can act on.
The configuration module adds the key's name.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import stat
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from mapekit.core.errors import MapeError
from mapekit.core.tables import load_rule_file
from mapekit.dataplane.plan import IFNAME, PROTOCOLS

Check = Callable[[Any], Any]

GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
SUN_PATH_MAX = 107  # bytes in a Unix socket path, without the final NUL
_LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_OCN_CODE = re.compile(r"[0-9A-Za-z_-]{4,64}")
_FORWARD = re.compile(r"(tcp|udp):(\d{1,5})=([0-9.]+)(?::(\d{1,5}))?")


def one_of(*allowed: str) -> Check:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{value!r:.40} is not one of {', '.join(allowed)}")
        return value

    return check


def hex_code(length: int) -> Check:
    pattern = re.compile(f"[0-9a-fA-F]{{{length}}}")

    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r:.40} is not {length} hexadecimal digits")
        return value.lower()

    return check


def ocn_code(value: str) -> str:
    if not _OCN_CODE.fullmatch(value):
        raise ValueError(f"{value!r:.40} is not 4 to 64 letters, digits, - or _")
    return value


def label(value: str) -> str:
    if not _LABEL.fullmatch(value):
        raise ValueError(f"{value!r:.40} is not a label (lowercase letters, digits, - _)")
    return value


def _url(value: str, schemes: tuple[str, ...]) -> str:
    if len(value) > 2048 or any(c.isspace() or ord(c) < 0x20 for c in value):
        raise ValueError("not a URL (spaces, control characters, or longer than 2048)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"{value!r:.60} is not a URL ({exc})") from None
    if parts.scheme not in schemes:
        raise ValueError(f"{value!r:.60}: the scheme must be {' or '.join(schemes)}")
    if not parts.hostname:
        raise ValueError(f"{value!r:.60} has no host")
    if parts.username or parts.password:
        raise ValueError("credentials do not belong in the URL")
    return value


def https_url(value: str) -> str:
    """http or https (a lab or an operator may use plain http; verification is on for https)."""
    return _url(value, ("https", "http"))


def http_url_or_empty(value: str) -> str:
    return value if value == "" else _url(value, ("http",))


def ifname(value: str) -> str:
    if not IFNAME.fullmatch(value) or value in (".", ".."):
        raise ValueError(f"{value!r:.40} is not an interface name (1 to 15 letters, digits, _ . -)")
    return value


def ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValueError(f"{value!r:.60} is not an IP address") from None


def global_prefix(value: str) -> str:
    try:
        network = ipaddress.IPv6Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r:.60} is not an IPv6 prefix ({exc})") from None
    if not network.subnet_of(GLOBAL_UNICAST) or not 32 <= network.prefixlen <= 64:
        raise ValueError(f"{value} is not a global unicast prefix of /32 to /64")
    return str(network)


def absolute_path(value: str) -> str:
    if not value.startswith("/") or "\0" in value or len(value) > 4096:
        raise ValueError(f"{value!r:.60} is not an absolute path")
    return value


def existing_file(value: str) -> str:
    absolute_path(value)
    try:
        info = os.stat(value)
    except OSError as exc:
        raise ValueError(f"{value}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{value}: not a regular file")
    return value


def rule_file(value: str) -> str:
    existing_file(value)
    try:
        load_rule_file(value)
    except MapeError as exc:
        raise ValueError(exc.message) from None
    return value


def directory(value: str) -> str:
    absolute_path(value)
    if os.path.exists(value) and not os.path.isdir(value):
        raise ValueError(f"{value}: exists and is not a directory")
    return value


def socket_path(value: str) -> str:
    absolute_path(value)
    if len(value.encode()) > SUN_PATH_MAX:
        raise ValueError(f"{value}: longer than {SUN_PATH_MAX} bytes (a socket path's limit)")
    return value


def listen_or_empty(value: str) -> str:
    if value == "":
        return value
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{value!r:.60} is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)") from None
    if not sep or not port.isdigit() or not 0 < int(port) <= 0xFFFF:
        raise ValueError(f"{value!r:.60} needs a port from 1 to 65535")
    return value


def timer_scale(value: float) -> float:
    if not math.isfinite(value) or not 0 < value <= 100:
        raise ValueError(f"{value} is not a finite number above 0 and at most 100")
    return float(value)


def forwards(value: list[object]) -> list[str]:
    """Each ``PROTO:PORT=LANADDR[:PORT]``; whether PORT is in the port set is checked when
    the mapping is known."""
    for index, item in enumerate(value):
        match = _FORWARD.fullmatch(item) if isinstance(item, str) else None
        if match is None:
            raise ValueError(f"[{index}] {item!r:.60} is not PROTO:PORT=LANADDR[:PORT] "
                             f"(PROTO {' or '.join(PROTOCOLS)})")  # fmt: skip
        ports = [int(p) for p in (match[2], match[4]) if p]
        if not all(0 < p <= 0xFFFF for p in ports):
            raise ValueError(f"[{index}] {item!r}: ports are 1 to 65535")
        try:
            ipaddress.IPv4Address(match[3])
        except ValueError:
            raise ValueError(f"[{index}] {match[3]!r} is not an IPv4 address") from None
    return [str(item) for item in value]


def count(high: int, low: int = 0) -> Check:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise ValueError(f"{value} is not a whole number from {low} to {high}")
        return value

    return check


def cap_overrides(value: list[object]) -> list[str]:
    """Each ``LANADDR=N``: an IPv4 address and a cap (0: none); each host once."""
    seen = set()
    for index, item in enumerate(value):
        host, sep, cap = item.partition("=") if isinstance(item, str) else ("", "", "")
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"[{index}] {item!r:.60} is not LANADDR=N") from None
        if not sep or not cap.isdigit() or int(cap) > 65535:
            raise ValueError(f"[{index}] {item!r:.60} is not LANADDR=N (N from 0 to 65535)")
        if address in seen:
            raise ValueError(f"[{index}] {address} is given twice")
        seen.add(address)
    return [str(item) for item in value]


_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def token(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError("not 16 to 128 letters, digits, - or _")
    return value


def loopback(listen: str) -> bool:
    """True when ``ADDRESS:PORT`` names a loopback address."""
    host = listen.rpartition(":")[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HOST = re.compile(
    r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)


def host_or_ipv6(value: str) -> str:
    if ":" in value:
        return ipv6_address(value)
    if not _HOST.fullmatch(value):
        raise ValueError(f"{value!r:.60} is neither a host name nor an IPv6 address")
    return value.rstrip(".").lower()


def ipv6_address(value: str) -> str:
    try:
        return str(ipaddress.IPv6Address(value))
    except ValueError:
        raise ValueError(f"{value!r:.60} is not an IPv6 address") from None


def interface_id(value: str) -> str:
    """``::a:b:c:d`` (the lower 64 bits of an address)."""
    try:
        number = int(ipaddress.IPv6Address(value))
    except ValueError:
        raise ValueError(
            f"{value!r:.60} is not an interface id like ::1234:5678:9abc:def0"
        ) from None
    if number >> 64 or number == 0:
        raise ValueError(f"{value} is not 64 bits (the upper half must be zero)")
    return value


def ipv4_address_or_prefix(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r:.40} is not an IPv4 address or prefix ({exc})") from None
    if (
        not network.network_address.is_global
        and not network.subnet_of(ipaddress.IPv4Network("192.0.2.0/24"))
        and not network.subnet_of(ipaddress.IPv4Network("203.0.113.0/24"))
    ):
        raise ValueError(f"{value} is not a global address")
    return str(network)


def https_url_template(value: str) -> str:
    """An http(s) URL that may hold ``{address}``, ``{prefix}``, ``{user}``, ``{password}``."""
    filled = value
    for name in ("address", "prefix", "user", "password"):
        filled = filled.replace("{" + name + "}", "x")
    if "{" in filled or "}" in filled:
        raise ValueError("only {address}, {prefix}, {user} and {password} may be filled in")
    https_url(filled)
    return value


def credential(value: str) -> str:
    if not 0 < len(value) <= 256 or any(ord(c) < 0x20 for c in value):
        raise ValueError("1 to 256 characters, no control characters")
    return value

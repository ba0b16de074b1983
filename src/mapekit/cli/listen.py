"""``--listen HOST:PORT`` for the commands that serve (``[IPV6]:PORT`` for IPv6)."""

from __future__ import annotations

import ipaddress
import re
import socket

from mapekit.cli.output import UsageError

_HOSTNAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+")


def _bad_listen(text: str, why: str) -> UsageError:
    return UsageError(
        "usage.invalid_arguments", f"listen: {text!r} {why}", field="listen", value=text
    )


def shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _split_listen(text: str) -> tuple[str, str]:
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise _bad_listen(text, "is not [IPV6-ADDRESS]:PORT")
        return host, port
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise _bad_listen(text, "is not HOST:PORT (e.g. 0.0.0.0:8888 or [::]:8888)")
    if ":" in host:
        raise _bad_listen(text, "has an IPv6 address without brackets; write [ADDR]:PORT")
    return host, port


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` → (host, port); a bad value raises UsageError."""
    host, port = _split_listen(text)
    if not port.isdigit() or int(port) > 0xFFFF:
        raise _bad_listen(text, "needs a port from 0 to 65535")
    if text.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad_listen(text, f"has {host!r} in brackets, not an IPv6 address") from None
    elif not _HOSTNAME.fullmatch(host):
        raise _bad_listen(text, f"has {host!r}, neither an IPv4 address nor a host name")
    return host, int(port)


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port); failure raises UsageError on ``listen``."""
    where = shown(host, port)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise _bad_listen(where, f"cannot be resolved: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise _bad_listen(where, f"cannot be listened on: {exc.strerror or exc}") from None
    return sock

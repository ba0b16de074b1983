"""One ICMPv6 echo (raw socket, root) to the BR, the AFTR or an IPIP endpoint, and what came
back: the echo reply, an ICMPv6 destination unreachable about it (RFC 4443 §3.1, with its
code and the router that sent it), no route on this host (the echo cannot be sent), or
nothing before the deadline.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import time

from mapekit.diag.model import Probe, Reach

ECHO_REQUEST, ECHO_REPLY, DEST_UNREACHABLE = 128, 129, 1
IPV6_HEADER = 40
UNREACHABLE_CODES = {
    0: "no route to destination",
    1: "administratively prohibited",
    2: "beyond the scope of the source address",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed ingress/egress policy",
    6: "reject route to destination",
}


def _echo(ident: int) -> bytes:
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, 1) + b"mapekit"  # kernel checksums


def _about_our_echo(data: bytes, ident: int, target: bytes) -> bool:
    """An ICMPv6 error carries the start of the packet it is about: our echo to target."""
    inner = data[8:]
    if len(inner) < IPV6_HEADER + 8 or inner[24:40] != target:
        return False
    echo = inner[IPV6_HEADER:]
    return echo[0] == ECHO_REQUEST and struct.unpack("!H", echo[4:6])[0] == ident


def _read(sock: socket.socket, address: str, ident: int, deadline: float) -> Probe:
    target = ipaddress.IPv6Address(address).packed
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, peer = sock.recvfrom(2048)
        except TimeoutError:
            break
        if len(data) < 8:
            continue
        if data[0] == ECHO_REPLY and struct.unpack("!H", data[4:6])[0] == ident:
            return Probe(address, Reach.REPLY)
        if data[0] == DEST_UNREACHABLE and _about_our_echo(data, ident, target):
            why = UNREACHABLE_CODES.get(data[1], f"code {data[1]}")
            return Probe(address, Reach.UNREACHABLE,
                         f"ICMPv6 destination unreachable ({why}) from {peer[0]}")  # fmt: skip
    return Probe(address, Reach.TIMEOUT)


def probe6(address: str, timeout: float = 2.0) -> Probe | None:
    """One echo to ``address``; None when it cannot be tried (no raw socket: not root)."""
    try:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    except OSError:
        return None
    with sock:
        ident = (os.getpid() ^ int(time.monotonic() * 1000)) & 0xFFFF
        try:
            sock.sendto(_echo(ident), (address, 0))
        except OSError as exc:
            return Probe(address, Reach.NO_ROUTE, f"sending the echo: {_why(exc)}")
        try:
            return _read(sock, address, ident, time.monotonic() + timeout)
        except OSError as exc:
            return Probe(address, Reach.NO_ROUTE, f"receiving: {_why(exc)}")


def _why(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else str(exc)


def ping6(address: str, timeout: float = 2.0) -> bool | None:
    """One ICMPv6 echo (root): answered or not; None when it cannot be tried."""
    probe = probe6(address, timeout)
    return None if probe is None else probe.result is Reach.REPLY

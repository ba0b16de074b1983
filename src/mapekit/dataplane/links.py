"""Links, addresses and routes through netlink (pyroute2); idempotent.

Every function works in the calling process's network namespace, does nothing when the
state is already right, and reports failures as DataplaneError with the interface named.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pyroute2 import IPRoute  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from mapekit.core.errors import MapeError

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


class DataplaneError(MapeError):
    """A device, address, route or ruleset could not be set up."""


@contextmanager
def netlink() -> Iterator[Any]:
    ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def _index(ipr: Any, name: str) -> int:
    found = ipr.link_lookup(ifname=name)
    if not found:
        raise DataplaneError(
            "dataplane.no_device", f"{name}: no such interface", field="interface", value=name
        )
    return int(found[0])


def open_tun(name: str) -> int:
    """A TUN device carrying bare IPv4/IPv6 packets (no packet info); returns its fd."""
    try:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    except OSError as exc:
        raise DataplaneError(
            "dataplane.setup", f"/dev/net/tun: {exc.strerror}", field="tunnel"
        ) from None
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError as exc:
        os.close(fd)
        raise DataplaneError(
            "dataplane.setup", f"{name}: cannot create TUN device: {exc.strerror}",
            field="tunnel",
        ) from None  # fmt: skip
    return fd


def set_link(name: str, *, mtu: int | None = None, up: bool = True) -> None:
    with netlink() as ipr:
        index = _index(ipr, name)
        try:
            if mtu is not None:
                ipr.link("set", index=index, mtu=mtu)
            ipr.link("set", index=index, state="up" if up else "down")
        except NetlinkError as exc:
            raise DataplaneError("dataplane.setup", f"{name}: {exc}", field="interface") from None


def link_mtu(name: str) -> int:
    with netlink() as ipr:
        link = ipr.get_links(_index(ipr, name))[0]
        return int(link.get_attr("IFLA_MTU"))


def ensure_address(name: str, address: str, prefix_len: int) -> bool:
    """Add ``address/prefix_len`` to ``name`` unless present; True when added."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with netlink() as ipr:
        index = _index(ipr, name)
        for entry in ipr.get_addr(index=index, family=family):
            if entry.get_attr("IFA_ADDRESS") == address and entry["prefixlen"] == prefix_len:
                return False
        extra: dict[str, Any] = {}
        if family == socket.AF_INET6:
            extra["flags"] = 0x02  # IFA_F_NODAD: the MAP address is ours by construction
        try:
            ipr.addr("add", index=index, address=address, prefixlen=prefix_len, **extra)
        except NetlinkError as exc:
            if exc.code != 17:  # EEXIST
                raise DataplaneError(
                    "dataplane.setup", f"{name}: cannot add {address}: {exc}", field="interface"
                ) from None
        return True


def remove_address(name: str, address: str, prefix_len: int) -> None:
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return
        with contextlib.suppress(NetlinkError):  # already gone
            ipr.addr("del", index=found[0], address=address, prefixlen=prefix_len)


def ensure_route(destination: str, device: str, *, table: int = 254) -> None:
    """``destination`` (IPv4 CIDR or "default") through ``device``; replaced if different."""
    with netlink() as ipr:
        index = _index(ipr, device)
        dst = None if destination == "default" else destination
        try:
            ipr.route("replace", dst=dst, oif=index, table=table, family=socket.AF_INET)
        except NetlinkError as exc:
            raise DataplaneError(
                "dataplane.setup", f"route {destination} via {device}: {exc}", field="route"
            ) from None


def has_default_route(family: int = socket.AF_INET) -> bool:
    with netlink() as ipr:
        return any(r.get_attr("RTA_DST") is None and r["dst_len"] == 0
                   for r in ipr.get_routes(family=family, table=254))  # fmt: skip


def set_sysctl(path: str, value: str) -> bool:
    """Write ``/proc/sys/<path>``; True when it changed."""
    target = "/proc/sys/" + path.replace(".", "/")
    with open(target) as handle:
        if handle.read().strip() == value:
            return False
    with open(target, "w") as handle:
        handle.write(value)
    return True


def global_ipv6(name: str) -> list[tuple[int, int]]:
    """Global IPv6 addresses of ``name`` as (address, prefix length), longest-lived first."""
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return []
        out = []
        for entry in ipr.get_addr(index=found[0], family=socket.AF_INET6):
            address = ipaddress.IPv6Address(entry.get_attr("IFA_ADDRESS"))
            if address.is_global or address in ipaddress.IPv6Network("2001:db8::/32"):
                out.append((int(address), int(entry["prefixlen"])))
        return out


def has_ip6tnl() -> bool:
    """True when this kernel can make ip6tnl devices (the module is loaded or loadable)."""
    if os.path.exists("/sys/module/ip6_tunnel"):
        return True
    release = os.uname().release
    return any(
        os.path.exists(f"/lib/modules/{release}/kernel/net/ipv6/ip6_tunnel.ko{ext}")
        for ext in ("", ".xz", ".zst", ".gz")
    )


def watch_links(stop: threading.Event, notify: Callable[[], None]) -> None:
    """Call ``notify()`` on every address or link change until ``stop`` is set."""
    groups = 0x1 | 0x100 | 0x400  # RTMGRP_LINK | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE
    with contextlib.closing(IPRoute()) as monitor:
        monitor.bind(groups=groups)
        monitor.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        fd = monitor.fileno()
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                monitor.get()
                notify()

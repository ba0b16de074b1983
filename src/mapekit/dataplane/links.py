"""Links, addresses and routes through netlink (pyroute2); idempotent.

Every function works in the calling process's network namespace, does nothing when the
state is already right, and reports failures as DataplaneError with the interface named.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import select
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


def remove_route(destination: str, device: str) -> None:
    """Remove the IPv4 route to ``destination`` through ``device``, if there is one."""
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=device)
        if not found:
            return
        with contextlib.suppress(NetlinkError):
            ipr.route("del", dst=destination, oif=found[0], family=socket.AF_INET)


def add_mark_rule(mark: int, table: int, priority: int) -> None:
    """An IPv4 policy rule: packets marked ``mark`` use routing table ``table``."""
    with netlink() as ipr:
        try:
            ipr.rule("add", family=socket.AF_INET, fwmark=mark, fwmask=0xFFFF, table=table,
                     priority=priority)  # fmt: skip
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise DataplaneError(
                    "dataplane.setup", f"rule fwmark {mark} table {table}: {exc}", field="rule"
                ) from None


def remove_mark_rule(mark: int, table: int, priority: int) -> None:
    with netlink() as ipr, contextlib.suppress(NetlinkError):
        ipr.rule("del", family=socket.AF_INET, fwmark=mark, fwmask=0xFFFF, table=table,
                 priority=priority)  # fmt: skip


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


@dataclass(frozen=True)
class InterfaceInfo:
    """What detection needs to know of an interface."""

    name: str
    index: int
    up: bool
    kind: str | None  # IFLA_INFO_KIND: veth, bridge, tun, ip6tnl… (None for plain NICs)
    ipv4: tuple[tuple[str, int], ...]
    ipv6: tuple[tuple[int, int], ...]  # global addresses


def interfaces() -> list[InterfaceInfo]:
    """Every interface of this namespace but the loopback."""
    out = []
    with netlink() as ipr:
        addresses: dict[int, list[Any]] = {}
        for entry in ipr.get_addr():
            addresses.setdefault(int(entry["index"]), []).append(entry)
        for link in ipr.get_links():
            if link["flags"] & 0x8:  # IFF_LOOPBACK
                continue
            index = int(link["index"])
            info = link.get_attr("IFLA_LINKINFO")
            entries = addresses.get(index, [])
            out.append(InterfaceInfo(
                name=str(link.get_attr("IFLA_IFNAME")),
                index=index,
                up=bool(link["flags"] & 0x1),
                kind=info.get_attr("IFLA_INFO_KIND") if info is not None else None,
                ipv4=tuple((str(e.get_attr("IFA_ADDRESS")), int(e["prefixlen"]))
                           for e in entries if e["family"] == socket.AF_INET),
                ipv6=tuple(_global(entries)),
            ))  # fmt: skip
    return out


def _global(entries: list[Any]) -> list[tuple[int, int]]:
    found = []
    for entry in entries:
        if entry["family"] != socket.AF_INET6:
            continue
        address = ipaddress.IPv6Address(entry.get_attr("IFA_ADDRESS"))
        if address.is_global or address in ipaddress.IPv6Network("2001:db8::/32"):
            found.append((int(address), int(entry["prefixlen"])))
    return found


def default_route_interfaces(family: int) -> list[int]:
    """The interface indexes of the main table's default routes of ``family``."""
    with netlink() as ipr:
        return [
            int(route.get_attr("RTA_OIF"))
            for route in ipr.get_routes(family=family, table=254)
            if route["dst_len"] == 0 and route.get_attr("RTA_OIF") is not None
        ]


def enable_ipv4_forwarding() -> str | None:
    """The one place that turns IPv4 forwarding on; says so when it changed it."""
    if set_sysctl("net.ipv4.ip_forward", "1"):
        return "set net.ipv4.ip_forward=1"
    return None


def default_route_device() -> int | None:
    """The interface index of the main table's IPv4 default route, if there is one."""
    with netlink() as ipr:
        for route in ipr.get_routes(family=socket.AF_INET, table=254):
            if route["dst_len"] == 0 and route.get_attr("RTA_DST") is None:
                oif = route.get_attr("RTA_OIF")
                return int(oif) if oif is not None else -1
    return None


def link_index(name: str) -> int | None:
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def ensure_default_route(device: str, replace: bool) -> tuple[bool, str | None]:
    """The one place that sets the IPv4 default route into the tunnel: (whether the route
    through ``device`` is ours to keep, a note). An existing default route elsewhere is kept
    unless ``replace``."""
    current = default_route_device()
    index = link_index(device)
    if current is not None and current != index and not replace:
        return False, "an IPv4 default route exists and was kept"
    if current != index:
        ensure_route("default", device)
    return True, None


def has_address(name: str, address: str, prefix_len: int) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return False
        return any(
            e.get_attr("IFA_ADDRESS") == address and e["prefixlen"] == prefix_len
            for e in ipr.get_addr(index=found[0], family=family)
        )


def routes_via(device: str) -> set[str]:
    """The IPv4 destinations (``default`` or ``A.B.C.D/N``) routed through ``device``."""
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=device)
        if not found:
            return set()
        out = set()
        for route in ipr.get_routes(family=socket.AF_INET, table=254):
            if route.get_attr("RTA_OIF") != found[0]:
                continue
            dst = route.get_attr("RTA_DST")
            out.add("default" if dst is None else f"{dst}/{route['dst_len']}")
        return out


def link_state(name: str) -> tuple[bool, int] | None:
    """(administratively up, MTU) of ``name``, or None when it does not exist."""
    with netlink() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        link = ipr.get_links(found[0])[0]
        return bool(link["flags"] & 0x1), int(link.get_attr("IFLA_MTU"))


# netlink groups: RTMGRP_LINK, IPV4_IFADDR, IPV4_ROUTE, IPV6_IFADDR, IPV6_ROUTE
LINK_GROUPS = 0x1 | 0x10 | 0x40 | 0x100 | 0x400
NETLINK_NETFILTER = 12
NFNLGRP_NFTABLES = 7


def watch_links(stop: threading.Event, notify: Callable[[], None]) -> None:
    """Call ``notify()`` on every link, address or route change until ``stop`` is set."""
    with contextlib.closing(IPRoute()) as monitor:
        monitor.bind(groups=LINK_GROUPS)
        monitor.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        fd = monitor.fileno()
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                monitor.get()
                notify()


def watch_nftables(stop: threading.Event, notify: Callable[[], None]) -> None:
    """Call ``notify()`` on every nftables change (the netlink group ``nft monitor`` reads)
    until ``stop`` is set; the messages themselves are not decoded."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    with sock:
        sock.bind((0, 0))
        sock.setsockopt(270, 1, NFNLGRP_NFTABLES)  # SOL_NETLINK, NETLINK_ADD_MEMBERSHIP
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.setblocking(False)
        while not stop.is_set():
            ready, _, _ = select.select([sock], [], [], 0.5)
            if not ready:
                continue
            with contextlib.suppress(BlockingIOError, OSError):  # ENOBUFS: still a change
                while sock.recv(65536):
                    pass
            notify()

"""Port use from conntrack (netlink): a dump, and the events that keep it current.

A NATed flow shows in conntrack with the shared address and a port of the set as the
destination of its reply tuple, and the LAN host and the destination in its original tuple.
``PortWatcher`` dumps once, then follows the NEW and DESTROY events (the netlink groups
``conntrack -E`` reads) so that a status request costs nothing; when the kernel drops
events (the socket's buffer overflowed) it dumps again. ``insert_failed`` and ``drop``
count new flows the kernel could not NAT (the chosen block was full); the timeouts say how
long ports stay taken after use.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyroute2 import Conntrack  # type: ignore[import-untyped]
from pyroute2.conntrack import ConntrackEntry  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]
from pyroute2.netlink.nfnetlink.nfctsocket import nfct_msg  # type: ignore[import-untyped]

from mapekit.core.portset import PortSet
from mapekit.dataplane.portmap import PortMap
from mapekit.dataplane.portuse import Flow, FlowKey, PortTable, PortView

TIMEOUTS = (
    "nf_conntrack_tcp_timeout_established",
    "nf_conntrack_tcp_timeout_time_wait",
    "nf_conntrack_udp_timeout",
    "nf_conntrack_udp_timeout_stream",
    "nf_conntrack_icmp_timeout",
)
PROTOCOLS = {socket.IPPROTO_TCP: "tcp", socket.IPPROTO_UDP: "udp", socket.IPPROTO_ICMP: "icmp"}
NETLINK_NETFILTER = 12
GROUP_NEW, GROUP_DESTROY = 0x1, 0x4
IPCTNL_MSG_CT_NEW, IPCTNL_MSG_CT_DELETE = 0, 2


@dataclass(frozen=True)
class NatStats:
    insert_failed: int
    drop: int

    def to_dict(self) -> dict[str, int]:
        return {"insert_failed": self.insert_failed, "drop": self.drop}


def read_timeouts(root: Path = Path("/proc/sys/net/netfilter")) -> dict[str, int]:
    found = {}
    for name in TIMEOUTS:
        with contextlib.suppress(OSError, ValueError):
            found[name.removeprefix("nf_conntrack_")] = int((root / name).read_text())
    return found


def _flow(entry: Any, ipv4: str) -> Flow | None:
    """The NATed flow an entry describes, or None when it is not one of ours."""
    orig, reply = entry.tuple_orig, entry.tuple_reply
    if reply is None or orig is None or reply.daddr != ipv4:
        return None
    proto = PROTOCOLS.get(reply.proto)
    if proto is None:
        return None
    if proto == "icmp":
        port, sport, dport = reply.icmp_id, orig.icmp_id, 0
    else:
        port, sport, dport = reply.dport, orig.sport, orig.dport
    if port is None or sport is None or dport is None:
        return None
    return Flow(proto, str(orig.saddr), int(sport), str(orig.daddr), int(dport), int(port))


@contextlib.contextmanager
def _conntrack() -> Iterator[Any]:
    """A conntrack netlink socket; its errors are raised as OSError."""
    try:
        with contextlib.closing(Conntrack()) as ct:
            yield ct
    except NetlinkError as exc:
        raise OSError(exc.code, str(exc)) from None


def dump_flows(ipv4: str) -> list[Flow]:
    """Every NATed flow of ``ipv4`` now (raises OSError when conntrack cannot be read)."""
    with _conntrack() as ct:
        found = [_flow(entry, ipv4) for entry in ct.dump_entries()]
    return [f for f in found if f is not None]


def forget_flows(ipv4: str) -> int:
    """Delete every NATed flow of ``ipv4`` from conntrack (their next packets start new
    flows); how many. Raises OSError when conntrack cannot be changed."""
    with _conntrack() as ct:
        ours = [e for e in ct.dump_entries() if _flow(e, ipv4) is not None]
        for entry in ours:
            with contextlib.suppress(NetlinkError):  # gone meanwhile (it timed out)
                ct.delete(entry)
    return len(ours)


def nat_stats() -> NatStats | None:
    try:
        with _conntrack() as ct:
            stats = ct.stat()
    except OSError:
        return None
    return NatStats(
        sum(int(s.get("insert_failed", 0)) for s in stats),
        sum(int(s.get("drop", 0)) for s in stats),
    )


def _entry(message: Any) -> Any:
    return ConntrackEntry(
        message["nfgen_family"], message.get_attr("CTA_TUPLE_ORIG"),
        message.get_attr("CTA_TUPLE_REPLY"), message.get_attr("CTA_STATUS"),
        message.get_attr("CTA_TIMEOUT"), message.get_attr("CTA_PROTOINFO"),
        message.get_attr("CTA_MARK"), message.get_attr("CTA_ID"), message.get_attr("CTA_USE"),
        message.get_attr("CTA_ZONE"),
    )  # fmt: skip


def decode_events(data: bytes, ipv4: str) -> Iterator[tuple[bool, Flow]]:
    """(True, flow) for each NEW and (False, flow) for each DESTROY of ours in ``data``."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16 or offset + length > len(data):
            return
        message = nfct_msg(data[offset : offset + length])
        offset += (length + 3) & ~3
        if kind & 0xFF not in (IPCTNL_MSG_CT_NEW, IPCTNL_MSG_CT_DELETE):
            continue
        try:
            message.decode()
            flow = _flow(_entry(message), ipv4)
        except Exception:  # noqa: S112 - a message we cannot read is skipped, never fatal
            continue
        if flow is not None:
            yield (kind & 0xFF) == IPCTNL_MSG_CT_NEW, flow


class PortWatcher:
    """Keeps a :class:`PortTable` of ``ipv4``'s NATed flows from conntrack's events, in a
    thread of its own; :meth:`view` is cheap and safe from any thread."""

    def __init__(self, ipv4: str, ports: PortSet, port_map: PortMap | None = None) -> None:
        self.ipv4 = ipv4
        self.table = PortTable(ports, port_map=port_map)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.events = 0
        self.resyncs = 0
        self.available = True
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="conntrack", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def view(self, top: int = 10) -> PortView:
        with self.lock:
            return self.table.view(top)

    def _resync(self) -> None:
        try:
            flows = dump_flows(self.ipv4)
        except OSError:
            self.available = False
            return
        with self.lock:
            self.table.replace(flows)
        self.resyncs += 1

    def run(self) -> None:
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        except OSError:
            self.available = False
            return
        with sock:
            sock.bind((0, GROUP_NEW | GROUP_DESTROY))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.setblocking(False)
            self._resync()  # after subscribing: nothing falls between the dump and events
            while not self.stop.is_set():
                ready, _, _ = select.select([sock], [], [], 0.5)
                if ready:
                    self._drain(sock)

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(256):
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:  # ENOBUFS: events were lost
                self._resync()
                return
            with self.lock:
                for new, flow in decode_events(data, self.ipv4):
                    self.events += 1
                    if new:
                        self.table.add(flow)
                    else:
                        self.table.remove(_key(flow))


def _key(flow: Flow) -> FlowKey:
    return flow.proto, flow.host, flow.sport, flow.dst, flow.dport


def usage(view: PortView, stats: NatStats | None) -> dict[str, object]:
    """The port-use object of ``mape status --json``, ``mape ports --usage`` and the page."""
    return {
        **view.to_dict(),
        "insert_failed": stats.insert_failed if stats else 0,
        "drop": stats.drop if stats else 0,
        "timeouts": read_timeouts(),
    }


def port_use(
    ipv4: str, ports: PortSet, port_map: PortMap | None = None
) -> dict[str, object] | None:
    """Port use of ``ipv4`` within ``ports`` from one dump (the doctor, and no agent);
    None when conntrack cannot be read. ``port_map``: the NAT's virtual ports, made real."""
    try:
        flows = dump_flows(ipv4)
    except OSError:
        return None
    table = PortTable(ports, port_map=port_map)
    table.replace(flows)
    return usage(table.view(top=10), nat_stats())

"""How much of the port set is in use, read from conntrack (netlink), and what limits it.

A NATed flow shows in conntrack with the shared address and a port of the set as the
destination of its reply tuple. Ports are counted once per protocol, however many
destinations share them. ``insert_failed`` counts new flows the kernel could not NAT (the
chosen block was full); the timeouts say how long ports stay taken after use.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path

from pyroute2 import Conntrack  # type: ignore[import-untyped]
from pyroute2.netlink.exceptions import NetlinkError  # type: ignore[import-untyped]

from mapekit.core.portset import PortSet

TIMEOUTS = (
    "nf_conntrack_tcp_timeout_established",
    "nf_conntrack_tcp_timeout_time_wait",
    "nf_conntrack_udp_timeout",
    "nf_conntrack_udp_timeout_stream",
    "nf_conntrack_icmp_timeout",
)
PROTOCOLS = {socket.IPPROTO_TCP: "tcp", socket.IPPROTO_UDP: "udp", socket.IPPROTO_ICMP: "icmp"}


@dataclass(frozen=True)
class PortUse:
    ports_in_use: dict[str, int]  # per protocol
    per_block: list[int]  # ports in use per block (all protocols), block order
    block_size: int
    flows: int
    insert_failed: int
    timeouts: dict[str, int]

    def to_dict(self) -> dict[str, object]:
        return {
            "ports_in_use": self.ports_in_use,
            "per_block": self.per_block,
            "block_size": self.block_size,
            "flows": self.flows,
            "insert_failed": self.insert_failed,
            "timeouts": self.timeouts,
        }


def read_timeouts(root: Path = Path("/proc/sys/net/netfilter")) -> dict[str, int]:
    found = {}
    for name in TIMEOUTS:
        with contextlib.suppress(OSError, ValueError):
            found[name.removeprefix("nf_conntrack_")] = int((root / name).read_text())
    return found


def port_use(ipv4: str, ports: PortSet) -> PortUse | None:
    """Port use of ``ipv4`` within ``ports``; None when conntrack cannot be read."""
    used: dict[str, set[int]] = {name: set() for name in PROTOCOLS.values()}
    flows = 0
    try:
        with contextlib.closing(Conntrack()) as ct:
            for entry in ct.dump_entries():
                reply = entry.tuple_reply
                if reply.daddr != ipv4:
                    continue
                proto = PROTOCOLS.get(reply.proto)
                port = reply.icmp_id if proto == "icmp" else reply.dport
                if proto is None or port is None or port not in ports:
                    continue
                flows += 1
                used[proto].add(int(port))
            stats = ct.stat()
    except (NetlinkError, OSError):
        return None
    per_block = [0] * ports.block_count
    for port in set().union(*used.values()):
        block = ports.block_of(port)
        if block is not None:
            per_block[block] += 1
    return PortUse(
        {name: len(found) for name, found in used.items()},
        per_block,
        ports.block_size,
        flows,
        sum(int(s.get("insert_failed", 0)) for s in stats),
        read_timeouts(),
    )

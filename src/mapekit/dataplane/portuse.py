"""Who uses which ports of the set, toward where: a table of the tunnel's NATed flows, kept
up to date from conntrack events, and its views (pure: flows in, numbers out).

A NAT port is not owned by one host: one port serves many flows as long as their
destinations (protocol, address, port) differ, since conntrack needs only the reply tuples
to be unique. So the set runs out **per destination**: toward one destination every flow
needs a port of its own, and a host that opens as many flows toward one busy destination
as the set has ports takes the whole set — for that destination only.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from mapekit.core.portset import PortSet
from mapekit.dataplane.portmap import PortMap

MAX_FLOWS = 262_144  # beyond this the table stops growing (conntrack itself is bounded)


@dataclass(frozen=True)
class Flow:
    """One NATed flow: from ``host:sport`` on the LAN to ``dst:dport``, NATed to ``port``."""

    proto: str  # tcp | udp | icmp
    host: str
    sport: int
    dst: str
    dport: int
    port: int

    @property
    def destination(self) -> tuple[str, str, int]:
        return self.proto, self.dst, self.dport


FlowKey = tuple[str, str, int, str, int]  # the original tuple: proto, host, sport, dst, dport


def flow_key(flow: Flow) -> FlowKey:
    return flow.proto, flow.host, flow.sport, flow.dst, flow.dport


@dataclass
class PortTable:
    """The tunnel's NATed flows; ``truncated`` once more than MAX_FLOWS were seen."""

    ports: PortSet
    flows: dict[FlowKey, Flow] = field(default_factory=dict)
    truncated: bool = False
    port_map: PortMap | None = None  # conntrack shows the NAT's virtual ports: made real

    def add(self, flow: Flow) -> None:
        if self.port_map is not None:
            real = self.port_map.to_real(flow.port)
            if real is not None:
                flow = replace(flow, port=real)
        if flow.port not in self.ports:
            return
        if len(self.flows) >= MAX_FLOWS and flow_key(flow) not in self.flows:
            self.truncated = True
            return
        self.flows[flow_key(flow)] = flow

    def remove(self, key: FlowKey) -> None:
        self.flows.pop(key, None)

    def replace(self, flows: Iterable[Flow]) -> None:
        """After a resynchronisation (a full dump)."""
        self.flows, self.truncated = {}, False
        for flow in flows:
            self.add(flow)

    def view(self, top: int = 10) -> PortView:
        return PortView.of(self.ports, list(self.flows.values()), top, self.truncated)


@dataclass(frozen=True)
class Destination:
    proto: str
    address: str
    port: int
    flows: int  # = NAT ports taken toward it: each needs its own
    hosts: dict[str, int]  # flows per LAN host
    share: float  # flows / ports of the set: 1.0 means exhausted toward it

    def to_dict(self) -> dict[str, object]:
        return {
            "proto": self.proto, "address": self.address, "port": self.port,
            "flows": self.flows, "hosts": self.hosts, "share": round(self.share, 3),
        }  # fmt: skip


@dataclass(frozen=True)
class PortView:
    """Port use seen from every side: per host, protocol, block, port and destination."""

    port_count: int
    block_size: int
    flows: int
    per_protocol: dict[str, int]  # distinct ports in use
    per_block: list[int]  # distinct ports in use per block
    per_host: dict[str, dict[str, int]]  # host → {flows, ports}
    per_port: dict[int, dict[str, int]]  # port → {host: flows}
    busiest: list[Destination]
    truncated: bool = False

    @classmethod
    def of(cls, ports: PortSet, flows: list[Flow], top: int, truncated: bool = False) -> PortView:
        per_protocol: dict[str, set[int]] = defaultdict(set)
        per_port: dict[int, Counter[str]] = defaultdict(Counter)
        host_ports: dict[str, set[int]] = defaultdict(set)
        host_flows: Counter[str] = Counter()
        destinations: dict[tuple[str, str, int], Counter[str]] = defaultdict(Counter)
        for flow in flows:
            per_protocol[flow.proto].add(flow.port)
            per_port[flow.port][flow.host] += 1
            host_ports[flow.host].add(flow.port)
            host_flows[flow.host] += 1
            destinations[flow.destination][flow.host] += 1
        per_block = [0] * ports.block_count
        for port in per_port:
            block = ports.block_of(port)
            if block is not None:
                per_block[block] += 1
        ranked = sorted(destinations.items(), key=lambda d: (-sum(d[1].values()), d[0]))
        busiest = [
            Destination(p, a, n, sum(h.values()), dict(h), sum(h.values()) / ports.count)
            for (p, a, n), h in ranked[:top]
        ]
        return cls(
            port_count=ports.count, block_size=ports.block_size, flows=len(flows),
            per_protocol={p: len(s) for p, s in sorted(per_protocol.items())},
            per_block=per_block,
            per_host={h: {"flows": host_flows[h], "ports": len(host_ports[h])}
                      for h in sorted(host_flows, key=lambda h: -host_flows[h])},
            per_port={p: dict(c) for p, c in sorted(per_port.items())},
            busiest=busiest, truncated=truncated,
        )  # fmt: skip

    def to_dict(self) -> dict[str, object]:
        return {
            "port_count": self.port_count,
            "block_size": self.block_size,
            "flows": self.flows,
            "ports_in_use": self.per_protocol,
            "per_block": self.per_block,
            "per_host": self.per_host,
            "per_port": {str(p): hosts for p, hosts in self.per_port.items()},
            "busiest": [d.to_dict() for d in self.busiest],
            "truncated": self.truncated,
        }

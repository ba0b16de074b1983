"""How the CE shares its port set among LAN hosts: flow caps and conntrack timeouts.

- **Caps** (off by default): at most ``per_destination`` flows from one LAN host toward one
  destination (protocol, address, port) — the set runs out per destination, so this keeps
  one device from taking it all toward, say, one game server or one DNS resolver — and at
  most ``per_host`` flows through the tunnel from one host; ``overrides`` give single hosts
  another per-destination cap (0: none). Refused new flows are counted per host.
- **Timeouts** (the agent's default; not in ``mape plan`` or exports): request/response
  UDP to the well-known ports in ``quick_ports`` (DNS, NTP) is forgotten ``quick_udp``
  seconds after its last packet instead of conntrack's 30 s, and TCP connections leave
  TIME_WAIT after ``tcp_time_wait`` seconds instead of 120 s, so that their ports come back
  sooner. docs/ports.md gives the reasons.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    quick_udp: int = 10
    quick_ports: tuple[int, ...] = (53, 123)
    tcp_time_wait: int = 30
    tcp_close: int = 10

    def to_dict(self) -> dict[str, object]:
        return {"quick_udp": self.quick_udp, "quick_ports": list(self.quick_ports),
                "tcp_time_wait": self.tcp_time_wait, "tcp_close": self.tcp_close}  # fmt: skip


@dataclass(frozen=True)
class PortPolicy:
    per_destination: int = 0  # 0: no cap
    per_host: int = 0
    overrides: tuple[tuple[ipaddress.IPv4Address, int], ...] = ()
    timeouts: Timeouts | None = None  # the agent turns them on (ports.timeouts)

    @property
    def caps(self) -> bool:
        return bool(self.per_destination or self.per_host or self.overrides)

    def to_dict(self) -> dict[str, object]:
        return {
            "cap_per_destination": self.per_destination,
            "cap_per_host": self.per_host,
            "cap_overrides": {str(h): n for h, n in self.overrides},
            "timeouts": None if self.timeouts is None else self.timeouts.to_dict(),
        }

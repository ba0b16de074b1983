"""Port-forwarding help: which ports a CE can forward, and the nearest ones to a wish.

A shared-address CE owns only its port set (RFC 7597 §5.1: 240 ports in 15 blocks on
v6plus and BIGLOBE, 1008 in 63 on OCN), so "forward port 443" is usually impossible.
:func:`port_report` says, as data, which well-known service ports are in the set and,
for each checked port, whether it is usable and which usable ports are nearest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mapekit.core.errors import InputError
from mapekit.core.mapping import Mapping
from mapekit.core.portset import PortSet

NEAREST = 4
MAX_PORT = 0xFFFF

# Service ports people most often want to forward (IANA names, short).
SERVICES: dict[int, str] = {
    21: "ftp",
    22: "ssh",
    25: "smtp",
    53: "dns",
    80: "http",
    110: "pop3",
    123: "ntp",
    143: "imap",
    443: "https",
    465: "smtps",
    500: "isakmp",
    587: "submission",
    993: "imaps",
    995: "pop3s",
    1194: "openvpn",
    1723: "pptp",
    3389: "rdp",
    4500: "ipsec-nat-t",
    5060: "sip",
    8080: "http-alt",
    8443: "https-alt",
    25565: "minecraft",
    51820: "wireguard",
}


@dataclass(frozen=True)
class PortCheck:
    port: int
    usable: bool
    nearest: tuple[int, ...]  # empty when the port itself is usable

    def to_dict(self) -> dict[str, object]:
        return {
            "port": self.port,
            "service": SERVICES.get(self.port),
            "usable": self.usable,
            "nearest": list(self.nearest),
        }


def parse_ports(text: str, field: str = "check") -> tuple[int, ...]:
    """``443,8080`` → (443, 8080); each from 1 to 65535."""
    ports = []
    for raw in text.split(","):
        item = raw.strip()
        if not item.isdigit() or not 0 < int(item) <= MAX_PORT:
            raise InputError(
                "input.port_syntax",
                f"{field}: {item!r} is not a port from 1 to 65535 (give e.g. 443,8080)",
                field=field,
                value=text,
            )
        ports.append(int(item))
    return tuple(dict.fromkeys(ports))


def usable(ports: PortSet, port: int) -> bool:
    return port != 0 and port in ports


def check_port(ports: PortSet, port: int) -> PortCheck:
    if usable(ports, port):
        return PortCheck(port, True, ())
    near = [p for p in ports.nearest(port, NEAREST + 1) if p != 0][:NEAREST]
    return PortCheck(port, False, tuple(near))


def services_in(ports: PortSet) -> list[dict[str, object]]:
    return [
        {"port": port, "service": name}
        for port, name in sorted(SERVICES.items())
        if usable(ports, port)
    ]


def port_report(mapping: Mapping, checks: Sequence[int] = ()) -> dict[str, object]:
    """The ``mape ports --json`` object (docs/cli.md)."""
    ports = mapping.port_set
    results = [check_port(ports, port) for port in checks]
    return {
        "mapping": mapping.to_dict(),
        "port_count": ports.count,
        "block_count": ports.block_count,
        "block_size": ports.block_size,
        "blocks": ports.to_list(),
        "services": services_in(ports),
        "checks": [r.to_dict() for r in results],
        "all_usable": all(r.usable for r in results),
    }

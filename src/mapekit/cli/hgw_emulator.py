"""``mape hgw-emulator``: imitate an NTT home gateway's MAP-E check on port 8888.

It answers ``/enabler.ipv4/check`` and ``/biglobe.ipv4/check`` like an HGW whose MAP-E is
ON or OFF, and ``HEAD /t/``; ``PUT /status`` (body ``ON`` or ``OFF``) switches it while it
runs. It serves until interrupted.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys

from mapekit.cli import output
from mapekit.cli.extras import require
from mapekit.cli.listen import bind, parse_listen, shown

DEFAULT_LISTEN = "0.0.0.0:8888"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address and port to answer on ({DEFAULT_LISTEN}; IPv6 as [ADDR]:PORT)",
    )
    parser.add_argument(
        "--status",
        type=str.upper,
        choices=("ON", "OFF"),
        default="OFF",
        help="MAP-E status the HGW reports at start (OFF)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at start")


def _reachable(host: str) -> str:
    """An address a local curl reaches: loopback for a wildcard address."""
    address = ipaddress.ip_address(host.partition("%")[0])
    if not address.is_unspecified:
        return host
    return "::1" if address.version == 6 else "127.0.0.1"


def start_line(address: tuple[str, int], status: str, as_json: bool) -> str:
    """What the command prints once it listens on ``address`` (one line)."""
    host, port = address
    listen = shown(host, port)
    if as_json:
        return json.dumps({"listen": listen, "status": status})
    url = f"http://{shown(_reachable(host), port)}/status"
    return f"HGW emulator on {listen}, MAP-E {status}; switch: curl -X PUT --data ON {url} (or OFF)"


def run(args: argparse.Namespace) -> int:
    require("server", "hgw-emulator", args.lang)
    from mapekit.server.hgw_emulator import HgwEmulatorState, serve

    host, port = parse_listen(args.listen)
    sock = bind(host, port)
    state = HgwEmulatorState(status=args.status)
    output.emit(start_line(sock.getsockname()[:2], state.status, args.json))
    sys.stdout.flush()
    serve(state, sock)
    return output.OK

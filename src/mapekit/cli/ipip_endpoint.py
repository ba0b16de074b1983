"""``mape ipip-endpoint``: a userspace IPIP fixed-address endpoint for labs and tests.

The subscribers' fixed IPv4 addresses are routed into a TUN device and tunnelled to each
CE's current address; the peer list is read from a JSON file (``--peers``) or from the rule
server's database (``--db``, what the update URL records), again every ``--poll`` seconds.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from mapekit.cli import output
from mapekit.core.addr import parse_ipv6_address
from mapekit.dataplane.plan import check_ifname

if TYPE_CHECKING:
    from mapekit.dataplane.forwarder import Forwarder
    from mapekit.dataplane.ipip_endpoint import IpipEndChecks, Peer

GUARD_TABLE = "mapekit_ipip_guard"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", required=True, metavar="ADDR",
                        help="the endpoint's IPv6 address (what CEs tunnel to)")  # fmt: skip
    parser.add_argument("--device", metavar="IFACE", help="put the address on this interface")
    parser.add_argument(
        "--tun", default="ipipgw0", metavar="IFACE", help="the TUN device (ipipgw0)"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--peers", metavar="FILE",
                        help='JSON list of {"ipv4": PREFIX, "local": CE_ADDRESS}')  # fmt: skip
    source.add_argument("--db", metavar="URL",
                        help="the rule server's database (subscribers with IPIP)")  # fmt: skip
    parser.add_argument("--poll", type=float, default=2.0, metavar="S",
                        help="read the peers again this often (default 2)")  # fmt: skip
    parser.add_argument("--stats", metavar="FILE", help="write counters here every second")
    parser.add_argument("--json", action="store_true", help="print one JSON line at start")


def _loader(args: argparse.Namespace) -> Callable[[], list[Peer]]:
    from mapekit.dataplane.ipip_endpoint import peer, read_peers

    if args.peers is not None:
        path = Path(args.peers)
        return lambda: read_peers(path)
    from mapekit.server.store import Store  # the rule server's extra

    store = Store(args.db)
    return lambda: [peer(t.ipv4, t.local, "ipip_tunnels") for t in store.ipip_tunnels()]


def run(args: argparse.Namespace) -> int:
    from mapekit.dataplane import nft
    from mapekit.dataplane.forwarder import Forwarder, icmp6_socket, raw_socket
    from mapekit.dataplane.ipip_endpoint import IpipEndChecks
    from mapekit.dataplane.links import (
        enable_ipv4_forwarding,
        ensure_address,
        ensure_route,
        open_tun,
        remove_address,
        set_link,
        set_sysctl,
    )
    from mapekit.dataplane.nftables import render_icmp_guard

    parse_ipv6_address(args.address, "address")
    check_ifname(args.tun, "tun")
    if args.device is not None:
        check_ifname(args.device, "device")
    if not args.poll > 0:
        raise output.UsageError("usage.invalid_arguments", "--poll: must be positive",
                                field="poll")  # fmt: skip
    load = _loader(args)
    checks = IpipEndChecks(load())
    enable_ipv4_forwarding()
    set_sysctl("net.ipv6.conf.all.forwarding", "1")
    fd = open_tun(args.tun)
    forwarder: Forwarder | None = None
    try:
        set_link(args.tun, mtu=1460)
        set_sysctl(f"net.ipv4.conf.{args.tun}.rp_filter", "0")
        if args.device is not None:
            ensure_address(args.device, args.address, 128)
        for prefix in sorted(str(p.ipv4) for p in checks.peers):
            ensure_route(prefix, args.tun)
        nft.load(render_icmp_guard(GUARD_TABLE, args.address))
        forwarder = Forwarder(
            args.tun, fd, raw_socket(args.address), br=checks, local=args.address,
            icmp6=icmp6_socket(), stats_path=Path(args.stats) if args.stats else None,
        )  # fmt: skip
        poller = threading.Thread(target=_poll, args=(forwarder, checks, load, args),
                                  name="peers", daemon=True)  # fmt: skip
        running = forwarder

        def stop(_signum: int, _frame: FrameType | None) -> None:
            running.stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        start = {"role": "ipip-endpoint", "address": args.address, "tun": args.tun,
                 "peers": len(checks.peers)}  # fmt: skip
        if args.json:
            output.emit_json(start)
        else:
            output.emit(" ".join(f"{k}={v}" for k, v in start.items()))
        poller.start()
        worker = threading.Thread(target=forwarder.run, name="forwarder")
        worker.start()
        while worker.is_alive():
            worker.join(timeout=0.5)
    finally:
        if forwarder is not None:
            forwarder.raw.close()
        os.close(fd)
        if args.device is not None:
            remove_address(args.device, args.address, 128)
        nft.delete_table(GUARD_TABLE, family="ip6")
    return output.OK


def _poll(forwarder: Forwarder, checks: IpipEndChecks, load: Callable[[], list[Peer]],
          args: argparse.Namespace) -> None:  # fmt: skip
    """Read the peers again every ``--poll`` seconds; a failed read keeps the last list."""
    from mapekit.core.errors import MapeError
    from mapekit.dataplane.ipip_endpoint import route_changes
    from mapekit.dataplane.links import ensure_route, remove_route

    while not forwarder.stop.wait(args.poll):
        try:
            peers = load()
        except (MapeError, OSError):
            forwarder.stats.add("peers_read_failed")
            continue
        if set(peers) == set(checks.peers):
            continue
        added, removed = route_changes(checks.peers, peers)
        try:
            for prefix in sorted(added):
                ensure_route(prefix, args.tun)
        except MapeError:
            forwarder.stats.add("peers_route_failed")
            continue
        checks.replace(peers)
        for prefix in sorted(removed):
            remove_route(prefix, args.tun)
        forwarder.stats.add("peers_updated")

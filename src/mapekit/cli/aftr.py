"""``mape aftr``: a userspace DS-Lite AFTR (RFC 6333) for labs and tests, until stopped.

B4s tunnel their LAN's private IPv4 packets to ``--address``; the AFTR NATs them to the
address of ``--public`` with one conntrack zone per softwire, so B4s may use the same
private addresses and ports (see :mod:`mapekit.dataplane.aftr`).
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from types import FrameType

from mapekit.cli import output
from mapekit.core.addr import parse_ipv6_address
from mapekit.dataplane.plan import check_ifname


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", required=True, metavar="ADDR",
                        help="the AFTR's IPv6 address (what B4s tunnel to)")  # fmt: skip
    parser.add_argument("--device", metavar="IFACE", help="put the address on this interface")
    parser.add_argument(
        "--public",
        required=True,
        metavar="IFACE",
        help="the IPv4 interface whose address B4s' traffic is NATed to",
    )
    parser.add_argument("--max-softwires", type=int, default=256, metavar="N",
                        help="at most this many B4s at once (default 256)")  # fmt: skip
    parser.add_argument("--idle", type=float, default=300.0, metavar="S",
                        help="remove a softwire idle this long (default 300)")  # fmt: skip
    parser.add_argument("--stats", metavar="FILE", help="write counters here every second")
    parser.add_argument("--json", action="store_true", help="print one JSON line at start")


def run(args: argparse.Namespace) -> int:
    from mapekit.dataplane.aftr import MAX_ZONE, Aftr, SoftwireTable

    parse_ipv6_address(args.address, "address")
    check_ifname(args.public, "public")
    if args.device is not None:
        check_ifname(args.device, "device")
    if not 1 <= args.max_softwires <= MAX_ZONE:
        raise output.UsageError("usage.invalid_arguments",
                                f"--max-softwires: {args.max_softwires} is not in 1..{MAX_ZONE}",
                                field="max_softwires")  # fmt: skip
    if not args.idle > 0:
        raise output.UsageError("usage.invalid_arguments", "--idle: must be positive",
                                field="idle")  # fmt: skip
    aftr = Aftr(args.address, args.public,
                SoftwireTable(capacity=args.max_softwires, idle=args.idle),
                stats_path=Path(args.stats) if args.stats else None)  # fmt: skip

    def stop(_signum: int, _frame: FrameType | None) -> None:
        aftr.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        aftr.up(args.device)
        start = {"role": "aftr", "address": args.address, "public": args.public}
        if args.json:
            output.emit_json(start)
        else:
            output.emit(" ".join(f"{k}={v}" for k, v in start.items()))
        worker = threading.Thread(target=aftr.run, name="aftr")
        worker.start()
        while worker.is_alive():
            worker.join(timeout=0.5)
    finally:
        aftr.down(args.device)
    return output.OK

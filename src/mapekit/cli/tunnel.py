"""``mape tunnel``: run the CE data plane of a mapping until stopped.

``mape tunnel PREFIX [rule options] --wan IF`` brings up the CE side (tunnel device,
addresses, routes, nftables; BPF programs with the bpf backend), forwards until SIGTERM
or Ctrl-C, then removes it all.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

from mapekit.cli import output
from mapekit.cli.ruleopts import (
    add_forward_option,
    add_rule_options,
    iid_from_args,
    rules_from_args,
)
from mapekit.core.addr import parse_end_user_prefix
from mapekit.dataplane.backend import choose_backend, make_backend
from mapekit.dataplane.bpf import BpfBackend
from mapekit.dataplane.forwarder import Forwarder
from mapekit.dataplane.plan import make_plan


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", metavar="PREFIX")
    parser.add_argument("--wan", required=True, metavar="IF")
    parser.add_argument("--lan", metavar="IF")
    parser.add_argument("--tunnel", default="mape0", metavar="NAME")
    add_forward_option(parser)
    parser.add_argument("--replace-default-route", action="store_true")
    parser.add_argument(
        "--backend",
        choices=("auto", "kernel", "bpf", "userspace"),
        default="auto",
        help="kernel ip6tnl, tc-BPF, or the userspace TUN forwarder (auto: the first of "
        "these that can run here)",
    )
    add_bpffs_option(parser)
    parser.add_argument(
        "--keep-tunnel", action="store_true", help="kernel backend: leave the tunnel up on exit"
    )
    add_serve_options(parser)
    add_rule_options(parser)


def add_bpffs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bpffs",
        default="/sys/fs/bpf",
        metavar="DIR",
        help="bpf backend: where bpffs is (mounted there when it is not); pins go in DIR/mapekit/",
    )


def write_counters(path: Path, counters: Mapping[str, int]) -> None:
    """The counters as JSON, replaced atomically (``--stats``)."""
    tmp = path.with_suffix(".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(dict(counters)))
    os.replace(tmp, path)


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stats", metavar="FILE", help="write counters here every second")
    parser.add_argument("--json", action="store_true", help="print one JSON line at start")


def serve(forwarder: Forwarder, start: Mapping[str, object], as_json: bool) -> None:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        forwarder.stop.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    output.emit_now(
        json.dumps(start) if as_json else " ".join(f"{k}={v}" for k, v in start.items())
    )
    worker = threading.Thread(target=forwarder.run, name="forwarder")
    worker.start()
    while worker.is_alive():
        worker.join(timeout=0.5)


def wait_for_signal(tick: Callable[[], None] | None = None) -> None:
    """Block until SIGTERM or SIGINT, calling ``tick`` about once a second."""
    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if tick is not None:
        tick()
    while not done.wait(1.0):
        if tick is not None:
            tick()


def run(args: argparse.Namespace) -> int:
    source = rules_from_args(args)
    stats = Path(args.stats) if args.stats else None
    prefix, length = parse_end_user_prefix(args.prefix)
    mapping = source.rules.map(prefix, length, iid_from_args(args))
    plan = make_plan(
        mapping, args.wan, tunnel_name=args.tunnel, lan=args.lan, forwards=args.forward,
        rules=source.rules,
    )  # fmt: skip
    name, why = choose_backend(args.backend)
    backend = make_backend(name, args.replace_default_route, stats, Path(args.bpffs))
    try:
        notes = backend.up(plan, mapping, source.rules)
        start: dict[str, object] = {"role": "ce", "backend": name, "why": why,
                 "tunnel": plan.tunnel.name,
                 "ipv4": plan.ipv4_address, "ce_ipv6": plan.ce_address,
                 "br": plan.tunnel.remote, "notes": notes}  # fmt: skip
        if isinstance(backend, BpfBackend):
            start["bpf"] = backend.describe()
        output.emit_now(
            json.dumps(start) if args.json else " ".join(f"{k}={v}" for k, v in start.items())
        )
        own_stats = stats is not None and name != "userspace"  # the forwarder writes its own
        wait_for_signal(
            (lambda: write_counters(stats, backend.counters())) if own_stats and stats else None
        )
    finally:
        backend.down(keep_tunnel=args.keep_tunnel)
    return output.OK

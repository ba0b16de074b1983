"""``mape tunnel``: run the CE data plane of a mapping (or a softwire) until stopped.

``mape tunnel PREFIX [rule options] --wan IF`` brings up the CE side (tunnel device,
addresses, routes, nftables; BPF programs with the bpf backend), forwards until SIGTERM
or Ctrl-C, then removes it all.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from mapekit.cli import output
from mapekit.cli.plan import DEFAULT_WAN
from mapekit.cli.ruleopts import (
    add_forward_option,
    add_rule_options,
    iid_from_args,
    rules_from_args,
)
from mapekit.core.addr import parse_end_user_prefix, parse_ipv6_address
from mapekit.dataplane.plan import Plan, make_plan
from mapekit.dataplane.portmap import NAT_MODES, searches_whole_set

if TYPE_CHECKING:
    from mapekit.core.softwire import Softwire
    from mapekit.dataplane.backend import Backend
    from mapekit.dataplane.forwarder import Forwarder


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", metavar="PREFIX", help="End-user IPv6 prefix")
    parser.add_argument("--wan", default=DEFAULT_WAN, metavar="IFACE",
                        help=f"WAN interface ({DEFAULT_WAN})")  # fmt: skip
    parser.add_argument("--lan", metavar="IFACE", help="LAN interface")
    parser.add_argument("--tunnel", default="mape0", metavar="IFACE", help="tunnel name (mape0)")
    add_forward_option(parser)
    parser.add_argument(
        "--replace-default-route",
        action="store_true",
        help="route IPv4 through the tunnel even if a default route exists",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "kernel", "bpf", "userspace"),
        default="auto",
        help="kernel ip6tnl, tc-BPF, or the userspace TUN forwarder (auto: the first of "
        "these that can run here)",
    )
    add_bpffs_option(parser)
    parser.add_argument(
        "--nat",
        choices=NAT_MODES,
        default="auto",
        help="how a new connection gets its port: auto searches the whole set at once where "
        "the backend translates ports (bpf, userspace); per-block hands the kernel one block "
        "per connection, as the kernel backend does",
    )
    parser.add_argument(
        "--keep-tunnel", action="store_true", help="kernel backend: leave the tunnel up on exit"
    )
    softwire = parser.add_argument_group(
        "DS-Lite and IPIP", "a softwire instead of MAP-E (PREFIX is then the delegated prefix)"
    )
    softwire.add_argument("--aftr", metavar="ADDR", help="dslite: a B4 tunnelling to this AFTR")
    softwire.add_argument("--remote", metavar="ADDR", help="ipip: the operator's tunnel endpoint")
    softwire.add_argument("--ipv4", metavar="ADDR[/LEN]",
                          help="ipip: the fixed IPv4 address or prefix")  # fmt: skip
    softwire.add_argument("--interface-id", metavar="IID",
                          help="ipip: the interface id completing subnet 0 of PREFIX")  # fmt: skip
    add_serve_options(parser)
    add_rule_options(parser)


def _softwire(args: argparse.Namespace, prefix: int, length: int) -> Softwire | None:
    """The softwire the options ask for, or None for MAP-E; errors name the option."""
    from mapekit.agent import checks
    from mapekit.provision.model import Provider, SoftwireDelivery
    from mapekit.provision.softwire import select_softwire

    ipip = ("remote", "ipv4", "interface_id")
    given = [name for name in ipip if getattr(args, name) is not None]
    if args.aftr is None and not given:
        return None
    if args.aftr is not None and given:
        raise output.UsageError("usage.invalid_arguments",
                                f"--aftr (DS-Lite) and --{given[0].replace('_', '-')} (IPIP): "
                                "give one kind", field="aftr")  # fmt: skip
    if args.aftr is not None:
        parse_ipv6_address(args.aftr, "aftr")
        delivery = SoftwireDelivery(Provider.DSLITE, "dslite", args.aftr)
    else:
        for name in ipip:
            if getattr(args, name) is None:
                raise output.UsageError("usage.invalid_arguments",
                                        f"--{name.replace('_', '-')}: required for IPIP",
                                        field=name)  # fmt: skip
        parse_ipv6_address(args.remote, "remote")
        for name, check in (("interface_id", checks.interface_id),
                            ("ipv4", checks.ipv4_address_or_prefix)):  # fmt: skip
            try:
                check(getattr(args, name))
            except ValueError as exc:
                raise output.UsageError("usage.invalid_arguments",
                                        f"--{name.replace('_', '-')}: {exc}",
                                        field=name) from None  # fmt: skip
        iid = int(ipaddress.IPv6Address(args.interface_id))
        delivery = SoftwireDelivery(Provider.IPIP, "ipip", args.remote, interface_id=iid,
                                    ipv4=args.ipv4)  # fmt: skip
    return select_softwire(delivery, prefix, length)


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
    from mapekit.dataplane.backend import choose_backend, make_backend

    stats = Path(args.stats) if args.stats else None
    prefix, length = parse_end_user_prefix(args.prefix)
    softwire = _softwire(args, prefix, length)
    if softwire is not None:
        return _run_softwire(args, softwire, stats)
    source = rules_from_args(args)
    mapping = source.rules.map(prefix, length, iid_from_args(args))
    name, why = choose_backend(args.backend)
    plan = make_plan(
        mapping, args.wan, tunnel_name=args.tunnel, lan=args.lan, forwards=args.forward,
        rules=source.rules, whole_set=searches_whole_set(name, args.nat),
    )  # fmt: skip
    backend = make_backend(name, args.replace_default_route, stats, Path(args.bpffs))
    try:
        notes = backend.up(plan, mapping, source.rules)
        start: dict[str, object] = {"role": "ce", "backend": name, "why": why,
                 "tunnel": plan.tunnel.name,
                 "ipv4": plan.ipv4_address, "ce_ipv6": plan.ce_address,
                 "br": plan.tunnel.remote, "nat": _nat(plan), "notes": notes}  # fmt: skip
        _announce(args, start, backend, name, stats)
    finally:
        backend.down(keep_tunnel=args.keep_tunnel)
    return output.OK


def _nat(plan: Plan) -> dict[str, object]:
    """How new connections get their port: the whole set at once, or a block each."""
    if plan.port_map is not None:
        first, last = plan.port_map.nat_range
        return {"search": "whole set", "nat_range": [first, last]}
    return {"search": "per block" if plan.port_set.block_count > 1 else "whole set"}


def _run_softwire(args: argparse.Namespace, softwire: Softwire, stats: Path | None) -> int:
    from mapekit.dataplane.backend import choose_backend, make_backend
    from mapekit.dataplane.softwire import make_softwire_plan

    plan = make_softwire_plan(softwire, args.wan, tunnel_name=args.tunnel, lan=args.lan)
    name, why = choose_backend(args.backend)
    backend = make_backend(name, args.replace_default_route, stats, Path(args.bpffs))
    try:
        notes = backend.up(plan)
        start: dict[str, object] = {"role": softwire.mechanism, "backend": name, "why": why,
                 "tunnel": plan.tunnel.name, "ipv4": plan.ipv4_address,
                 "ce_ipv6": plan.ce_address, "remote": plan.tunnel.remote, "nat": plan.nat,
                 "notes": notes}  # fmt: skip
        _announce(args, start, backend, name, stats)
    finally:
        backend.down(keep_tunnel=args.keep_tunnel)
    return output.OK


def _announce(
    args: argparse.Namespace, start: dict[str, object], backend: Backend, name: str,
    stats: Path | None,
) -> None:  # fmt: skip
    """Print the start line, then wait for a signal, writing the counters of a backend
    without a forwarder of its own to ``--stats`` every second."""
    from mapekit.dataplane.bpf import BpfBackend

    if isinstance(backend, BpfBackend):
        start["bpf"] = backend.describe()
    output.emit_now(
        json.dumps(start) if args.json else " ".join(f"{k}={v}" for k, v in start.items())
    )
    own_stats = stats is not None and name != "userspace"  # the forwarder writes its own
    wait_for_signal(
        (lambda: write_counters(stats, backend.counters())) if own_stats and stats else None
    )

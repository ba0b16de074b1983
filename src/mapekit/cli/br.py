"""``mape br``: a BR, until stopped: the userspace forwarder (labs) or tc-BPF.

The domain's IPv4 prefixes are routed into a TUN device; packets from CEs are checked
(outer source = CE of the inner source and port) and forwarded, packets to the domain are
encapsulated to the CE owning their destination and port; CE-to-CE traffic hairpins.
With ``--backend bpf`` a rule file given with ``--rules`` is watched (or the rule
server's database, ``--db URL --rule-set NAME``), and the rules the BR holds follow its
changes live.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mapekit.cli import output
from mapekit.cli.ruleopts import add_rule_options, rules_from_args
from mapekit.cli.tunnel import (
    add_bpffs_option,
    add_serve_options,
    serve,
    wait_for_signal,
    write_counters,
)
from mapekit.core.addr import parse_ipv6_address
from mapekit.core.errors import MapeError
from mapekit.dataplane.plan import check_ifname

if TYPE_CHECKING:
    from mapekit.core.ruleset import RuleSet


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", metavar="ADDR", help="BR IPv6 address (default: rules')")
    parser.add_argument("--device", metavar="IFACE", help="put the address on this interface")
    parser.add_argument(
        "--tun", default="mapebr0", metavar="IFACE", help="the TUN device (mapebr0)"
    )
    parser.add_argument(
        "--backend", choices=("userspace", "bpf"), default="userspace",
        help="userspace TUN forwarder, or tc-BPF programs (kernel speed)",
    )  # fmt: skip
    parser.add_argument(
        "--access", action="append", default=[], metavar="IFACE", dest="listen",
        help="bpf: the interfaces CEs reach the BR on (repeatable; default: every one)",
    )  # fmt: skip
    parser.add_argument(
        "--db", metavar="URL",
        help="bpf: take the rules from the rule server's database (with --rule-set), "
        "re-read every few seconds",
    )  # fmt: skip
    parser.add_argument("--rule-set", metavar="NAME", help="with --db: the rule set's name")
    add_bpffs_option(parser)
    add_serve_options(parser)
    add_rule_options(parser)


DB_EVERY = 5.0  # seconds between reads of the rule server's database


def _initial_rules(args: argparse.Namespace) -> RuleSet:
    if args.db is None:
        return rules_from_args(args).rules
    if args.backend != "bpf" or not args.rule_set or args.rules is not None:
        raise output.UsageError(
            "usage.invalid_arguments",
            "--db needs --backend bpf and --rule-set NAME, and no --rules",
            field="db",
        )
    from mapekit.server.store import Store

    return Store(args.db).domain(args.rule_set).rules


def run(args: argparse.Namespace) -> int:
    rules = _initial_rules(args)
    stats = Path(args.stats) if args.stats else None
    address = args.address or next((str(r.br) for r in rules if r.br is not None), None)
    if address is None:
        raise output.UsageError("usage.invalid_arguments", "give --address", field="address")
    parse_ipv6_address(address, "address")
    if args.device is not None:
        check_ifname(args.device, "device")
    check_ifname(args.tun, "tun")
    for name in args.listen:
        check_ifname(name, "listen")
    if args.backend == "bpf":
        return _run_bpf(args, rules, address, stats)
    from mapekit.dataplane.userspace import UserspaceBr

    br = UserspaceBr(rules, address, args.tun, stats_path=stats)
    try:
        forwarder = br.up(args.device)
        serve(forwarder, {"role": "br", "backend": "userspace", "address": address,
                         "tun": args.tun}, args.json)  # fmt: skip
    finally:
        br.down(args.device)
    return output.OK


def _db_rules(args: argparse.Namespace, seen: list[float], held: RuleSet) -> RuleSet | None:
    """The database's rule set when it differs from ``held`` (read every 5 s)."""
    if seen and time.monotonic() - seen[-1] < DB_EVERY:
        return None
    seen.append(time.monotonic())
    from mapekit.server.store import Store

    try:
        rules = Store(args.db).domain(args.rule_set).rules
    except MapeError as exc:
        output.emit_now(f"rules: {args.rule_set}: kept the rules in use: {exc.message}")
        return None
    return None if list(rules) == list(held) else rules


def _rules_changed(args: argparse.Namespace, seen: list[float], held: RuleSet) -> RuleSet | None:
    """The rule file's (or database's) rules when they changed since last seen."""
    if args.db is not None:
        return _db_rules(args, seen, held)
    if args.rules is None:
        return None
    try:
        mtime = Path(args.rules).stat().st_mtime
    except OSError:
        return None
    if seen and seen[-1] == mtime:
        return None
    first = not seen
    seen.append(mtime)
    if first:
        return None
    try:
        return rules_from_args(args).rules
    except MapeError as exc:
        output.emit_now(f"rules: {args.rules}: kept the rules in use: {exc.message}")
        return None


def _run_bpf(args: argparse.Namespace, rules: RuleSet, address: str, stats: Path | None) -> int:
    from mapekit.dataplane.backend import choose_backend
    from mapekit.dataplane.bpfbr import BpfBr

    choose_backend("bpf")  # says why not, when it cannot run here
    br = BpfBr(rules, address, args.tun, bpffs_root=Path(args.bpffs), listen=args.listen)
    seen: list[float] = []

    def tick() -> None:
        changed = _rules_changed(args, seen, br.rules)
        if changed is not None:
            written, removed = br.set_rules(changed)
            source = args.rules or f"{args.rule_set} (database)"
            output.emit_now(f"rules: {source}: {written} rules in place, {removed} removed")
        if stats is not None:
            write_counters(stats, br.counters())

    try:
        notes = br.up(args.device)
        start = {"role": "br", "backend": "bpf", "address": address, "tun": args.tun,
                 "notes": notes, "bpf": br.describe()}  # fmt: skip
        output.emit_now(
            json.dumps(start) if args.json else " ".join(f"{k}={v}" for k, v in start.items())
        )
        wait_for_signal(tick)
    finally:
        br.down(args.device)
    return output.OK

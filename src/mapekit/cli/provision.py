"""``mape provision``: HGW check, rule fetch, validation and report, once or in a loop."""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mapekit.cli import output
from mapekit.cli.exitcodes import exit_code
from mapekit.cli.forget import DEFAULT_STATE_DIR
from mapekit.cli.output import UsageError
from mapekit.cli.parsing import add_deprecated, json_option
from mapekit.cli.ruleopts import add_rule_options
from mapekit.cli.statusview import render_events, render_status
from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.reasons import Category
from mapekit.provision.hgw import BIGLOBE_PATH, DEFAULT_URL
from mapekit.provision.model import Provider

if TYPE_CHECKING:
    from mapekit.client.runner import Runner
    from mapekit.provision.status import CeStatus

PROVIDERS = tuple(p.value for p in Provider)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider",
        required=True,
        choices=PROVIDERS,
        help="how the rules (or the softwire) arrive",
    )
    parser.add_argument(
        "--prefix",
        metavar="PREFIX",
        help="the End-user IPv6 prefix, required (e.g. 240b:10:3f6c:d400::/56)",
    )
    parser.add_argument(
        "--source-address",
        metavar="ADDR",
        help="send rule requests from this address (must be inside the prefix)",
    )
    add_deprecated(parser, "--wan-prefix", "--prefix", "prefix")
    add_deprecated(parser, "--wan-address", "--source-address", "source_address")
    parser.add_argument("--url", metavar="URL", help="base URL of the provider's rule API")
    parser.add_argument(
        "--vendor-code",
        metavar="HEX",
        help="jpne: the 32-hex manufacturer code; ocn: the vendor code",
    )
    hgw = parser.add_mutually_exclusive_group()
    hgw.add_argument(
        "--hgw-url", default=DEFAULT_URL, metavar="URL", help=f"HGW check URL ({DEFAULT_URL})"
    )
    hgw.add_argument("--no-hgw-check", action="store_true", help="do not look for an HGW")
    parser.add_argument(
        "--dhcpv6-options", metavar="HEX|@FILE", help="dhcpv6: the DHCPv6 reply's S46 options"
    )
    _softwire_options(parser)
    parser.add_argument(
        "--state-dir",
        default=DEFAULT_STATE_DIR,
        metavar="DIR",
        help=f"where the last good rules are kept ({DEFAULT_STATE_DIR})",
    )
    parser.add_argument("--ca-file", metavar="FILE", help="extra CA certificate (PEM)")
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds for a whole exchange (10)"
    )
    parser.add_argument(
        "--dns-server", metavar="ADDR", help="resolver for the HB46PP record and the AFTR's name"
    )
    parser.add_argument(
        "--dns-port", type=int, default=53, metavar="N", help="hb46pp: the resolver's port (53)"
    )
    parser.add_argument(
        "--insecure-discovery",
        action="store_true",
        help="hb46pp: honour t=a (no TLS verification) from the TXT record for https URLs",
    )
    parser.add_argument(
        "--hb46pp-vendorid",
        default="000000-mapekit",
        metavar="OUI[-ID]",
        help="hb46pp: the vendorid sent (000000-mapekit)",
    )
    parser.add_argument(
        "--hb46pp-product",
        default="mapekit",
        metavar="NAME",
        help="hb46pp: the product sent (mapekit)",
    )
    parser.add_argument(
        "--timer-scale",
        type=float,
        default=1.0,
        metavar="F",
        help="multiply every retry delay (e.g. 0.001 in a lab)",
    )
    parser.add_argument("--once", action="store_true", help="run one cycle and exit")
    parser.add_argument("--report", action="store_true", help="with --once: send acct_report")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    add_rule_options(parser)
    json_option(parser)


def _softwire_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--aftr", metavar="NAME|ADDR", help="dslite: the AFTR's name or IPv6 address"
    )
    parser.add_argument(
        "--aftr-file",
        metavar="FILE",
        help="dslite: a file with the AFTR name of DHCPv6 option 64 (as the hook writes it)",
    )
    parser.add_argument("--remote", metavar="ADDR", help="ipip: the operator's tunnel endpoint")
    parser.add_argument(
        "--ipv4",
        metavar="ADDR[/LEN]",
        help="ipip: the fixed IPv4 address (NATed to) or prefix (routed)",
    )
    parser.add_argument(
        "--interface-id",
        metavar="IID",
        help="ipip: the lower 64 bits of the CE's tunnel address (::1234:5678:9abc:def0)",
    )


def run(args: argparse.Namespace) -> int:
    from mapekit.cli.sources import provider_config
    from mapekit.client.fetch import source_note
    from mapekit.client.runner import Runner
    from mapekit.client.state import StateStore
    from mapekit.provision.machine import CeMachine, Start
    from mapekit.provision.timers import TimerPolicy

    if args.prefix is None:
        raise UsageError("usage.invalid_arguments", "prefix: required (--prefix PREFIX)",
                         field="prefix")  # fmt: skip
    prefix = parse_end_user_prefix(args.prefix, "prefix")
    config = provider_config(args, prefix)
    store = StateStore(Path(args.state_dir))
    saved, problem = store.load()
    reports = config.provider is Provider.JPNE and (args.report or not args.once)
    machine = CeMachine(
        config.provider,
        random.Random(args.seed),  # noqa: S311 - retry jitter, not cryptography
        timers=TimerPolicy(scale=args.timer_scale),
        report=reports,
        saved=saved,
        prefix=prefix,
    )
    hgw_url = args.hgw_url
    if args.isp == "biglobe" and hgw_url == DEFAULT_URL:
        hgw_url = DEFAULT_URL.replace("/enabler.ipv4/check", BIGLOBE_PATH)
    runner = Runner(machine, config, store, hgw_url=None if args.no_hgw_check else hgw_url)
    if problem is not None:
        runner.notes.append(problem.message)
    warning = source_note(config, prefix)
    if warning is not None:
        runner.notes.append(warning)
    runner.run(Start())
    if not args.once:
        _loop(runner, args)
    return _finish(runner, args)


def _loop(runner: Runner, args: argparse.Namespace) -> None:
    """Keep provisioning on the machine's timers until interrupted."""
    from mapekit.provision.machine import TimerFired

    shown = 0
    while True:
        if not args.json:
            entries = list(runner.machine.log)[shown:]
            if entries:
                output.emit(render_events(entries, args.lang, runner.clock.offset()))
            shown = len(runner.machine.log)
        deadline = runner.machine.timer()
        if deadline is None:
            return
        time.sleep(max(0.0, deadline - runner.clock.monotonic()))
        runner.run(TimerFired())
        if runner.store is not None:
            runner.store.save_status(_status(runner).to_dict(args.lang))


def _status(runner: Runner) -> CeStatus:
    from mapekit.provision.status import status_of

    clock = runner.clock
    return status_of(runner.machine, clock.monotonic(), clock.offset())


def _finish(runner: Runner, args: argparse.Namespace) -> int:
    machine = runner.machine
    status = _status(runner)
    if runner.store is not None:
        runner.store.save_status(status.to_dict())
    doc = status.to_dict(args.lang)
    doc["notes"] = [*runner.notes, *status.notes]
    if args.json:
        output.emit_json(doc)
    else:
        output.emit(render_events(list(machine.log), args.lang, runner.clock.offset()))
        output.emit(render_status(doc, args.lang))
    if machine.outcome == "established":
        return output.OK
    try:
        return exit_code(Category(machine.outcome))
    except ValueError:
        return exit_code(Category.INTERNAL)

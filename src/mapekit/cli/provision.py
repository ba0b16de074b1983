"""``mape provision``: HGW check, rule fetch, validation and report, once or in a loop."""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from mapekit import __version__
from mapekit.cli import output
from mapekit.cli.exitcodes import exit_code
from mapekit.cli.forget import DEFAULT_STATE_DIR
from mapekit.cli.output import UsageError
from mapekit.cli.ruleopts import add_rule_options, iid_from_args, rules_from_args
from mapekit.cli.statusview import render_events, render_status
from mapekit.client.fetch import (
    Dhcpv6Source,
    Hb46ppSource,
    JpneSource,
    OcnSource,
    ProviderConfig,
    StaticSource,
    source_note,
)
from mapekit.client.http import HttpSettings
from mapekit.client.runner import Runner
from mapekit.client.state import StateStore
from mapekit.core.addr import ipv6_text, mask, parse_end_user_prefix, parse_ipv6_address
from mapekit.core.errors import InputError
from mapekit.core.files import read_bytes_file
from mapekit.core.reasons import Category
from mapekit.core.rule import IidFormat
from mapekit.provision.hb46pp import ClientIdentity
from mapekit.provision.hgw import BIGLOBE_PATH, DEFAULT_URL
from mapekit.provision.machine import CeMachine, Start, TimerFired
from mapekit.provision.model import Provider
from mapekit.provision.status import CeStatus, status_of
from mapekit.provision.timers import TimerPolicy

MAX_OPTIONS_FILE = 256 << 10  # hex of a DHCPv6 reply (at most 64 KiB), with separators


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--provider", required=True, choices=[p.value for p in Provider], help="rule source"
    )
    parser.add_argument("--wan-prefix", required=True, metavar="PREFIX", help="End-user prefix")
    parser.add_argument(
        "--wan-address",
        metavar="ADDR",
        help="send rule requests from this address (must be inside the prefix)",
    )
    parser.add_argument("--url", help="base URL of the provider's rule API")
    parser.add_argument("--vendor-code", metavar="HEX32", help="manufacturer / vendor code")
    hgw = parser.add_mutually_exclusive_group()
    hgw.add_argument("--hgw-url", default=DEFAULT_URL, help=f"HGW check URL ({DEFAULT_URL})")
    hgw.add_argument("--no-hgw-check", action="store_true", help="do not look for an HGW")
    parser.add_argument("--dhcpv6-options", metavar="HEX|@FILE", help="DHCPv6 S46 options")
    parser.add_argument("--state-dir", default=DEFAULT_STATE_DIR, metavar="DIR")
    parser.add_argument("--ca-file", metavar="FILE", help="extra CA certificate (PEM)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request")
    parser.add_argument("--dns-server", metavar="ADDR", help="resolver for HB46PP discovery")
    parser.add_argument("--dns-port", type=int, default=53, metavar="PORT")
    parser.add_argument(
        "--insecure-discovery",
        action="store_true",
        help="honour t=a (no TLS verification) from the HB46PP TXT record for https URLs",
    )
    parser.add_argument("--hb46pp-vendorid", default="000000-mapekit", metavar="OUI[-ID]")
    parser.add_argument("--hb46pp-product", default="mapekit", metavar="NAME")
    parser.add_argument("--timer-scale", type=float, default=1.0, help="scale every delay")
    parser.add_argument("--once", action="store_true", help="run one cycle and exit")
    parser.add_argument("--report", action="store_true", help="with --once: send acct_report")
    parser.add_argument("--lang", choices=("en", "ja"), default="en")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    add_rule_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _dhcpv6_bytes(text: str | None) -> bytes | None:
    if text is None:
        return None
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            raw = read_bytes_file(path, what="dhcpv6-options", max_bytes=MAX_OPTIONS_FILE)
        except FileNotFoundError:
            raise InputError(
                "input.value_range",
                f"dhcpv6-options: cannot read {path}: no such file",
                field="dhcpv6-options",
            ) from None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return raw  # binary options
    cleaned = "".join(text.split()).replace(":", "")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InputError(
            "input.value_range",
            "dhcpv6-options: not hexadecimal (give the options as hex, or @FILE)",
            field="dhcpv6-options",
        ) from None


def _required(args: argparse.Namespace, name: str) -> str:
    value: str | None = getattr(args, name)
    if not value:
        flag = name.replace("_", "-")
        raise UsageError(
            "usage.invalid_arguments",
            f"{flag}: required for provider {args.provider}",
            field=flag,
        )
    return value


def _source_address(args: argparse.Namespace, prefix: tuple[int, int]) -> str | None:
    if args.wan_address is None:
        return None
    address = int(parse_ipv6_address(args.wan_address, "wan-address"))
    if address & mask(128, prefix[1]) != prefix[0]:
        raise InputError(
            "input.value_range",
            f"wan-address: {args.wan_address} is outside the prefix "
            f"{ipv6_text(prefix[0])}/{prefix[1]}; the rule server identifies the "
            "subscriber by the request's source address",
            field="wan-address",
            value=args.wan_address,
        )
    return str(args.wan_address)


def provider_config(args: argparse.Namespace, prefix: tuple[int, int]) -> ProviderConfig:
    """The provider's settings from the command line; a missing flag is a usage error
    here, never a failure fed to the retry machine."""
    provider = Provider(args.provider)
    http = HttpSettings(
        timeout=args.timeout, ca_file=args.ca_file, source_address=_source_address(args, prefix)
    )
    isp = None if args.isp == "auto" else args.isp
    iid = iid_from_args(args) or IidFormat.LEGACY
    if provider is Provider.STATIC:
        return StaticSource(rules_from_args(args).rules)
    if provider is Provider.DHCPV6:
        return Dhcpv6Source(options=_dhcpv6_bytes(_required(args, "dhcpv6_options")))
    if provider is Provider.HB46PP:
        version = __version__.replace(".", "_")
        return Hb46ppSource(
            ClientIdentity(args.hb46pp_vendorid, args.hb46pp_product, version),
            url=args.url,
            dns_server=args.dns_server,
            dns_port=args.dns_port,
            allow_insecure_discovery=args.insecure_discovery,
            http=http,
        )
    source = JpneSource if provider is Provider.JPNE else OcnSource
    url, code = _required(args, "url"), _required(args, "vendor_code")
    return source(url, code, isp=isp, iid=iid, http=http)


def run(args: argparse.Namespace) -> int:
    prefix = parse_end_user_prefix(args.wan_prefix, "wan-prefix")
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

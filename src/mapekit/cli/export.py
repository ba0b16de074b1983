"""``mape export``: a router configuration for a mapping (OpenWrt, Linux, NEC IX, …)."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.cli.outfile import write_output
from mapekit.cli.ruleopts import (
    add_forward_option,
    add_rule_options,
    iid_from_args,
    rules_from_args,
)
from mapekit.core.addr import parse_end_user_prefix
from mapekit.export import FORMATS, Mode, default_mode, export, format_named, options_for
from mapekit.export.common import DEFAULT_LAN, parse_lan_address, parse_release

EXECUTABLE = {"linux"}  # formats written with mode 0755


def _formats_help() -> str:
    width = max(len(name) for name in FORMATS)
    rows = [f"  {name.ljust(width)}  {fmt.label}" for name, fmt in FORMATS.items()]
    return (
        "formats (--format):\n"
        + "\n".join(rows)
        + (
            "\n\nEXPERIMENTAL: some lines of these exports are confirmed by no document we "
            "could read;\nsuch an export starts with a warning quoting them (docs/export.md)."
        )
    )


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _formats_help()
    parser.add_argument("prefix", metavar="PREFIX", help="End-user IPv6 prefix")
    parser.add_argument(
        "--format", required=True, metavar="FORMAT", help="output format (list below)"
    )
    parser.add_argument("--wan", metavar="IF", help="WAN interface (default: per format)")
    parser.add_argument("--lan", metavar="IF", help="LAN interface (default: per format)")
    add_forward_option(parser)
    parser.add_argument(
        "--mode",
        metavar="auto|static",
        help="routers: fetch the rules themselves (auto) or use the computed values "
        "(static; the default where the format has it)",
    )
    parser.add_argument("--voip-bridge", metavar="IF", help="ix: bridge the line to this port")
    parser.add_argument(
        "--full",
        action="store_true",
        help="the whole router: WAN IPv6, LAN address, DHCPv4, RA of the prefix, DNS",
    )
    parser.add_argument(
        "--lan-address",
        metavar="ADDR/LEN",
        default=str(DEFAULT_LAN),
        help=f"--full: the router's LAN address (default {DEFAULT_LAN})",
    )
    parser.add_argument(
        "--release",
        metavar="X.Y[.Z]",
        help="cisco-xe, fortigate: the firmware release (default: the newest known)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE atomically (a new path or a regular file; - is standard output)",
    )
    add_rule_options(parser)


def run(args: argparse.Namespace) -> int:
    fmt = format_named(args.format)
    options = options_for(
        fmt,
        wan=args.wan,
        lan=args.lan,
        mode=default_mode(fmt) if args.mode is None else Mode.from_text(args.mode),
        voip_bridge=args.voip_bridge,
        forwards=args.forward,
        full=args.full,
        lan_address=parse_lan_address(args.lan_address),
        release=None if args.release is None else parse_release(args.release),
    )
    source = rules_from_args(args)
    prefix, length = parse_end_user_prefix(args.prefix)
    mapping = source.rules.map(prefix, length, iid_from_args(args))
    text = export(fmt.name, mapping, options, source.rules)
    if args.output is None:
        output.emit(text)
    else:
        mode = 0o755 if fmt.name in EXECUTABLE else 0o644
        if write_output(args.output, text, mode):
            output.emit(f"wrote {args.output} ({fmt.label})")
    return output.OK

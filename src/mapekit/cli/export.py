"""``mape export``: a router configuration for a mapping (OpenWrt, Linux, NEC IX, …)."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.cli.outfile import write_output
from mapekit.cli.parsing import json_option
from mapekit.cli.ruleopts import (
    add_forward_option,
    add_rule_options,
    iid_from_args,
    rules_from_args,
)
from mapekit.cli.softwireopts import add_softwire_options, line_from_args, softwire_requested
from mapekit.core.addr import parse_end_user_prefix
from mapekit.export import (
    FORMATS,
    Format,
    Mode,
    default_mode,
    export,
    export_softwire,
    format_named,
    options_for,
    softwire_options,
)
from mapekit.export.common import DEFAULT_LAN, parse_lan_address, parse_release
from mapekit.export.grammar import COMMENT_MARKS, unverified_lines

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
            "\n\nDS-Lite and IPIP fixed IPv4 (--provider dslite|ipip, --from-status): "
            + ", ".join(name for name, f in FORMATS.items() if f.softwire is not None)
            + "\n(ix: DS-Lite only)."
        )
    )


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _formats_help()
    parser.add_argument(
        "prefix", metavar="PREFIX", nargs="?", help="End-user IPv6 prefix (with --from-status: "
        "the agent's, unless given)",
    )  # fmt: skip
    parser.add_argument(
        "--format", required=True, metavar="FORMAT", help="output format (list below)"
    )
    parser.add_argument(
        "--wan", metavar="IFACE", help="WAN interface (default: eth0, router formats their own)"
    )
    parser.add_argument("--lan", metavar="IFACE", help="LAN interface (default: per format)")
    add_forward_option(parser)
    parser.add_argument(
        "--mode",
        metavar="auto|static",
        help="routers: fetch the rules themselves (auto) or use the computed values "
        "(static; the default where the format has it)",
    )
    parser.add_argument("--voip-bridge", metavar="IFACE", help="ix: bridge the line to this port")
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
    add_softwire_options(parser)
    json_option(parser)


def _mape(args: argparse.Namespace, fmt: Format) -> tuple[str, dict[str, object]]:
    if args.prefix is None:
        raise output.UsageError("usage.invalid_arguments", "prefix: required", field="prefix")
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
    return export(fmt.name, mapping, options, source.rules), {"mapping": mapping.to_dict()}


def _softwire(args: argparse.Namespace, fmt: Format) -> tuple[str, dict[str, object]]:
    options = softwire_options(
        fmt, wan=args.wan, lan=args.lan,
        release=None if args.release is None else parse_release(args.release),
    )  # fmt: skip
    line = line_from_args(args, fmt.needs_address)
    return export_softwire(fmt.name, line, options), {"softwire": line.to_dict()}


def run(args: argparse.Namespace) -> int:
    fmt = format_named(args.format)
    text, what = (_softwire if softwire_requested(args) else _mape)(args, fmt)
    target = None if args.json and args.output == "-" else args.output  # one JSON object
    wrote = False
    if target is not None:
        wrote = write_output(target, text, 0o755 if fmt.name in EXECUTABLE else 0o644)
    if args.json:
        release = parse_release(args.release) if args.release else fmt.release
        unverified = unverified_lines(fmt.name, text, release) if fmt.name in COMMENT_MARKS else []
        output.emit_json({"format": fmt.name, "label": fmt.label, **what,
                          "unverified": unverified, "output": target,
                          "text": text if target is None else None})  # fmt: skip
    elif args.output is None:
        output.emit(text)
    elif wrote:
        output.emit(f"wrote {args.output} ({fmt.label})")
    return output.OK

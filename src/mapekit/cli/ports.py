"""``mape ports``: the usable ports of a mapping, and checks for port forwards."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.cli.ruleopts import add_rule_options, iid_from_args, rules_from_args
from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.errors import LookupFailure
from mapekit.export.ports import SERVICES, parse_ports, port_report

BLOCKS_PER_LINE = 4


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "prefix", metavar="PREFIX", nargs="?", help="End-user IPv6 prefix (not with --usage)"
    )
    parser.add_argument(
        "--usage", action="store_true",
        help="port use now, from the running agent: per host, destination, block and port",
    )  # fmt: skip
    parser.add_argument("--watch", action="store_true", help="with --usage: refresh every 2 s")
    parser.add_argument(
        "--socket", default="/run/mapekit/agent.sock", metavar="PATH",
        help="with --usage: the agent's socket",
    )  # fmt: skip
    parser.add_argument(
        "--check",
        metavar="PORT[,PORT…]",
        help="say for each port whether it can be forwarded, and the nearest usable ones",
    )
    add_rule_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    if args.usage:
        from mapekit.cli.portuse import show_usage

        return show_usage(args)
    if args.prefix is None:
        raise output.UsageError(
            "usage.invalid_arguments", "prefix: required (or --usage)", field="prefix"
        )
    checks = parse_ports(args.check) if args.check is not None else ()
    source = rules_from_args(args)
    prefix, length = parse_end_user_prefix(args.prefix)
    mapping = source.rules.map(prefix, length, iid_from_args(args))
    report = port_report(mapping, checks)
    if args.json:
        output.emit_json(report)
    else:
        output.emit(render(report))
    if report["all_usable"]:
        return output.OK
    err = LookupFailure(
        "lookup.port_outside_set",
        f"{_unusable(report)} not in this CE's port set (see the nearest usable ports)",
        field="check",
        value=args.check,
    )
    if args.json:
        return output.exit_code(err.reason.category)
    return output.report_error(err, json_mode=False)


def _unusable(report: dict[str, object]) -> str:
    bad = [str(c["port"]) for c in _checks(report) if not c["usable"]]
    return f"port{'s' if len(bad) > 1 else ''} {', '.join(bad)} {'are' if len(bad) > 1 else 'is'}"


def _checks(report: dict[str, object]) -> list[dict[str, object]]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return checks


def _service(port: object) -> str:
    name = SERVICES.get(port) if isinstance(port, int) else None
    return f"{port} ({name})" if name else str(port)


def render(report: dict[str, object]) -> str:
    mapping = report["mapping"]
    blocks = report["blocks"]
    services = report["services"]
    assert isinstance(mapping, dict) and isinstance(blocks, list) and isinstance(services, list)
    ranges = [f"{first}-{last}" for first, last in blocks]
    rows = [
        ["IPv4 address", f"{mapping['ipv4']} (PSID {mapping['psid']})"],
        [
            "Usable ports",
            f"{report['port_count']} in {report['block_count']} block(s) of {report['block_size']}",
        ],
    ]
    for i in range(0, len(ranges), BLOCKS_PER_LINE):
        chunk = ranges[i : i + BLOCKS_PER_LINE]
        rows.append(["Blocks" if i == 0 else "", "  ".join(r.ljust(11) for r in chunk)])
    known = ", ".join(_service(s["port"]) for s in services) or "none in this set"
    rows.append(["Service ports", known])
    text = output.table(rows)
    checks = [[_service(c["port"]), _verdict(c)] for c in _checks(report)]
    if checks:
        text += "\n\nChecked ports\n" + output.table(checks, indent="  ")
    return text


def _verdict(check: dict[str, object]) -> str:
    if check["usable"]:
        return "usable"
    near = check["nearest"]
    assert isinstance(near, list)
    return "not usable; nearest usable: " + ", ".join(map(str, near))

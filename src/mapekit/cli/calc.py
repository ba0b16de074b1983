"""``mape calc``: the mapping of an End-user prefix, or the reverse lookup a BR does."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.cli.ruleopts import add_rule_options, iid_from_args, rules_from_args
from mapekit.core.addr import parse_end_user_prefix, parse_ipv4_address
from mapekit.core.errors import InputError
from mapekit.core.mapping import TUNNEL_MTU, Mapping, ReverseMapping
from mapekit.core.rule import IidFormat

_IID_NAMES = {IidFormat.RFC: "RFC 7597 IID", IidFormat.LEGACY: "legacy draft-03 IID"}
_RANGES_PER_LINE = 4


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "prefix",
        nargs="?",
        metavar="PREFIX",
        help="End-user IPv6 prefix (e.g. 240b:10:3f6c:d400::/56), or a WAN address with "
        "its length (…::1/64)",
    )
    parser.add_argument(
        "--reverse",
        metavar="IPV4:PORT",
        help="find the CE owning this IPv4 address and port (or ICMP identifier)",
    )
    add_rule_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def parse_ipv4_port(text: str) -> tuple[int, int]:
    address, sep, port_text = text.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 0xFFFF:
        raise InputError(
            "input.port_syntax",
            f"reverse: {text!r} is not IPV4:PORT with a port from 0 to 65535",
            field="reverse",
            value=text,
        )
    return int(parse_ipv4_address(address, "reverse")), int(port_text)


def run(args: argparse.Namespace) -> int:
    source = rules_from_args(args)
    iid = iid_from_args(args)
    if args.reverse is not None:
        if args.prefix is not None:
            raise output.UsageError(
                "usage.invalid_arguments",
                "give either PREFIX or --reverse IPV4:PORT, not both",
                field="prefix",
            )
        ipv4, port = parse_ipv4_port(args.reverse)
        reverse = source.rules.reverse(ipv4, port, iid)
        if args.json:
            output.emit_json(reverse.to_dict())
        else:
            output.emit(render_reverse(reverse))
        return output.OK
    if args.prefix is None:
        raise output.UsageError(
            "usage.invalid_arguments",
            "give an End-user prefix (e.g. 240b:10:3f6c:d400::/56) or --reverse IPV4:PORT",
            field="prefix",
        )
    prefix, length = parse_end_user_prefix(args.prefix)
    mapping = source.rules.map(prefix, length, iid)
    if args.json:
        output.emit_json(mapping.to_dict())
    else:
        output.emit(render_mapping(mapping))
    return output.OK


def _operator_name(isp: str | None) -> str:
    if isp is None:
        return "-"
    from mapekit.core.tables import OPERATORS

    op = OPERATORS.get(isp)
    return op.display_name if op else isp


def render_ports(mapping: Mapping) -> list[list[str]]:
    """Rows for the port part of the status table, ranges folded four to a line."""
    ports = mapping.port_set
    if not ports.restricted:
        return [["Ports", "0-65535, all (the address is not shared)"]]
    rows = [
        [
            "Ports",
            f"{ports.count} in {ports.block_count} block{'s' if ports.block_count > 1 else ''}"
            f" of {ports.block_size}",
        ]
    ]
    ranges = [f"{first}-{last}" for first, last in ports.ranges()]
    for i in range(0, len(ranges), _RANGES_PER_LINE):
        rows.append(["", "  ".join(r.ljust(11) for r in ranges[i : i + _RANGES_PER_LINE])])
    if mapping.rule.psid_offset:
        rows.append(["Excluded", f"0-{(1 << (16 - mapping.rule.psid_offset)) - 1} (A = 0)"])
    return rows


def render_mapping(mapping: Mapping) -> str:
    rule = mapping.rule
    d = mapping.to_dict()
    if mapping.ipv4_len < 32:
        ipv4 = f"{d['ipv4']}/{mapping.ipv4_len} (an IPv4 prefix, not shared)"
    elif rule.psid_len:
        ipv4 = f"{d['ipv4']} (shared by {rule.sharing_ratio} CEs)"
    else:
        ipv4 = f"{d['ipv4']} (not shared)"
    rows = [
        ["Operator", _operator_name(rule.isp)],
        ["End-user prefix", str(d["end_user_prefix"])],
        ["Rule (BMR)", rule.describe()],
        ["IPv4 address", ipv4],
        ["PSID", f"{mapping.psid} (0x{mapping.psid:x}), {rule.psid_len} bits"],
        *render_ports(mapping),
        ["CE IPv6 address", f"{d['ce_ipv6']} ({_IID_NAMES[mapping.iid]})"],
        ["BR", str(d["br"] or "- (not in the rule)")],
        ["Tunnel MTU", f"{TUNNEL_MTU} (TCP MSS {TUNNEL_MTU - 40})"],
    ]
    rows += [["Warning", w.message] for w in mapping.warnings]
    return output.table(rows)


def render_reverse(reverse: ReverseMapping) -> str:
    d = reverse.to_dict()
    rows = [
        ["Operator", _operator_name(reverse.rule.isp)],
        ["IPv4:port", f"{d['ipv4']}:{reverse.port}"],
        ["Rule", reverse.rule.describe()],
        ["PSID", f"{reverse.psid} (0x{reverse.psid:x}), {reverse.rule.psid_len} bits"],
        ["End-user prefix", str(d["end_user_prefix"])],
        ["CE IPv6 address", f"{d['ce_ipv6']} ({_IID_NAMES[reverse.iid]})"],
        ["BR", str(d["br"] or "-")],
    ]
    return output.table(rows)

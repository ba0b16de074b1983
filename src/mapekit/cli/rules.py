"""``mape rules list|check``: show a rule table, or check it for overlaps."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.cli.ruleopts import add_rule_options, rules_from_args
from mapekit.core.errors import RuleError
from mapekit.core.rule import MappingRule


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "check"), help="list or check the rules")
    add_rule_options(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def rule_row(rule: MappingRule) -> dict[str, object]:
    return {
        "isp": rule.isp,
        **rule.to_dict(),
        "br": None if rule.br is None else str(rule.br),
        "fmr": rule.fmr,
        "iid": rule.iid.value,
        "sharing_ratio": rule.sharing_ratio,
    }


def run(args: argparse.Namespace) -> int:
    source = rules_from_args(args)
    if args.action == "list":
        rows = [rule_row(r) for r in source.rules]
        if args.json:
            output.emit_json({"source": source.origin, "count": len(rows), "rules": rows})
            return output.OK
        header = ["ISP", "IPv6 prefix", "IPv4 prefix", "EA", "offset", "PSID len", "IID", "BR"]
        body = [
            [
                str(r["isp"] or "-"),
                str(r["ipv6_prefix"]),
                str(r["ipv4_prefix"]),
                str(r["ea_len"]),
                str(r["psid_offset"]),
                str(r["psid_len"]),
                str(r["iid"]),
                str(r["br"] or "-"),
            ]
            for r in rows
        ]
        output.emit(output.table([header, *body]))
        output.emit(f"{len(rows)} rules from {source.origin}")
        return output.OK
    overlaps = source.rules.overlaps()
    if args.json:
        output.emit_json(
            {
                "source": source.origin,
                "count": len(source.rules),
                "overlaps": [
                    {
                        "family": o.family,
                        "first": rule_row(o.first),
                        "second": rule_row(o.second),
                    }
                    for o in overlaps
                ],
            }
        )
    if not overlaps:
        if not args.json:
            output.emit(f"{len(source.rules)} rules from {source.origin}: no overlaps")
        return output.OK
    if not args.json:
        for overlap in overlaps:
            output.emit(overlap.describe())
    err = RuleError(
        "rule.overlap",
        f"{len(overlaps)} overlapping rule pair(s) in {source.origin}",
        field="rules",
    )
    if args.json:
        return output.exit_code(err.reason.category)
    return output.report_error(err, json_mode=False)

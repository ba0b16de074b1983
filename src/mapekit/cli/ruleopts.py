"""The rule options shared by every command that maps a prefix (``mape calc`` and later).

Rules come from exactly one source: one rule on the command line (``--rule-ipv6 …``),
a rule file (``--rules FILE``), or the built-in operator tables; ``--isp`` narrows a
table to one operator.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from mapekit.cli.output import UsageError
from mapekit.core.errors import InputError
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet


class RuleOptionError(UsageError):
    """The rule options do not fit together."""


@dataclass(frozen=True)
class RuleSource:
    rules: RuleSet
    origin: str  # "command line", "built-in tables" or the file name


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("rules")
    group.add_argument(
        "--isp",
        default="auto",
        metavar="auto|v6plus|biglobe|ocn",
        help="use one operator's rules (default: auto, the longest match in all tables)",
    )
    group.add_argument("--rules", metavar="FILE", help="rule file (JSON or TOML) to use")
    group.add_argument("--rule-ipv6", metavar="PREFIX", help="Rule IPv6 prefix")
    group.add_argument("--rule-ipv4", metavar="PREFIX", help="Rule IPv4 prefix")
    group.add_argument("--ea-len", type=int, metavar="N", help="EA-bits length (0-48)")
    group.add_argument("--psid-offset", type=int, metavar="N", help="PSID offset (0-15)")
    group.add_argument("--psid-len", type=int, metavar="N", help="explicit PSID length")
    group.add_argument("--psid", type=int, metavar="N", help="explicit PSID (no EA PSID bits)")
    group.add_argument("--br", metavar="ADDR", help="BR IPv6 address for a command-line rule")
    parser.add_argument(
        "--iid",
        metavar="rfc|legacy",
        help="interface-id format (default: legacy for the built-in Japanese tables, "
        "rfc for rules on the command line)",
    )


_RULE_FLAGS = ("rule_ipv6", "rule_ipv4", "ea_len", "psid_offset")
_EXTRA_FLAGS = ("psid_len", "psid", "br")


def add_forward_option(parser: argparse.ArgumentParser) -> None:
    """``--forward``, as every command that plans a CE takes it."""
    parser.add_argument(
        "--forward",
        action="append",
        default=[],
        metavar="PROTO:PORT=LANADDR[:PORT]",
        help="forward a port of the set to a LAN host (repeatable)",
    )


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def rules_from_args(args: argparse.Namespace) -> RuleSource:
    given = [n for n in _RULE_FLAGS + _EXTRA_FLAGS if getattr(args, n) is not None]
    if given:
        if args.rules is not None or args.isp != "auto":
            raise RuleOptionError(
                "usage.invalid_arguments",
                "a rule on the command line cannot be combined with --rules or --isp",
                field="rules",
            )
        missing = [_flag(n) for n in _RULE_FLAGS if getattr(args, n) is None]
        if missing:
            raise RuleOptionError(
                "usage.incomplete_rule",
                f"a command-line rule also needs {', '.join(missing)}",
                field=missing[0].lstrip("-"),
            )
        rule = MappingRule.from_text(
            args.rule_ipv6,
            args.rule_ipv4,
            args.ea_len,
            args.psid_offset,
            br=args.br,
            psid_len=args.psid_len,
            psid=args.psid,
        )
        return RuleSource(RuleSet([rule]), "command line")
    if args.rules is not None:
        from mapekit.core.tables import load_rule_file

        return RuleSource(_narrow(load_rule_file(args.rules), args.isp), args.rules)
    from mapekit.core.tables import builtin_rules, operator

    if args.isp != "auto":
        operator(args.isp)
    return RuleSource(_narrow(builtin_rules(), args.isp), "built-in tables")


def _narrow(rules: RuleSet, isp: str) -> RuleSet:
    if isp == "auto":
        return rules
    narrowed = rules.filter(isp)
    if not narrowed:
        known = ", ".join(rules.isps) or "none"
        raise InputError(
            "input.unknown_isp",
            f"isp: no rules for {isp!r} (operators in this table: {known})",
            field="isp",
            value=isp,
        )
    return narrowed


def iid_from_args(args: argparse.Namespace) -> IidFormat | None:
    """The forced interface-id format, or None for each rule's own default."""
    return None if args.iid is None else IidFormat.from_text(args.iid)

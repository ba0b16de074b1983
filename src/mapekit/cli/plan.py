"""``mape plan``: what the CE needs for a mapping (tunnel, addresses, routes, nftables)."""

from __future__ import annotations

import argparse

from mapekit.cli import output
from mapekit.cli.ruleopts import (
    add_forward_option,
    add_rule_options,
    iid_from_args,
    rules_from_args,
)
from mapekit.core.addr import parse_end_user_prefix
from mapekit.dataplane.nftables import render
from mapekit.dataplane.plan import make_plan

DEFAULT_WAN = "eth0"  # as export's Linux formats (docs/cli.md, "Vocabulary")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", metavar="PREFIX", help="End-user IPv6 prefix")
    parser.add_argument("--wan", default=DEFAULT_WAN, metavar="IFACE",
                        help=f"WAN interface ({DEFAULT_WAN})")  # fmt: skip
    parser.add_argument("--lan", metavar="IFACE", help="LAN interface")
    parser.add_argument("--tunnel", default="mape0", metavar="IFACE", help="tunnel name (mape0)")
    add_forward_option(parser)
    parser.add_argument(
        "--no-default-route", action="store_true", help="do not route IPv4 by default"
    )
    add_rule_options(parser)
    show = parser.add_mutually_exclusive_group()
    show.add_argument("--json", action="store_true", help="the plan as one JSON object")
    show.add_argument("--nft", action="store_true", help="only the ruleset, for nft -f")


def run(args: argparse.Namespace) -> int:
    source = rules_from_args(args)
    prefix, length = parse_end_user_prefix(args.prefix)
    mapping = source.rules.map(prefix, length, iid_from_args(args))
    plan = make_plan(
        mapping,
        args.wan,
        tunnel_name=args.tunnel,
        lan=args.lan,
        forwards=args.forward,
        rules=source.rules,
        default_route=not args.no_default_route,
    )
    ruleset = render(plan)
    if args.nft:
        output.emit(ruleset)
    elif args.json:
        output.emit_json({**plan.to_dict(), "mapping": mapping.to_dict(), "nft": ruleset})
    else:
        output.emit(render_plan(plan.to_dict()) + "\n\n" + ruleset)
    return output.OK


def render_plan(doc: dict[str, object]) -> str:
    tunnel = doc["tunnel"]
    assert isinstance(tunnel, dict)
    rows = [
        ["WAN address", f"{doc['ce_address']} on {doc['wan']}"],
        [
            "Tunnel",
            f"{tunnel['name']}: ip6tnl ipip6 {tunnel['local']} → {tunnel['remote']}, "
            f"MTU {tunnel['mtu']}, hop limit {tunnel['hop_limit']}, no encapsulation limit",
        ],
        ["IPv4 address", f"{doc['ipv4_address']} on {tunnel['name']}"],
        ["Default route", "IPv4 via the tunnel" if doc["default_route"] else "not touched"],
        ["FMR routes", ", ".join(map(str, doc["fmr_routes"])) or "none (all via the BR)"],  # type: ignore[call-overload]
        ["NAT pool", f"{len(doc['nat_pool'])} ranges"],  # type: ignore[arg-type]
        ["Forwards", ", ".join(map(str, doc["forwards"])) or "none"],  # type: ignore[call-overload]
    ]
    rows += [["Note", str(n)] for n in doc["notes"]]  # type: ignore[attr-defined]
    return output.table(rows)

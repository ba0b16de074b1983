"""``mape server``: run the rule server, and administer its database directly.

This module only describes the command line; the work is in ``mapekit.cli.serverdb``,
which needs the ``server`` extra (``pip install 'mapekit[server]'``).
"""

from __future__ import annotations

import argparse
from typing import Any

from mapekit.cli.extras import require
from mapekit.cli.parsing import add_deprecated, json_option

DEFAULT_DATA_DIR = "/var/lib/mapekit"
PAGE_LIMIT = "1-10000"  # mapekit.server.schemas.MAX_LIMIT checks it


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL (sqlite:///… or postgresql://…; "
                        "default: sqlite:///DIR/server.db)")  # fmt: skip
    parser.add_argument(
        "--data-dir", default=DEFAULT_DATA_DIR, metavar="DIR",
        help=f"folder of the default SQLite database ({DEFAULT_DATA_DIR})",
    )  # fmt: skip
    json_option(parser)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    json_option(sub.add_parser("init", help="create or migrate the database"), nested=True)
    _rules_parsers(sub)
    _vendor_parsers(sub)
    _token_parsers(sub)
    _subscriber_parsers(sub)
    _serve_parser(sub)


def _leaf(sub: Any, name: str, summary: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=summary, description=summary)
    json_option(parser, nested=True)
    return parser


def _rules_parsers(sub: Any) -> None:
    rules = sub.add_parser("rules", help="rule sets").add_subparsers(
        dest="verb", metavar="VERB", required=True
    )
    imp = _leaf(rules, "import", "import a rule file or a saved get_rules reply")
    imp.add_argument("file", metavar="FILE", help="a rule file (JSON or TOML) or a get_rules reply")
    imp.add_argument("--name", required=True, metavar="NAME", help="the rule set's name")
    imp.add_argument("--dmr", metavar="ADDR", help="BR address (default: the rules' own)")
    imp.add_argument("--fixlen", default="56", metavar="0-64", help="ipv6_fixlen to announce")
    _leaf(rules, "list", "the rule sets' names")


def _vendor_parsers(sub: Any) -> None:
    vendor = sub.add_parser("vendor", help="manufacturer codes").add_subparsers(
        dest="verb", metavar="VERB", required=True
    )
    add = _leaf(vendor, "add", "register a manufacturer code")
    add.add_argument("code", metavar="CODE", help="the 32-hex manufacturer code")
    add.add_argument("--name", required=True, metavar="NAME", help="the manufacturer's name")
    add.add_argument("--kind", choices=("router", "hgw"), default="router",
                     help="whose code it is: a router maker's or an HGW's (router)")  # fmt: skip
    for verb in ("enable", "disable"):
        _leaf(vendor, verb, f"{verb} a code").add_argument(
            "code", metavar="CODE", help="the 32-hex manufacturer code"
        )
    _leaf(vendor, "list", "the registered codes")


def _token_parsers(sub: Any) -> None:
    token = sub.add_parser("token", help="admin API tokens").add_subparsers(
        dest="verb", metavar="VERB", required=True
    )
    token_add = _leaf(token, "add", "a new token, shown once")
    token_add.add_argument("name", metavar="NAME", help="the token's name")
    token_add.add_argument(
        "--scope", action="append", choices=("read", "write"),
        help="read (every GET) and/or write (changes); repeatable; default both",
    )  # fmt: skip
    _leaf(token, "list", "names, scopes and creation times (never the tokens)")
    _leaf(token, "revoke", "delete a token").add_argument(
        "name", metavar="NAME", help="the token's name"
    )


def _which(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--prefix", metavar="PREFIX", help="the subscriber's prefix")
    which.add_argument("--id", metavar="ID", help="the subscriber's id")


CLEARABLE = ("aftr", "ipip", "update")


def _mechanism_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--order", metavar="LIST", help="mechanisms offered, most preferred first: "
                     "map_e, dslite, ipip, separated by commas (map_e)")  # fmt: skip
    cmd.add_argument("--aftr", metavar="NAME", help="DS-Lite: the AFTR, a DNS name or IPv6 address")
    cmd.add_argument("--ipip-remote", metavar="ADDR", help="IPIP: the endpoint (IPv6)")
    cmd.add_argument("--ipip-ipv4", metavar="ADDR[/LEN]",
                     help="IPIP: the fixed address, or a prefix /24 to /32")  # fmt: skip
    cmd.add_argument("--ipip-interface-id", metavar="IID", help="IPIP: the lower 64 bits of the "
                     "CE's tunnel address, e.g. ::1234:5678:9abc:def0")  # fmt: skip
    cmd.add_argument("--update-user", metavar="USER", help="the IPIP update endpoint's user")
    cmd.add_argument("--update-password-file", metavar="FILE", help="its password: the first "
                     "line of FILE, or of standard input with -")  # fmt: skip


def _subscriber_parsers(sub: Any) -> None:
    subs = sub.add_parser("subscriber", help="subscribers").add_subparsers(
        dest="verb", metavar="VERB", required=True
    )
    add = _leaf(subs, "add", "add a subscriber")
    add.add_argument("--prefix", required=True, metavar="PREFIX",
                     help="the subscriber's End-user prefix (/32 to /64)")  # fmt: skip
    add.add_argument("--target", choices=("hgw", "router"), required=True,
                     help="where its rules are delivered (the deployment target)")  # fmt: skip
    add.add_argument("--rule-set", metavar="NAME",
                     help="its MAP-E rule set (required when the order has map_e)")  # fmt: skip
    add_deprecated(add, "--rules", "--rule-set", "rule_set")
    add.add_argument("--id", metavar="ID", help="its id (default: made from the prefix)")
    add.add_argument("--hgw", choices=("rented", "none"), help="HGW rental (default: rented "
                     "when the target is hgw)")  # fmt: skip
    _mechanism_options(add)
    change = _leaf(subs, "set", "change the mechanisms and their parameters (options given "
                   "replace, --clear removes, the rest stays)")  # fmt: skip
    _which(change)
    _mechanism_options(change)
    change.add_argument("--clear", action="append", choices=CLEARABLE, default=[],
                        metavar="|".join(CLEARABLE),
                        help="remove the AFTR, the IPIP parameters or the update credentials "
                        "(repeatable)")  # fmt: skip
    for verb, choices, what in (
        ("set-target", ("hgw", "router"), "the deployment target"),
        ("set-hgw", ("rented", "none"), "the HGW rental"),
    ):
        cmd = _leaf(subs, verb, f"change {what}")
        _which(cmd)
        cmd.add_argument("value", choices=choices, help=f"the new {what}")
    imp = _leaf(subs, "import", "CSV with columns prefix,target,rules[,id,hgw_rental,order,aftr,"
                "ipip_remote,ipip_ipv4,ipip_interface_id,update_user,update_password]")  # fmt: skip
    imp.add_argument("file", metavar="FILE", help="the CSV file (a header row names the columns)")
    lst = _leaf(subs, "list", "list subscribers")
    lst.add_argument("--limit", default="100", metavar=PAGE_LIMIT, help="at most this many (100)")
    lst.add_argument("--offset", default="0", metavar="N", help="skip this many first (0)")
    _which(_leaf(subs, "show", "one subscriber"))


def _serve_parser(sub: Any) -> None:
    serve = _leaf(sub, "serve", "run the HTTP server")
    serve.add_argument("--listen", default="[::]:8080", metavar="HOST:PORT",
                       help="address and port ([::]:8080; IPv6 as [ADDR]:PORT)")  # fmt: skip
    serve.add_argument(
        "--client-address-header", metavar="NAME",
        help="take the client address from this header, on connections from --trusted-proxy",
    )  # fmt: skip
    serve.add_argument("--trusted-proxy", action="append", metavar="CIDR", default=[],
                       help="a proxy whose address header is believed (repeatable)")  # fmt: skip
    serve.add_argument("--workers", type=int, default=1, metavar="N", help="processes (1)")
    serve.add_argument("--max-header-bytes", type=int, default=16384, metavar="N",
                       help="largest request head in bytes (16384)")  # fmt: skip
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="S",
                       help="seconds for a request head (10)")  # fmt: skip
    serve.add_argument("--body-timeout", type=float, default=60.0, metavar="S",
                       help="seconds for a request body (60)")  # fmt: skip
    serve.add_argument("--per-peer-connections", type=int, default=32, metavar="N",
                       help="open connections per IPv4 address or IPv6 /64 (32)")  # fmt: skip
    serve.add_argument("--rate-limit", type=float, default=5.0, metavar="R",
                       help="requests/s per subscriber or client (5; 0: no limit)")  # fmt: skip
    serve.add_argument("--burst", type=float, default=20.0, metavar="B",
                       help="requests allowed in a burst (20)")  # fmt: skip
    serve.add_argument("--no-access-log", action="store_true", help="no JSON access log lines")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key")
    serve.add_argument("--enabler-name", metavar="NAME", help="HB46PP enabler_name, the VNE "
                       "(mapekit)")  # fmt: skip
    serve.add_argument("--service-name", metavar="NAME", help="HB46PP service_name (default: "
                       "the subscriber's rule set)")  # fmt: skip
    serve.add_argument("--isp-name", metavar="NAME", help="HB46PP isp_name (default: none)")
    serve.add_argument("--update-moves-prefix", action="store_true", help="an IPIP update from "
                       "outside the subscriber's prefix moves the prefix there (renumbered "
                       "lines; default: refused)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    require("server", "server", args.lang)
    from mapekit.cli.serverdb import run_server

    return run_server(args)

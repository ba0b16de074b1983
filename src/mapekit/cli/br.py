"""``mape br``: a userspace BR for labs and small deployments, until stopped.

The domain's IPv4 prefixes are routed into a TUN device; packets from CEs are checked
(outer source = CE of the inner source and port) and forwarded, packets to the domain are
encapsulated to the CE owning their destination and port; CE-to-CE traffic hairpins.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mapekit.cli import output
from mapekit.cli.ruleopts import add_rule_options, rules_from_args
from mapekit.cli.tunnel import add_serve_options, serve
from mapekit.core.addr import parse_ipv6_address
from mapekit.dataplane.plan import check_ifname


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", metavar="ADDR", help="BR IPv6 address (default: rules')")
    parser.add_argument("--device", metavar="IFACE", help="put the address on this interface")
    parser.add_argument(
        "--tun", default="mapebr0", metavar="IFACE", help="the TUN device (mapebr0)"
    )
    add_serve_options(parser)
    add_rule_options(parser)


def run(args: argparse.Namespace) -> int:
    from mapekit.dataplane.userspace import UserspaceBr

    rules = rules_from_args(args).rules
    stats = Path(args.stats) if args.stats else None
    address = args.address or next((str(r.br) for r in rules if r.br is not None), None)
    if address is None:
        raise output.UsageError("usage.invalid_arguments", "give --address", field="address")
    parse_ipv6_address(address, "address")
    if args.device is not None:
        check_ifname(args.device, "device")
    check_ifname(args.tun, "tun")
    br = UserspaceBr(rules, address, args.tun, stats_path=stats)
    try:
        forwarder = br.up(args.device)
        serve(forwarder, {"role": "br", "address": address, "tun": args.tun}, args.json)
    finally:
        br.down(args.device)
    return output.OK

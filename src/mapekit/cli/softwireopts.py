"""``mape export``'s DS-Lite and IPIP options: a softwire from the command line
(``--provider dslite --aftr …`` or ``--provider ipip --remote … --ipv4 … --interface-id …``)
or from the agent's status (``--from-status``), checked like the agent's configuration.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable
from pathlib import Path

from mapekit.agent import checks
from mapekit.cli.output import UsageError
from mapekit.core.addr import ipv6_text, parse_end_user_prefix
from mapekit.core.errors import InputError, MapeError
from mapekit.core.softwire import B4_ADDRESS, B4_IID, B4_PREFIX_LEN, Softwire
from mapekit.export.softwire import SoftwireLine

DEFAULT_SOCKET = "/run/mapekit/agent.sock"
SOFTWIRE_FLAGS = ("aftr", "aftr_address", "dns_server", "remote", "ipv4", "interface_id",
                  "ipv6_local", "update_url")  # fmt: skip
MAPE_ONLY = ("mode", "voip_bridge", "rules", "iid", "rule_ipv6", "rule_ipv4", "ea_len",
             "psid_offset", "psid_len", "psid", "br")  # fmt: skip


def add_softwire_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("DS-Lite and IPIP (instead of a MAP-E mapping)")
    group.add_argument("--provider", choices=("dslite", "ipip"), metavar="dslite|ipip",
                       help="export a DS-Lite B4 or an IPIP fixed-address tunnel")  # fmt: skip
    group.add_argument("--aftr", metavar="NAME|ADDR", help="dslite: the AFTR's name or address")
    group.add_argument("--aftr-address", metavar="ADDR",
                       help="dslite: the AFTR's address when --aftr is a name (else resolved "
                            "for the formats that need it)")  # fmt: skip
    group.add_argument(
        "--dns-server",
        metavar="ADDR",
        help="dslite: the resolver for the AFTR's name (default: the system's)",
    )
    group.add_argument("--remote", metavar="ADDR", help="ipip: the operator's endpoint")
    group.add_argument("--ipv4", metavar="ADDR[/LEN]", help="ipip: the fixed address or prefix")
    group.add_argument("--interface-id", metavar="IID",
                       help="ipip: the operator's interface ID (the tunnel address is the "
                            "prefix's subnet 0 with it)")  # fmt: skip
    group.add_argument(
        "--ipv6-local",
        metavar="ADDR",
        help="ipip: the whole tunnel address (HB46PP's ipv6_local) instead",
    )
    group.add_argument("--update-url", metavar="URL",
                       help="ipip: the operator's update URL, for formats that call it "
                            "(fortigate)")  # fmt: skip
    group.add_argument(
        "--from-status",
        action="store_true",
        help="the softwire the agent runs (its socket, else its saved status)",
    )
    where = group.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help=f"with --from-status ({DEFAULT_SOCKET})")
    where.add_argument("--state-dir", metavar="DIR", help="with --from-status: a saved status")


def softwire_requested(args: argparse.Namespace) -> bool:
    return bool(args.provider or args.from_status)


def _checked(flag: str, value: str, check: Callable[[str], str]) -> str:
    try:
        return check(value)
    except ValueError as exc:
        raise InputError("input.value_range", f"{flag}: {exc}", field=flag,
                         value=value[:60]) from None  # fmt: skip


def _usage(message: str, field: str) -> UsageError:
    return UsageError("usage.invalid_arguments", message, field=field)


def _refuse_others(args: argparse.Namespace) -> None:
    """MAP-E's options make no sense for a softwire: said, not ignored."""
    given = [n for n in MAPE_ONLY if getattr(args, n, None) not in (None, False)]
    given += ["forward"] if args.forward else []
    given += ["full"] if args.full else []
    given += ["isp"] if args.isp != "auto" else []
    if given:
        flag = given[0].replace("_", "-")
        raise _usage(f"{flag}: MAP-E only (not with --provider or --from-status)", flag)


def _required(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name) is None:
            flag = name.replace("_", "-")
            raise _usage(f"{flag}: required for --provider {args.provider}", flag)


def _foreign(args: argparse.Namespace, allowed: tuple[str, ...]) -> None:
    for name in SOFTWIRE_FLAGS:
        if name not in allowed and getattr(args, name) is not None:
            flag = name.replace("_", "-")
            what = f"--provider {args.provider}" if args.provider else "--from-status"
            raise _usage(f"{flag}: not an option of {what}", flag)


def _prefix(args: argparse.Namespace) -> tuple[int, int, str]:
    if args.prefix is None:
        raise _usage("prefix: the End-user prefix is required", "prefix")
    prefix, length = parse_end_user_prefix(args.prefix)
    return prefix, length, f"{ipv6_text(prefix)}/{length}"


def _dslite(args: argparse.Namespace, resolve: bool) -> SoftwireLine:
    _required(args, "aftr")
    _foreign(args, ("aftr", "aftr_address", "dns_server"))
    prefix, _, text = _prefix(args)
    aftr = _checked("aftr", args.aftr, checks.host_or_ipv6)
    name, address = (None, aftr) if ":" in aftr else (aftr, None)
    if args.aftr_address is not None:
        address = _checked("aftr-address", args.aftr_address, checks.ipv6_address)
    if address is None and resolve:
        address = _resolve(aftr, args.dns_server)
    return SoftwireLine("dslite", text, ipv6_text(prefix | B4_IID), address, name, B4_ADDRESS,
                        B4_PREFIX_LEN, nat=False)  # fmt: skip


def _resolve(name: str, dns_server: str | None) -> str:
    from mapekit.client.lookup import Answer, lookup_aaaa

    found = lookup_aaaa(name, dns_server)
    if found.answer is not Answer.OK:
        raise MapeError("dns.aftr", f"aftr: {name}: {found.answer.value} from {found.resolver}; "
                        "give --aftr-address", field="aftr")  # fmt: skip
    return found.addresses[0]


def _ipip(args: argparse.Namespace) -> SoftwireLine:
    from mapekit.provision.model import Provider, SoftwireDelivery
    from mapekit.provision.softwire import select_softwire

    _required(args, "remote", "ipv4")
    _foreign(args, ("remote", "ipv4", "interface_id", "ipv6_local", "update_url"))
    if (args.interface_id is None) == (args.ipv6_local is None):
        raise _usage("interface-id: give --interface-id or --ipv6-local (one of them)",
                     "interface-id")  # fmt: skip
    prefix, length, text = _prefix(args)
    remote = _checked("remote", args.remote, checks.ipv6_address)
    ipv4 = _checked("ipv4", args.ipv4, checks.ipv4_address_or_prefix)
    iid = args.interface_id and _checked("interface-id", args.interface_id, checks.interface_id)
    local = args.ipv6_local and _checked("ipv6-local", args.ipv6_local, checks.ipv6_address)
    delivery = SoftwireDelivery(
        Provider.IPIP, "ipip", remote, local=local, ipv4=ipv4,
        interface_id=int(ipaddress.IPv6Address(iid)) if iid else None,
    )  # fmt: skip
    return SoftwireLine.of(select_softwire(delivery, prefix, length), text, args.update_url)


def _from_status(args: argparse.Namespace) -> SoftwireLine:
    from mapekit.agent.control import ask_agent
    from mapekit.cli.forget import DEFAULT_STATE_DIR
    from mapekit.client.state import StateStore
    from mapekit.diag.softwire import softwire_from_status

    _foreign(args, ("update_url",))
    doc = None if args.state_dir else ask_agent(args.socket or DEFAULT_SOCKET, "status")
    if doc is None and args.socket is None:
        doc = StateStore(Path(args.state_dir or DEFAULT_STATE_DIR)).load_status()
    wire: Softwire | None = softwire_from_status((doc or {}).get("softwire"))
    if wire is None:
        raise MapeError(
            "status.unavailable",
            "from-status: the agent reports no DS-Lite or "
            "IPIP softwire (not running, or running MAP-E)",
            field="from-status",
        )
    prefix = args.prefix or (doc or {}).get("prefix")
    if not isinstance(prefix, str):
        raise _usage("prefix: the agent's status has no prefix; give it", "prefix")
    number, length = parse_end_user_prefix(prefix)
    return SoftwireLine.of(wire, f"{ipv6_text(number)}/{length}", args.update_url)


def line_from_args(args: argparse.Namespace, needs_address: bool) -> SoftwireLine:
    """The softwire to export; a DS-Lite AFTR given by name is resolved only for formats
    that need its address (``needs_address``) and only without ``--aftr-address``."""
    _refuse_others(args)
    if args.from_status:
        if args.provider:
            raise _usage("provider: --from-status takes the agent's softwire", "provider")
        return _from_status(args)
    if args.socket or args.state_dir:
        raise _usage("socket: only with --from-status", "socket")
    return _dslite(args, needs_address) if args.provider == "dslite" else _ipip(args)

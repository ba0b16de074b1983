"""``mape provision``'s options → the provider the client runs (``ProviderConfig``).

A missing or malformed option is a usage or input error raised here, naming the flag;
it is never a failure fed to the retry machine.
"""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

from mapekit import __version__
from mapekit.cli.output import UsageError
from mapekit.cli.ruleopts import iid_from_args, rules_from_args
from mapekit.client.fetch import (
    Dhcpv6Source,
    DsliteSource,
    Hb46ppSource,
    IpipSource,
    JpneSource,
    OcnSource,
    ProviderConfig,
    StaticSource,
)
from mapekit.client.http import HttpSettings
from mapekit.core.addr import ipv6_text, mask, parse_ipv6_address
from mapekit.core.errors import InputError
from mapekit.core.files import read_bytes_file
from mapekit.core.rule import IidFormat
from mapekit.provision.hb46pp import ClientIdentity
from mapekit.provision.model import Provider

MAX_OPTIONS_FILE = 256 << 10  # hex of a DHCPv6 reply (at most 64 KiB), with separators


def _dhcpv6_bytes(text: str) -> bytes:
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            raw = read_bytes_file(path, what="dhcpv6-options", max_bytes=MAX_OPTIONS_FILE)
        except FileNotFoundError:
            raise InputError(
                "input.value_range",
                f"dhcpv6-options: cannot read {path}: no such file",
                field="dhcpv6-options",
            ) from None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return raw  # binary options
    cleaned = "".join(text.split()).replace(":", "")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise InputError(
            "input.value_range",
            "dhcpv6-options: not hexadecimal (give the options as hex, or @FILE)",
            field="dhcpv6-options",
        ) from None


def required(args: argparse.Namespace, name: str) -> str:
    value: str | None = getattr(args, name)
    if not value:
        flag = name.replace("_", "-")
        raise UsageError(
            "usage.invalid_arguments",
            f"{flag}: required for provider {args.provider}",
            field=flag,
        )
    return value


def source_address(args: argparse.Namespace, prefix: tuple[int, int]) -> str | None:
    """``--source-address``, which must lie inside the End-user prefix."""
    if args.source_address is None:
        return None
    address = int(parse_ipv6_address(args.source_address, "source-address"))
    if address & mask(128, prefix[1]) != prefix[0]:
        raise InputError(
            "input.value_range",
            f"source-address: {args.source_address} is outside the prefix "
            f"{ipv6_text(prefix[0])}/{prefix[1]}; the rule server identifies the "
            "subscriber by the request's source address",
            field="source-address",
            value=args.source_address,
        )
    return str(args.source_address)


def interface_id(text: str | None) -> int | None:
    """``--interface-id ::1234:5678:9abc:def0`` (the lower 64 bits, as operators write it)."""
    if text is None:
        return None
    try:
        value = int(ipaddress.IPv6Address(text))
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 64:
        raise InputError(
            "input.value_range",
            f"interface-id: {text!r} is not an interface id (the lower 64 bits, written "
            "like ::1234:5678:9abc:def0)",
            field="interface-id",
            value=text,
        )
    return value


def _ipip(args: argparse.Namespace) -> IpipSource:
    remote = str(parse_ipv6_address(required(args, "remote"), "remote"))
    ipv4 = required(args, "ipv4")
    try:
        ipaddress.IPv4Network(ipv4, strict=True)
    except ValueError:
        raise InputError(
            "input.value_range",
            f"ipv4: {ipv4!r} is not an IPv4 address or prefix",
            field="ipv4",
            value=ipv4,
        ) from None
    return IpipSource(remote, ipv4, interface_id(args.interface_id))


def _dslite(args: argparse.Namespace) -> DsliteSource:
    if args.aftr is None and args.aftr_file is None:
        raise UsageError(
            "usage.invalid_arguments",
            "aftr: required for provider dslite (a name or IPv6 address), or --aftr-file",
            field="aftr",
        )
    return DsliteSource(aftr=args.aftr, aftr_file=args.aftr_file, dns_server=args.dns_server)


def provider_config(args: argparse.Namespace, prefix: tuple[int, int]) -> ProviderConfig:
    """The provider's settings from the command line."""
    provider = Provider(args.provider)
    http = HttpSettings(
        timeout=args.timeout, ca_file=args.ca_file, source_address=source_address(args, prefix)
    )
    match provider:
        case Provider.STATIC:
            return StaticSource(rules_from_args(args).rules)
        case Provider.DHCPV6:
            return Dhcpv6Source(options=_dhcpv6_bytes(required(args, "dhcpv6_options")))
        case Provider.DSLITE:
            return _dslite(args)
        case Provider.IPIP:
            return _ipip(args)
        case Provider.HB46PP:
            version = __version__.replace(".", "_")
            return Hb46ppSource(
                ClientIdentity(args.hb46pp_vendorid, args.hb46pp_product, version),
                url=args.url, dns_server=args.dns_server, dns_port=args.dns_port,
                allow_insecure_discovery=args.insecure_discovery, http=http,
            )  # fmt: skip
    source = JpneSource if provider is Provider.JPNE else OcnSource
    url, code = required(args, "url"), required(args, "vendor_code")
    isp = None if args.isp == "auto" else args.isp
    iid = iid_from_args(args) or IidFormat.LEGACY
    return source(url, code, isp=isp, iid=iid, http=http)

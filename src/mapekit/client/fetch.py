"""Fetch rules from each kind of provider, and send JPNE reports."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import dns.exception
import dns.resolver
import httpx

from mapekit.client.http import (
    HB46PP_REDIRECTS,
    HttpSettings,
    Response,
    get,
    make_client,
    predicted_source,
)
from mapekit.core.addr import ipv6_text, mask
from mapekit.core.aftr import decode_name, encode_name
from mapekit.core.errors import MapeError
from mapekit.core.files import read_text_file
from mapekit.core.rule import IidFormat
from mapekit.core.ruleset import RuleSet
from mapekit.core.s46 import S46Kind, container_rules
from mapekit.core.s46_wire import decode_options
from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.errors import ProvisionError, ReplyError
from mapekit.provision.httpstatus import check_status
from mapekit.provision.model import (
    FetchResult,
    Provider,
    RuleDelivery,
    SoftwireDelivery,
    Unsupported,
)

DNS_TIMEOUT = 3.0
MAX_OPTIONS_FILE = 256 << 10  # hex of a DHCPv6 reply (at most 64 KiB), with separators


@dataclass(frozen=True)
class JpneSource:
    """A JPNE-style rule API (v6plus, BIGLOBE): ``<url>/<vendor_code>/get_rules``."""

    url: str  # base URL of the rule API
    vendor_code: str  # the 32-hex manufacturer code
    isp: str | None = None  # operator label for the rules (sets nothing else)
    iid: IidFormat = IidFormat.LEGACY  # interface-id format of the delivered rules
    http: HttpSettings = field(default_factory=HttpSettings)
    transport: httpx.BaseTransport | None = None  # tests: an in-process server
    provider: ClassVar[Provider] = Provider.JPNE


@dataclass(frozen=True)
class OcnSource:
    """OCN's rule API: ``<url>/?ipv6Prefix=…&code=<vendor_code>``."""

    url: str
    vendor_code: str
    isp: str | None = None
    iid: IidFormat = IidFormat.LEGACY
    http: HttpSettings = field(default_factory=HttpSettings)
    transport: httpx.BaseTransport | None = None
    provider: ClassVar[Provider] = Provider.OCN


@dataclass(frozen=True)
class Hb46ppSource:
    """HB46PP: the server found by the ``4over6.info`` TXT record, or ``url``."""

    identity: hb46pp.ClientIdentity
    url: str | None = None  # replaces DNS discovery
    dns_server: str | None = None  # resolver for discovery (default: the system's)
    dns_port: int = 53
    allow_insecure_discovery: bool = False  # honour t=a on https URLs
    user: str | None = None
    password: str | None = None
    http: HttpSettings = field(default_factory=HttpSettings)
    transport: httpx.BaseTransport | None = None
    prefer: str | None = None  # this mechanism when offered, whatever the server's order
    provider: ClassVar[Provider] = Provider.HB46PP


@dataclass(frozen=True)
class Dhcpv6Source:
    """RFC 7598 S46 options: given, or a hex file the DHCPv6 client's hook rewrites."""

    options: bytes | None = None
    options_file: str | None = None
    provider: ClassVar[Provider] = Provider.DHCPV6


@dataclass(frozen=True)
class StaticSource:
    """Rules from a table (the built-in operator tables or a rule file): no server."""

    rules: RuleSet
    provider: ClassVar[Provider] = Provider.STATIC


@dataclass(frozen=True)
class DsliteSource:
    """DS-Lite (RFC 6333): the AFTR named in the configuration, or by DHCPv6 option 64 (a
    file the DHCPv6 client's hook writes); a name is resolved (AAAA) when fetched."""

    aftr: str | None = None
    aftr_file: str | None = None
    dns_server: str | None = None
    provider: ClassVar[Provider] = Provider.DSLITE


@dataclass(frozen=True)
class IpipSource:
    """An IPIP fixed-address tunnel from the configuration."""

    remote: str
    ipv4: str
    interface_id: int | None = None
    provider: ClassVar[Provider] = Provider.IPIP


ProviderConfig = (
    JpneSource | OcnSource | Hb46ppSource | Dhcpv6Source | StaticSource | DsliteSource | IpipSource
)
HttpSource = JpneSource | OcnSource | Hb46ppSource


def http_settings(config: ProviderConfig) -> HttpSettings | None:
    """The HTTP settings of a provider that speaks HTTP (None for DHCPv6 and static)."""
    return config.http if isinstance(config, HttpSource) else None


def provider_url(config: ProviderConfig) -> str | None:
    return config.url if isinstance(config, HttpSource) else None


def with_source_address(config: ProviderConfig, address: str | None) -> ProviderConfig:
    """``config`` sending its requests from ``address`` (an HTTP provider only)."""
    if not isinstance(config, HttpSource) or config.http.source_address == address:
        return config
    return replace(config, http=replace(config.http, source_address=address))


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def fetch(
    config: ProviderConfig,
    prefix: tuple[int, int] | None,
    user_id: str | None = None,
    token: str | None = None,
    *,
    resolve: bool = True,
) -> FetchResult:
    """One rule request; failures raise ProvisionError (ReplyError for bad replies).

    A DS-Lite AFTR given by name is resolved (AAAA) unless ``resolve`` is false (the doctor
    looks the name up itself, to say what the resolver answered)."""
    match config:
        case StaticSource(rules=rules):
            return RuleDelivery(Provider.STATIC, rules)
        case Dhcpv6Source():
            return _from_dhcpv6(config)
        case JpneSource():
            return _jpne(config, user_id)
        case OcnSource():
            return _ocn(config, prefix)
        case Hb46ppSource():
            found = _hb46pp(config, token)
            return _resolve_aftr(found, config.dns_server) if resolve else found
        case DsliteSource():
            return _dslite(config, resolve)
        case IpipSource(remote=remote, ipv4=ipv4, interface_id=iid):
            return SoftwireDelivery(Provider.IPIP, "ipip", remote, interface_id=iid, ipv4=ipv4)


def _dslite(config: DsliteSource, resolve: bool = True) -> FetchResult:
    name = config.aftr
    if name is None:
        name = _aftr_from_file(config.aftr_file)
    delivery = SoftwireDelivery(Provider.DSLITE, "dslite", name)
    return _resolve_aftr(delivery, config.dns_server) if resolve else delivery


def _aftr_from_file(path: str | None) -> str:
    """The AFTR name the hook wrote from DHCPv6 option 64 (checked like the option)."""
    try:
        text = Path(path or "").read_text(encoding="ascii").strip()[:255]
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplyError(
            "reply.missing_field",
            f"no AFTR name yet (DHCPv6 option 64; {path}: {getattr(exc, 'strerror', None) or exc})",
            field="OPTION_AFTR_NAME",
        ) from None
    try:
        return decode_name(encode_name(text))
    except MapeError as exc:
        raise ReplyError(
            "data.aftr_name", f"{path}: {exc.message}", field="OPTION_AFTR_NAME"
        ) from None


def _resolve_aftr(result: FetchResult, dns_server: str | None) -> FetchResult:
    """A DS-Lite delivery whose AFTR is a name gets its IPv6 address (AAAA)."""
    if not isinstance(result, SoftwireDelivery) or result.mechanism != "dslite":
        return result
    try:
        ipaddress.IPv6Address(result.remote)
    except ValueError:
        pass
    else:
        return result
    address = resolve_aaaa(result.remote, dns_server)
    return replace(result, remote=address, remote_name=result.remote)


def resolve_aaaa(name: str, dns_server: str | None, port: int = 53) -> str:
    resolver = dns.resolver.Resolver(configure=dns_server is None)
    if dns_server is not None:
        resolver.nameservers = [dns_server]
        resolver.port = port
    resolver.lifetime = DNS_TIMEOUT
    try:
        answer = resolver.resolve(name, "AAAA")
    except dns.exception.DNSException as exc:
        raise ProvisionError("dns.aftr", f"aftr: {name}: no IPv6 address ({exc})",
                             field="aftr") from None  # fmt: skip
    return str(answer[0].address)


def _exchange(config: JpneSource | OcnSource, url: str, params: list[tuple[str, str]]) -> Response:
    with make_client(config.http, config.transport) as client:
        return get(client, url, params, settings=config.http)


def _jpne(config: JpneSource, user_id: str | None) -> FetchResult:
    path, query = jpne.get_rules_request(config.vendor_code, user_id)
    reply = _exchange(config, _join(config.url, path), query)
    check_status(reply.status, reply.body, Provider.JPNE, "get_rules")
    return jpne.decode_get_rules(reply.body, isp=config.isp, iid=config.iid)


def report(
    config: ProviderConfig,
    action: jpne.ReportAction,
    reason: jpne.ReportReason,
    user_id: str | None,
) -> None:
    """Send acct_report (JPNE only; other providers have nothing to report to)."""
    if not isinstance(config, JpneSource):
        return
    path, query = jpne.acct_report_request(config.vendor_code, action, reason, user_id)
    reply = _exchange(config, _join(config.url, path), query)
    check_status(reply.status, reply.body, Provider.JPNE, "acct_report")
    jpne.decode_acct_report(reply.body)


def _ocn(config: OcnSource, prefix: tuple[int, int] | None) -> FetchResult:
    base, code = config.url, config.vendor_code
    if prefix is None:
        raise ProvisionError("rules.no_bmr", "the OCN request needs the CE's prefix")
    url = base if base.endswith("/") or "?" in base else base + "/"
    reply = _exchange(config, url, ocn.rules_query(prefix[0], prefix[1], code))
    check_status(reply.status, reply.body, Provider.OCN, "OCN rules")
    return ocn.decode_rules(reply.body, isp=config.isp, iid=config.iid)


def discover(config: Hb46ppSource) -> hb46pp.Discovery:
    """The HB46PP server from the ``4over6.info`` TXT record."""
    resolver = dns.resolver.Resolver(configure=config.dns_server is None)
    if config.dns_server is not None:
        resolver.nameservers = [config.dns_server]
        resolver.port = config.dns_port
    resolver.lifetime = DNS_TIMEOUT
    try:
        answer = resolver.resolve(hb46pp.DISCOVERY_NAME, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        raise ProvisionError(
            "dns.no_record",
            f"{hb46pp.DISCOVERY_NAME}: no TXT record (NXDOMAIN or NODATA)",
            field="txt",
        ) from None
    except dns.exception.DNSException as exc:
        raise ProvisionError(
            "net.dns", f"{hb46pp.DISCOVERY_NAME}: DNS failed: {exc}", field="txt"
        ) from None
    return hb46pp.parse_txt([list(rr.strings) for rr in answer])


def _hb46pp(config: Hb46ppSource, token: str | None) -> FetchResult:
    http = config.http
    url = config.url
    if url is None:
        found = discover(config)
        url = found.url
        insecure_ok = found.url.startswith("http:") or config.allow_insecure_discovery
        if not found.verify_tls and insecure_ok:
            http = replace(http, verify=False)
    http = replace(http, redirects=HB46PP_REDIRECTS)  # 307 + Location, to any host
    query = hb46pp.config_query(config.identity, token, config.user, config.password)
    with make_client(http, config.transport) as client:
        reply = get(client, url, query, settings=http)
    check_status(reply.status, reply.body, Provider.HB46PP, "HB46PP config")
    return hb46pp.decode_config(reply.body, config.prefer)


def _dhcpv6_options(config: Dhcpv6Source) -> bytes:
    """The options given, or the hook's file read now (a new reply rewrites it)."""
    if config.options is not None:
        return config.options
    path = config.options_file
    if path is None:
        raise ProvisionError(
            "usage.invalid_arguments", "--dhcpv6-options is required", field="dhcpv6-options"
        )
    try:
        text = read_text_file(path, what="dhcpv6-options", max_bytes=MAX_OPTIONS_FILE)
    except (FileNotFoundError, MapeError) as exc:
        why = exc.message if isinstance(exc, MapeError) else "no such file"
        raise ReplyError(
            "reply.missing_field",
            f"no DHCPv6 S46 options yet ({path}: {why})",
            field="OPTION_S46_CONT_MAPE",
        ) from None
    digits = "".join(text.split()).replace(":", "")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise ReplyError(
            "reply.bad_value", f"{path}: not hex", field="dhcpv6_options_file"
        ) from None


def _from_dhcpv6(config: Dhcpv6Source) -> FetchResult:
    options = _dhcpv6_options(config)
    try:
        containers = decode_options(options)
    except MapeError as exc:
        raise ReplyError(
            "reply.bad_value", f"DHCPv6 options: {exc.message}", field=exc.field
        ) from None
    mape = [c for c in containers if c.kind is S46Kind.MAP_E]
    if not mape:
        offered = tuple(c.kind.name.lower() for c in containers)
        if offered:
            return Unsupported(
                Provider.DHCPV6, offered, f"DHCPv6 offers {', '.join(offered)}, not MAP-E"
            )
        raise ReplyError(
            "reply.missing_field",
            "DHCPv6 options: no S46 container (option 94)",
            field="OPTION_S46_CONT_MAPE",
        )
    try:
        rules = RuleSet(container_rules(mape[0], iid=IidFormat.RFC))
    except MapeError as exc:
        raise ReplyError(
            "reply.invalid_rule", f"DHCPv6 options: {exc.message}", field=exc.field
        ) from None
    return RuleDelivery(Provider.DHCPV6, rules)


def source_note(config: ProviderConfig, prefix: tuple[int, int] | None) -> str | None:
    """A warning when rule requests would not leave from inside the End-user prefix."""
    if not isinstance(config, HttpSource):
        return None
    if config.http.source_address or not config.url or not prefix:
        return None
    source = predicted_source(config.url)
    if source is None:
        return None
    if ":" in source and int(ipaddress.IPv6Address(source)) & mask(128, prefix[1]) == prefix[0]:
        return None
    return (
        f"rule requests would leave from {source}, outside the prefix "
        f"{ipv6_text(prefix[0])}/{prefix[1]}; the server identifies the subscriber by the "
        "source address (set --source-address to an address inside the prefix)"
    )

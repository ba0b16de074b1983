"""Fetch rules from each kind of provider, and send JPNE reports."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

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
from mapekit.core.errors import MapeError
from mapekit.core.files import read_text_file
from mapekit.core.rule import IidFormat
from mapekit.core.ruleset import RuleSet
from mapekit.core.s46 import S46Kind, container_rules
from mapekit.core.s46_wire import decode_options
from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.errors import ProvisionError, ReplyError
from mapekit.provision.httpstatus import check_status
from mapekit.provision.model import FetchResult, Provider, RuleDelivery, Unsupported

DNS_TIMEOUT = 3.0
MAX_OPTIONS_FILE = 256 << 10  # hex of a DHCPv6 reply (at most 64 KiB), with separators


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to ask one provider for rules."""

    provider: Provider
    url: str | None = None  # base URL of the rule API (HB46PP: replaces discovery)
    vendor_code: str | None = None  # JPNE manufacturer code / OCN vendor code
    isp: str | None = None  # operator label for the rules (sets nothing else)
    iid: IidFormat = IidFormat.LEGACY  # JPNE/OCN interface-id format
    http: HttpSettings = field(default_factory=HttpSettings)
    identity: hb46pp.ClientIdentity | None = None
    dns_server: str | None = None  # resolver for HB46PP discovery (default: system's)
    dns_port: int = 53
    allow_insecure_discovery: bool = False  # honour t=a on https URLs
    user: str | None = None
    password: str | None = None
    dhcpv6_options: bytes | None = None
    dhcpv6_options_file: str | None = None  # hex, rewritten by the DHCPv6 client's hook
    static_rules: RuleSet | None = None
    transport: httpx.BaseTransport | None = None  # tests: an in-process server


def _require(value: str | None, flag: str, provider: Provider) -> str:
    if not value:
        raise ProvisionError(
            "usage.invalid_arguments",
            f"--{flag} is required for provider {provider.value}",
            field=flag,
        )
    return value


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + path


def fetch(
    config: ProviderConfig,
    prefix: tuple[int, int] | None,
    user_id: str | None = None,
    token: str | None = None,
) -> FetchResult:
    """One rule request; failures raise ProvisionError (ReplyError for bad replies)."""
    provider = config.provider
    if provider is Provider.STATIC:
        if config.static_rules is None:
            raise ProvisionError("usage.incomplete_rule", "static provider needs rules")
        return RuleDelivery(Provider.STATIC, config.static_rules)
    if provider is Provider.DHCPV6:
        return _from_dhcpv6(config)
    if provider is Provider.JPNE:
        return _jpne(config, user_id)
    if provider is Provider.OCN:
        return _ocn(config, prefix)
    return _hb46pp(config, token)


def _exchange(config: ProviderConfig, url: str, params: list[tuple[str, str]]) -> Response:
    with make_client(config.http, config.transport) as client:
        return get(client, url, params, settings=config.http)


def _jpne(config: ProviderConfig, user_id: str | None) -> FetchResult:
    base = _require(config.url, "url", config.provider)
    code = _require(config.vendor_code, "vendor-code", config.provider)
    path, query = jpne.get_rules_request(code, user_id)
    reply = _exchange(config, _join(base, path), query)
    check_status(reply.status, reply.body, Provider.JPNE, "get_rules")
    return jpne.decode_get_rules(reply.body, isp=config.isp, iid=config.iid)


def report(
    config: ProviderConfig,
    action: jpne.ReportAction,
    reason: jpne.ReportReason,
    user_id: str | None,
) -> None:
    """Send acct_report (JPNE only); failures raise ProvisionError."""
    base = _require(config.url, "url", config.provider)
    code = _require(config.vendor_code, "vendor-code", config.provider)
    path, query = jpne.acct_report_request(code, action, reason, user_id)
    reply = _exchange(config, _join(base, path), query)
    check_status(reply.status, reply.body, Provider.JPNE, "acct_report")
    jpne.decode_acct_report(reply.body)


def _ocn(config: ProviderConfig, prefix: tuple[int, int] | None) -> FetchResult:
    base = _require(config.url, "url", config.provider)
    code = _require(config.vendor_code, "vendor-code", config.provider)
    if prefix is None:
        raise ProvisionError("rules.no_bmr", "the OCN request needs the CE's prefix")
    url = base if base.endswith("/") or "?" in base else base + "/"
    reply = _exchange(config, url, ocn.rules_query(prefix[0], prefix[1], code))
    check_status(reply.status, reply.body, Provider.OCN, "OCN rules")
    return ocn.decode_rules(reply.body, isp=config.isp, iid=config.iid)


def discover(config: ProviderConfig) -> hb46pp.Discovery:
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


def _hb46pp(config: ProviderConfig, token: str | None) -> FetchResult:
    if config.identity is None:
        raise ProvisionError("usage.invalid_arguments", "HB46PP needs a client identity")
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
    return hb46pp.decode_config(reply.body)


def _dhcpv6_options(config: ProviderConfig) -> bytes:
    """The options given, or the hook's file read now (a new reply rewrites it)."""
    if config.dhcpv6_options is not None:
        return config.dhcpv6_options
    path = config.dhcpv6_options_file
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


def _from_dhcpv6(config: ProviderConfig) -> FetchResult:
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
    identifies_by_source = config.provider in (Provider.JPNE, Provider.OCN, Provider.HB46PP)
    if not identifies_by_source or config.http.source_address or not config.url or not prefix:
        return None
    source = predicted_source(config.url)
    if source is None:
        return None
    if ":" in source and int(ipaddress.IPv6Address(source)) & mask(128, prefix[1]) == prefix[0]:
        return None
    return (
        f"rule requests would leave from {source}, outside the prefix "
        f"{ipv6_text(prefix[0])}/{prefix[1]}; the server identifies the subscriber by the "
        "source address (set --wan-address to an address inside the prefix)"
    )

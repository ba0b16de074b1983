"""Gather the doctor's facts from a live CE: its agent's status, its interfaces, and probes
(the HGW check, the rule server's name and port, one rule fetch, the BR, the ruleset).

Nothing here changes the system: the rule fetch sends no report, and the probes only read.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from dataclasses import replace
from urllib.parse import urlsplit

from mapekit.client.fetch import (
    DsliteSource,
    Hb46ppSource,
    ProviderConfig,
    fetch,
    provider_url,
    with_source_address,
)
from mapekit.client.hgw import check_hgw
from mapekit.client.lookup import Answer, lookup_aaaa
from mapekit.core.addr import ipv6_text
from mapekit.core.errors import MapeError
from mapekit.core.mapping import Mapping
from mapekit.core.ruleset import RuleSet
from mapekit.dataplane import nft
from mapekit.dataplane.conntrack import port_use
from mapekit.dataplane.links import global_ipv6, interfaces, link_mtu
from mapekit.dataplane.portmap import PortMap
from mapekit.diag.model import AftrLookup, Facts
from mapekit.diag.probe import ping6, probe6
from mapekit.provision.model import BlankAnswer, RuleDelivery, SoftwireDelivery, Unsupported
from mapekit.provision.softwire import select_softwire
from mapekit.provision.validate import select_mapping

NAT_RANGE = re.compile(r"(\d+\.\d+\.\d+\.\d+) \. (\d+)-(\d+)")
# mapekit's whole-set NAT (dataplane/portmap.py): one virtual range, and the map of the
# rule that sends new flows on to the real ports, which gives the translation
WHOLE_SET_NAT = re.compile(r"snat (?:ip )?to (\d+\.\d+\.\d+\.\d+):(\d+)-(\d+)")
TRANSLATION = re.compile(r"th dport map \{ ([\d :,]+) \}")


def whole_set_nat(ruleset: str, ipv4: str) -> PortMap | None:
    """The translation a loaded whole-set ruleset of ``ipv4`` uses, or None."""
    nat, table = WHOLE_SET_NAT.search(ruleset), TRANSLATION.search(ruleset)
    if nat is None or table is None or nat.group(1) != ipv4:
        return None
    pairs = dict(
        (int(v), int(r)) for v, r in (item.split(":") for item in table.group(1).split(","))
    )
    base, first, last = min(pairs), int(nat.group(2)), int(nat.group(3))
    if first != base or any(base + i not in pairs for i in range(len(pairs))):
        return None
    return PortMap(base, tuple(pairs[base + i] for i in range(len(pairs))), last - first + 1)


def probe_server(url: str, timeout: float = 3.0) -> tuple[bool, bool]:
    """(name resolves, TCP connects) for the rule server of ``url``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False, False
    for family, kind, proto, _, address in infos:
        with contextlib.suppress(OSError), socket.socket(family, kind, proto) as conn:
            conn.settimeout(timeout)
            conn.connect(address)
            return True, True
    return True, False


def fetch_once(
    config: ProviderConfig, prefix: tuple[int, int], facts: Facts, fallback: RuleSet | None
) -> None:
    """One rule request (no report), classified as ``mape provision`` would."""
    try:
        result = fetch(config, prefix, resolve=False)
    except MapeError as exc:
        facts.outcome = exc.reason.category.value
        facts.reason_code, facts.error_message, facts.error_field = (
            exc.reason_code, exc.message, exc.field,
        )  # fmt: skip
    else:
        if isinstance(result, BlankAnswer):
            facts.outcome, facts.reason_code, facts.error_message = (
                "blank", result.reason_code, result.detail,
            )  # fmt: skip
        elif isinstance(result, Unsupported):
            facts.outcome, facts.reason_code, facts.error_message = (
                "unsupported", "hb46pp.unsupported", result.detail,
            )  # fmt: skip
        elif isinstance(result, RuleDelivery):
            try:
                facts.mapping = select_mapping(result, *prefix)
                facts.outcome = "established"
            except MapeError as exc:
                facts.outcome, facts.reason_code, facts.error_message = (
                    "invalid", exc.reason_code, exc.message,
                )  # fmt: skip
        elif isinstance(result, SoftwireDelivery):
            take_softwire(result, prefix, facts, config)
    if facts.outcome != "established" and fallback is not None:
        with contextlib.suppress(MapeError):
            facts.fallback = fallback.map(*prefix)


def _dns_server(config: ProviderConfig) -> tuple[str | None, int]:
    if isinstance(config, DsliteSource):
        return config.dns_server, 53
    if isinstance(config, Hb46ppSource):
        return config.dns_server, config.dns_port
    return None, 53


def _is_address(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def take_softwire(
    delivery: SoftwireDelivery, prefix: tuple[int, int], facts: Facts, config: ProviderConfig
) -> None:
    """A DS-Lite or IPIP delivery: the AFTR's name looked up (saying what the resolver
    answered), then the softwire it gives the prefix."""
    if delivery.mechanism == "dslite" and not _is_address(delivery.remote):
        found = lookup_aaaa(delivery.remote, *_dns_server(config))
        facts.aftr = AftrLookup(found.name, found.resolver, found.answer.value,
                                found.addresses, found.detail)  # fmt: skip
        if found.answer is not Answer.OK:
            facts.outcome, facts.reason_code = "unreachable", "dns.aftr"
            facts.error_message = f"aftr: {found.name}: {found.answer.value}"
            return
        delivery = replace(delivery, remote=found.addresses[0], remote_name=delivery.remote)
    facts.ipip_local = delivery.local
    try:
        facts.softwire = select_softwire(delivery, *prefix)
        facts.outcome = "established"
    except MapeError as exc:
        facts.outcome, facts.reason_code, facts.error_message = (
            "invalid", exc.reason_code, exc.message,
        )  # fmt: skip


def probe_softwire(facts: Facts) -> None:
    """Where the softwire's addresses are, and whether its remote answers over IPv6."""
    if facts.softwire is None and facts.reason_code != "softwire.outside_prefix":
        return
    with contextlib.suppress(MapeError):
        facts.addresses = {i.name: [f"{ipv6_text(a)}/{n}" for a, n in i.ipv6] for i in interfaces()}
    if facts.softwire is not None:
        facts.remote_probe = probe6(facts.softwire.remote)


def probe_dataplane(facts: Facts, tunnel: str, mapping: Mapping | None) -> None:
    try:
        facts.tunnel_mtu = link_mtu(tunnel)
        facts.tunnel_up = True
    except MapeError:
        facts.tunnel_up = False
    if mapping is None:
        return
    try:
        ruleset = nft.list_table()
    except MapeError:
        ruleset = ""
    facts.nat_ranges = [
        (int(a), int(b)) for ip, a, b in NAT_RANGE.findall(ruleset) if ip == mapping.ipv4_text
    ]
    port_map = whole_set_nat(ruleset, mapping.ipv4_text)
    if port_map is not None:  # the real ports behind the NAT's virtual range
        facts.nat_ranges = [(p, p) for p in port_map.real[: port_map.pool_size]]
    if mapping.port_set.restricted is False and mapping.ipv4_text in ruleset:
        facts.nat_ranges = [(0, 65535)]
    facts.mss_clamp = "maxseg size set rt mtu" in ruleset if ruleset else False
    if facts.tunnel_up and mapping.rule.br is not None:
        facts.br_reachable = ping6(str(mapping.rule.br))
    facts.port_use = port_use(mapping.ipv4_text, mapping.port_set, port_map)


def gather(
    *,
    wan: str | None,
    prefix: tuple[int, int] | None,
    prefix_source: str | None,
    provider: ProviderConfig | None,
    hgw_url: str | None,
    tunnel: str,
    fallback: RuleSet | None,
    fallback_source: str,
    source_address: str | None = None,
) -> Facts:
    facts = Facts(wan=wan, prefix_source=prefix_source, fallback_source=fallback_source)
    if wan is not None:
        facts.wan_addresses = [f"{ipv6_text(a)}/{n}" for a, n in global_ipv6(wan)]
        with contextlib.suppress(MapeError):
            facts.wan_mtu = link_mtu(wan)
    if prefix is not None:
        facts.prefix = f"{ipv6_text(prefix[0])}/{prefix[1]}"
    if hgw_url:
        report, facts.hgw_how = check_hgw(hgw_url)
        facts.hgw = report.state.value
    # behind an HGW running MAP-E the CE asks for no rules (it stands down), nor does the doctor
    if provider is not None and prefix is not None and facts.hgw != "on":
        url = provider_url(provider)
        if url:
            facts.rule_host = urlsplit(url).hostname
            facts.resolves, facts.reachable = probe_server(url)
        if source_address:
            provider = with_source_address(provider, source_address)
        fetch_once(provider, prefix, facts, fallback)
    probe_dataplane(facts, tunnel, facts.mapping)
    probe_softwire(facts)
    return facts

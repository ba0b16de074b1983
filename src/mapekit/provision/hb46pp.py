"""HB46PP ("v6mig-1"), the national provisioning standard (docs/design.md §3.4).

Discovery: one DNS TXT record at ``4over6.info``: ``v=v6mig-1 url=<URL> t=a|b`` (``t=b``:
verify the server certificate; ``t=a``: do not, mandatory for http URLs). Request: GET on
that URL with ``vendorid``, ``product``, ``version``, ``capability`` [, ``token``]
[, ``user`` and ``pass``], over IPv6. Reply: JSON with ``ttl``, ``token``, ``auth``,
``order`` and one object per offered mechanism; ``map_e`` = {``version`` (0/absent:
draft-03 IID, 1: RFC 7597), ``mesh`` (1: rules are FMRs), ``br``, ``rules`` [{``ipv6``,
``ipv4``, ``ea_length``, ``psid_offset``}]}. Unknown keys are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from mapekit.core.addr import parse_ipv4_network, parse_ipv6_address, parse_ipv6_network
from mapekit.core.errors import MapeError
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.provision.errors import ProvisionError, ReplyError
from mapekit.provision.fields import as_list, as_object, get_int, get_str, optional, remote
from mapekit.provision.jsonp import MAX_RULES, decode_json
from mapekit.provision.model import (
    BlankAnswer,
    FetchResult,
    Provider,
    RuleDelivery,
    SoftwireDelivery,
    Unsupported,
)

DISCOVERY_NAME = "4over6.info"
MAX_TTL = 604_800
MECHANISMS = ("464xlat", "dslite", "ipip", "lw4o6", "map_e", "map_t", "hubspoke", "mesh")
RUN_HERE = ("map_e", "dslite", "ipip")
_VENDOR = re.compile(r"[0-9A-Fa-f]{6}(-[0-9A-Za-z_]{1,24})?")
_PRODUCT = re.compile(r"[0-9A-Za-z_-]{1,32}")
_VERSION = re.compile(r"[0-9_]{1,32}")
_TOKEN = re.compile(r"[0-9a-f]{64}")
_WIRE_NAMES = {"ea_len": "ea_length", "ipv6_prefix": "ipv6", "ipv4_prefix": "ipv4"}


@dataclass(frozen=True)
class Discovery:
    """Where the HB46PP server is, from the TXT record."""

    url: str
    verify_tls: bool  # t=b


def parse_txt(records: Sequence[Sequence[bytes]]) -> Discovery:
    """The discovery record; ``records`` are TXT RRs, each a list of character-strings."""
    if len(records) != 1:
        raise ReplyError(
            "dns.bad_record",
            f"{DISCOVERY_NAME}: {len(records)} TXT records, expected exactly one",
            field="txt",
            value=len(records),
        )
    text = b"".join(records[0]).decode("ascii", "replace")
    params: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if sep:
            params.setdefault(key, value)
    if params.get("v") != "v6mig-1":
        raise ReplyError(
            "dns.bad_record", f"txt: version {params.get('v')!r}, expected v6mig-1", field="txt.v"
        )
    url, mode = params.get("url", ""), params.get("t")
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ReplyError(
            "dns.bad_record", f"txt.url: {url!r:.80} is not an http(s) URL", field="txt.url"
        )
    if mode not in ("a", "b"):
        raise ReplyError("dns.bad_record", f"txt.t: {mode!r}, expected a or b", field="txt.t")
    if scheme == "http" and mode == "b":
        raise ReplyError(
            "dns.bad_record", "txt.t: t=b (verify TLS) with an http URL", field="txt.t"
        )
    return Discovery(url, verify_tls=mode == "b")


@dataclass(frozen=True)
class ClientIdentity:
    """What a CE says about itself in the request."""

    vendorid: str
    product: str
    version: str
    capability: tuple[str, ...] = RUN_HERE

    def __post_init__(self) -> None:
        for name, pattern in (("vendorid", _VENDOR), ("product", _PRODUCT), ("version", _VERSION)):
            value = getattr(self, name)
            if not pattern.fullmatch(value):
                raise ProvisionError(
                    "input.value_range",
                    f"{name}: {value!r:.40} does not match {pattern.pattern}",
                    field=name,
                )
        for cap in self.capability:
            if cap not in MECHANISMS:
                raise ProvisionError(
                    "input.value_range", f"capability: unknown {cap!r}", field="capability"
                )


def config_query(
    who: ClientIdentity,
    token: str | None = None,
    user: str | None = None,
    password: str | None = None,
) -> list[tuple[str, str]]:
    query = [
        ("vendorid", who.vendorid),
        ("product", who.product),
        ("version", who.version),
        ("capability", ",".join(who.capability)),
    ]
    if token:
        query.append(("token", token))
    if (user is None) != (password is None):
        raise ProvisionError("usage.invalid_arguments", "user and pass go together", field="user")
    if user is not None and password is not None:
        query += [("user", user), ("pass", password)]
    return query


def decode_config(body: bytes, prefer: str | None = None) -> FetchResult:
    """The offer to take: ``prefer`` when offered, else the first of ``order`` that mapekit
    runs (MAP-E, DS-Lite, IPIP)."""
    doc = as_object(decode_json(body, "HB46PP config"), "reply")
    ttl = get_int(doc, "ttl", "", 0, MAX_TTL) if optional(doc, "ttl") else None
    token = get_str(doc, "token", "", max_len=64) if optional(doc, "token") else None
    if token is not None and not _TOKEN.fullmatch(token):
        raise ReplyError("reply.bad_value", "token: not 64 lowercase hex digits", field="token")
    auth = get_str(doc, "auth", "", max_len=8) if optional(doc, "auth") else None
    if auth not in (None, "req", "bad", "ok"):
        raise ReplyError("reply.bad_value", f"auth: {auth!r} is not req, bad or ok", field="auth")
    order = [
        _mechanism(v, f"order[{i}]")
        for i, v in enumerate(as_list(doc.get("order"), "order", len(MECHANISMS) * 2))
    ]
    if not order:
        why = {"req": "authentication is required", "bad": "authentication failed"}.get(
            auth or "", "nothing is offered to this line"
        )
        return BlankAnswer(Provider.HB46PP, "hb46pp.nothing_offered", f"order is empty: {why}")
    runnable = [m for m in order if m in RUN_HERE]
    if not runnable:
        return Unsupported(
            Provider.HB46PP,
            tuple(order),
            f"offered {', '.join(order)}; mapekit runs {', '.join(RUN_HERE)}",
        )
    chosen = prefer if prefer in runnable else runnable[0]
    if chosen == "dslite":
        aftr = _aftr(as_object(doc.get("dslite"), "dslite"))
        return SoftwireDelivery(Provider.HB46PP, "dslite", aftr, ttl=ttl, token=token,
                                order=tuple(order))  # fmt: skip
    if chosen == "ipip":
        local, remote_, ipv4 = _ipip(as_list(doc.get("ipip"), "ipip", 16))
        return SoftwireDelivery(Provider.HB46PP, "ipip", remote_, local=local, ipv4=ipv4,
                                ttl=ttl, token=token, order=tuple(order))  # fmt: skip
    rules = _map_e(as_object(doc.get("map_e"), "map_e"))
    return RuleDelivery(Provider.HB46PP, rules, ttl=ttl, token=token)


_HOST = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")  # fmt: skip


def _aftr(obj: Mapping[str, object]) -> str:
    """``dslite.aftr``: a host name or an IPv6 literal."""
    aftr = get_str(obj, "aftr", "dslite", max_len=255)
    if ":" in aftr:
        try:
            return str(parse_ipv6_address(aftr, "aftr"))
        except MapeError as exc:
            raise remote(exc, "dslite") from None
    if not _HOST.fullmatch(aftr):
        raise ReplyError("reply.bad_value", f"dslite.aftr: {aftr!r:.60} is neither a host name "
                         "nor an IPv6 address", field="dslite.aftr")  # fmt: skip
    return aftr.rstrip(".").lower()


def _ipip(entries: Sequence[object]) -> tuple[str, str, str]:
    """The first ``ipip`` entry: (ipv6_local, ipv6_remote, ipv4)."""
    if not entries:
        raise ReplyError("reply.missing_field", "ipip: empty", field="ipip")
    fields = as_object(entries[0], "ipip[0]")
    values = []
    for key in ("ipv6_local", "ipv6_remote"):
        text = get_str(fields, key, "ipip[0]", max_len=64)
        try:
            values.append(str(parse_ipv6_address(text, key)))
        except MapeError as exc:
            raise remote(exc, "ipip[0]") from None
    ipv4 = get_str(fields, "ipv4", "ipip[0]", max_len=32)
    try:
        parse_ipv4_network(ipv4 if "/" in ipv4 else f"{ipv4}/32", "ipv4")
    except MapeError as exc:
        raise remote(exc, "ipip[0]") from None
    return values[0], values[1], ipv4


def _mechanism(value: object, field: str) -> str:
    if not isinstance(value, str) or len(value) > 16:
        raise ReplyError("reply.wrong_type", f"{field}: expected a mechanism name", field=field)
    return value


def _map_e(obj: Mapping[str, object]) -> RuleSet:
    version = get_int(obj, "version", "map_e", 0, 1) if optional(obj, "version") else 0
    mesh = get_int(obj, "mesh", "map_e", 0, 1) if optional(obj, "mesh") else 0
    br_text = get_str(obj, "br", "map_e", max_len=64)
    try:
        br = parse_ipv6_address(br_text, "br")
    except MapeError as exc:
        raise remote(exc, "map_e") from None
    iid = IidFormat.RFC if version == 1 else IidFormat.LEGACY
    entries = as_list(obj.get("rules"), "map_e.rules", MAX_RULES)
    if not entries:
        raise ReplyError("reply.missing_field", "map_e.rules: empty", field="map_e.rules")
    rules = []
    for i, entry in enumerate(entries):
        where = f"map_e.rules[{i}]"
        fields = as_object(entry, where)
        ipv6 = get_str(fields, "ipv6", where, max_len=64)
        ipv4 = get_str(fields, "ipv4", where, max_len=32)
        ea_len = get_int(fields, "ea_length", where, 0, 48)
        offset = get_int(fields, "psid_offset", where, 0, 15)
        try:
            rules.append(
                MappingRule(
                    parse_ipv6_network(ipv6, "ipv6_prefix"),
                    parse_ipv4_network(ipv4, "ipv4_prefix"),
                    ea_len,
                    offset,
                    br=br,
                    fmr=bool(mesh),
                    iid=iid,
                )
            )
        except MapeError as exc:
            raise remote(exc, where, _WIRE_NAMES) from None
    try:
        return RuleSet(rules)
    except MapeError as exc:
        raise remote(exc, "map_e.rules", _WIRE_NAMES) from None


def config_object(
    rules: RuleSet | None,
    *,
    br: str,
    ttl: int,
    token: str,
    iid: IidFormat,
    mesh: bool,
    names: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The JSON object of an HB46PP answer; ``rules`` None offers nothing (``order: []``)."""
    doc: dict[str, object] = dict(names or {})
    doc.update({"ttl": ttl, "token": token})
    if rules is None:
        doc["order"] = []
        return doc
    doc["order"] = ["map_e"]
    doc["map_e"] = {
        "version": 1 if iid is IidFormat.RFC else 0,
        "mesh": 1 if mesh else 0,
        "br": br,
        "rules": [
            {
                "ipv6": str(rule.ipv6_prefix),
                "ipv4": str(rule.ipv4_prefix),
                "ea_length": rule.ea_len,
                "psid_offset": rule.psid_offset,
            }
            for rule in rules
        ],
    }
    return doc

"""The OCN-style rule API (docs/design.md §3.3).

``GET <base>/?ipv6Prefix=<p>&ipv6PrefixLength=<56|64>&code=<vendor code>`` → JSON
``{"basicMapRules": [{"brIpv6Address", "ipv6Prefix", "ipv6PrefixLength", "ipv4Prefix",
"ipv4PrefixLength", "eaBitLength", "psIdOffset"[, "hostName"]}]}``. Each rule carries its
own BR. A rule with ``hostName`` belongs to the fixed-IPv4 service, which mapekit does not
run: it is skipped, and the delivery says so.
"""

from __future__ import annotations

from mapekit.core.addr import ipv6_text, parse_ipv4_network, parse_ipv6_address, parse_ipv6_network
from mapekit.core.errors import MapeError
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.provision.fields import as_list, as_object, get_int, get_str, optional, remote
from mapekit.provision.jsonp import MAX_RULES, decode_json
from mapekit.provision.model import BlankAnswer, Provider, RuleDelivery, Unsupported

_WIRE_NAMES = {
    "ea_len": "eaBitLength",
    "psid_offset": "psIdOffset",
    "ipv6_prefix": "ipv6Prefix",
    "ipv4_prefix": "ipv4Prefix",
    "br": "brIpv6Address",
}


def rules_query(prefix: int, prefix_len: int, code: str) -> list[tuple[str, str]]:
    return [
        ("ipv6Prefix", ipv6_text(prefix)),
        ("ipv6PrefixLength", str(prefix_len)),
        ("code", code),
    ]


def decode_rules(
    body: bytes, *, isp: str | None = "ocn", iid: IidFormat = IidFormat.LEGACY
) -> RuleDelivery | BlankAnswer | Unsupported:
    doc = as_object(decode_json(body, "OCN rules"), "reply")
    entries = as_list(doc.get("basicMapRules", []), "basicMapRules", MAX_RULES)
    rules: list[MappingRule] = []
    skipped: list[str] = []
    for i, entry in enumerate(entries):
        where = f"basicMapRules[{i}]"
        obj = as_object(entry, where)
        if optional(obj, "hostName"):
            skipped.append(
                f"{where}: skipped, a fixed-IPv4 rule (hostName "
                f"{str(obj['hostName'])[:64]!r}) that mapekit does not run"
            )
            continue
        rules.append(_rule(obj, where, isp, iid))
    if not rules:
        if skipped:
            return Unsupported(
                Provider.OCN,
                ("fixed-ipv4",),
                "only fixed-IPv4 rules (hostName) were delivered; " + "; ".join(skipped),
            )
        return BlankAnswer(Provider.OCN, "rules.blank", "basicMapRules is empty")
    try:
        ruleset = RuleSet(rules)
    except MapeError as exc:
        raise remote(exc, "basicMapRules", _WIRE_NAMES) from None
    return RuleDelivery(Provider.OCN, ruleset, notes=tuple(skipped))


def _rule(
    obj: dict[str, object] | object, where: str, isp: str | None, iid: IidFormat
) -> MappingRule:
    fields = as_object(obj, where)
    br = get_str(fields, "brIpv6Address", where, max_len=64)
    v6 = get_str(fields, "ipv6Prefix", where, max_len=64)
    v6_len = get_int(fields, "ipv6PrefixLength", where, 0, 128)
    v4 = get_str(fields, "ipv4Prefix", where, max_len=32)
    v4_len = get_int(fields, "ipv4PrefixLength", where, 0, 32)
    ea_len = get_int(fields, "eaBitLength", where, 0, 48)
    offset = get_int(fields, "psIdOffset", where, 0, 15)
    try:
        return MappingRule(
            parse_ipv6_network(f"{v6}/{v6_len}", "ipv6_prefix"),
            parse_ipv4_network(f"{v4}/{v4_len}", "ipv4_prefix"),
            ea_len,
            offset,
            br=parse_ipv6_address(br, "br"),
            isp=isp,
            iid=iid,
        )
    except MapeError as exc:
        raise remote(exc, where, _WIRE_NAMES) from None


def rules_object(rules: RuleSet) -> dict[str, object]:
    """The JSON object of an OCN answer; every rule carries its own BR."""
    return {
        "basicMapRules": [
            {
                "brIpv6Address": str(rule.br) if rule.br else "",
                "ipv6Prefix": str(rule.ipv6_prefix.network_address),
                "ipv6PrefixLength": rule.ipv6_prefix.prefixlen,
                "ipv4Prefix": str(rule.ipv4_prefix.network_address),
                "ipv4PrefixLength": rule.ipv4_prefix.prefixlen,
                "eaBitLength": rule.ea_len,
                "psIdOffset": rule.psid_offset,
            }
            for rule in rules
        ]
    }

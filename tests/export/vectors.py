"""The mappings every export test uses: the RFC 7597 vector and three operator vectors."""

from __future__ import annotations

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.mapping import Mapping, map_prefix
from mapekit.core.rule import MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import builtin_rules

RFC_RULE = MappingRule.from_text("2001:db8::/40", "192.0.2.0/24", 16, 6, br="2001:db8:ffff::1")
# a rule whose PSID is a parameter (RFC 7598 port parameters): an IPv4 /32, no EA bits
EXPLICIT_PSID = MappingRule.from_text(
    "2001:db8:12::/48", "192.0.2.18/32", 0, 6, br="2001:db8:ffff::1", psid_len=8, psid=52
)
# the same with an IPv4 /24: 8 EA bits for the address, the PSID still a parameter
EXPLICIT_PSID24 = MappingRule.from_text(
    "2001:db8::/40", "192.0.2.0/24", 8, 6, br="2001:db8:ffff::1", psid_len=8, psid=52
)
RFC_ARGS = [
    "--rule-ipv6", "2001:db8::/40", "--rule-ipv4", "192.0.2.0/24",
    "--ea-len", "16", "--psid-offset", "6", "--br", "2001:db8:ffff::1",
]  # fmt: skip

# name → (End-user prefix, a forward inside its port set or None)
VECTORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rfc": ("2001:db8:12:3400::/56", ("tcp:1234=192.168.1.10:22",)),
    "v6plus": ("240b:10:3f6c:d400::/56", ("tcp:7490=192.168.1.10:22", "udp:11590=192.168.1.20")),
    "biglobe": ("2404:7a82:4ab:cd00::/56", ()),
    "ocn": ("2400:4050:5a7:f600::/56", ("tcp:1890=192.168.1.10:443",)),
    "ra64": ("240b:10:3f6c:d400::/64", ()),  # a line with only the RA /64, no DHCPv6-PD
    "explicit32": ("2001:db8:12:3400::/56", ()),
    "explicit24": ("2001:db8:12:3400::/56", ()),
}
_COMMAND_LINE_RULES = {"rfc": RFC_RULE, "explicit32": EXPLICIT_PSID, "explicit24": EXPLICIT_PSID24}


def mapping_for(name: str) -> tuple[Mapping, RuleSet]:
    prefix = parse_end_user_prefix(VECTORS[name][0])
    rule = _COMMAND_LINE_RULES.get(name)
    if rule is not None:
        return map_prefix(rule, *prefix), RuleSet([rule])
    rules = builtin_rules()
    return rules.map(*prefix), rules


def cli_args(name: str) -> list[str]:
    """The prefix and rule options of ``name`` for a ``mape`` command line."""
    return [VECTORS[name][0], *(RFC_ARGS if name == "rfc" else [])]

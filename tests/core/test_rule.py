"""Every validation path of the rule model, each naming its field."""

from __future__ import annotations

import pytest

from mapekit.core.errors import InputError, MapeError, RuleError
from mapekit.core.rule import IidFormat, MappingRule

BAD_RULES = [
    # (kwargs for from_text, reason_code, field, words in the message)
    (dict(ipv6_prefix="240b:10::1/31"), "input.prefix_host_bits", "ipv6_prefix", "240b:10::/31"),
    (dict(ipv4_prefix="106.72.0.1/15"), "input.prefix_host_bits", "ipv4_prefix", "/15"),
    (dict(ipv6_prefix="240b:10::"), "input.prefix_syntax", "ipv6_prefix", "ADDRESS/LENGTH"),
    (dict(ipv6_prefix="240b:10::/129"), "input.prefix_syntax", "ipv6_prefix", "not an IPv6"),
    (dict(ipv4_prefix="106.72.0.0/33"), "input.prefix_syntax", "ipv4_prefix", "not an IPv4"),
    (dict(ipv6_prefix="106.72.0.0/15"), "input.prefix_syntax", "ipv6_prefix", "IPv6"),
    (dict(ea_len=49), "rule.ea_len_range", "ea_len", "0-48"),
    (dict(ea_len=-1), "rule.ea_len_range", "ea_len", "0-48"),
    (dict(ea_len=True), "rule.ea_len_range", "ea_len", "True"),
    (dict(psid_offset=16), "rule.psid_offset_range", "psid_offset", "0-15"),
    (dict(psid_offset=-1), "rule.psid_offset_range", "psid_offset", "0-15"),
    (dict(psid_offset=9), "rule.psid_len_range", "psid_offset", "17 bits"),
    (dict(ipv6_prefix="240b::/40"), "rule.ipv6_too_long", "ea_len", "65 bits"),
    (dict(psid_len=7), "rule.psid_len_contradicts_ea", "psid_len", "= 8"),
    (dict(psid_len=17), "rule.psid_len_range", "psid_len", "0-16"),
    (dict(psid=3), "rule.psid_not_allowed", "psid", "EA bits"),
    (dict(br="2404:9200:225:100::64/64"), "input.address_syntax", "br", "IPv6 address"),
    (dict(br="106.72.0.1"), "input.address_syntax", "br", "IPv6 address"),
]

BASE = dict(ipv6_prefix="240b:10::/31", ipv4_prefix="106.72.0.0/15", ea_len=25, psid_offset=4)


@pytest.mark.parametrize(("change", "code", "field", "words"), BAD_RULES)
def test_invalid_rule_names_field_and_reason(
    change: dict[str, object], code: str, field: str, words: str
) -> None:
    kwargs = {**BASE, **change}
    with pytest.raises(MapeError) as info:
        MappingRule.from_text(**kwargs)  # type: ignore[arg-type]
    err = info.value
    assert (err.reason_code, err.field) == (code, field)
    assert words in err.message
    assert err.to_dict()["field"] == field


def test_prefix_errors_are_input_errors_and_rule_errors_are_rule_errors() -> None:
    with pytest.raises(InputError):
        MappingRule.from_text(**{**BASE, "ipv6_prefix": "x/1"})  # type: ignore[arg-type]
    with pytest.raises(RuleError):
        MappingRule.from_text(**{**BASE, "ea_len": 60})  # type: ignore[arg-type]


def test_derived_psid_length_and_kinds_of_assignment() -> None:
    shared = MappingRule.from_text(**BASE)  # type: ignore[arg-type]
    assert (shared.psid_len, shared.sharing_ratio) == (8, 256)
    full = MappingRule.from_text("2001:db8::/40", "192.0.2.0/24", 8, 0)
    assert full.psid_len == 0
    prefix = MappingRule.from_text("2001:db8::/40", "192.0.2.0/24", 4, 0)
    assert prefix.psid_len == 0  # o + r < 32 is legal: the CE gets an IPv4 prefix


def test_explicit_psid_length_must_agree_with_the_ea_bits() -> None:
    assert MappingRule.from_text(**BASE, psid_len=8).psid_len == 8  # type: ignore[arg-type]
    with pytest.raises(RuleError) as info:
        MappingRule.from_text("2001:db8::/40", "192.0.2.0/24", 4, 0, psid_len=2)
    assert info.value.reason_code == "rule.psid_len_contradicts_ea"
    assert "/28" in info.value.message


def test_port_parameters_provision_a_psid_when_the_ea_bits_carry_none() -> None:
    # RFC 7598 S46_PORTPARAMS: a full /32 rule, ports restricted by an explicit PSID
    rule = MappingRule.from_text("2001:db8::/64", "192.0.2.7/32", 0, 6, psid_len=4, psid=9)
    assert (rule.psid_len, rule.psid) == (4, 9)
    with pytest.raises(RuleError) as info:
        MappingRule.from_text("2001:db8::/64", "192.0.2.7/32", 0, 6, psid_len=4)
    assert (info.value.reason_code, info.value.field) == ("rule.psid_missing", "psid")
    with pytest.raises(RuleError) as info:
        MappingRule.from_text("2001:db8::/64", "192.0.2.7/32", 0, 6, psid_len=4, psid=16)
    assert (info.value.reason_code, info.value.field) == ("rule.psid_range", "psid")


def test_iid_format_from_text() -> None:
    assert IidFormat.from_text("legacy") is IidFormat.LEGACY
    with pytest.raises(InputError) as info:
        IidFormat.from_text("draft")
    assert info.value.reason_code == "input.unknown_iid"


def test_rule_is_frozen_and_hashable() -> None:
    rule = MappingRule.from_text(**BASE)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        rule.ea_len = 3  # type: ignore[misc]
    assert {rule: 1}[MappingRule.from_text(**BASE)] == 1  # type: ignore[arg-type]

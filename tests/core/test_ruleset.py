"""Rule sets: BMR selection, FMR matching, BR lookup, overlaps, the built-in tables."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.errors import InputError, LookupFailure, RuleError
from mapekit.core.rule import MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import builtin_rules


def v6(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


def v4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


WIDE = MappingRule.from_text("2001:db8::/32", "198.51.100.0/24", 16, 4)
NARROW = MappingRule.from_text("2001:db8:ff00::/40", "203.0.113.0/24", 16, 6, fmr=True)


def test_longest_prefix_wins() -> None:
    rules = RuleSet([WIDE, NARROW])
    assert rules.bmr(v6("2001:db8:ff12::"), 56) is NARROW
    assert rules.bmr(v6("2001:db8:1234::"), 56) is WIDE
    assert RuleSet([NARROW, WIDE]).bmr(v6("2001:db8:ff12::"), 56) is NARROW  # order-free


def test_no_rule_for_a_foreign_prefix() -> None:
    with pytest.raises(LookupFailure) as info:
        RuleSet([WIDE]).bmr(v6("2001:db9::"), 56)
    assert info.value.reason_code == "lookup.no_rule_for_prefix"
    assert "1 rules searched" in info.value.message


def test_prefix_shorter_than_the_ea_bits_is_a_clear_error() -> None:
    with pytest.raises(InputError) as info:
        RuleSet([WIDE]).map(v6("2001:db8::"), 40)
    assert info.value.reason_code == "input.end_user_prefix_too_short"
    assert "/40 is shorter than /48" in info.value.message


def test_fmr_matching_only_uses_fmr_rules() -> None:
    rules = RuleSet([WIDE, NARROW])
    assert rules.fmr(v4("203.0.113.9")) is NARROW
    assert rules.fmr(v4("198.51.100.9")) is None  # not an FMR: traffic goes to the BR
    assert rules.fmr(v4("192.0.2.1")) is None


def test_reverse_lookup_through_the_set() -> None:
    rules = RuleSet([WIDE, NARROW])
    rev = rules.reverse(v4("203.0.113.7"), 1234)
    assert rev.rule is NARROW
    with pytest.raises(LookupFailure) as info:
        rules.reverse(v4("192.0.2.1"), 1234)
    assert info.value.reason_code == "lookup.no_rule_for_ipv4"
    with pytest.raises(LookupFailure) as info:
        rules.reverse(v4("203.0.113.7"), 80)
    assert (info.value.reason_code, info.value.field) == ("lookup.port_outside_set", "port")


def test_duplicates_are_refused_and_overlaps_are_found() -> None:
    with pytest.raises(RuleError) as info:
        RuleSet([WIDE, MappingRule.from_text("2001:db8::/32", "192.0.2.0/24", 16, 4)])
    assert info.value.reason_code == "rule.duplicate"
    other = MappingRule.from_text("2001:db9::/32", "198.51.100.128/25", 16, 4)
    overlaps = RuleSet([WIDE, NARROW, other]).overlaps()
    assert {(o.family, o.first, o.second) for o in overlaps} == {
        ("ipv6", WIDE, NARROW),
        ("ipv4", WIDE, other),
    }
    assert "overlaps" in overlaps[0].describe()


def test_builtin_tables() -> None:
    rules = builtin_rules()
    assert len(rules) == 690
    assert set(rules.isps) == {"v6plus", "biglobe", "ocn"}
    assert [len(rules.filter(isp)) for isp in ("v6plus", "biglobe", "ocn")] == [4, 258, 428]
    assert rules.overlaps() == []
    assert all(r.br is not None for r in rules)
    assert builtin_rules() is rules  # loaded once


def test_biglobe_br_depends_on_the_rule() -> None:
    rules = builtin_rules()
    east = rules.map(*parse_end_user_prefix("2404:7a80:1234:5600::/56"))
    west = rules.map(*parse_end_user_prefix("2404:7a84:1234:5600::/56"))
    assert str(east.rule.br) == "2001:260:700:1::1:275"
    assert str(west.rule.br) == "2001:260:700:1::1:276"


@given(st.data())
def test_every_builtin_rule_maps_and_reverses(data: st.DataObject) -> None:
    rules = builtin_rules()
    rule = data.draw(st.sampled_from(list(rules)))
    tail = data.draw(st.integers(0, (1 << rule.ea_len) - 1))
    prefix = int(rule.ipv6_prefix.network_address) | (tail << (128 - rule.ea_end))
    m = rules.map(prefix, 56)
    assert m.rule is rule
    first, _ = next(m.port_set.ranges())
    assert rules.reverse(m.ipv4, first).ce_ipv6 == m.ce_ipv6

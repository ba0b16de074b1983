"""Properties of the forward and reverse mappings over random rules and prefixes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mapekit.core.addr import mask
from mapekit.core.mapping import interface_id, map_prefix, reverse_map
from mapekit.core.rule import IidFormat, MappingRule
from tests.strategies import rule_and_prefix


@given(rule_and_prefix(), st.data())
@settings(max_examples=300)
def test_reverse_of_every_port_returns_the_same_ce(
    case: tuple[MappingRule, int, int], data: st.DataObject
) -> None:
    rule, prefix, length = case
    m = map_prefix(rule, prefix, length)
    ports = list(m.port_set.ranges())
    first, last = data.draw(st.sampled_from(ports))
    port = data.draw(st.integers(first, last))
    rev = reverse_map(rule, m.ipv4, port)
    assert rev.psid == m.psid
    assert rev.prefix == prefix & mask(128, rule.ea_end)
    assert rev.ce_ipv6 == m.br_view_ce_ipv6
    if length == rule.ea_end:
        assert rev.ce_ipv6 == m.ce_ipv6


@given(rule_and_prefix())
def test_only_the_ea_bits_count(case: tuple[MappingRule, int, int]) -> None:
    rule, prefix, length = case
    m = map_prefix(rule, prefix, length)
    short = map_prefix(rule, prefix & mask(128, rule.ea_end), rule.ea_end)
    assert (m.ipv4, m.psid) == (short.ipv4, short.psid)
    assert bool(m.warnings) == (m.ce_ipv6 != m.br_view_ce_ipv6)


@given(rule_and_prefix())
def test_interface_id_formats_differ_exactly_as_specified(
    case: tuple[MappingRule, int, int],
) -> None:
    rule, prefix, length = case
    m = map_prefix(rule, prefix, length)
    rfc, legacy = m.ce_ipv6_as(IidFormat.RFC), m.ce_ipv6_as(IidFormat.LEGACY)
    assert rfc >> 64 == legacy >> 64 == prefix >> 64  # same /64
    rfc_iid, legacy_iid = rfc & (2**64 - 1), legacy & (2**64 - 1)
    assert rfc_iid >> 48 == 0 and legacy_iid >> 56 == 0  # 16 vs 8 leading zero bits
    assert legacy_iid & 0xFF == 0  # 8 trailing zero bits in draft-03
    assert rfc_iid == (m.ipv4 << 16) | m.psid
    assert legacy_iid == rfc_iid << 8
    assert interface_id(m.ipv4, m.psid, IidFormat.LEGACY) == legacy_iid


@given(rule_and_prefix())
def test_ipv4_lies_in_the_rule_prefix_and_psid_fits(case: tuple[MappingRule, int, int]) -> None:
    rule, prefix, length = case
    m = map_prefix(rule, prefix, length)
    assert m.ipv4 >> (32 - rule.ipv4_prefix.prefixlen) == int(rule.ipv4_prefix.network_address) >> (
        32 - rule.ipv4_prefix.prefixlen
    )
    assert 0 <= m.psid < (1 << rule.psid_len) or m.psid == 0
    assert m.ipv4_len == min(32, rule.ipv4_prefix.prefixlen + rule.ea_len)

"""Hypothesis strategies shared by the tests."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from mapekit.core.rule import IidFormat, MappingRule


@st.composite
def rules(draw: st.DrawFn, *, shared_only: bool = False) -> MappingRule:
    """A valid rule: any lengths the RFC allows (optionally only shared-address ones)."""
    r = draw(st.integers(0, 32))
    min_o = 33 - r if shared_only else 0
    o = draw(st.integers(min(min_o, 48), 48))
    if shared_only and o + r <= 32:
        o = 33 - r
    k = max(0, o + r - 32)
    if k > 16 or o > 48 or o > 64:
        o = min(48, 32 - r + 16)
        k = max(0, o + r - 32)
    n = draw(st.integers(0, 64 - o))
    a = draw(st.integers(0, min(15, 16 - k)))
    v6 = draw(st.integers(0, (1 << n) - 1)) << (128 - n) if n else 0
    v4 = draw(st.integers(0, (1 << r) - 1)) << (32 - r) if r else 0
    return MappingRule(
        ipaddress.IPv6Network((v6, n)),
        ipaddress.IPv4Network((v4, r)),
        o,
        a,
        iid=draw(st.sampled_from(IidFormat)),
    )


@st.composite
def rule_and_prefix(draw: st.DrawFn, *, shared_only: bool = False) -> tuple[MappingRule, int, int]:
    """A rule and an End-user prefix inside it, /n+o to /64."""
    rule = draw(rules(shared_only=shared_only))
    n = rule.ipv6_prefix.prefixlen
    length = draw(st.integers(rule.ea_end, 64))
    tail = draw(st.integers(0, (1 << (length - n)) - 1)) if length > n else 0
    prefix = int(rule.ipv6_prefix.network_address) | (tail << (128 - length))
    return rule, prefix, length

"""Tests of the Softwire46 values (``mapekit.core.s46``): validation and mapping rules."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.errors import DataError, RuleError
from mapekit.core.mapping import map_prefix
from mapekit.core.rule import IidFormat
from mapekit.core.s46 import (
    PortParams,
    S46Container,
    S46Kind,
    S46Rule,
    V4V6Bind,
    container_rules,
)

# RFC 7597 Appendix A, example 1, as a MAP-E container (its wire form is in test_s46_wire).
EXAMPLE_1_CONTAINER = S46Container(
    kind=S46Kind.MAP_E,
    rules=(
        S46Rule(
            fmr=True,
            ea_len=16,
            ipv4_prefix=IPv4Network("192.0.2.0/24"),
            ipv6_prefix=IPv6Network("2001:db8::/40"),
            port_params=PortParams(offset=6, psid_len=8, psid=0),
        ),
    ),
    brs=(IPv6Address("2001:db8:ffff::1"),),
)
V4_24, V6_40 = IPv4Network("192.0.2.0/24"), IPv6Network("2001:db8::/40")
BR = IPv6Address("2001:db8:ffff::1")


# --- the dataclasses validate themselves ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((16, 0, 0), "offset"),
        ((-1, 0, 0), "offset"),
        ((0, 17, 0), "PSID-len"),
        ((8, 9, 0), "PSID-len"),
        ((0, 8, 256), "PSID"),
        ((0, 0, 1), "PSID"),
        ((0, 8, -1), "PSID"),
        ((True, 0, 0), "offset"),
    ],
)
def test_port_params_validation(args: tuple[int, int, int], field: str) -> None:
    with pytest.raises(DataError) as info:
        PortParams(*args)
    assert (info.value.reason_code, info.value.field) == ("data.s46_bad_option", field)


def test_rule_and_container_validation() -> None:
    v4, v6 = IPv4Network("192.0.2.0/24"), IPv6Network("2001:db8::/40")
    cases: list[tuple[Callable[[], object], str, str]] = [
        (lambda: S46Rule(True, 49, v4, v6), "data.s46_bad_option", "ea-len"),
        (lambda: S46Rule(True, 16, v6, v6), "data.s46_bad_option", "ipv4-prefix"),  # type: ignore[arg-type]
        (
            lambda: S46Rule(True, 16, v4, v6, unknown=((93, b""),)),
            "data.s46_bad_option",
            "unknown[0]",
        ),
        (
            lambda: S46Rule(True, 16, v4, v6, unknown=((70000, b""),)),
            "data.s46_bad_option",
            "unknown[0]",
        ),
        (lambda: S46Container(S46Kind.MAP_E), "data.s46_missing_option", "S46_RULE"),
        (
            lambda: S46Container(S46Kind.MAP_E, rules=(S46Rule(True, 16, v4, v6),)),
            "data.s46_missing_option",
            "S46_BR",
        ),
        (
            lambda: S46Container(S46Kind.MAP_T, rules=(S46Rule(True, 16, v4, v6),)),
            "data.s46_missing_option",
            "S46_DMR",
        ),
        (
            lambda: S46Container(S46Kind.LW4O6, brs=(IPv6Address("::1"),), dmr=v6),
            "data.s46_bad_option",
            "S46_DMR",
        ),
        (
            lambda: S46Container(S46Kind.LW4O6, brs=(IPv4Address("192.0.2.1"),)),  # type: ignore[arg-type]
            "data.s46_bad_option",
            "S46_BR[0]",
        ),
        (lambda: S46Container(97, brs=(IPv6Address("::1"),)), "data.s46_bad_option", "kind"),  # type: ignore[arg-type]
    ]
    for build, reason, field in cases:
        with pytest.raises(DataError) as info:
            build()
        assert (info.value.reason_code, info.value.field) == (reason, field)


def test_container_accepts_int_kind_and_lists() -> None:
    rules, brs = list(EXAMPLE_1_CONTAINER.rules), list(EXAMPLE_1_CONTAINER.brs)
    container = S46Container(94, rules=rules, brs=brs)  # type: ignore[arg-type]
    assert container == EXAMPLE_1_CONTAINER
    assert container.kind is S46Kind.MAP_E


# --- container_rules ----------------------------------------------------------------------


def test_container_rules_rfc7597_example_1() -> None:
    (rule,) = container_rules(EXAMPLE_1_CONTAINER)
    assert (rule.ipv6_prefix, rule.ipv4_prefix, rule.ea_len) == (V6_40, V4_24, 16)
    assert (rule.psid_offset, rule.psid_len, rule.psid) == (6, 8, None)
    assert (rule.br, rule.fmr, rule.iid) == (BR, True, IidFormat.RFC)
    mapping = map_prefix(rule, *parse_end_user_prefix("2001:db8:12:3400::/56"))
    assert mapping.ipv4 == int(IPv4Address("192.0.2.18"))
    assert mapping.psid == 0x34
    (legacy,) = container_rules(EXAMPLE_1_CONTAINER, iid=IidFormat.LEGACY)
    assert legacy.iid is IidFormat.LEGACY


def test_container_rules_defaults_without_port_params() -> None:
    # No S46_PORTPARAMS: offset 6 (RFC 7597 §5.1), PSID length from the EA bits.
    container = S46Container(S46Kind.MAP_E, rules=(S46Rule(False, 16, V4_24, V6_40),), brs=(BR,))
    (rule,) = container_rules(container)
    assert (rule.psid_offset, rule.psid_len, rule.psid, rule.fmr) == (6, 8, None, False)
    # PSID-len 0: the offset counts, the PSID length is still derived.
    params = PortParams(offset=4, psid_len=0, psid=0)
    container = S46Container(
        S46Kind.MAP_E, rules=(S46Rule(True, 16, V4_24, V6_40, params),), brs=(BR,)
    )
    (rule,) = container_rules(container)
    assert (rule.psid_offset, rule.psid_len, rule.psid) == (4, 8, None)


def test_container_rules_keeps_order_flags_and_first_br() -> None:
    second = S46Rule(False, 0, IPv4Network("198.51.100.0/24"), IPv6Network("2001:db8:1::/48"))
    container = S46Container(
        S46Kind.MAP_E,
        rules=(*EXAMPLE_1_CONTAINER.rules, second),
        brs=(BR, IPv6Address("2001:db8:ffff::2")),
    )
    rules = container_rules(container)
    assert [r.ipv4_prefix for r in rules] == [V4_24, IPv4Network("198.51.100.0/24")]
    assert [r.fmr for r in rules] == [True, False]
    assert [r.br for r in rules] == [BR, BR]


def test_container_rules_map_t_has_no_br() -> None:
    container = S46Container(
        S46Kind.MAP_T,
        rules=(S46Rule(True, 16, V4_24, V6_40),),
        dmr=IPv6Network("2001:db8:ffff::/64"),
    )
    (rule,) = container_rules(container)
    assert (rule.br, rule.psid_offset, rule.psid_len) == (None, 6, 8)


def test_container_rules_explicit_psid_for_full_address() -> None:
    # ea-len 0 and a /32: the EA bits carry no PSID, so S46_PORTPARAMS provides it.
    params = PortParams(offset=6, psid_len=4, psid=9)
    v4 = IPv4Network("192.0.2.1/32")
    container = S46Container(
        S46Kind.MAP_E,
        rules=(S46Rule(True, 0, v4, IPv6Network("2001:db8:1::/48"), params),),
        brs=(BR,),
    )
    (rule,) = container_rules(container)
    assert (rule.psid_offset, rule.psid_len, rule.psid) == (6, 4, 9)
    assert rule.sharing_ratio == 16


def test_container_rules_ignores_psid_the_ea_bits_carry() -> None:
    # RFC 7598 §4.5: the explicit PSID only matters when the EA bits do not carry it.
    params = PortParams(offset=6, psid_len=8, psid=0x12)
    container = S46Container(
        S46Kind.MAP_E, rules=(S46Rule(True, 16, V4_24, V6_40, params),), brs=(BR,)
    )
    (rule,) = container_rules(container)
    assert (rule.psid_len, rule.psid) == (8, None)


@pytest.mark.parametrize(
    ("rule", "reason", "field"),
    [
        (
            S46Rule(True, 16, V4_24, V6_40, PortParams(offset=6, psid_len=6, psid=0)),
            "rule.psid_len_contradicts_ea",
            "psid_len",
        ),
        (
            S46Rule(True, 4, V4_24, V6_40, PortParams(offset=6, psid_len=4, psid=0)),
            "rule.psid_len_contradicts_ea",
            "psid_len",
        ),
        (S46Rule(True, 48, V4_24, V6_40), "rule.ipv6_too_long", "ea_len"),
        (
            S46Rule(True, 16, V4_24, V6_40, PortParams(offset=10, psid_len=0, psid=0)),
            "rule.psid_len_range",
            "psid_offset",
        ),
    ],
    ids=["psid-len-vs-ea", "psid-len-without-ea-psid", "ea-too-long", "offset-plus-psid"],
)
def test_container_rules_errors_name_the_rule(rule: S46Rule, reason: str, field: str) -> None:
    container = S46Container(S46Kind.MAP_E, rules=(*EXAMPLE_1_CONTAINER.rules, rule), brs=(BR,))
    with pytest.raises(RuleError) as info:
        container_rules(container)
    prefix = "S46_CONT_MAPE[0].S46_RULE[1]"
    assert (info.value.reason_code, info.value.field) == (reason, f"{prefix}.{field}")
    assert info.value.message.startswith(f"{prefix}: ")


def test_container_rules_refuses_lw4o6() -> None:
    binding = V4V6Bind(IPv4Address("192.0.2.1"), IPv6Network("2001:db8:1:200::/56"), None)
    container = S46Container(S46Kind.LW4O6, brs=(BR,), binding=binding)
    with pytest.raises(DataError) as info:
        container_rules(container)
    assert (info.value.reason_code, info.value.field) == ("data.s46_bad_option", "kind")
    assert "lw4o6" in info.value.message and "not MAP-E" in info.value.message

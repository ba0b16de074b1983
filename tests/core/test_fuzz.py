"""Hostile input to every text parser of the core: only MapeError may escape."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.addr import parse_end_user_prefix, parse_ipv4_network, parse_ipv6_network
from mapekit.core.errors import MapeError
from mapekit.core.tables import parse_rule_text, rule_from_entry

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


T = TypeVar("T")


def attempt(fn: Callable[[], T]) -> T | MapeError:
    """Run ``fn``; a MapeError is a legitimate outcome and must say what was wrong."""
    try:
        return fn()
    except MapeError as exc:
        assert exc.reason_code and exc.message
        return exc


FIELDS = ["ipv6_prefix", "ipv4_prefix", "ea_len", "psid_offset", "br", "psid_len", "psid",
          "isp", "iid", "fmr"]  # fmt: skip


@given(st.text(max_size=60))
def test_prefix_parsers(text: str) -> None:
    result = attempt(lambda: parse_end_user_prefix(text, "f"))
    if not isinstance(result, MapeError):
        assert (
            0 <= result[1] <= 64
            and result[0] >> (128 - result[1]) << (128 - result[1]) == (result[0])
        )
    for parse in (parse_ipv6_network, parse_ipv4_network):
        net = attempt(lambda parse=parse: parse(text, "f"))  # type: ignore[misc]
        assert isinstance(net, MapeError) or net.prefixlen <= net.max_prefixlen


@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10))
def test_rule_entries(entry: dict[str, object]) -> None:
    result = attempt(lambda: rule_from_entry(entry))
    if isinstance(result, MapeError):
        assert result.field is not None
    else:
        assert set(entry) >= {"ipv6_prefix", "ipv4_prefix", "ea_len", "psid_offset"}


@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_rule_documents(text: str) -> None:
    for fmt in ("json", "toml"):
        result = attempt(lambda fmt=fmt: parse_rule_text(text, "fuzz", fmt))  # type: ignore[misc]
        assert isinstance(result, MapeError) or len(result) >= 0


@given(
    st.fixed_dictionaries(
        {
            "ipv6_prefix": st.sampled_from(["2001:db8::/32", "240b:10::/31", "::/0", "2001::/64"]),
            "ipv4_prefix": st.sampled_from(["192.0.2.0/24", "0.0.0.0/0", "192.0.2.1/32"]),
            "ea_len": st.integers(-2, 70),
            "psid_offset": st.integers(-2, 18),
        },
        optional={"psid_len": st.integers(-1, 20), "psid": st.integers(-1, 70000)},
    )
)
def test_rule_numbers(entry: dict[str, object]) -> None:
    rule = attempt(lambda: rule_from_entry(entry))
    if isinstance(rule, MapeError):
        assert rule.field is not None and rule.field.startswith("rule.")
        return
    assert 0 <= rule.ea_len <= 48 and 0 <= rule.psid_offset <= 15
    assert rule.psid_offset + rule.psid_len <= 16
    assert rule.ipv6_prefix.prefixlen + rule.ea_len <= 64

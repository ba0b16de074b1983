"""Known-answer vectors: RFC 7597/7599 Appendix A example 1 and real operator rules.

The operator vectors were computed by hand from the bit layout (RFC 7597 §5) and
cross-checked with the bit-string reference below, which shares no code with mapekit.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.mapping import map_prefix, reverse_map
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.tables import builtin_rules


@dataclass(frozen=True)
class Vector:
    name: str
    rule6: str
    rule4: str
    ea_len: int
    offset: int
    prefix: str
    ipv4: str
    psid: int
    psid_len: int
    first_range: tuple[int, int]
    last_range: tuple[int, int]
    range_count: int
    port_count: int
    ce_rfc: str
    ce_legacy: str
    isp: str | None  # operator in the built-in tables, None for the RFC example


VECTORS = [
    Vector(
        "rfc7597-appendix-a-1",
        "2001:db8::/40", "192.0.2.0/24", 16, 6,
        "2001:db8:12:3400::/56",
        "192.0.2.18", 0x34, 8, (1232, 1235), (64720, 64723), 63, 252,
        "2001:db8:12:3400:0:c000:212:34",
        "2001:db8:12:3400:c0:2:1200:3400",
        None,
    ),
    Vector(
        "v6plus-31",
        "240b:10::/31", "106.72.0.0/15", 25, 4,
        "240b:10:3f6c:d400::/56",
        "106.72.63.108", 212, 8, (7488, 7503), (64832, 64847), 15, 240,
        "240b:10:3f6c:d400:0:6a48:3f6c:d4",
        "240b:10:3f6c:d400:6a:483f:6c00:d400",
        "v6plus",
    ),
    Vector(
        "biglobe-31",
        "2404:7a80::/31", "133.200.0.0/15", 25, 4,
        "2404:7a80:1234:5600::/56",
        "133.200.18.52", 86, 8, (5472, 5487), (62816, 62831), 15, 240,
        "2404:7a80:1234:5600:0:85c8:1234:56",
        "2404:7a80:1234:5600:85:c812:3400:5600",
        "biglobe",
    ),
    Vector(
        "biglobe-38",
        "2404:7a82:400::/38", "125.196.212.0/22", 18, 4,
        "2404:7a82:4ab:cd00::/56",
        "125.196.212.171", 205, 8, (7376, 7391), (64720, 64735), 15, 240,
        "2404:7a82:4ab:cd00:0:7dc4:d4ab:cd",
        "2404:7a82:4ab:cd00:7d:c4d4:ab00:cd00",
        "biglobe",
    ),
    Vector(
        "ocn-38",
        "2400:4050:400::/38", "153.240.16.0/20", 18, 6,
        "2400:4050:5a7:f600::/56",
        "153.240.22.159", 54, 6, (1888, 1903), (65376, 65391), 63, 1008,
        "2400:4050:5a7:f600:0:99f0:169f:36",
        "2400:4050:5a7:f600:99:f016:9f00:3600",
        "ocn",
    ),
]  # fmt: skip


def reference(v: Vector) -> tuple[str, int, str, str]:
    """Independent bit-string computation: IPv4, PSID, RFC CE, legacy CE."""
    net6, net4 = ipaddress.ip_network(v.rule6), ipaddress.ip_network(v.rule4)
    n, r = net6.prefixlen, net4.prefixlen
    bits = format(int(ipaddress.ip_address(v.prefix.split("/")[0])), "0128b")
    ea = bits[n : n + v.ea_len]
    v4bits = format(int(net4.network_address), "032b")[:r] + ea[: 32 - r]
    psid_bits = ea[32 - r :]
    psid16 = format(int(psid_bits, 2), "016b")
    rfc = bits[:64] + "0" * 16 + v4bits + psid16
    legacy = bits[:64] + "0" * 8 + v4bits + psid16 + "0" * 8
    return (
        str(ipaddress.IPv4Address(int(v4bits, 2))),
        int(psid_bits, 2),
        str(ipaddress.IPv6Address(int(rfc, 2))),
        str(ipaddress.IPv6Address(int(legacy, 2))),
    )


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_reference_agrees_with_hand_computed_vector(v: Vector) -> None:
    assert reference(v) == (v.ipv4, v.psid, v.ce_rfc, v.ce_legacy)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_forward(v: Vector) -> None:
    rule = MappingRule.from_text(v.rule6, v.rule4, v.ea_len, v.offset)
    m = map_prefix(rule, *parse_end_user_prefix(v.prefix))
    d = m.to_dict()
    assert d["ipv4"] == v.ipv4
    assert d["ipv4_prefix_len"] == 32
    assert (m.psid, m.psid_len) == (v.psid, v.psid_len)
    ranges = list(m.port_set.ranges())
    assert (ranges[0], ranges[-1], len(ranges)) == (v.first_range, v.last_range, v.range_count)
    assert d["port_count"] == v.port_count == sum(b - a + 1 for a, b in ranges)
    assert d["ce_ipv6_rfc"] == v.ce_rfc
    assert d["ce_ipv6_legacy"] == v.ce_legacy
    assert d["ce_ipv6"] == v.ce_rfc  # a command-line rule defaults to the RFC format


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v.name)
def test_reverse_from_every_port_of_the_first_and_last_block(v: Vector) -> None:
    rule = MappingRule.from_text(v.rule6, v.rule4, v.ea_len, v.offset, iid=IidFormat.LEGACY)
    ipv4 = int(ipaddress.IPv4Address(v.ipv4))
    for port in [*range(v.first_range[0], v.first_range[1] + 1), v.last_range[1]]:
        rev = reverse_map(rule, ipv4, port)
        assert rev.psid == v.psid
        assert rev.to_dict()["end_user_prefix"] == v.prefix
        assert rev.to_dict()["ce_ipv6"] == v.ce_legacy


@pytest.mark.parametrize("v", [v for v in VECTORS if v.isp], ids=lambda v: v.name)
def test_builtin_table_selects_the_operator_rule(v: Vector) -> None:
    m = builtin_rules().map(*parse_end_user_prefix(v.prefix))
    assert m.rule.isp == v.isp
    assert str(m.rule.ipv6_prefix) == v.rule6
    assert m.iid is IidFormat.LEGACY  # Japanese operators use the draft-03 layout
    assert m.to_dict()["ce_ipv6"] == v.ce_legacy
    assert m.rule.br is not None

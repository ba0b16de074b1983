"""Tests of the RFC 7598 Softwire46 wire format (``mapekit.core.s46_wire``)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapekit.core.errors import DataError
from mapekit.core.s46 import PortParams, S46Container, S46Kind, S46Rule, V4V6Bind
from mapekit.core.s46_wire import (
    container_from_hex,
    decode_options,
    encode_container,
    encode_options,
)
from tests.core.test_s46 import EXAMPLE_1_CONTAINER

REASONS = {"data.s46_truncated", "data.s46_bad_option", "data.s46_missing_option"}


def opt(code: int, data: bytes) -> bytes:
    """A DHCPv6 option: option-code, option-len, data (for building broken vectors)."""
    return code.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def rule_data(
    *,
    flags: int = 0x01,
    ea_len: int = 16,
    prefix4: bytes = b"\x18\xc0\x00\x02\x00",  # /24, 192.0.2.0
    prefix6: bytes = b"\x28\x20\x01\x0d\xb8\x00",  # /40, 2001:db8::
    sub: bytes = b"",
) -> bytes:
    return bytes([flags, ea_len]) + prefix4 + prefix6 + sub


BR_1 = opt(90, IPv6Address("2001:db8:ffff::1").packed)
RULE_1 = opt(89, rule_data())


def expect(data: bytes, reason: str, field: str) -> DataError:
    with pytest.raises(DataError) as info:
        decode_options(data)
    err = info.value
    assert (err.reason_code, err.field) == (reason, field), err.message
    return err


# --- known vectors ------------------------------------------------------------------------

# RFC 7597 Appendix A, example 1, as a MAP-E container (RFC 7598 §4.1, §4.2, §4.5, §5.1).
EXAMPLE_1 = bytes(
    [
        0x00, 0x5E, 0x00, 0x2D,  # OPTION_S46_CONT_MAPE (94), option-len 45 = 25 + 20
        0x00, 0x59, 0x00, 0x15,  # . OPTION_S46_RULE (89), option-len 21 = 13 + 8
        0x01,  # . . flags: F (FMR) set
        0x10,  # . . ea-len 16
        0x18,  # . . prefix4-len 24
        0xC0, 0x00, 0x02, 0x00,  # . . ipv4-prefix 192.0.2.0
        0x28,  # . . prefix6-len 40
        0x20, 0x01, 0x0D, 0xB8, 0x00,  # . . ipv6-prefix 2001:0db8:00, ceil(40 / 8) = 5 bytes
        0x00, 0x5D, 0x00, 0x04,  # . . OPTION_S46_PORTPARAMS (93), option-len 4
        0x06,  # . . . offset 6
        0x08,  # . . . PSID-len 8
        0x00, 0x00,  # . . . PSID 0, left-aligned
        0x00, 0x5A, 0x00, 0x10,  # . OPTION_S46_BR (90), option-len 16
        0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF, 0x00, 0x00,  # . . 2001:db8:ffff::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    ]
)  # fmt: skip

# EXAMPLE_1 decodes to EXAMPLE_1_CONTAINER, defined with the dataclass tests (test_s46.py).

# A v6plus-like rule: 240b:10::/31 -> 106.72.0.0/15, ea-len 25 (17 IPv4 + 8 PSID bits).
V6PLUS = bytes(
    [
        0x00, 0x5E, 0x00, 0x2C,  # OPTION_S46_CONT_MAPE (94), option-len 44 = 24 + 20
        0x00, 0x59, 0x00, 0x14,  # . OPTION_S46_RULE (89), option-len 20 = 12 + 8
        0x01,  # . . flags: F set
        0x19,  # . . ea-len 25
        0x0F,  # . . prefix4-len 15
        0x6A, 0x48, 0x00, 0x00,  # . . ipv4-prefix 106.72.0.0
        0x1F,  # . . prefix6-len 31
        0x24, 0x0B, 0x00, 0x10,  # . . ipv6-prefix 240b:0010, ceil(31 / 8) = 4 bytes
        0x00, 0x5D, 0x00, 0x04,  # . . OPTION_S46_PORTPARAMS (93), option-len 4
        0x04, 0x08, 0x00, 0x00,  # . . . offset 4, PSID-len 8, PSID 0
        0x00, 0x5A, 0x00, 0x10,  # . OPTION_S46_BR (90), option-len 16
        0x24, 0x04, 0x92, 0x00, 0x02, 0x25, 0x01, 0x00,  # . . 2404:9200:225:100::64
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
    ]
)  # fmt: skip

V6PLUS_CONTAINER = S46Container(
    kind=S46Kind.MAP_E,
    rules=(
        S46Rule(
            fmr=True,
            ea_len=25,
            ipv4_prefix=IPv4Network("106.72.0.0/15"),
            ipv6_prefix=IPv6Network("240b:10::/31"),
            port_params=PortParams(offset=4, psid_len=8, psid=0),
        ),
    ),
    brs=(IPv6Address("2404:9200:225:100::64"),),
)

# MAP-T (RFC 7598 §5.2): one rule without port parameters, DMR 2001:db8:ffff::/64.
MAP_T = bytes(
    [
        0x00, 0x5F, 0x00, 0x1D,  # OPTION_S46_CONT_MAPT (95), option-len 29 = 16 + 13
        0x00, 0x59, 0x00, 0x0C,  # . OPTION_S46_RULE (89), option-len 12 = 1 + 1 + 1 + 4 + 1 + 4
        0x00,  # . . flags: F clear (BMR only)
        0x10, 0x18, 0xC0, 0x00, 0x02, 0x00,  # . . ea-len 16, 192.0.2.0/24
        0x20, 0x20, 0x01, 0x0D, 0xB8,  # . . prefix6-len 32, 2001:db8
        0x00, 0x5B, 0x00, 0x09,  # . OPTION_S46_DMR (91), option-len 9
        0x40,  # . . dmr-prefix6-len 64
        0x20, 0x01, 0x0D, 0xB8, 0xFF, 0xFF, 0x00, 0x00,  # . . 2001:db8:ffff:0
    ]
)  # fmt: skip

MAP_T_CONTAINER = S46Container(
    kind=S46Kind.MAP_T,
    rules=(
        S46Rule(
            fmr=False,
            ea_len=16,
            ipv4_prefix=IPv4Network("192.0.2.0/24"),
            ipv6_prefix=IPv6Network("2001:db8::/32"),
        ),
    ),
    dmr=IPv6Network("2001:db8:ffff::/64"),
)

# lw4o6 (RFC 7598 §5.3): BR plus a binding of 192.0.2.1, PSID 42 of 6 bits at offset 6.
LW = bytes(
    [
        0x00, 0x60, 0x00, 0x2C,  # OPTION_S46_CONT_LW (96), option-len 44 = 20 + 24
        0x00, 0x5A, 0x00, 0x10,  # . OPTION_S46_BR (90), option-len 16
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x00, 0x00, 0x00,  # . . 2001:db8::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x5C, 0x00, 0x14,  # . OPTION_S46_V4V6BIND (92), option-len 20 = 12 + 8
        0xC0, 0x00, 0x02, 0x01,  # . . ipv4-address 192.0.2.1
        0x38,  # . . bindprefix6-len 56
        0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0x02,  # . . 2001:db8:1:2 (7 bytes)
        0x00, 0x5D, 0x00, 0x04,  # . . OPTION_S46_PORTPARAMS (93), option-len 4
        0x06, 0x06,  # . . . offset 6, PSID-len 6
        0xA8, 0x00,  # . . . PSID 42 = 101010b, left-aligned: 1010 1000 0000 0000
    ]
)  # fmt: skip

LW_CONTAINER = S46Container(
    kind=S46Kind.LW4O6,
    brs=(IPv6Address("2001:db8::1"),),
    binding=V4V6Bind(
        ipv4_address=IPv4Address("192.0.2.1"),
        bind_prefix=IPv6Network("2001:db8:1:200::/56"),
        port_params=PortParams(offset=6, psid_len=6, psid=42),
    ),
)


@pytest.mark.parametrize(
    ("wire", "container"),
    [
        (EXAMPLE_1, EXAMPLE_1_CONTAINER),
        (V6PLUS, V6PLUS_CONTAINER),
        (MAP_T, MAP_T_CONTAINER),
        (LW, LW_CONTAINER),
    ],
    ids=["rfc7597-example-1", "v6plus", "map-t", "lw4o6"],
)
def test_known_vector(wire: bytes, container: S46Container) -> None:
    assert decode_options(wire) == (container,)
    assert encode_container(container) == wire
    assert encode_options([container]) == wire


def test_several_containers_and_unrelated_options() -> None:
    reply = (
        opt(1, b"\x00\x01client-duid")  # OPTION_CLIENTID
        + EXAMPLE_1
        + opt(23, IPv6Address("2001:db8::53").packed)  # OPTION_DNS_SERVERS
        + MAP_T
        + opt(90, IPv6Address("2001:db8::9").packed)  # a top-level S46_BR (RFC 8539)
        + V6PLUS
        + LW
        + opt(0xFFFF, b"")
    )
    expected = (EXAMPLE_1_CONTAINER, MAP_T_CONTAINER, V6PLUS_CONTAINER, LW_CONTAINER)
    assert decode_options(reply) == expected
    assert encode_options(expected) == EXAMPLE_1 + MAP_T + V6PLUS + LW


def test_no_options_and_no_containers() -> None:
    assert decode_options(b"") == ()
    assert decode_options(opt(23, b"\x00" * 16)) == ()


def test_reserved_flag_bits_are_ignored() -> None:
    for flags, fmr in [(0xFE, False), (0xFF, True), (0x80, False)]:
        wire = opt(94, opt(89, rule_data(flags=flags)) + BR_1)
        (container,) = decode_options(wire)
        assert container.rules[0].fmr is fmr
        assert encode_container(container)[8] == int(fmr)  # reserved bits written as zero


def test_unknown_options_are_kept_and_written_back() -> None:
    sub = opt(93, b"\x06\x08\x00\x00") + opt(200, b"abc")
    wire = opt(94, opt(89, rule_data(sub=sub)) + BR_1 + opt(300, b"\x01\x02") + opt(7, b""))
    (container,) = decode_options(wire)
    assert container.rules[0].unknown == ((200, b"abc"),)
    assert container.unknown == ((300, b"\x01\x02"), (7, b""))
    assert encode_container(container) == wire


def test_options_are_written_in_code_order() -> None:
    wire = opt(94, BR_1 + RULE_1)  # BR before rule: valid, but not the canonical order
    (container,) = decode_options(wire)
    assert encode_container(container) == opt(94, RULE_1 + BR_1)


def test_several_rules_and_brs() -> None:
    second = rule_data(flags=0, prefix4=b"\x20\xc6\x33\x64\x01", prefix6=b"\x00")
    wire = opt(94, RULE_1 + opt(89, second) + BR_1 + opt(90, bytes(15) + b"\x02"))
    (container,) = decode_options(wire)
    assert container.rules[1].ipv4_prefix == IPv4Network("198.51.100.1/32")
    assert container.rules[1].ipv6_prefix == IPv6Network("::/0")
    assert container.brs == (IPv6Address("2001:db8:ffff::1"), IPv6Address("::2"))
    assert encode_container(container) == wire


def test_lw4o6_without_binding_and_with_several_brs() -> None:
    # RFC 7598 §5.3: at most one V4V6BIND (it may come from DHCPv4-over-DHCPv6 instead).
    wire = opt(96, BR_1 + opt(90, bytes(16)))
    (container,) = decode_options(wire)
    assert container.binding is None
    assert len(container.brs) == 2


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE_1.hex(),
        EXAMPLE_1.hex().upper(),
        ":".join(f"{b:02x}" for b in EXAMPLE_1),
        " ".join(EXAMPLE_1[i : i + 4].hex() for i in range(0, len(EXAMPLE_1), 4)),
        "\n  " + EXAMPLE_1.hex(":", 2) + "\t\n",
    ],
)
def test_container_from_hex(text: str) -> None:
    assert container_from_hex(text) == (EXAMPLE_1_CONTAINER,)


# --- errors: truncation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (b"\x00", "option[0].option-code"),
        (b"\x00\x5e\x00", "option[0].option-len"),
        (EXAMPLE_1 + b"\x00", "option[1].option-code"),
        (EXAMPLE_1 + b"\x00\x5e", "option[1].option-len"),
        (EXAMPLE_1 + b"\x00\x5e\x00", "option[1].option-len"),
        (b"\x00\x5e\x00\x10" + bytes(4), "option[0].option-len"),
        (EXAMPLE_1[:-1], "option[0].option-len"),
        (opt(94, RULE_1 + b"\x00\x5a\x00"), "S46_CONT_MAPE[0].option[1].option-len"),
        (opt(94, RULE_1 + b"\x00\x5a\x00\x10" + bytes(8)), "S46_CONT_MAPE[0].option[1].option-len"),
    ],
)
def test_truncated_option_headers(wire: bytes, field: str) -> None:
    expect(wire, "data.s46_truncated", field)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"", "flags"),
        (b"\x01", "ea-len"),
        (b"\x01\x10", "prefix4-len"),
        (b"\x01\x10\x18\xc0\x00\x02", "ipv4-prefix"),
        (b"\x01\x10\x18\xc0\x00\x02\x00", "prefix6-len"),
        (b"\x01\x10\x18\xc0\x00\x02\x00\x28\x20\x01\x0d\xb8", "ipv6-prefix"),
        (rule_data(sub=b"\x00\x5d\x00"), "option[0].option-len"),
        (rule_data(sub=b"\x00\x5d\x00\x04\x06\x08"), "option[0].option-len"),
    ],
)
def test_truncated_rule(data: bytes, field: str) -> None:
    err = expect(
        opt(94, opt(89, data) + BR_1), "data.s46_truncated", f"S46_CONT_MAPE[0].S46_RULE[0].{field}"
    )
    assert "S46_CONT_MAPE[0].S46_RULE[0]" in err.message


def test_truncated_rule_message_names_option_field_and_length() -> None:
    data = b"\x01\x10\x18\xc0\x00\x02\x00\x28\x20\x01\x0d\xb8"
    err = expect(
        opt(94, opt(89, data) + BR_1),
        "data.s46_truncated",
        "S46_CONT_MAPE[0].S46_RULE[0].ipv6-prefix",
    )
    assert "OPTION_S46_RULE (89)" in err.message
    assert "ipv6-prefix" in err.message
    assert err.value == len(data)


def test_truncated_dmr_and_binding() -> None:
    expect(
        opt(95, RULE_1 + opt(91, b"")),
        "data.s46_truncated",
        "S46_CONT_MAPT[0].S46_DMR[0].dmr-prefix6-len",
    )
    expect(
        opt(95, RULE_1 + opt(91, b"\x40\x20\x01")),
        "data.s46_truncated",
        "S46_CONT_MAPT[0].S46_DMR[0].dmr-ipv6-prefix",
    )
    expect(
        opt(96, BR_1 + opt(92, b"\xc0\x00")),
        "data.s46_truncated",
        "S46_CONT_LW[0].S46_V4V6BIND[0].ipv4-address",
    )
    expect(
        opt(96, BR_1 + opt(92, b"\xc0\x00\x02\x01")),
        "data.s46_truncated",
        "S46_CONT_LW[0].S46_V4V6BIND[0].bindprefix6-len",
    )
    expect(
        opt(96, BR_1 + opt(92, b"\xc0\x00\x02\x01\x38\x20")),
        "data.s46_truncated",
        "S46_CONT_LW[0].S46_V4V6BIND[0].bind-ipv6-prefix",
    )


# --- errors: bad values ---------------------------------------------------------------------

RULE = "S46_CONT_MAPE[0].S46_RULE[0]"


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        (rule_data(prefix4=b"\x21\xc0\x00\x02\x00"), "prefix4-len", 33),
        (rule_data(prefix4=b"\xff\xc0\x00\x02\x00"), "prefix4-len", 255),
        (rule_data(prefix6=b"\x81" + bytes(17)), "prefix6-len", 129),
        (rule_data(prefix4=b"\x18\xc0\x00\x02\x01"), "ipv4-prefix", "192.0.2.1"),
        (rule_data(prefix4=b"\x00\x00\x00\x00\x01"), "ipv4-prefix", "0.0.0.1"),
        (rule_data(prefix6=b"\x21\x20\x01\x0d\xb8\x40"), "ipv6-prefix", "20010db840"),
        (rule_data(prefix6=b"\x1f\x24\x0b\x00\x11"), "ipv6-prefix", "240b0011"),
        (rule_data(ea_len=49), "ea-len", 49),
        (rule_data(sub=opt(93, b"\x06\x08\x00\x01")), "S46_PORTPARAMS[0].PSID", "0x0001"),
        (rule_data(sub=opt(93, b"\x06\x00\x80\x00")), "S46_PORTPARAMS[0].PSID", "0x8000"),
        (rule_data(sub=opt(93, b"\x06\x11\x00\x00")), "S46_PORTPARAMS[0].PSID-len", 17),
        (rule_data(sub=opt(93, b"\x10\x00\x00\x00")), "S46_PORTPARAMS[0].offset", 16),
        (rule_data(sub=opt(93, b"\x0a\x08\x00\x00")), "S46_PORTPARAMS[0].PSID-len", 8),
        (rule_data(sub=opt(93, b"\x06\x08\x00")), "S46_PORTPARAMS[0].option-len", 3),
        (rule_data(sub=opt(93, b"\x06\x08\x00\x00\x00")), "S46_PORTPARAMS[0].option-len", 5),
        (rule_data(sub=opt(93, bytes(4)) * 2), "S46_PORTPARAMS[1]", 2),
        (rule_data(sub=BR_1), "option[0]", 90),
        (rule_data(sub=opt(94, b"")), "option[0]", 94),
    ],
)
def test_bad_rule(data: bytes, field: str, value: object) -> None:
    err = expect(opt(94, opt(89, data) + BR_1), "data.s46_bad_option", f"{RULE}.{field}")
    assert err.value == value
    assert RULE in err.message


def test_bad_value_messages_say_what_and_why() -> None:
    err = expect(
        opt(94, opt(89, rule_data(prefix4=b"\x21" + bytes(4))) + BR_1),
        "data.s46_bad_option",
        f"{RULE}.prefix4-len",
    )
    assert "OPTION_S46_RULE (89)" in err.message and "33" in err.message and "0..32" in err.message
    err = expect(
        opt(94, opt(89, rule_data(sub=opt(93, b"\x06\x08\x00\x01"))) + BR_1),
        "data.s46_bad_option",
        f"{RULE}.S46_PORTPARAMS[0].PSID",
    )
    assert "OPTION_S46_PORTPARAMS (93)" in err.message and "0x0001" in err.message
    err = expect(
        opt(94, opt(89, rule_data(sub=opt(93, b"\x10\x00\x00\x00"))) + BR_1),
        "data.s46_bad_option",
        f"{RULE}.S46_PORTPARAMS[0].offset",
    )
    assert "16" in err.message and "0..15" in err.message


@pytest.mark.parametrize("size", [0, 15, 17, 32])
def test_wrong_br_length(size: int) -> None:
    err = expect(
        opt(94, RULE_1 + opt(90, bytes(size))),
        "data.s46_bad_option",
        "S46_CONT_MAPE[0].S46_BR[0].option-len",
    )
    assert err.value == size and "OPTION_S46_BR (90)" in err.message


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (
            opt(95, RULE_1 + opt(91, b"\x81" + bytes(17))),
            "S46_CONT_MAPT[0].S46_DMR[0].dmr-prefix6-len",
        ),
        (
            opt(95, RULE_1 + opt(91, b"\x3f" + b"\x20\x01\x0d\xb8\xff\xff\x00\x01")),
            "S46_CONT_MAPT[0].S46_DMR[0].dmr-ipv6-prefix",
        ),
        (opt(95, RULE_1 + opt(91, b"\x40" + bytes(9))), "S46_CONT_MAPT[0].S46_DMR[0].option-len"),
        (opt(95, RULE_1 + opt(91, b"\x00") * 2), "S46_CONT_MAPT[0].S46_DMR[1]"),
        (opt(95, RULE_1 + opt(91, b"\x00") + BR_1), "S46_CONT_MAPT[0].S46_BR"),
        (opt(94, RULE_1 + BR_1 + opt(91, b"\x00")), "S46_CONT_MAPE[0].S46_DMR"),
        (opt(94, RULE_1 + BR_1 + opt(93, bytes(4))), "S46_CONT_MAPE[0].option[2]"),
        (opt(94, RULE_1 + BR_1 + opt(94, b"")), "S46_CONT_MAPE[0].option[2]"),
        (opt(96, BR_1 + RULE_1), "S46_CONT_LW[0].S46_RULE"),
        (opt(96, BR_1 + LW[24:] * 2), "S46_CONT_LW[0].S46_V4V6BIND[1]"),
        (
            opt(96, BR_1 + opt(92, b"\xc0\x00\x02\x01\x81" + bytes(17))),
            "S46_CONT_LW[0].S46_V4V6BIND[0].bindprefix6-len",
        ),
        (
            opt(96, BR_1 + opt(92, b"\xc0\x00\x02\x01\x07\x03")),
            "S46_CONT_LW[0].S46_V4V6BIND[0].bind-ipv6-prefix",
        ),
        (
            opt(96, BR_1 + opt(92, b"\xc0\x00\x02\x01\x00" + opt(93, b"\x06\x06\xa8\x01"))),
            "S46_CONT_LW[0].S46_V4V6BIND[0].S46_PORTPARAMS[0].PSID",
        ),
        (
            opt(96, BR_1 + opt(92, b"\xc0\x00\x02\x01\x00" + opt(91, b"\x00"))),
            "S46_CONT_LW[0].S46_V4V6BIND[0].option[0]",
        ),
    ],
)
def test_bad_container_contents(wire: bytes, field: str) -> None:
    expect(wire, "data.s46_bad_option", field)


def test_error_path_counts_containers_per_kind() -> None:
    bad = opt(94, opt(89, rule_data(ea_len=60)) + BR_1)
    expect(
        MAP_T + EXAMPLE_1 + LW + bad, "data.s46_bad_option", "S46_CONT_MAPE[1].S46_RULE[0].ea-len"
    )
    bad_rule = opt(89, rule_data(prefix4=b"\x21" + bytes(4)))
    expect(
        opt(94, RULE_1 + RULE_1 + bad_rule + BR_1),
        "data.s46_bad_option",
        "S46_CONT_MAPE[0].S46_RULE[2].prefix4-len",
    )


# --- errors: missing options ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        (opt(94, b""), "S46_CONT_MAPE[0].S46_RULE"),
        (opt(94, BR_1), "S46_CONT_MAPE[0].S46_RULE"),
        (opt(94, RULE_1), "S46_CONT_MAPE[0].S46_BR"),
        (opt(94, RULE_1 + opt(300, b"x")), "S46_CONT_MAPE[0].S46_BR"),
        (opt(95, opt(91, b"\x00")), "S46_CONT_MAPT[0].S46_RULE"),
        (opt(95, RULE_1), "S46_CONT_MAPT[0].S46_DMR"),
        (opt(96, b""), "S46_CONT_LW[0].S46_BR"),
        (opt(96, LW[24:]), "S46_CONT_LW[0].S46_BR"),
        (EXAMPLE_1 + opt(94, RULE_1), "S46_CONT_MAPE[1].S46_BR"),
    ],
)
def test_missing_option(wire: bytes, field: str) -> None:
    err = expect(wire, "data.s46_missing_option", field)
    assert "RFC 7598 §5." in err.message
    assert err.value == 0


def test_missing_option_message() -> None:
    err = expect(opt(94, RULE_1), "data.s46_missing_option", "S46_CONT_MAPE[0].S46_BR")
    assert "OPTION_S46_CONT_MAPE (94)" in err.message
    assert "OPTION_S46_BR (90)" in err.message
    assert "at least one" in err.message


# --- errors: input --------------------------------------------------------------------------


def test_oversized_input_is_refused_before_parsing() -> None:
    with pytest.raises(DataError) as info:
        decode_options(bytes(65536))
    assert (info.value.reason_code, info.value.field, info.value.value) == (
        "data.s46_bad_option",
        "input",
        65536,
    )
    # Garbage that would be a truncation error still reports the size first.
    with pytest.raises(DataError) as info:
        decode_options(b"\xff" * 100, max_size=99)
    assert (info.value.field, info.value.value) == ("input", 100)
    assert decode_options(EXAMPLE_1, max_size=len(EXAMPLE_1)) == (EXAMPLE_1_CONTAINER,)


def test_bytes_like_input_and_wrong_type() -> None:
    assert decode_options(bytearray(EXAMPLE_1)) == (EXAMPLE_1_CONTAINER,)
    assert decode_options(memoryview(EXAMPLE_1)) == (EXAMPLE_1_CONTAINER,)
    with pytest.raises(DataError) as info:
        decode_options(EXAMPLE_1.hex())  # type: ignore[arg-type]
    assert (info.value.reason_code, info.value.field) == ("data.s46_bad_option", "input")


@pytest.mark.parametrize(
    ("text", "value"),
    [("00 5g", "g"), ("0x005e", "x"), ("005e-0000", "-"), ("005", 3), ("é", "é")],
)
def test_container_from_hex_rejects(text: str, value: object) -> None:
    with pytest.raises(DataError) as info:
        container_from_hex(text)
    assert (info.value.reason_code, info.value.field, info.value.value) == (
        "data.s46_bad_option",
        "hex",
        value,
    )


def test_container_from_hex_reports_decode_errors() -> None:
    with pytest.raises(DataError) as info:
        container_from_hex("005e 0000")
    assert (info.value.reason_code, info.value.field) == (
        "data.s46_missing_option",
        "S46_CONT_MAPE[0].S46_RULE",
    )


def test_encode_refuses_option_longer_than_option_len() -> None:
    rule = S46Rule(
        True,
        16,
        IPv4Network("192.0.2.0/24"),
        IPv6Network("2001:db8::/40"),
        unknown=((300, bytes(65535)),),
    )
    container = S46Container(S46Kind.MAP_E, rules=(rule,), brs=(IPv6Address("::1"),))
    with pytest.raises(DataError) as info:
        encode_container(container)
    assert (info.value.reason_code, info.value.field) == (
        "data.s46_bad_option",
        "S46_CONT_MAPE.S46_RULE[0].option-len",
    )


# --- properties -----------------------------------------------------------------------------


@st.composite
def ipv4_networks(draw: st.DrawFn) -> IPv4Network:
    length = draw(st.integers(0, 32))
    address = draw(st.integers(0, 2**32 - 1)) >> (32 - length) << (32 - length)
    return IPv4Network((address, length))


@st.composite
def ipv6_networks(draw: st.DrawFn) -> IPv6Network:
    length = draw(st.integers(0, 128))
    address = draw(st.integers(0, 2**128 - 1)) >> (128 - length) << (128 - length)
    return IPv6Network((address, length))


@st.composite
def port_params(draw: st.DrawFn) -> PortParams:
    offset = draw(st.integers(0, 15))
    psid_len = draw(st.integers(0, 16 - offset))
    return PortParams(offset, psid_len, draw(st.integers(0, 2**psid_len - 1)))


unknowns = st.lists(
    st.tuples(st.integers(0, 0xFFFF).filter(lambda c: not 89 <= c <= 96), st.binary(max_size=8)),
    max_size=2,
).map(tuple)
ipv6_addresses = st.integers(0, 2**128 - 1).map(IPv6Address)
rules = st.builds(
    S46Rule,
    fmr=st.booleans(),
    ea_len=st.integers(0, 48),
    ipv4_prefix=ipv4_networks(),
    ipv6_prefix=ipv6_networks(),
    port_params=st.none() | port_params(),
    unknown=unknowns,
)
bindings = st.builds(
    V4V6Bind,
    ipv4_address=st.integers(0, 2**32 - 1).map(IPv4Address),
    bind_prefix=ipv6_networks(),
    port_params=st.none() | port_params(),
    unknown=unknowns,
)
some_rules = st.lists(rules, min_size=1, max_size=3).map(tuple)
some_brs = st.lists(ipv6_addresses, min_size=1, max_size=3).map(tuple)
containers = st.one_of(
    st.builds(
        S46Container, kind=st.just(S46Kind.MAP_E), rules=some_rules, brs=some_brs, unknown=unknowns
    ),
    st.builds(
        S46Container,
        kind=st.just(S46Kind.MAP_T),
        rules=some_rules,
        dmr=ipv6_networks(),
        unknown=unknowns,
    ),
    st.builds(
        S46Container,
        kind=st.just(S46Kind.LW4O6),
        brs=some_brs,
        binding=st.none() | bindings,
        unknown=unknowns,
    ),
)


@given(containers)
def test_round_trip(container: S46Container) -> None:
    wire = encode_container(container)
    assert decode_options(wire) == (container,)
    assert encode_container(decode_options(wire)[0]) == wire


@given(st.lists(containers, max_size=4), st.lists(st.binary(max_size=6), max_size=5))
def test_round_trip_several_with_unrelated_options(
    items: list[S46Container], noise: list[bytes]
) -> None:
    filler = [opt(23, data) for data in noise] + [b""] * len(items)
    wire = b"".join(filler[i] + encode_container(c) for i, c in enumerate(items))
    wire += b"".join(filler[len(items) :])
    assert decode_options(wire) == tuple(items)
    assert encode_options(items) == b"".join(encode_container(c) for c in items)


def only_data_errors(data: bytes) -> None:
    """Decoding ``data`` either succeeds (and re-encodes stably) or raises a DataError."""
    try:
        result = decode_options(data)
    except DataError as err:
        assert err.reason_code in REASONS
        assert err.field and err.message
        return
    assert all(isinstance(c, S46Container) for c in result)
    assert decode_options(encode_options(result)) == result


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_arbitrary_bytes(data: bytes) -> None:
    only_data_errors(data)


@FUZZ
@given(st.sampled_from([94, 95, 96]), st.binary(max_size=120))
def test_fuzz_container_bodies(code: int, body: bytes) -> None:
    only_data_errors(opt(code, body))


@FUZZ
@given(st.sampled_from([89, 90, 91, 92]), st.binary(max_size=60), st.sampled_from([94, 95, 96]))
def test_fuzz_option_bodies(code: int, body: bytes, container: int) -> None:
    only_data_errors(opt(container, opt(code, body) + BR_1 + RULE_1 + opt(91, b"\x00")))
    only_data_errors(opt(container, opt(89, rule_data(sub=opt(code + 1, body))) + BR_1))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from([EXAMPLE_1, V6PLUS, MAP_T, LW]) | containers.map(encode_container))
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "truncate":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[position]
    return bytes(data)


@FUZZ
@given(mutated())
def test_fuzz_mutated_encodings(data: bytes) -> None:
    only_data_errors(data)


@given(st.binary(max_size=64).map(bytes.hex), st.text(max_size=8))
def test_fuzz_hex_text(digits: str, noise: str) -> None:
    for text in (digits, digits + noise, noise):
        try:
            container_from_hex(text)
        except DataError as err:
            assert err.reason_code in REASONS

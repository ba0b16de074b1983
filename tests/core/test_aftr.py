"""RFC 6334's AFTR-Name option: byte vectors written by hand, every malformed case named,
round trips and fuzzing (nothing but DataError ever escapes)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mapekit.core.aftr import decode_name, encode_name, encode_option, find_aftr_name
from mapekit.core.errors import DataError

VECTORS = [
    (b"\x02gw\x07transix\x02jp\x00", "gw.transix.jp"),
    (b"\x04aftr\x07example\x03com\x00", "aftr.example.com"),
    (b"\x04AFTR\x03ISP\x02JP\x00", "aftr.isp.jp"),  # case does not matter in DNS
    (b"\x01a\x00", "a"),
]


@pytest.mark.parametrize(("wire", "name"), VECTORS)
def test_vectors(wire: bytes, name: str) -> None:
    assert decode_name(wire) == name
    assert encode_name(name) == wire.lower()


def test_the_option_in_a_reply() -> None:
    other = b"\x00\x17\x00\x10" + bytes(16)  # OPTION_DNS_SERVERS (23) first
    option = encode_option("gw.transix.jp")
    assert option == b"\x00\x40\x00\x0f\x02gw\x07transix\x02jp\x00"
    assert find_aftr_name(other + option) == "gw.transix.jp"
    assert find_aftr_name(other) is None


@pytest.mark.parametrize(
    ("wire", "field", "words"),
    [
        (b"", "tunnel-endpoint-name", "empty"),
        (b"\x00", "tunnel-endpoint-name", "root alone"),
        (b"\x04aftr", "tunnel-endpoint-name", "no root label"),
        (b"\x06aftr\x00", "label[0]", "announced"),
        (b"\xc0\x0c", "label[0]", "compression pointer"),
        (b"\x04aftr\x00\x00", "tunnel-endpoint-name", "after the root"),
        (b"\x04af_r\x00", "label[0]", "host-name label"),
        (b"\x04-aft\x00", "label[0]", "host-name label"),
        (b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f"
         + b"a" * 63 + b"\x00", "tunnel-endpoint-name", "more than 255"),
    ],
)  # fmt: skip
def test_malformed_names_are_named(wire: bytes, field: str, words: str) -> None:
    with pytest.raises(DataError) as info:
        decode_name(wire)
    assert info.value.field == f"OPTION_AFTR_NAME.{field}" and words in info.value.message


def test_truncated_options() -> None:
    with pytest.raises(DataError, match="announced"):
        find_aftr_name(b"\x00\x40\x00\x10\x02gw\x00")
    with pytest.raises(DataError, match="partial option header"):
        find_aftr_name(b"\x00\x40")


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(st.lists(LABEL, min_size=1, max_size=6))
def test_round_trip(labels: list[str]) -> None:
    name = ".".join(labels)
    assert decode_name(encode_name(name)) == name


@given(st.binary(max_size=300))
def test_fuzz_only_data_errors(data: bytes) -> None:
    for decoder in (decode_name, find_aftr_name):
        with contextlib.suppress(DataError):
            decoder(data)

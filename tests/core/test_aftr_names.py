"""The operators' AFTR names: the shipped table loads, every name is a host name whose wire
form decodes back, a malformed entry is refused naming its field, and a name is told as its
service's whatever its case or final dot."""

from __future__ import annotations

import json

import pytest

from mapekit.core.aftr import decode_name, encode_name
from mapekit.core.aftr_names import (
    KnownAftr,
    known_aftrs,
    listing,
    parse_aftr_names,
    service_of,
)
from mapekit.core.errors import DataError

ENTRY = {
    "service": "lab", "service_ja": "ラボ", "operator": "the lab", "operator_ja": "ラボ",
    "aftr": "aftr.lab.example",
    "mechanisms": ["dslite"], "sources": ["the lab's own"], "checked": "2026-12",
}  # fmt: skip


def test_the_shipped_table_loads() -> None:
    table = known_aftrs()
    assert [(e.service, e.aftr) for e in table] == [
        ("transix", "gw.transix.jp"),
        ("Xpass", "dgw.xpass.jp"),
        ("v6 connect", "dslite.v6connect.net"),
    ]
    assert all(isinstance(e, KnownAftr) for e in table)


@pytest.mark.parametrize("entry", known_aftrs(), ids=lambda e: e.aftr)
def test_every_entry_is_a_host_name_with_its_provenance(entry: KnownAftr) -> None:
    assert decode_name(encode_name(entry.aftr)) == entry.aftr  # RFC 1035 labels, round trip
    assert entry.aftr.count(".") >= 1 and entry.aftr == entry.aftr.lower()
    assert len(entry.sources) >= 2  # two independent sources at least (PROVENANCE.md)
    assert entry.mechanisms == ("dslite",) and entry.checked == "2026-12"


@pytest.mark.parametrize(
    ("name", "service"),
    [
        ("gw.transix.jp", "transix"),
        ("GW.TRANSIX.JP", "transix"),
        ("gw.transix.jp.", "transix"),
        ("Dgw.Xpass.Jp.", "Xpass"),
        (" dslite.v6connect.net\n", "v6 connect"),
        ("transix.jp", None),
        ("gw.transix.jp.example", None),
        ("2404:8e00::feed:100", None),
        ("", None),
    ],
)
def test_service_of(name: str, service: str | None) -> None:
    found = service_of(name)
    assert (found.service if found else None) == service


def test_the_listing_names_every_service() -> None:
    assert listing() == ("transix: gw.transix.jp; Xpass: dgw.xpass.jp; "
                         "v6 connect: dslite.v6connect.net")  # fmt: skip
    assert listing("ja") == ("transix: gw.transix.jp、クロスパス: dgw.xpass.jp、"
                             "v6 コネクト: dslite.v6connect.net")  # fmt: skip


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"service": "x"}, "aftr_names"),
        ([3], "aftr_names[0]"),
        ([{**ENTRY, "region": "east"}], "aftr_names[0].region"),
        ([{k: v for k, v in ENTRY.items() if k != "sources"}], "aftr_names[0].sources"),
        ([ENTRY, {**ENTRY, "service": ""}], "aftr_names[1].service"),
        ([{**ENTRY, "operator": 5}], "aftr_names[0].operator"),
        ([{**ENTRY, "aftr": "aftr_lab.example"}], "aftr_names[0].aftr"),
        ([{**ENTRY, "aftr": "aftr.lab.example."}], "aftr_names[0].aftr"),
        ([{**ENTRY, "aftr": "AFTR.lab.example"}], "aftr_names[0].aftr"),
        ([{**ENTRY, "aftr": "localhost"}], "aftr_names[0].aftr"),
        ([{**ENTRY, "aftr": "2001:db8::1"}], "aftr_names[0].aftr"),
        ([{**ENTRY, "aftr": "a" * 64 + ".example"}], "aftr_names[0].aftr"),
        ([{**ENTRY, "mechanisms": []}], "aftr_names[0].mechanisms"),
        ([{**ENTRY, "mechanisms": ["map_e"]}], "aftr_names[0].mechanisms"),
        ([{**ENTRY, "sources": "a blog"}], "aftr_names[0].sources"),
        ([{**ENTRY, "sources": ["", "x"]}], "aftr_names[0].sources"),
        ([{**ENTRY, "checked": "December"}], "aftr_names[0].checked"),
        ([{**ENTRY, "checked": "2026-13"}], "aftr_names[0].checked"),
        ([ENTRY, {**ENTRY, "service": "again"}], "aftr_names[1].aftr"),
    ],
)  # fmt: skip
def test_a_malformed_entry_names_its_field(document: object, field: str) -> None:
    with pytest.raises(DataError) as info:
        parse_aftr_names(json.dumps(document), "test.json")
    assert (info.value.reason_code, info.value.field) == ("data.file_schema", field)
    assert info.value.message.startswith(field)


def test_text_that_is_no_json_is_a_syntax_error() -> None:
    with pytest.raises(DataError) as info:
        parse_aftr_names("[{", "test.json")
    assert info.value.reason_code == "data.file_syntax"


def test_a_well_formed_entry_may_also_serve_ipip() -> None:
    (entry,) = parse_aftr_names(json.dumps([{**ENTRY, "mechanisms": ["dslite", "ipip"]}]), "t")
    assert entry.mechanisms == ("dslite", "ipip") and entry.label("ja") == "ラボ: aftr.lab.example"

"""User rule files (JSON and TOML) and their schema errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mapekit.core.errors import DataError, InputError, MapeError
from mapekit.core.rule import IidFormat
from mapekit.core.tables import load_rule_file, operator, parse_rule_text

LAB = {
    "ipv6_prefix": "2001:db8::/40",
    "ipv4_prefix": "192.0.2.0/24",
    "ea_len": 16,
    "psid_offset": 6,
    "br": "2001:db8:ffff::1",
}


def test_json_array_and_object_forms(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([LAB]))
    assert str(load_rule_file(path)[0].br) == "2001:db8:ffff::1"
    path.write_text(json.dumps({"rules": [{**LAB, "isp": "lab", "fmr": True}]}))
    rule = load_rule_file(path)[0]
    assert (rule.isp, rule.fmr, rule.iid) == ("lab", True, IidFormat.RFC)


def test_toml_form(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rules]]\nisp = "ocn"\nipv6_prefix = "2400:4050::/38"\n'
        'ipv4_prefix = "153.240.0.0/20"\nea_len = 18\npsid_offset = 6\n'
    )
    rule = load_rule_file(path)[0]
    assert rule.iid is IidFormat.LEGACY  # known operator → its default
    assert rule.psid_len == 6


@pytest.mark.parametrize(
    ("document", "code", "field"),
    [
        ("{", "data.file_syntax", "rules"),
        ('{"rules": 3}', "data.file_schema", "rules"),
        ("[3]", "data.file_schema", "rules[0]"),
        (json.dumps([{**LAB, "ea_length": 16}]), "data.file_schema", "rules[0].ea_length"),
        (json.dumps([{k: v for k, v in LAB.items() if k != "ea_len"}]),
         "data.file_schema", "rules[0].ea_len"),
        (json.dumps([{**LAB, "ea_len": "16"}]), "data.file_schema", "rules[0].ea_len"),
        (json.dumps([{**LAB, "ea_len": 16.0}]), "data.file_schema", "rules[0].ea_len"),
        (json.dumps([{**LAB, "br": 5}]), "data.file_schema", "rules[0].br"),
        (json.dumps([{**LAB, "fmr": "yes"}]), "data.file_schema", "rules[0].fmr"),
        (json.dumps([LAB, {**LAB, "ea_len": 50}]), "rule.ea_len_range", "rules[1].ea_len"),
        (json.dumps([{**LAB, "ipv4_prefix": "192.0.2.1/24"}]),
         "input.prefix_host_bits", "rules[0].ipv4_prefix"),
        (json.dumps([{**LAB, "iid": "x"}]), "input.unknown_iid", "rules[0].iid"),
        (json.dumps([LAB, LAB]), "rule.duplicate", "ipv6_prefix"),
    ],
)  # fmt: skip
def test_schema_errors_name_the_entry_and_field(document: str, code: str, field: str) -> None:
    with pytest.raises(MapeError) as info:
        parse_rule_text(document, "test.json", "json")
    assert (info.value.reason_code, info.value.field) == (code, field)


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        parse_rule_text("[[rules]\n", "x.toml", "toml")
    assert info.value.reason_code == "data.file_syntax"
    with pytest.raises(DataError) as info:
        load_rule_file(tmp_path / "absent.json")
    assert info.value.reason_code == "data.file_unreadable"
    assert "absent.json" in info.value.message


def test_unknown_operator() -> None:
    assert operator("ocn").display_name == "OCN Virtual Connect"
    with pytest.raises(InputError) as info:
        operator("nuro")
    assert info.value.reason_code == "input.unknown_isp"


def test_rule_entries_round_trip() -> None:
    from mapekit.core.rule import MappingRule
    from mapekit.core.tables import builtin_rules, rule_from_entry, rule_to_entry

    rules = [
        *builtin_rules(),
        MappingRule.from_text("2001:db8::/64", "192.0.2.7/32", 0, 6, psid_len=4, psid=9),
    ]
    for rule in rules:
        assert rule_from_entry(rule_to_entry(rule)) == rule

"""Operator facts, the built-in rule tables and rule files (JSON or TOML).

A rule file is a list of rule entries, either a JSON array, a JSON object with a
``rules`` array, or TOML with ``[[rules]]`` tables. Each entry has the schema of the
built-in ``data/jp_rules.json``:

=============  ========  ============================================================
key            required  meaning
=============  ========  ============================================================
ipv6_prefix    yes       Rule IPv6 prefix, e.g. ``240b:10::/31``
ipv4_prefix    yes       Rule IPv4 prefix, e.g. ``106.72.0.0/15``
ea_len         yes       EA-bits length, 0-48
psid_offset    yes       PSID offset, 0-15
br             no        BR (DMR) IPv6 address
psid_len       no        explicit PSID length (must agree with the EA bits)
psid           no        explicit PSID (only where the EA bits carry none)
isp            no        operator name; a known one sets the interface-id default
iid            no        ``rfc`` or ``legacy``; default: the operator's, else ``rfc``
fmr            no        true when the rule is also a Forwarding Mapping Rule
source_table,  no        provenance, kept for reference
source_key
comment        no        free text
=============  ========  ============================================================
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mapekit.core.errors import DataError, InputError, MapeError
from mapekit.core.files import parse_json_text, parse_toml_text, read_text_file
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet


@dataclass(frozen=True)
class Operator:
    """What mapekit knows about one operator's MAP-E service."""

    name: str
    display_name: str
    iid: IidFormat
    provisioning: str  # "jpne" or "ocn": which rule API the operator runs
    mesh: bool  # True when the operator's rules are FMRs (CE-to-CE traffic goes direct)
    brs: tuple[str, ...]


OPERATORS: Mapping[str, Operator] = {
    op.name: op
    for op in (
        Operator(
            "v6plus",
            "v6plus (JPNE)",
            IidFormat.LEGACY,
            "jpne",
            mesh=True,  # the JPNE get_rules answer lists its rules under "fmr"
            brs=("2404:9200:225:100::64",),
        ),
        Operator(
            "biglobe",
            "BIGLOBE IPv6 option",
            IidFormat.LEGACY,
            "jpne",
            mesh=False,
            brs=("2001:260:700:1::1:275", "2001:260:700:1::1:276"),
        ),
        Operator(
            "ocn",
            "OCN Virtual Connect",
            IidFormat.LEGACY,
            "ocn",
            mesh=False,
            brs=("2001:380:a120::9",),
        ),
    )
}

_REQUIRED = ("ipv6_prefix", "ipv4_prefix", "ea_len", "psid_offset")
_OPTIONAL = ("br", "psid_len", "psid", "isp", "iid", "fmr", "source_table", "source_key")
_ALLOWED = frozenset(_REQUIRED + _OPTIONAL + ("comment",))
_INT_FIELDS = ("ea_len", "psid_offset", "psid_len", "psid")
_STR_FIELDS = ("ipv6_prefix", "ipv4_prefix", "br", "isp", "iid", "source_table", "source_key")


def operator(name: str) -> Operator:
    try:
        return OPERATORS[name]
    except KeyError:
        known = ", ".join(OPERATORS)
        raise InputError(
            "input.unknown_isp",
            f"isp: {name!r} is not a known operator ({known})",
            field="isp",
            value=name,
        ) from None


def rule_from_entry(entry: object, where: str = "rule") -> MappingRule:
    """One rule from a decoded JSON/TOML entry; errors name ``where.field``."""
    if not isinstance(entry, dict):
        raise DataError("data.file_schema", f"{where}: expected an object", field=where)
    _check_keys(entry, where)
    try:
        isp = entry.get("isp")
        known = OPERATORS.get(isp) if isinstance(isp, str) else None
        iid_text = entry.get("iid")
        if iid_text is not None:
            iid = IidFormat.from_text(iid_text)
        else:
            iid = known.iid if known else IidFormat.RFC
        fmr = entry.get("fmr")
        return MappingRule.from_text(
            entry["ipv6_prefix"],
            entry["ipv4_prefix"],
            entry["ea_len"],
            entry["psid_offset"],
            br=entry.get("br"),
            psid_len=entry.get("psid_len"),
            psid=entry.get("psid"),
            fmr=known.mesh if fmr is None and known else bool(fmr),
            isp=isp,
            iid=iid,
        )
    except MapeError as exc:
        raise exc.with_field_prefix(where) from None


def _check_keys(entry: dict[str, object], where: str) -> None:
    for key in entry:
        if key not in _ALLOWED:
            raise DataError(
                "data.file_schema",
                f"{where}.{key}: unknown field (known: {', '.join(sorted(_ALLOWED))})",
                field=f"{where}.{key}",
            )
    for key in _REQUIRED:
        if key not in entry:
            raise DataError("data.file_schema", f"{where}.{key}: missing", field=f"{where}.{key}")
    for key in _INT_FIELDS:
        value = entry.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise DataError(
                "data.file_schema",
                f"{where}.{key}: expected an integer, got {value!r}",
                field=f"{where}.{key}",
                value=str(value),
            )
    for key in _STR_FIELDS:
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise DataError(
                "data.file_schema",
                f"{where}.{key}: expected a string, got {value!r}",
                field=f"{where}.{key}",
                value=str(value),
            )
    fmr = entry.get("fmr")
    if fmr is not None and not isinstance(fmr, bool):
        raise DataError(
            "data.file_schema", f"{where}.fmr: expected true or false", field=f"{where}.fmr"
        )


def rules_from_document(document: object, source: str) -> RuleSet:
    """A rule set from a decoded JSON or TOML document."""
    entries = document.get("rules") if isinstance(document, dict) else document
    if not isinstance(entries, list):
        raise DataError(
            "data.file_schema",
            f"{source}: expected a list of rules (a JSON array, or a 'rules' array)",
            field="rules",
        )
    rules = [rule_from_entry(e, f"rules[{i}]") for i, e in enumerate(entries)]
    return RuleSet(rules)


MAX_RULE_FILE = 16 << 20  # bytes; the built-in tables of 690 rules take 180 KB


def parse_rule_text(text: str, source: str, fmt: str) -> RuleSet:
    """Parse rule-file text; ``fmt`` is ``json`` or ``toml`` (nesting is capped, so a
    hostile file is a ``data.file_syntax`` error, never a crash)."""
    parse = parse_json_text if fmt == "json" else parse_toml_text
    try:
        document = parse(text, what="rules", source=source, reason="data.file_syntax")
    except DataError as exc:
        raise DataError("data.file_syntax", exc.message, field="rules") from None
    return rules_from_document(document, source)


def load_rule_file(path: str | Path) -> RuleSet:
    """A user rule file; ``.toml`` files are TOML, anything else JSON."""
    path = Path(path)
    try:
        text = read_text_file(path, what="rules", max_bytes=MAX_RULE_FILE)
    except FileNotFoundError:
        raise DataError(
            "data.file_unreadable",
            f"rules: cannot read {path}: no such file",
            field="rules",
            value=str(path),
        ) from None
    return parse_rule_text(text, str(path), "toml" if path.suffix == ".toml" else "json")


@functools.cache
def builtin_rules() -> RuleSet:
    """The shipped operator tables (v6plus, BIGLOBE, OCN), loaded on first use."""
    text = resources.files("mapekit.core").joinpath("data/jp_rules.json").read_text("utf-8")
    return parse_rule_text(text, "built-in jp_rules.json", "json")


def rule_to_entry(rule: MappingRule) -> dict[str, object]:
    """The rule-file entry for ``rule`` (``rule_from_entry`` reads it back equal)."""
    entry: dict[str, object] = {
        "ipv6_prefix": str(rule.ipv6_prefix),
        "ipv4_prefix": str(rule.ipv4_prefix),
        "ea_len": rule.ea_len,
        "psid_offset": rule.psid_offset,
        "iid": rule.iid.value,
        "fmr": rule.fmr,
    }
    if rule.explicit_psid_len is not None:
        entry["psid_len"] = rule.explicit_psid_len
    if rule.psid is not None:
        entry["psid"] = rule.psid
    if rule.br is not None:
        entry["br"] = str(rule.br)
    if rule.isp is not None:
        entry["isp"] = rule.isp
    return entry

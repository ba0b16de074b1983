"""Subscriber CSV files (API and ``mape server subscriber import``), validated row by row.

The first row is the header: it must name the columns ``prefix``, ``target`` and
``rules`` (optionally ``id``, ``hgw_rental`` and the mechanism columns ``order``, ``aftr``,
``ipip_remote``, ``ipip_ipv4``, ``ipip_interface_id``, ``update_user``,
``update_password``) and nothing else. Every row must have as many fields as the header,
each at most :data:`MAX_FIELD` characters; ``hgw_rental`` is ``true``/``false`` (also
``1``/``0``, ``yes``/``no``; empty: the default); ``order`` lists mechanisms separated by
spaces or (quoted) commas. An empty field is the default (no value); ``rules`` may be
empty for a subscriber without ``map_e``. A byte-order mark before the header is
dropped. Every row goes through the same schema as the JSON API
(:class:`~mapekit.server.schemas.SubscriberIn`). The first problem is reported naming the
row (the header is row 1) and the column; nothing is written unless every row is valid.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from mapekit.server.schemas import SubscriberIn, invalid, parse_model

REQUIRED = ("prefix", "target", "rules")
OPTIONAL = ("id", "hgw_rental", "order", "aftr", "ipip_remote", "ipip_ipv4",
            "ipip_interface_id", "update_user", "update_password")  # fmt: skip
ALWAYS = ("prefix", "target")  # given even when empty (the others: empty is no value)
MAX_FIELD = 256
MAX_ROWS = 1_000_000
_BOOLEAN = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class CsvRows:
    entries: list[SubscriberIn]
    rows: list[int]  # the row number of each entry (the header is row 1)

    def label(self, index: int) -> str:
        return f"row {self.rows[index]}"


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        raise invalid(f"row {row}", f"not UTF-8 text (byte {exc.start})") from None


def _header(fields: list[str] | None) -> list[str]:
    if not fields or not any(f.strip() for f in fields):
        raise invalid("row 1", f"no header row; the first row must name the columns "
                               f"{', '.join(REQUIRED)}[, {', '.join(OPTIONAL)}]")  # fmt: skip
    names = [f.strip().lower() for f in fields]
    for name in names:
        if name not in REQUIRED + OPTIONAL:
            raise invalid(f"row 1.{name[:32]}", "unknown column")
    for name in REQUIRED:
        if name not in names:
            raise invalid(f"row 1.{name}", "missing column")
    if len(set(names)) != len(names):
        raise invalid("row 1", "a column is named twice")
    return names


def _entry(names: list[str], fields: list[str], row: int) -> SubscriberIn:
    if len(fields) != len(names):
        raise invalid(f"row {row}", f"{len(fields)} fields, the header has {len(names)}")
    doc: dict[str, object] = {}
    for name, raw in zip(names, fields, strict=True):
        if len(raw) > MAX_FIELD:
            raise invalid(f"row {row}.{name}", f"longer than {MAX_FIELD} characters")
        value = raw.strip()
        if name == "hgw_rental":
            if value and value.lower() not in _BOOLEAN:
                raise invalid(f"row {row}.{name}", f"{value[:20]!r} is not true or false")
            if value:
                doc[name] = _BOOLEAN[value.lower()]
        elif name == "order" and value:
            doc[name] = [part for part in re.split(r"[\s,]+", value) if part]
        elif value or name in ALWAYS:
            doc[name] = value
    return parse_model(SubscriberIn, doc, f"row {row}")


def parse_csv(data: bytes) -> CsvRows:
    """Every row of a subscriber CSV file, validated; the first problem raises."""
    text = _text(data)
    if "\x00" in text:
        raise invalid(f"row {text[: text.index(chr(0))].count(chr(10)) + 1}", "a NUL byte")
    reader = csv.reader(text.splitlines(), strict=True)
    try:
        names = _header(next(reader, None))
        entries: list[SubscriberIn] = []
        rows: list[int] = []
        for number, fields in enumerate(reader, start=2):
            if not fields:
                continue  # a blank line
            if len(entries) >= MAX_ROWS:
                raise invalid(f"row {number}", f"more than {MAX_ROWS} rows")
            entries.append(_entry(names, fields, number))
            rows.append(number)
    except csv.Error as exc:
        if "field limit" in str(exc):
            why = f"a field longer than {MAX_FIELD} characters"
            raise invalid(f"row {reader.line_num}", why) from None
        raise invalid(f"row {reader.line_num}", f"not CSV ({exc})") from None
    return CsvRows(entries, rows)


__all__ = ["CsvRows", "parse_csv"]

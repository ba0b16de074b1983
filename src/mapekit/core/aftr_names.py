"""The operators' published DS-Lite AFTR names, with where each was seen (data, like the
MAP-E tables): a name DHCPv6 option 64 brings, or one the user types, is told as its
service's.

The built-in ``data/aftr_names.json`` is a JSON array of entries (provenance in
``data/PROVENANCE.md``):

===========  ==================================================================
key          meaning
===========  ==================================================================
service      the service's name, e.g. ``transix``
service_ja   its name in Japanese, e.g. ``クロスパス``
operator     who runs it (the VNE), e.g. ``Internet Multifeed``
operator_ja  its name in Japanese, e.g. ``インターネットマルチフィード``
aftr         the AFTR's fully qualified name, a host name (RFC 1123), lowercase,
             without the final dot
mechanisms   what the name serves: ``dslite`` (and ``ipip`` where a fixed-address
             tunnel ends at the same name)
sources      where the name was seen, in words (at least one)
checked      the month the sources were read, ``YYYY-MM``
===========  ==================================================================

Every key is required and no other is allowed; a malformed entry is a
:class:`~mapekit.core.errors.DataError` (``data.file_schema``) naming
``aftr_names[i].field``. An AFTR name appears once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import cast

from mapekit.core.aftr import encode_name
from mapekit.core.errors import DataError
from mapekit.core.files import parse_json_text

MECHANISMS = frozenset({"dslite", "ipip"})
_TEXTS = ("service", "service_ja", "operator", "operator_ja", "aftr", "checked")
_LISTS = ("mechanisms", "sources")
_KEYS = frozenset(_TEXTS + _LISTS)
_MONTH = re.compile(r"20\d\d-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class KnownAftr:
    """One operator's published AFTR name."""

    service: str
    service_ja: str
    operator: str
    operator_ja: str
    aftr: str
    mechanisms: tuple[str, ...]
    sources: tuple[str, ...]
    checked: str

    def label(self, lang: str = "en") -> str:
        """``transix: gw.transix.jp``; the Japanese service name for ``ja``."""
        return f"{self.service_ja if lang == 'ja' else self.service}: {self.aftr}"


def canonical(name: str) -> str:
    """``name`` as the table keeps names: lowercase, without spaces or the final dot."""
    return name.strip().rstrip(".").lower()


def _bad(field: str, why: str) -> DataError:
    return DataError("data.file_schema", f"{field}: {why}", field=field)


def _check_keys(entry: dict[str, object], where: str) -> None:
    for key in entry:
        if key not in _KEYS:
            raise _bad(f"{where}.{key}", f"unknown field (known: {', '.join(sorted(_KEYS))})")
    missing = sorted(_KEYS - entry.keys())
    if missing:
        raise _bad(f"{where}.{missing[0]}", "missing")
    for key in _TEXTS:
        if not isinstance(entry[key], str) or not str(entry[key]).strip():
            raise _bad(f"{where}.{key}", f"expected a non-empty string, got {entry[key]!r:.70}")
    for key in _LISTS:
        value = entry[key]
        if not isinstance(value, list) or not value:
            raise _bad(f"{where}.{key}", "expected a non-empty list of strings")
        if not all(isinstance(item, str) and item.strip() for item in value):
            raise _bad(f"{where}.{key}", "expected a non-empty list of strings")


def _check_values(entry: dict[str, object], where: str) -> str:
    aftr = str(entry["aftr"])
    if canonical(aftr) != aftr or "." not in aftr:
        raise _bad(f"{where}.aftr", f"{aftr!r:.70} is not a lowercase FQDN without the final dot")
    try:
        encode_name(aftr)
    except DataError as exc:
        raise _bad(f"{where}.aftr", exc.message.partition(": ")[2]) from None
    unknown = sorted(set(cast("list[str]", entry["mechanisms"])) - MECHANISMS)
    if unknown:
        raise _bad(f"{where}.mechanisms", f"unknown {unknown[0]!r:.30} (known: dslite, ipip)")
    if not _MONTH.fullmatch(str(entry["checked"])):
        raise _bad(f"{where}.checked", f"expected YYYY-MM, got {entry['checked']!r:.30}")
    return aftr


def aftr_from_entry(entry: object, where: str = "aftr_names[0]") -> KnownAftr:
    """One entry of the table; errors name ``where.field``."""
    if not isinstance(entry, dict):
        raise _bad(where, "expected an object")
    _check_keys(entry, where)
    aftr = _check_values(entry, where)
    return KnownAftr(
        service=entry["service"],
        service_ja=entry["service_ja"],
        operator=entry["operator"],
        operator_ja=entry["operator_ja"],
        aftr=aftr,
        mechanisms=tuple(entry["mechanisms"]),
        sources=tuple(entry["sources"]),
        checked=entry["checked"],
    )


def parse_aftr_names(text: str, source: str) -> tuple[KnownAftr, ...]:
    """The table of a JSON text (a ``data.file_syntax`` error for text that is no JSON)."""
    document = parse_json_text(text, what="aftr_names", source=source, reason="data.file_syntax")
    if not isinstance(document, list):
        raise _bad("aftr_names", f"{source}: expected a JSON array of entries")
    known = tuple(aftr_from_entry(e, f"aftr_names[{i}]") for i, e in enumerate(document))
    seen: dict[str, int] = {}
    for i, entry in enumerate(known):
        if entry.aftr in seen:
            raise _bad(f"aftr_names[{i}].aftr",
                       f"{entry.aftr} is also aftr_names[{seen[entry.aftr]}]")  # fmt: skip
        seen[entry.aftr] = i
    return known


@functools.cache
def known_aftrs() -> tuple[KnownAftr, ...]:
    """The shipped table, loaded on first use."""
    text = resources.files("mapekit.core").joinpath("data/aftr_names.json").read_text("utf-8")
    return parse_aftr_names(text, "built-in aftr_names.json")


@functools.cache
def _by_name() -> dict[str, KnownAftr]:
    return {entry.aftr: entry for entry in known_aftrs()}


def service_of(name: str) -> KnownAftr | None:
    """The entry whose AFTR is ``name`` (any case, a final dot allowed), else None."""
    return _by_name().get(canonical(name))


def listing(lang: str = "en") -> str:
    """Every known AFTR, for a help text: ``transix: gw.transix.jp; Xpass: dgw.xpass.jp; …``
    (in Japanese joined by ``、``)."""
    return ("、" if lang == "ja" else "; ").join(entry.label(lang) for entry in known_aftrs())

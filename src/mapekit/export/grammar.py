"""The vendor grammar tables: which command lines the router formats may emit, and why.

Each :class:`Row` is one command form of one format, written in a small pattern language,
with the releases it belongs to and the :class:`Source` it was checked against. A rendered
configuration is checked line by line (comment and blank lines aside): a line that
matches no row, or only rows whose source is ``unverified``, makes the configuration
EXPERIMENTAL (:func:`unverified_lines`). The same rows are the tables of docs/export.md
(``python -m mapekit.export.grammar`` prints them; a test keeps the file in step).

Pattern language: words stand for themselves; ``<IF>``, ``<V4>``, ``<V6>``, ``<V4NET>``,
``<V6NET>``, ``<MASK>``, ``<N>``, ``<RANGE>``, ``<NAME>``, ``<STR>`` (a double-quoted
name), ``<IID>`` (the groups of an interface ID after ``::``) and ``<URL>`` (a double-quoted
http(s) URL) are typed placeholders; ``<X>...`` is one or more of ``<X>`` separated by spaces;
``[…]`` is optional and ``{a|b}`` a choice. Leading indentation is not part of a line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from mapekit.export.common import Release, release_text
from mapekit.export.grammar_data import ROWS, SOURCES, Row, Source

__all__ = ["ROWS", "SOURCES", "Row", "Source", "markdown", "matching_rows", "unverified_lines"]

_PLACEHOLDERS = {
    "IF": r"[A-Za-z][A-Za-z0-9_./:-]{0,31}",
    "V4": r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}",
    "V6": r"[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*",
    "V4NET": r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}",
    "V6NET": r"[0-9A-Fa-f:]*:[0-9A-Fa-f:]*/[0-9]{1,3}",
    "MASK": r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}",
    "N": r"[0-9]+",
    "RANGE": r"[0-9]+-[0-9]+",
    "NAME": r"[A-Za-z0-9_.@:-]+",
    "STR": r'"[A-Za-z0-9_./:@ -]*"',
    "IID": r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,3}",  # an interface ID after a "::"
    "URL": r'"https?://[^\s"\'{}\\]+"',  # a double-quoted http(s) URL
}
_TOKEN = re.compile(r"<([A-Z0-9]+)>(\.\.\.)?|[\[\]{}|]|[^<\[\]{}|]+")
COMMENT_MARKS = {"ix": "!", "cisco-xe": "!", "awplus": "!", "rtx": "#", "fortigate": "#"}


_GROUPS = {"[": "(?:", "]": ")?", "{": "(?:", "}": ")", "|": "|"}


def _regex(pattern: str) -> str:
    out = []
    for match in _TOKEN.finditer(pattern):
        piece, name = match.group(0), match.group(1)
        if name:
            one = f"(?:{_PLACEHOLDERS[name]})"
            out.append(f"{one}(?: {one})*" if match.group(2) else one)
        else:
            out.append(_GROUPS.get(piece) or re.escape(piece))
    return "".join(out)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_regex(pattern))


def _in_release(row: Row, release: Release) -> bool:
    if not release:
        return True
    return (not row.since or release >= row.since) and (not row.until or release < row.until)


def command_lines(fmt: str, text: str) -> list[str]:
    """The command lines of a configuration: indentation, blanks and comments left out."""
    mark = COMMENT_MARKS[fmt]
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(mark)]


def matching_rows(fmt: str, line: str, release: Release = ()) -> list[Row]:
    return [
        row
        for row in ROWS
        if row.fmt == fmt and _in_release(row, release) and _compiled(row.pattern).fullmatch(line)
    ]


def _verified(rows: Iterable[Row]) -> bool:
    return any(SOURCES[row.source].kind != "unverified" for row in rows)


def unverified_lines(fmt: str, text: str, release: Release = ()) -> list[str]:
    """Lines that match no row, or only rows no document confirms."""
    return [
        line
        for line in command_lines(fmt, text)
        if not _verified(matching_rows(fmt, line, release))
    ]


def unmatched_lines(fmt: str, text: str, release: Release = ()) -> list[str]:
    return [line for line in command_lines(fmt, text) if not matching_rows(fmt, line, release)]


def _releases(row: Row) -> str:
    if row.since and row.until:
        return f"{release_text(row.since)} – before {release_text(row.until)}"
    if row.since:
        return f"{release_text(row.since)} and later"
    if row.until:
        return f"before {release_text(row.until)}"
    return "all"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown() -> str:
    """The grammar tables and the list of sources, as in docs/export.md."""
    lines = []
    for fmt in dict.fromkeys(row.fmt for row in ROWS):
        lines += [f"#### `{fmt}`", "", "| command | releases | source |", "|---|---|---|"]
        lines += [
            f"| `{_cell(row.pattern)}` | {_releases(row)} | {row.source} |"
            for row in ROWS
            if row.fmt == fmt
        ]
        lines.append("")
    lines += ["#### Sources", "", "| key | document | where | status |", "|---|---|---|---|"]
    lines += [
        f"| {key} | {_cell(src.title)} | {_cell(src.where)} | {src.kind} |"
        for key, src in SOURCES.items()
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown())

"""Printing: JSON to stdout, human text to stdout, errors to stderr (or JSON to stdout)."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

from mapekit.cli.exitcodes import OK, exit_code
from mapekit.core.errors import MapeError
from mapekit.core.messages import say

_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")

__all__ = ["OK", "UsageError", "emit", "emit_json", "exit_code", "report_error", "table"]


class UsageError(MapeError):
    """The command line is wrong."""


def emit_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def emit_now(text: str) -> None:
    """``emit``, flushed: the start line of a long-running command, which a log file or
    a test reads while the command keeps running."""
    emit(text)
    sys.stdout.flush()


def emit_raw(text: str) -> None:
    """``text`` as it is (a terminal control sequence), flushed."""
    sys.stdout.write(text)
    sys.stdout.flush()


def error_line(exc: MapeError, lang: str = "en") -> str:
    """The one line an error is on standard error: in Japanese, the reason's explanation
    with the (English) detail that names the field and value."""
    if lang == "ja":
        text = say("error.detail", lang, explanation=exc.reason.ja, detail=exc.message)
    else:
        text = exc.message
    return f"{say('error.prefix', lang)}{text} [{exc.reason_code}]"


def report_error(exc: MapeError, json_mode: bool, lang: str = "en") -> int:
    """Print ``exc`` once (one line, or ``{"error": …}`` with --json) and pick the exit."""
    if json_mode:
        doc = exc.to_dict()
        doc["explanation"] = exc.reason.ja if lang == "ja" else exc.reason.en
        emit_json({"error": doc})
    else:
        sys.stderr.write(error_line(exc, lang) + "\n")
    return exit_code(exc.reason.category)


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: East Asian wide characters take two, colour
    sequences none."""
    plain = _ESCAPES.sub("", text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in plain)


def table(rows: list[list[str]], indent: str = "") -> str:
    """Left-aligned columns (aligned on the terminal, Japanese labels included)."""
    if not rows:
        return ""
    widths = [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        indent
        + "  ".join(
            cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)

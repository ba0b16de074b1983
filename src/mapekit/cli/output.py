"""Printing: JSON to stdout, human text to stdout, errors to stderr (or JSON to stdout)."""

from __future__ import annotations

import json
import sys
import unicodedata

from mapekit.cli.exitcodes import OK, exit_code
from mapekit.core.errors import MapeError

__all__ = ["OK", "UsageError", "emit", "emit_json", "exit_code", "report_error", "table"]


class UsageError(MapeError):
    """The command line is wrong."""


def emit_json(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def emit_raw(text: str) -> None:
    """``text`` as it is (a terminal control sequence), flushed."""
    sys.stdout.write(text)
    sys.stdout.flush()


def report_error(exc: MapeError, json_mode: bool) -> int:
    """Print ``exc`` once (one line, or ``{"error": …}`` with --json) and pick the exit."""
    if json_mode:
        emit_json({"error": exc.to_dict()})
    else:
        sys.stderr.write(f"mape: error: {exc.message} [{exc.reason_code}]\n")
    return exit_code(exc.reason.category)


def width(text: str) -> int:
    """Terminal columns of ``text``: wide (CJK) and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(rows: list[list[str]], indent: str = "") -> str:
    """Left-aligned columns (Japanese labels line up too)."""
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

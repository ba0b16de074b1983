"""Colour for people at a terminal, with plain ANSI sequences (no library: the router's
install stays small). Used only when standard output is a terminal, ``NO_COLOR`` is not
set (no-color.org) and ``TERM`` is not ``dumb``; ``--json`` never has it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

_CODES = {"bold": "1", "red": "31", "green": "32", "yellow": "33"}


def wanted(stream: object = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``stream`` (standard output) should get colour."""
    env = os.environ if environ is None else environ
    out = sys.stdout if stream is None else stream
    isatty = getattr(out, "isatty", None)
    if env.get("NO_COLOR") or env.get("TERM") == "dumb" or isatty is None:
        return False
    return bool(isatty())


@dataclass(frozen=True)
class Painter:
    """Wraps text in a colour when ``on``; plain text otherwise."""

    on: bool = False

    def _paint(self, name: str, text: str) -> str:
        return f"\x1b[{_CODES[name]}m{text}\x1b[0m" if self.on else text

    def bold(self, text: str) -> str:
        return self._paint("bold", text)

    def red(self, text: str) -> str:
        return self._paint("red", text)

    def green(self, text: str) -> str:
        return self._paint("green", text)

    def yellow(self, text: str) -> str:
        return self._paint("yellow", text)

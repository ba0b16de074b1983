"""Which language a command speaks: ``--lang``, else the locale of the environment.

The locale variables are read as POSIX orders them for messages: ``LC_ALL``, then
``LC_MESSAGES``, then ``LANG``; the first one set decides, and a value starting with
``ja`` (``ja_JP.UTF-8``, ``ja_JP.eucJP``, ``ja``) means Japanese.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mapekit.core.messages import LANGS

LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def from_environment(environ: Mapping[str, str]) -> str:
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def from_arguments(argv: Sequence[str]) -> str | None:
    """The ``--lang`` of the command line (before any ``--``), when it names a language;
    a wrong value is left for the parser to refuse."""
    for i, arg in enumerate(argv):
        if arg == "--":
            return None
        value = argv[i + 1] if arg == "--lang" and i + 1 < len(argv) else None
        if arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value in LANGS:
            return value
    return None


def choose(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    return from_arguments(argv) or from_environment(environ)

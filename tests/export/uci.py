"""A strict parser for OpenWrt's UCI configuration files (there is no ``uci`` in Debian).

Written from OpenWrt's documented file syntax (openwrt.org, "The UCI system", section
"File syntax"): a file is a sequence of sections; ``config <type> ['<name>']`` opens one;
``option <name> '<value>'`` and ``list <name> '<value>'`` belong to the open section;
``#`` starts a comment line; blank lines are allowed. Types, section names and option
names are UCI identifiers (``a-z``, ``A-Z``, ``0-9``, ``_``). A value is a single- or
double-quoted string (no quote of its own kind inside, no line break) or one unquoted word.
Anything else is an error naming the line — stricter than ``uci`` itself, on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

IDENT = r"[A-Za-z0-9_]+"
VALUE = r"'[^'\n]*'|\"[^\"\n]*\"|[^\s'\"#]+"
CONFIG = re.compile(rf"config\s+({IDENT})(?:\s+({VALUE}))?")
OPTION = re.compile(rf"(option|list)\s+({IDENT})\s+({VALUE})")
FILE_MARK = re.compile(r"# ==> (/etc/config/[a-z]+)(?: \([a-z]+\))? <==")


class UciError(ValueError):
    pass


@dataclass
class Section:
    type: str
    name: str | None
    options: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)


def _unquote(value: str) -> str:
    return value[1:-1] if value[:1] in "'\"" else value


def _check_name(name: str | None, number: int) -> str | None:
    if name is not None and not re.fullmatch(IDENT, name):
        raise UciError(f"line {number}: section name {name!r} is not a UCI identifier")
    return name


def parse_uci(text: str) -> list[Section]:
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := CONFIG.fullmatch(line):
            name = None if m.group(2) is None else _unquote(m.group(2))
            sections.append(Section(m.group(1), _check_name(name, number)))
        elif m := OPTION.fullmatch(line):
            if not sections:
                raise UciError(f"line {number}: {m.group(1)} outside a section")
            kind, key, value = m.group(1), m.group(2), _unquote(m.group(3))
            if kind == "option":
                sections[-1].options[key] = value
            else:
                sections[-1].lists.setdefault(key, []).append(value)
        else:
            raise UciError(f"line {number}: not UCI syntax: {raw!r}")
    return sections


def uci_files(export_text: str) -> dict[str, str]:
    """The /etc/config files of an OpenWrt export, by path (its nftables file left out)."""
    files: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in export_text.splitlines():
        if line.startswith("# ==> "):
            m = FILE_MARK.fullmatch(line)
            current = None if m is None else files.setdefault(m.group(1), [])
        elif current is not None:
            current.append(line)
    return {path: "\n".join(lines) + "\n" for path, lines in files.items()}

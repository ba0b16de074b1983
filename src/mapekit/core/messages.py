"""The catalogue of what mapekit says to people, in English and Japanese.

Reason codes (``mapekit.core.reasons``) and event lines (``mapekit.provision.events``)
keep their own tables, because they carry more than text (a category, a severity); every
other word a command prints to a person comes from here: command summaries, labels of
the status and setup tables, the doctor's evidence, state names, error prefixes.

A message is a key and two ``str.format`` templates with the same named fields. What is
*not* translated: values (addresses, prefixes, interface names, numbers), reason codes,
JSON keys, and the English detail of an error message, which names the field and value
(docs/cli.md, "Languages"). A test fails when a message has no Japanese (kana or kanji,
not a copy of the English) or when the two templates disagree on their fields.

The Japanese follows the style of Japanese router manuals (NEC UNIVERGE IX, Yamaha RTX):
short noun phrases for labels and states, です/ます for sentences.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from mapekit.core.messages_cli import CLI
from mapekit.core.messages_diag import DIAG
from mapekit.core.messages_status import STATUS

LANGS = ("en", "ja")


@dataclass(frozen=True)
class Message:
    """One thing said, in both languages."""

    en: str
    ja: str

    def get(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


def _table(*parts: Mapping[str, tuple[str, str]]) -> Mapping[str, Message]:
    merged: dict[str, Message] = {}
    for part in parts:
        for key, (en, ja) in part.items():
            if key in merged:
                raise ValueError(f"message {key!r} is defined twice")
            merged[key] = Message(en, ja)
    return MappingProxyType(merged)


MESSAGES: Mapping[str, Message] = _table(CLI, STATUS, DIAG)


def say(key: str, lang: str = "en", /, **values: object) -> str:
    """The message ``key`` in ``lang`` with ``values`` filled in."""
    return MESSAGES[key].get(lang).format(**values)


def both(key: str, /, **values: object) -> tuple[str, str]:
    """The message ``key`` in English and Japanese, filled in."""
    message = MESSAGES[key]
    return message.en.format(**values), message.ja.format(**values)


def local_time(stamp: object) -> str:
    """A stored time stamp (seconds since the epoch) as local time, ``-`` when there is none."""
    if not isinstance(stamp, int | float):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))

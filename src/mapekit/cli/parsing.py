"""What every ``mape`` parser has in common, applied once its commands are configured.

- choices are shown one way, ``a|b|c`` (argparse's default is ``{a,b,c}``);
- ``-h`` and the shared options speak the chosen language;
- every command (and every action of a command with actions, such as ``mape server
  rules list``) takes ``--lang``; a nested one keeps the value given before it.

Old spellings of options (docs/cli.md, "Deprecated spellings") are added with
:func:`add_deprecated`: hidden from help, they still work for one release and print a
note on standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from mapekit.core.messages import LANGS, say


def subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The (name, parser) of each subcommand directly under ``parser``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser under ``parser`` (itself first), with the words that lead to it."""
    yield path, parser
    for name, child in subparsers(parser):
        yield from walk(child, (*path, name))


def _has(parser: argparse.ArgumentParser, option: str) -> bool:
    return option in parser._option_string_actions


def _plain_choices(action: argparse.Action) -> bool:
    """Choices argparse would show as ``{a,b}`` (no metavar; not a list of commands)."""
    subcommands = isinstance(action, argparse._SubParsersAction)
    return action.choices is not None and action.metavar is None and not subcommands


def _tidy(parser: argparse.ArgumentParser, lang: str) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = say("option.help", lang)
        elif _plain_choices(action):
            action.metavar = "|".join(str(c) for c in action.choices or ())


def finish(top: argparse.ArgumentParser, lang: str) -> None:
    """Give every configured parser under ``top`` the shared conventions."""
    _tidy(top, lang)
    for _, command in subparsers(top):
        if len(command._actions) == 1:
            continue  # named in `mape --help` only: not configured for this run
        for path, parser in walk(command):
            if not _has(parser, "--lang"):
                parser.add_argument(
                    "--lang",
                    choices=LANGS,
                    default=argparse.SUPPRESS if path else lang,
                    help=say("option.lang", lang),
                )
            _tidy(parser, lang)


def json_option(parser: argparse.ArgumentParser, lang: str = "en", nested: bool = False) -> None:
    """``--json``; ``nested``: on an action of a command, keeping a value given before it."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if nested else False,
        help=say("option.json", lang),
    )


class _Deprecated(argparse.Action):
    """An old spelling: stores like the new one and says so on standard error."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.new = kwargs.pop("new")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
        values: Any, option_string: str | None = None,
    ) -> None:  # fmt: skip
        lang = getattr(namespace, "lang", "en")
        sys.stderr.write(say("error.deprecated", lang, old=option_string, new=self.new) + "\n")
        setattr(namespace, self.dest, values)


def add_deprecated(parser: argparse.ArgumentParser, old: str, new: str, dest: str) -> None:
    """``old`` keeps working for one release as ``new`` (stored in ``dest``), hidden."""
    parser.add_argument(old, dest=dest, action=_Deprecated, new=new, help=argparse.SUPPRESS)

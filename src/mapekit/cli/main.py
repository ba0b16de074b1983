"""Entry point of ``mape``: parse the command line, run one command, map errors to exits.

Command modules are imported only when their command runs (or its ``--help`` is asked
for), so a command pays only for what it uses. :func:`full_parser` configures every
command at once — for the manual pages, the shell completions and the tests — and needs
nothing but the standard library: each command module imports its heavy parts (the
client, the data plane, the rule server) inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol

from mapekit import __version__
from mapekit.cli import lang as language
from mapekit.cli import output
from mapekit.cli.extras import missing_extra
from mapekit.cli.output import UsageError
from mapekit.cli.parsing import finish
from mapekit.core.errors import MapeError
from mapekit.core.messages import LANGS, say


class _Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# name → module under mapekit.cli (the summaries are "command.NAME" in the catalogue)
COMMANDS: dict[str, str] = {
    "calc": "calc",
    "rules": "rules",
    "plan": "plan",
    "export": "export",
    "ports": "ports",
    "tunnel": "tunnel",
    "br": "br",
    "aftr": "aftr",
    "ipip-endpoint": "ipip_endpoint",
    "provision": "provision",
    "doctor": "doctor",
    "setup": "setup",
    "agent": "agent",
    "retry": "retry",
    "status": "status",
    "server": "server",
    "forget": "forget",
    "states": "states",
    "lab": "lab",
    "hgw-emulator": "hgw_emulator",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("mape").strip()
        raise UsageError("usage.invalid_arguments", f"{where}: {message}" if where else message)


def _load(name: str) -> _Command:
    module = importlib.import_module(f"mapekit.cli.{COMMANDS[name]}")
    command: _Command = module  # a module with configure() and run()
    return command


def build_parser(
    selected: str | None, lang: str = "en", *, every: bool = False
) -> argparse.ArgumentParser:
    """The parser of ``mape``: every command named, only ``selected`` configured (all of
    them with ``every``)."""
    parser = _Parser(
        prog="mape",
        description=say("cli.description", lang),
        epilog=say("cli.epilog", lang),
    )
    parser.add_argument(
        "-V", "--version", action="version", version=f"mapekit {__version__}",
        help=say("option.version", lang),
    )  # fmt: skip
    parser.add_argument(
        "--lang", choices=LANGS, default=argparse.SUPPRESS, help=say("option.lang", lang)
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        summary = say(f"command.{name}", lang)
        command_parser = sub.add_parser(name, help=summary, description=summary)
        if every or name == selected:
            _load(name).configure(command_parser)
    finish(parser, lang)
    return parser


def full_parser(lang: str = "en") -> argparse.ArgumentParser:
    """The parser with every command configured (manual pages, completions, tests)."""
    return build_parser(None, lang, every=True)


def _before_separator(argv: Sequence[str]) -> list[str]:
    return list(argv[: argv.index("--")] if "--" in argv else argv)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    options = _before_separator(args_list)
    json_mode = "--json" in options
    lang = language.choose(options, os.environ)
    selected = next((a for a in options if a in COMMANDS), None)
    try:
        args = build_parser(selected, lang).parse_args(args_list)
        try:
            return _load(args.command).run(args)
        except ModuleNotFoundError as exc:
            raise missing_extra(args.command, exc, lang) from None
    except MapeError as exc:
        return output.report_error(exc, json_mode, lang)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line, the traceback only on request
        if os.environ.get("MAPE_DEBUG"):
            raise
        bug = MapeError(
            "internal.error",
            f"unexpected {type(exc).__name__}: {exc} (set MAPE_DEBUG=1 for the traceback)",
        )
        return output.report_error(bug, json_mode, lang)


if __name__ == "__main__":
    raise SystemExit(main())

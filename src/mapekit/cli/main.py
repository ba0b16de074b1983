"""Entry point of ``mape``: parse the command line, run one command, map errors to exits.

Command modules are imported only when their command runs (or its ``--help`` is asked
for), so a command pays only for what it uses.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, Protocol

from mapekit import __version__
from mapekit.cli import output
from mapekit.cli.output import UsageError
from mapekit.core.errors import MapeError


class _Command(Protocol):
    def configure(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


# name → (module under mapekit.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "calc": ("calc", "compute a MAP-E mapping (or the reverse, for a BR)"),
    "rules": ("rules", "list or check rule tables"),
    "plan": ("plan", "the tunnel, addresses, routes and nftables ruleset for a mapping"),
    "export": (
        "export",
        "router configuration for a mapping (OpenWrt, Linux, NEC IX, Yamaha RTX, …)",
    ),
    "ports": ("ports", "the usable ports of a mapping, and checks for port forwards"),
    "tunnel": ("tunnel", "run the CE data plane of a mapping (kernel ip6tnl or userspace TUN)"),
    "br": ("br", "run a userspace MAP-E border relay"),
    "provision": ("provision", "check for an HGW, fetch, validate and report MAP-E rules"),
    "doctor": ("doctor", "diagnose a CE and name the cause of a failure in plain words"),
    "setup": ("setup", "detect this router's line and write the agent's configuration and unit"),
    "agent": ("agent", "run the CE daemon (provisioning + data plane + status socket)"),
    "retry": ("retry", "ask the running agent to fetch rules now"),
    "status": ("status", "show MAP-E status (from the agent, or the saved state)"),
    "server": ("server", "run the rule server, or administer its database"),
    "forget": ("forget", "erase the saved rules of the state directory"),
    "states": ("states", "print the CE state diagram (Mermaid), generated from its table"),
    "lab": ("lab", "replay the story in network namespaces (mape lab demo)"),
    "hgw-emulator": ("hgw_emulator", "emulate an NTT home gateway's MAP-E check (port 8888)"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError("usage.invalid_arguments", f"{self.prog}: {message}")


def _load(name: str) -> _Command:
    module = importlib.import_module(f"mapekit.cli.{COMMANDS[name][0]}")
    command: _Command = module  # a module with configure() and run()
    return command


def build_parser(selected: str | None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mape",
        description="MAP-E (RFC 7597) toolkit for Japanese IPoE operators.",
    )
    parser.add_argument("--version", action="version", version=f"mapekit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, (_, summary) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=summary, description=summary)
        if name == selected:
            _load(name).configure(command_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args_list
    selected = next((a for a in args_list if a in COMMANDS), None)
    try:
        args = build_parser(selected).parse_args(args_list)
        return _load(args.command).run(args)
    except MapeError as exc:
        return output.report_error(exc, json_mode)
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
        return output.report_error(bug, json_mode)


if __name__ == "__main__":
    raise SystemExit(main())

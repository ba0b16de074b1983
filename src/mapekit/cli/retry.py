"""``mape retry``: ask the running agent to start a provisioning cycle now."""

from __future__ import annotations

import argparse

from mapekit.agent.control import ask_agent
from mapekit.cli import output
from mapekit.cli.status import DEFAULT_SOCKET
from mapekit.core.errors import MapeError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--socket", default=DEFAULT_SOCKET, metavar="PATH",
                        help=f"the agent's socket ({DEFAULT_SOCKET})")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    reply = ask_agent(args.socket, "retry")
    if reply is None:
        raise MapeError("status.unavailable", f"no agent answers on {args.socket}", field="socket")
    if args.json:
        output.emit_json(reply)
    else:
        output.emit("a new provisioning cycle was started")
    return output.OK

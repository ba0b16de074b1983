"""``mape status``: ask the running agent over its socket, else read the state directory.

The agent answers on a Unix stream socket (``mapekit.agent.control``): one JSON line
``{"command": "status"}`` out, one JSON object (the status object) back.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mapekit.agent.control import ask_agent
from mapekit.cli import output
from mapekit.cli.forget import DEFAULT_STATE_DIR
from mapekit.cli.statusview import render_event_dicts, render_status
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError

DEFAULT_SOCKET = "/run/mapekit/agent.sock"


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help=f"agent socket ({DEFAULT_SOCKET})")
    where.add_argument("--state-dir", metavar="DIR", help=f"state directory ({DEFAULT_STATE_DIR})")
    parser.add_argument("--lang", choices=("en", "ja"), default="en")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    doc = None
    source = ""
    if args.state_dir is None:
        path = args.socket or DEFAULT_SOCKET
        doc, source = ask_agent(path, "status"), f"agent at {path}"
    if doc is None and args.socket is None:
        directory = args.state_dir or DEFAULT_STATE_DIR
        doc, source = StateStore(Path(directory)).load_status(), f"saved status in {directory}"
    if doc is None:
        raise MapeError(
            "status.unavailable",
            f"no agent answers on {args.socket or DEFAULT_SOCKET} and no saved status in "
            f"{args.state_dir or DEFAULT_STATE_DIR}",
            field="socket" if args.socket else "state-dir",
        )
    if not source.startswith("agent"):
        doc = not_running(doc)
    if args.json:
        output.emit_json({**doc, "source": source})
        return output.OK
    output.emit(render_status(doc, args.lang))
    events = doc.get("events")
    if isinstance(events, list) and events:
        output.emit("Recent events:")
        output.emit(render_event_dicts(e for e in events[-20:] if isinstance(e, dict)))
    output.emit(f"(from the {source})")
    return output.OK


def not_running(doc: dict[str, object]) -> dict[str, object]:
    """A saved status says when the agent ran; nothing in it is pending any more."""
    started, stopped = doc.get("started_at"), doc.get("stopped_at")
    if isinstance(stopped, int | float):
        note = f"the agent is not running; it ran from {_when(started)} to {_when(stopped)}"
    elif isinstance(started, int | float):
        note = f"the agent is not running; it started at {_when(started)} and did not stop cleanly"
    else:
        note = "the agent is not running"
    return {**doc, "running": False, "next_attempt": None, "next_attempt_in": None,
            "agent": note}  # fmt: skip


def _when(stamp: object) -> str:
    if not isinstance(stamp, int | float):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))

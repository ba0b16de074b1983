"""``mape status``: ask the running agent over its socket, else read the state directory.

The agent answers on a Unix stream socket (``mapekit.agent.control``): one JSON line
``{"command": "status"}`` out, one JSON object (the status object) back.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mapekit.agent.control import ask_agent
from mapekit.cli import output
from mapekit.cli.colour import wanted
from mapekit.cli.forget import DEFAULT_STATE_DIR
from mapekit.cli.parsing import json_option
from mapekit.cli.statusview import render_event_dicts, render_status
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError
from mapekit.core.messages import local_time, say

DEFAULT_SOCKET = "/run/mapekit/agent.sock"
RECENT = 10  # events shown


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--socket", metavar="PATH",
        help=f"ask the agent on this socket first ({DEFAULT_SOCKET})",
    )  # fmt: skip
    parser.add_argument(
        "--state-dir", metavar="DIR",
        help=f"when no agent answers, read the status saved here ({DEFAULT_STATE_DIR})",
    )  # fmt: skip
    json_option(parser)


def run(args: argparse.Namespace) -> int:
    path = args.socket or DEFAULT_SOCKET
    directory = args.state_dir or DEFAULT_STATE_DIR
    doc, source = ask_agent(path, "status"), say("status.from_agent", args.lang, path=path)
    if doc is None:
        doc = StateStore(Path(directory)).load_status()
        source = say("status.from_saved", args.lang, path=directory)
        if doc is not None:
            doc = not_running(doc)
    if doc is None:
        raise MapeError(
            "status.unavailable",
            f"no agent answers on {path} and no saved status in {directory}",
            field="socket" if args.socket else "state-dir",
        )
    if args.json:
        output.emit_json({**doc, "source": source})
        return output.OK
    output.emit(render_status(doc, args.lang, colour=wanted()))
    events = doc.get("events")
    if isinstance(events, list) and events:
        output.emit("\n" + say("status.events", args.lang))
        output.emit(
            render_event_dicts((e for e in events[-RECENT:] if isinstance(e, dict)), args.lang)
        )
    output.emit(say("status.from", args.lang, source=source))
    return output.OK


def not_running(doc: dict[str, object]) -> dict[str, object]:
    """A saved status says when the agent ran; nothing in it is pending any more."""
    started, stopped = doc.get("started_at"), doc.get("stopped_at")
    if isinstance(stopped, int | float):
        note = (
            f"the agent is not running; it ran from {local_time(started)} to {local_time(stopped)}"
        )
    elif isinstance(started, int | float):
        note = (
            f"the agent is not running; it started at {local_time(started)} and did not stop "
            "cleanly"
        )
    else:
        note = "the agent is not running"
    return {**doc, "running": False, "next_attempt": None, "next_attempt_in": None,
            "agent": note}  # fmt: skip

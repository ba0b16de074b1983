"""``mape status``: ask the running agent over its socket, else read the state directory.

The agent answers on a Unix stream socket: the client sends one JSON line
``{"command": "status"}`` and reads one JSON object back (the status object).
"""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

from mapekit.cli import output
from mapekit.cli.forget import DEFAULT_STATE_DIR
from mapekit.cli.statusview import render_event_dicts, render_status
from mapekit.client.state import StateStore
from mapekit.core.errors import MapeError

DEFAULT_SOCKET = "/run/mapekit/agent.sock"
MAX_REPLY = 4 * 1024 * 1024


def configure(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help=f"agent socket ({DEFAULT_SOCKET})")
    where.add_argument("--state-dir", metavar="DIR", help=f"state directory ({DEFAULT_STATE_DIR})")
    parser.add_argument("--lang", choices=("en", "ja"), default="en")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def ask_agent(path: str, command: str, timeout: float = 3.0) -> dict[str, object] | None:
    """The agent's answer, or None when no agent listens at ``path``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
            conn.sendall(json.dumps({"command": command}).encode() + b"\n")
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
                if len(data) > MAX_REPLY:
                    return None
    except OSError:
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


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

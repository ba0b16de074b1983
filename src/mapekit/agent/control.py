"""The agent's control socket: one JSON line in (``{"command": "status"}`` or
``"retry"``), one JSON object back. ``ask_agent`` is the asking side, ``serve_control``
the agent's."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_REPLY = 4 * 1024 * 1024
MAX_REQUEST = 4096


def ask_agent(path: str, command: str, timeout: float = 3.0) -> dict[str, object] | None:
    """The agent's answer to ``command``, or None when no agent listens at ``path``."""
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


def serve_control(
    path: Path, stop: threading.Event, status: Callable[[], dict[str, Any]],
    retry: Callable[[], None],
) -> None:  # fmt: skip
    """Answer ``status`` and ``retry`` on the Unix socket ``path`` until ``stop`` is set.
    One request at a time: a request is one small JSON line, read within 2 s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        os.chmod(path, 0o660)
        server.listen(8)
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                _answer(conn, status, retry)
    path.unlink(missing_ok=True)


def _answer(
    conn: socket.socket, status: Callable[[], dict[str, Any]], retry: Callable[[], None]
) -> None:
    conn.settimeout(2)
    try:
        request = json.loads(conn.recv(MAX_REQUEST).split(b"\n", 1)[0] or b"{}")
        command = request.get("command") if isinstance(request, dict) else None
    except (OSError, ValueError):
        return
    if command == "status":
        reply: dict[str, Any] = status()
    elif command == "retry":
        retry()
        reply = {"ok": True, "command": "retry"}
    else:
        error = {
            "reason_code": "usage.invalid_arguments",
            "field": "command",
            "message": f"unknown command {str(command)[:40]!r}",
        }
        reply = {"error": error}
    with contextlib.suppress(OSError):
        conn.sendall(json.dumps(reply).encode())

"""The agent's control socket, asking side: one JSON line out, one JSON object back."""

from __future__ import annotations

import json
import socket

MAX_REPLY = 4 * 1024 * 1024


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

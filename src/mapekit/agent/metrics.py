"""The agent's Prometheus endpoint (``/metrics``) on the standard library's HTTP server."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from typing import Any


def serve_metrics(
    host: str, port: int, stop: threading.Event, status: Callable[[], dict[str, Any]]
) -> None:
    """Serve until ``stop`` is set; raises OSError when it cannot listen."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/metrics"
            body = render_metrics(status()).encode() if found else b""
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.timeout = 0.5
    with server:
        while not stop.is_set():
            server.handle_request()


def render_metrics(status: dict[str, Any]) -> str:
    """The agent's status as Prometheus text."""
    lines = [
        "# TYPE mapekit_agent_established gauge",
        f"mapekit_agent_established {1 if status.get('state') == 'established' else 0}",
    ]
    for key in ("requests", "successes", "failures", "repairs"):
        lines += [
            f"# TYPE mapekit_agent_{key}_total counter",
            f"mapekit_agent_{key}_total {int(status.get(key) or 0)}",
        ]
    counters = status.get("counters") or {}
    lines.append("# TYPE mapekit_dataplane_packets_total counter")
    for name, value in sorted(counters.items()):
        if not name.endswith("_bytes"):
            lines.append(f'mapekit_dataplane_packets_total{{counter="{name}"}} {int(value)}')
    return "\n".join(lines) + "\n"

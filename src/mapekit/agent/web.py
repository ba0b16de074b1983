"""The agent's web endpoint (the standard library's HTTP server): the status page, its JSON
and Prometheus metrics. Read-only. On loopback by default; any other address needs the
token (``web.token``), given as ``?token=`` or ``Authorization: Bearer``. Requests are
small and answered in one go; nothing is kept per client.
"""

from __future__ import annotations

import hmac
import http.server
import ipaddress
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mapekit.agent.metrics import render_metrics
from mapekit.agent.page import SCRIPT, main_part, page

SECURITY = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src "
    "'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors "
    "'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _lang(query: dict[str, list[str]], accept: str) -> str:
    wanted = (query.get("lang") or [""])[0]
    if wanted in ("en", "ja"):
        return wanted
    return "ja" if accept.lower().startswith("ja") else "en"


def make_handler(
    status: Callable[[], dict[str, Any]], token: str | None
) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "mapekit"
        sys_version = ""

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path == "/page.js":  # no data in it: no token needed
                self._send(200, "text/javascript; charset=utf-8", SCRIPT.encode())
                return
            if not self._allowed(query):
                self._send(401, "text/plain; charset=utf-8", b"a token is needed\n")
                return
            self._route(parts.path, query)

        def _route(self, path: str, query: dict[str, list[str]]) -> None:
            lang = _lang(query, self.headers.get("Accept-Language", ""))
            if path == "/":
                doc = status()
                part = (query.get("part") or [""])[0] == "main"
                body = main_part(doc, lang) if part else page(doc, lang)
                self._send(200, "text/html; charset=utf-8", body.encode())
            elif path == "/status.json":
                self._send(200, "application/json", json.dumps(status()).encode())
            elif path == "/metrics":
                text = render_metrics(status())
                self._send(200, "text/plain; version=0.0.4; charset=utf-8", text.encode())
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found\n")

        def _allowed(self, query: dict[str, list[str]]) -> bool:
            if token is None:
                return True
            given = (query.get("token") or [""])[0]
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                given = auth.removeprefix("Bearer ")
            return hmac.compare_digest(given.encode(), token.encode())

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for name, value in SECURITY.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            return

    return Handler


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 16


def serve_web(
    host: str, port: int, stop: threading.Event, status: Callable[[], dict[str, Any]],
    token: str | None,
) -> None:  # fmt: skip
    """Serve until ``stop`` is set; raises OSError when it cannot listen."""
    family_v6 = ":" in host
    server_class = type("Server", (QuietServer,), {"address_family": 10 if family_v6 else 2})
    server = server_class((host, port), make_handler(status, token))
    server.timeout = 0.5
    with server:
        while not stop.is_set():
            server.handle_request()


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

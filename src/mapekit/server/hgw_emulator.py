"""An emulated NTT home gateway's LAN-side MAP-E check (docs/design.md §3.1, §5).

Routes (what a CE asks on ``ntt.setup:8888``, plus a switch for the lab or the user):

- ``GET /enabler.ipv4/check`` and ``GET /biglobe.ipv4/check``, ``?callback=NAME``
  (default ``hgw``): ``NAME({"name":…,"version":…,"status":"ON"|"OFF"})``; a callback
  that is not a plain identifier gets 400 with an empty body.
- ``GET`` / ``HEAD /t/``: 200 with an empty body (some CEs probe it to recognise an HGW).
- ``PUT /status`` with the body ``ON`` or ``OFF`` (any case): switch MAP-E, 204; anything
  else 400. ``GET /status``: the current status as text.

The answers decode with :func:`mapekit.provision.hgw.decode_check`.
"""

from __future__ import annotations

import copy
import json
import socket
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from mapekit.provision.hgw import BIGLOBE_PATH, CALLBACK, DEFAULT_URL
from mapekit.provision.jsonp import valid_callback

ENABLER_PATH = urlsplit(DEFAULT_URL).path
DEFAULT_PORT = urlsplit(DEFAULT_URL).port or 8888
NAME = "jp.ne.enabler.ipv4.setting"
VERSION = "1.2.0"
STATUSES = ("ON", "OFF")
MAX_STATUS_BODY = 16  # bytes; "OFF" plus some whitespace
JAVASCRIPT = "application/javascript"


def parse_status(text: str) -> str | None:
    """``ON`` or ``OFF`` from ``text`` (any case, surrounding whitespace ignored)."""
    value = text.strip().upper()
    return value if value in STATUSES else None


class HgwEmulatorState:
    """What the emulated HGW answers, switchable from any thread, and request counts."""

    def __init__(self, status: str = "OFF", name: str = NAME, version: str = VERSION) -> None:
        self._lock = threading.Lock()
        self._status = self._checked(status)
        self.name = name
        self.version = version
        self._counts: dict[str, int] = {}

    @staticmethod
    def _checked(status: str) -> str:
        value = parse_status(status)
        if value is None:
            raise ValueError(f"HGW status must be ON or OFF, not {status!r}")
        return value

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    @status.setter
    def status(self, value: str) -> None:
        checked = self._checked(value)
        with self._lock:
            self._status = checked

    def count(self, kind: str) -> None:
        """Record one request of ``kind`` (check, probe, status)."""
        with self._lock:
            self._counts[kind] = self._counts.get(kind, 0) + 1

    def counts(self) -> dict[str, int]:
        """A copy of the request counters."""
        with self._lock:
            return dict(self._counts)

    def document(self) -> dict[str, str]:
        """The JSON object of the check answer."""
        return {"name": self.name, "version": self.version, "status": self.status}


def check_body(state: HgwEmulatorState, callback: str) -> bytes:
    """``callback({...})``; ``callback`` must already be a valid identifier."""
    return f"{callback}({json.dumps(state.document(), separators=(',', ':'))})".encode()


async def _small_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than ``limit`` bytes."""
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            return None
    return data


def make_hgw_app(state: HgwEmulatorState) -> Starlette:
    """The emulator's ASGI app over ``state``."""

    async def check(request: Request) -> Response:
        state.count("check")
        callback = request.query_params.get("callback", CALLBACK)
        if not valid_callback(callback):
            return Response(b"", 400)
        return Response(check_body(state, callback), 200, media_type=JAVASCRIPT)

    async def probe(request: Request) -> Response:
        state.count("probe")
        return Response(b"", 200)

    async def status(request: Request) -> Response:
        state.count("status")
        if request.method == "PUT":
            return await _switch(request)
        return PlainTextResponse(state.status + "\n")

    async def _switch(request: Request) -> Response:
        body = await _small_body(request, MAX_STATUS_BODY)
        try:
            value = parse_status(body.decode("ascii")) if body is not None else None
        except UnicodeDecodeError:
            value = None
        if value is None:
            return Response(b"", 400)
        state.status = value
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route(ENABLER_PATH, check, methods=["GET"]),
            Route(BIGLOBE_PATH, check, methods=["GET"]),
            Route("/t/", probe, methods=["GET", "HEAD"]),
            Route("/status", status, methods=["GET", "PUT"]),
        ]
    )


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with the access log on stderr too (stdout is the command's)."""
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def serve(state: HgwEmulatorState, sock: socket.socket) -> None:
    """Answer on the bound socket ``sock`` until SIGINT or SIGTERM."""
    config = uvicorn.Config(
        make_hgw_app(state),
        log_config=_log_config(),
        lifespan="off",
        timeout_graceful_shutdown=2,
        use_colors=sys.stderr.isatty(),
    )
    uvicorn.Server(config).run(sockets=[sock])

"""Connection limits for the HTTP server, at the protocol level (before the app).

uvicorn's h11 protocol, with what a server facing the Internet needs and uvicorn lacks:

- **header size**: h11 refuses a request whose head exceeds ``max_header_bytes`` (uvicorn
  answers 400 and closes) — h11 buffers at most that much per connection;
- **header-read timeout**: the request line and headers must arrive within
  ``header_seconds`` of the connection (or of the previous response); a slow or partial
  request is closed, so idle half-requests cannot pile up;
- **body timeout**: the body must arrive within ``body_seconds`` of the headers;
- **connections per peer**: at most ``per_peer`` open connections from one IPv4 address or
  one IPv6 /64; more are closed at once. Trusted proxies are exempt (a load balancer
  carries many clients).

The limits come from the environment that ``mape server serve`` sets for its workers
(:func:`limits_from_env`), or from :func:`configure` in-process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from mapekit.server.identity import Network, limit_key, parse_address


@dataclass(frozen=True)
class Limits:
    max_header_bytes: int = 16 * 1024
    header_seconds: float = 10.0
    body_seconds: float = 60.0
    per_peer: int = 32
    exempt: tuple[Network, ...] = field(default=())


def limits_from_env() -> Limits:
    env = os.environ
    exempt = tuple(
        ipaddress.ip_network(text.strip(), strict=False)
        for text in env.get("MAPEKIT_SERVER_TRUSTED", "").split(",")
        if text.strip()
    )
    return Limits(
        max_header_bytes=int(env.get("MAPEKIT_SERVER_MAX_HEADER", "16384")),
        header_seconds=float(env.get("MAPEKIT_SERVER_HEADER_TIMEOUT", "10")),
        body_seconds=float(env.get("MAPEKIT_SERVER_BODY_TIMEOUT", "60")),
        per_peer=int(env.get("MAPEKIT_SERVER_PER_PEER", "32")),
        exempt=exempt,
    )


_state: dict[str, Any] = {"limits": None, "open": Counter()}


def configure(limits: Limits) -> None:
    """Set the limits of this process (tests and in-process servers)."""
    _state["limits"] = limits
    _state["open"] = Counter()


def current() -> Limits:
    if _state["limits"] is None:
        _state["limits"] = limits_from_env()
    limits: Limits = _state["limits"]
    return limits


class GuardedH11Protocol(H11Protocol):
    """H11Protocol with a header-read timeout, a body timeout and a per-peer cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = current()
        self.conn = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._limits.max_header_bytes
        )
        self._peer: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._phase = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else ""
        address = parse_address(host)
        if address is not None and any(
            address.version == net.version and address in net for net in self._limits.exempt
        ):
            self._arm("headers")
            return
        key = limit_key(address, None)
        opened: Counter[str] = _state["open"]
        if opened[key] >= self._limits.per_peer:
            transport.abort()
            return
        opened[key] += 1
        self._peer = key
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._peer is not None:
            opened: Counter[str] = _state["open"]
            opened[self._peer] -= 1
            if opened[self._peer] <= 0:
                del opened[self._peer]
            self._peer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def _follow(self) -> None:
        """Arm the timer that fits the request's phase."""
        state = self.conn.their_state
        if state is h11.IDLE and self.conn.our_state is h11.IDLE:
            self._arm("headers")
        elif state is h11.SEND_BODY:
            self._arm("body")
        else:
            self._disarm()

    def _arm(self, phase: str) -> None:
        if self._phase == phase and self._timer is not None:
            return
        self._disarm()
        seconds = self._limits.header_seconds if phase == "headers" else self._limits.body_seconds
        self._phase = phase
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._phase = None, ""

    def _expired(self) -> None:
        self._timer = None
        if not self.transport.is_closing():
            self.transport.close()  # a partial request: no answer is owed

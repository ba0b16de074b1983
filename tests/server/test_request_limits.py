"""Slow or huge requests against the real server (uvicorn + the guarded h11 protocol):
header size, header-read timeout, body timeout, body size, connections per peer."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mapekit.server import guard
from mapekit.server.app import ServerConfig
from mapekit.server.store import Store
from tests.server.serving import serve_rule_server

LIMITS = guard.Limits(max_header_bytes=8192, header_seconds=1.0, body_seconds=1.0, per_peer=4)


@pytest.fixture
def port(store: Store) -> Iterator[int]:
    if not store.url.startswith("sqlite"):
        pytest.skip("protocol limits do not depend on the database")
    with serve_rule_server(store, ServerConfig(rate=0, access_log=False), LIMITS) as number:
        yield number


def connect(port: int, host: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    return sock


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (None: still open after ``seconds``)."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except OSError:
        pass
    return time.monotonic() - start


def healthy(port: int, source: str = "127.0.0.1") -> float:
    """Seconds for a health probe sent from ``source``."""
    start = time.monotonic()
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=5) as client:
        assert client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    return time.monotonic() - start


def test_a_huge_header_is_refused_at_once(port: int) -> None:
    sock = connect(port)
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20)
    with contextlib.suppress(OSError):  # the server may close while we still send
        sock.sendall(head)
    reply = b""
    sock.settimeout(5)
    with contextlib.suppress(OSError):
        reply = sock.recv(1024)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
    assert closed_within(sock, 3) is not None
    assert healthy(port) < 1


def test_a_partial_request_times_out(port: int) -> None:
    sock = connect(port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    waited = closed_within(sock, 5)
    assert waited is not None and waited < 3, waited


def test_a_trickled_request_times_out_even_while_bytes_arrive(port: int) -> None:
    sock = connect(port)
    start = time.monotonic()
    try:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            sock.sendall(bytes([byte]))
            time.sleep(0.1)
    except OSError:
        pass
    assert time.monotonic() - start < 4


def test_a_slow_body_times_out(port: int) -> None:
    sock = connect(port)
    sock.sendall(b"POST /admin/subscribers HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    waited = closed_within(sock, 5)
    assert waited is not None and waited < 3


def test_keep_alive_requests_are_timed_each(port: int) -> None:
    sock = connect(port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the second one stalls
    waited = closed_within(sock, 5)
    assert waited is not None and waited < 3


def test_connections_per_peer_are_capped_and_others_still_served(port: int) -> None:
    held = [connect(port) for _ in range(LIMITS.per_peer)]
    extra = [connect(port) for _ in range(6)]
    try:
        assert all(closed_within(s, 2) is not None for s in extra), "over the cap stayed open"
        assert healthy(port, "127.0.0.2") < 1  # another peer is served at once
    finally:
        for sock in held + extra:
            sock.close()
    time.sleep(0.2)
    assert healthy(port) < 1  # the peer's slots are free again


def test_a_large_body_is_refused_before_reading(port: int, store: Store) -> None:
    token = store.add_token("ops", "t")
    reply = httpx.post(
        f"http://127.0.0.1:{port}/admin/subscribers",
        content=b"{" + b" " * (100 << 10) + b"}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 413 and reply.json()["error"]["reason_code"] == "server.too_large"

"""Hostile peers for the client tests: a server that trickles one byte a second, and
replies built to hurt (compression bombs, duplicate keys, redirects)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def trickle_server(reply: bytes, interval: float = 1.0) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers every connection with ``reply``, one byte
    every ``interval`` seconds; yields its port. Stops when the block ends."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def feed(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.1)
            with suppress(OSError):
                conn.recv(65536)
            for byte in reply:
                if stop.wait(interval):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=feed, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzip-compressed (about 1/1000 of ``size``), built in chunks."""
    engine = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    parts = [engine.compress(chunk) for _ in range(size >> 20)]
    parts.append(engine.flush())
    return b"".join(parts)


def nested_gzip_bomb(size: int) -> bytes:
    """A gzip of a gzip bomb: ``Content-Encoding: gzip, gzip``."""
    return gzip.compress(gzip_bomb(size), 9)


def timed(call: object) -> tuple[object, float]:
    start = time.monotonic()
    result = call()  # type: ignore[operator]
    return result, time.monotonic() - start

"""The rule server as `mape server serve` runs it (uvicorn with the guarded h11 protocol,
proxy headers off), in a thread on a loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from mapekit.server import guard
from mapekit.server.app import ServerConfig, build_app
from mapekit.server.asgi import uvicorn_config
from mapekit.server.store import Store


@contextmanager
def serve_rule_server(
    store: Store,
    config: ServerConfig,
    limits: guard.Limits | None = None,
    host: str = "127.0.0.1",
) -> Iterator[int]:
    """Serve ``store`` on a free port of ``host``; yields the port."""
    limits = limits or guard.Limits(exempt=tuple(config.trusted_proxies))
    guard.configure(limits)
    app = build_app(store, config)
    settings = uvicorn_config(app, host, 0, limits, lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("rule server did not start")
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=5)

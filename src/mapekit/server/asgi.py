"""``mapekit.server.asgi:make_app``: the uvicorn factory for workers, set up from the
environment, and the one uvicorn configuration every way of serving uses.

``mape server serve`` sets these variables for its workers:
MAPEKIT_SERVER_DB (database URL), MAPEKIT_SERVER_CLIENT_HEADER, MAPEKIT_SERVER_TRUSTED
(comma-separated CIDRs), MAPEKIT_SERVER_RATE, MAPEKIT_SERVER_BURST,
MAPEKIT_SERVER_ACCESS_LOG (0 or 1), the names of HB46PP answers
(MAPEKIT_SERVER_ENABLER_NAME, MAPEKIT_SERVER_SERVICE_NAME, MAPEKIT_SERVER_ISP_NAME; empty:
the default), MAPEKIT_SERVER_UPDATE_MOVES_PREFIX (0 or 1), and the connection limits of
:mod:`mapekit.server.guard` (MAPEKIT_SERVER_MAX_HEADER, MAPEKIT_SERVER_HEADER_TIMEOUT,
MAPEKIT_SERVER_BODY_TIMEOUT, MAPEKIT_SERVER_PER_PEER).

uvicorn runs with its proxy-header handling **off** (``proxy_headers=False``): it would
otherwise rewrite the client address from ``X-Forwarded-For`` for any loopback peer,
whatever the server's own rule says (:mod:`mapekit.server.identity`). The HTTP protocol is
h11 with the limits of :class:`~mapekit.server.guard.GuardedH11Protocol`.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from mapekit.server.app import ServerConfig, build_app
from mapekit.server.guard import GuardedH11Protocol, Limits, current
from mapekit.server.service import Hb46ppNames
from mapekit.server.store import Store

MAX_CONNECTIONS = 4096  # per worker; past it new requests get 503
# CPython hands the GIL over every 5 ms by default; a handler thread back from a database
# call then waits up to that long for it while other threads compute, once per call (the
# "convoy effect"). 0.5 ms measured 2-3x more admin writes under the mixed load of
# bench/bench_mixed.py at the same get_rules latency.
SWITCH_INTERVAL = 0.0005


def config_from_env() -> tuple[str, ServerConfig]:
    env = os.environ
    trusted = [
        ipaddress.ip_network(text.strip(), strict=False)
        for text in env.get("MAPEKIT_SERVER_TRUSTED", "").split(",")
        if text.strip()
    ]
    config = ServerConfig(
        client_header=env.get("MAPEKIT_SERVER_CLIENT_HEADER") or None,
        trusted_proxies=trusted,
        rate=float(env.get("MAPEKIT_SERVER_RATE", "5")),
        burst=float(env.get("MAPEKIT_SERVER_BURST", "20")),
        access_log=env.get("MAPEKIT_SERVER_ACCESS_LOG", "1") == "1",
        update_moves_prefix=env.get("MAPEKIT_SERVER_UPDATE_MOVES_PREFIX", "0") == "1",
        names=Hb46ppNames(
            env.get("MAPEKIT_SERVER_ENABLER_NAME") or "mapekit",
            env.get("MAPEKIT_SERVER_SERVICE_NAME") or None,
            env.get("MAPEKIT_SERVER_ISP_NAME") or None,
        ),
    )
    return env.get("MAPEKIT_SERVER_DB", "sqlite:///server.db"), config


def make_app() -> Starlette:
    """The worker's app (the uvicorn factory: it runs in the worker process)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    url, config = config_from_env()
    store = Store(url)
    store.check_ready()
    return build_app(store, config)


def uvicorn_config(app: Any, host: str, port: int, limits: Limits | None = None,
                   **options: Any) -> uvicorn.Config:  # fmt: skip
    """The uvicorn settings of the rule server (``app``: an app, or the factory path)."""
    limits = limits or current()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=GuardedH11Protocol,
        proxy_headers=False,
        server_header=False,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
        log_level="warning",
        access_log=False,
        **options,
    )


def run_workers(
    host: str, port: int, workers: int, tls_cert: str | None, tls_key: str | None
) -> None:
    """Serve with uvicorn until interrupted (the environment above configures workers)."""
    config = uvicorn_config(
        "mapekit.server.asgi:make_app",
        host,
        port,
        factory=True,
        workers=workers,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )
    if workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)

"""``mapekit.server.asgi:make_app``: the uvicorn factory for workers, set up from the
environment.

``mape server serve`` sets these variables for its workers:
MAPEKIT_SERVER_DB (database URL), MAPEKIT_SERVER_CLIENT_HEADER, MAPEKIT_SERVER_TRUSTED
(comma-separated CIDRs), MAPEKIT_SERVER_RATE, MAPEKIT_SERVER_BURST,
MAPEKIT_SERVER_ACCESS_LOG (0 or 1).
"""

from __future__ import annotations

import ipaddress
import os

import uvicorn
from starlette.applications import Starlette

from mapekit.server.app import ServerConfig, build_app
from mapekit.server.store import Store


def config_from_env() -> tuple[str, ServerConfig]:
    env = os.environ
    trusted = [
        ipaddress.ip_network(text.strip(), strict=False)
        for text in env.get("MAPEKIT_SERVER_TRUSTED", "127.0.0.0/8,::1/128").split(",")
        if text.strip()
    ]
    config = ServerConfig(
        client_header=env.get("MAPEKIT_SERVER_CLIENT_HEADER") or None,
        trusted_proxies=trusted,
        rate=float(env.get("MAPEKIT_SERVER_RATE", "5")),
        burst=float(env.get("MAPEKIT_SERVER_BURST", "20")),
        access_log=env.get("MAPEKIT_SERVER_ACCESS_LOG", "1") == "1",
    )
    return env.get("MAPEKIT_SERVER_DB", "sqlite:///server.db"), config


def make_app() -> Starlette:
    url, config = config_from_env()
    store = Store(url)
    store.check_ready()
    return build_app(store, config)


def run_workers(
    host: str, port: int, workers: int, tls_cert: str | None, tls_key: str | None
) -> None:
    """Serve with uvicorn until interrupted (the environment above configures workers)."""
    uvicorn.run(
        "mapekit.server.asgi:make_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
    )

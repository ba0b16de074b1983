"""The baseline for bench_server.py: a trivial ASGI app answering the same JSONP bytes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mapekit.core.tables import builtin_rules
from mapekit.provision import jpne
from mapekit.provision.jsonp import encode_jsonp

BODY = encode_jsonp(
    "v6plus",
    jpne.rules_object(builtin_rules().filter("v6plus"), "2404:9200:225:100::64", "0" * 32, 56),
)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def make_app() -> Callable[[dict[str, Any], Receive, Send], Awaitable[None]]:
    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"application/javascript")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": BODY})

    return app

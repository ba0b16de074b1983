"""Schemathesis, driven by the server's own OpenAPI document, against the ASGI app: every
admin and public operation, valid and invalid inputs, with rate limits off, a real admin
token (read and write) and a small seeded database.

Gates: no 500 and no undocumented 5xx (the protocol's 503 for an unknown code is
documented); every response matches its documented status, content type and schema;
and most calls reach a handler — the run prints how many did, by status, and fails when
fewer than half did (a run answered mostly 401/429 proves nothing).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.transport import Response
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mapekit.server.app import ServerConfig, build_app
from mapekit.server.store import Store
from tests.server.conftest import ROUTER_CODE

EXAMPLES = 40  # per operation and generation mode


def no_undocumented_server_error(ctx: object, response: Response, case: schemathesis.Case) -> None:
    """No 500 ever, and no other 5xx unless the operation documents it (get_rules' 503)."""
    code = response.status_code
    documented = case.operation.definition.raw.get("responses", {})
    if code == 500 or (code >= 500 and str(code) not in documented):
        raise AssertionError(f"{case.operation.label}: undocumented server error {code}")


CHECKS = [no_undocumented_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip
SUBSCRIBER_ADDRESS = "240b:10:1:100::1"


def reached(path: str, status: int) -> bool:
    """Did the call get past routing, authentication and rate limits into a handler?"""
    refused = {401, 403, 405, 429} if path.startswith("/admin") else {405, 429}
    return status not in refused


@pytest.fixture
def seeded(store: Store) -> Iterator[tuple[object, str]]:
    if not store.url.startswith("sqlite"):
        pytest.skip("one database is enough for the schema-driven run")
    store.add_subscribers(
        [{"prefix": f"240b:10:{i:x}:100::/56", "target": "router" if i % 2 else "hgw",
          "rules": "v6plus", "id": f"sub{i}"} for i in range(5)]
        + [{"prefix": "2001:db8:8:100::/56", "order": ["dslite", "ipip"],
            "aftr": "aftr.example.net", "ipip_remote": "2001:db8:7::1",
            "ipip_ipv4": "203.0.113.9", "ipip_interface_id": "::7", "update_user": "alice",
            "update_password": "update-password", "id": "softwire"}],
        "t",
    )  # fmt: skip
    token = store.add_token("fuzz", "t")
    app = build_app(store, ServerConfig(rate=0, access_log=False, auth_limit=False))
    yield AsSubscriber(app), token


class AsSubscriber:
    """The app, with every request coming from an address of the first subscriber (the
    in-process client has no IP address), so public operations reach their full paths."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "client": (SUBSCRIBER_ADDRESS, 40000)}
        await self.app(scope, receive, send)


def test_every_operation_against_its_schema(seeded: tuple[object, str]) -> None:
    app, token = seeded
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter[int] = Counter()
    inside = total = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            counts = _run(operation, mode, token)
            statuses.update(counts)
            total += sum(counts.values())
            inside += sum(n for code, n in counts.items() if reached(operation.path, code))
    share = f"{100 * inside / total:.0f}%"
    print(f"\nschemathesis: {total} calls, {inside} reached a handler ({share}); "
          f"by status: {dict(sorted(statuses.items()))}")  # fmt: skip
    assert total > 500 and inside / total >= 0.5
    assert not any(500 <= code < 600 and code != 503 for code in statuses)


def _run(operation: object, mode: GenerationMode, token: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    strategy = operation.as_strategy(generation_mode=mode)  # type: ignore[attr-defined]

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def one(case: schemathesis.Case) -> None:
        if case.path_parameters and case.path_parameters.get("code") == "":
            case.path_parameters["code"] = ROUTER_CODE
        headers = {"Authorization": f"Bearer {token}"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            response = case.call(headers=headers)
        counts[response.status_code] += 1
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, checks=CHECKS, headers=headers)
        else:
            case.validate_response(response, checks=[no_undocumented_server_error],
                                   headers=headers)  # fmt: skip

    try:
        one()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # nothing to make invalid (an operation without parameters or body)
    return counts

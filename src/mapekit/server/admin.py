"""The admin API under ``/admin``: bearer tokens (stored hashed), JSON in and out.

Errors are ``{"error": {"reason_code", "message", "field"}}`` with the HTTP status of the
reason's category (one table, :data:`HTTP_STATUS`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mapekit.core.errors import MapeError
from mapekit.core.reasons import Category
from mapekit.core.tables import rule_to_entry
from mapekit.server.openapi import OPENAPI
from mapekit.server.service import ServerError, Subscriber, Target, Vendor
from mapekit.server.store import Store

MAX_BODY = 1 << 20  # JSON bodies
MAX_CSV = 64 << 20  # bulk imports
Handler = Callable[[Request], Awaitable[Response]]

HTTP_STATUS = {
    Category.USAGE: 400,
    Category.INPUT: 400,
    Category.RULE: 400,
    Category.NOT_FOUND: 404,
    Category.DATA: 503,
}


def error_response(exc: MapeError) -> JSONResponse:
    status = HTTP_STATUS.get(exc.reason.category, 400)
    if exc.reason_code == "server.exists":
        status = 409
    elif exc.reason_code == "server.unauthorized":
        status = 401
    return JSONResponse({"error": exc.to_dict()}, status)


def subscriber_json(sub: Subscriber) -> dict[str, object]:
    return {
        "id": sub.id,
        "prefix": sub.prefix_text,
        "hgw_rental": sub.hgw_rental,
        "target": sub.target.value,
        "rule_set_id": sub.rule_set_id,
    }


async def _body(request: Request, limit: int) -> bytes:
    size = request.headers.get("content-length")
    if size is not None and (not size.isdigit() or int(size) > limit):
        raise ServerError("usage.invalid_arguments", f"body: larger than {limit} bytes")
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise ServerError("usage.invalid_arguments", f"body: larger than {limit} bytes")
    return data


async def _json(request: Request) -> dict[str, Any]:
    try:
        doc = json.loads(await _body(request, MAX_BODY))
    except ValueError:
        raise ServerError("usage.invalid_arguments", "body: not JSON", field="body") from None
    if not isinstance(doc, dict):
        raise ServerError("usage.invalid_arguments", "body: expected an object", field="body")
    return doc


def _field(doc: dict[str, Any], key: str, kind: type) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ServerError("usage.invalid_arguments", f"{key}: expected {kind.__name__}", field=key)
    return value


def _target(text: object, field: str = "target") -> Target:
    try:
        return Target(text)
    except ValueError:
        raise ServerError(
            "usage.invalid_arguments", f"{field}: {text!r} is not hgw or router", field=field
        ) from None


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "100")
    return min(int(text), 10_000) if text.isdigit() else 100


def admin_routes(store: Store) -> list[BaseRoute]:
    def guarded(handler: Callable[[Request, str], Awaitable[Response]]) -> Handler:
        async def run(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            actor = store.token_name(token.strip()) if scheme.lower() == "bearer" else None
            if actor is None:
                return error_response(
                    ServerError("server.unauthorized", "admin: missing or invalid bearer token")
                )
            try:
                return await handler(request, actor)
            except MapeError as exc:
                return error_response(exc)

        return run

    async def subscribers(request: Request, actor: str) -> Response:
        if request.method == "POST":
            doc = await _json(request)
            _target(doc.get("target", "router"))
            store.add_subscribers([doc], actor)
            prefix = _field(doc, "prefix", str)
            return JSONResponse(subscriber_json(store.subscriber(prefix=prefix)), 201)
        offset = request.query_params.get("offset", "0")
        subs = store.subscribers(_limit(request), int(offset) if offset.isdigit() else 0)
        return JSONResponse(
            {"subscribers": [subscriber_json(s) for s in subs], "total": store.count_subscribers()}
        )

    async def subscriber(request: Request, actor: str) -> Response:
        return JSONResponse(subscriber_json(store.subscriber(sub_id=request.path_params["id"])))

    async def set_target(request: Request, actor: str) -> Response:
        target = _target((await _json(request)).get("target"))
        sub = store.set_target(target, actor, sub_id=request.path_params["id"])
        return JSONResponse(subscriber_json(sub))

    async def set_hgw(request: Request, actor: str) -> Response:
        rental = _field(await _json(request), "rental", bool)
        sub = store.set_hgw_rental(rental, actor, sub_id=request.path_params["id"])
        return JSONResponse(subscriber_json(sub))

    async def import_csv(request: Request, actor: str) -> Response:
        text = (await _body(request, MAX_CSV)).decode("utf-8", "replace")
        rows = list(csv.DictReader(io.StringIO(text)))
        for row in rows:
            if "hgw_rental" in row:
                row["hgw_rental"] = row["hgw_rental"].strip().lower() in ("1", "true", "yes")
        added = store.add_subscribers(rows, actor)
        return JSONResponse({"added": added}, 201)

    async def vendors(request: Request, actor: str) -> Response:
        if request.method == "POST":
            doc = await _json(request)
            code = _field(doc, "code", str).lower()
            if len(code) != 32 or any(c not in "0123456789abcdef" for c in code):
                raise ServerError(
                    "usage.invalid_arguments", "code: not 32 hex digits", field="code"
                )
            kind = _target(doc.get("kind", "router"), "kind")
            store.add_vendor(Vendor(code, _field(doc, "name", str), kind), actor)
            return JSONResponse({"code": code, "kind": kind.value}, 201)
        return JSONResponse(
            {"vendors": [{"code": v.code, "name": v.name, "kind": v.kind.value,
                          "enabled": v.enabled} for v in store.vendors()]}
        )  # fmt: skip

    async def vendor_enabled(request: Request, actor: str) -> Response:
        enabled = _field(await _json(request), "enabled", bool)
        store.set_vendor_enabled(request.path_params["code"].lower(), enabled, actor)
        return JSONResponse({"code": request.path_params["code"].lower(), "enabled": enabled})

    async def rule_sets(request: Request, actor: str) -> Response:
        return JSONResponse({"rule_sets": store.rule_set_names()})

    async def rule_set(request: Request, actor: str) -> Response:
        domain = store.domain(request.path_params["name"])
        return JSONResponse(
            {"name": domain.name, "dmr": domain.dmr, "ipv6_fixlen": domain.fixlen,
             "iid": domain.iid.value, "rules": [rule_to_entry(r) for r in domain.rules]}
        )  # fmt: skip

    async def reports(request: Request, actor: str) -> Response:
        return JSONResponse({"reports": store.reports(_limit(request))})

    async def audit(request: Request, actor: str) -> Response:
        return JSONResponse({"audit": [e.__dict__ for e in store.audit(_limit(request))]})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    return [
        Route("/openapi.json", openapi),
        Route("/admin/subscribers", guarded(subscribers), methods=["GET", "POST"]),
        Route("/admin/subscribers/import", guarded(import_csv), methods=["POST"]),
        Route("/admin/subscribers/{id}", guarded(subscriber)),
        Route("/admin/subscribers/{id}/target", guarded(set_target), methods=["PUT"]),
        Route("/admin/subscribers/{id}/hgw", guarded(set_hgw), methods=["PUT"]),
        Route("/admin/vendors", guarded(vendors), methods=["GET", "POST"]),
        Route("/admin/vendors/{code}/enabled", guarded(vendor_enabled), methods=["PUT"]),
        Route("/admin/rule-sets", guarded(rule_sets)),
        Route("/admin/rule-sets/{name}", guarded(rule_set)),
        Route("/admin/reports", guarded(reports)),
        Route("/admin/audit", guarded(audit)),
    ]

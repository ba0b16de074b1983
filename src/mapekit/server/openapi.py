"""The OpenAPI description served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any


def _param(name: str) -> dict[str, Any]:
    """``*name`` is a path parameter, ``name`` a query parameter."""
    path = name.startswith("*")
    return {
        "name": name.lstrip("*"),
        "in": "path" if path else "query",
        "required": path,
        "schema": {"type": "string"},
    }


def _op(
    summary: str,
    *,
    params: tuple[str, ...] | list[str] = (),
    body: str | None = None,
    admin: bool = False,
    responses: dict[str, str] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [_param(p) for p in params],
        "responses": {k: {"description": v} for k, v in (responses or {"200": "OK"}).items()},
    }
    if body:
        op["requestBody"] = {"content": {body: {"schema": {"type": "object"}}}, "required": True}
    if admin:
        op["security"] = [{"bearer": []}]
        op["responses"].setdefault("401", {"description": "missing or invalid bearer token"})
    return op


JSON = "application/json"
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "mapekit rule server", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/{code}/get_rules": {"get": _op(
            "JPNE-style rules for the requesting address (JSONP)",
            params=["*code", "callback", "id"],
            responses={"200": "rules, or the blank cb({}) when the deployment target differs",
                       "400": "bad callback", "403": "address in no subscriber prefix",
                       "503": "unknown or disabled manufacturer code", "429": "rate limited"},
        )},
        "/{code}/acct_report": {"get": _op(
            "JPNE-style report (action 1 start / 2 stop, reason 0-4)",
            params=["*code", "callback", "action", "reason", "id"],
        )},
        "/": {"get": _op("OCN-style rules", params=["ipv6Prefix", "ipv6PrefixLength", "code"])},
        "/config": {"get": _op(
            "HB46PP configuration",
            params=["vendorid", "product", "version", "capability", "token"],
            responses={"200": "configuration (order: [] when nothing is offered)",
                       "403": "unknown source address"},
        )},
        "/healthz": {"get": _op("health (database reachable and migrated)")},
        "/metrics": {"get": _op("Prometheus metrics")},
        "/admin/subscribers": {
            "get": _op("list subscribers", params=["limit", "offset"], admin=True),
            "post": _op("add a subscriber {prefix, target, rules, id?, hgw_rental?}",
                        body=JSON, admin=True),
        },
        "/admin/subscribers/import": {"post": _op(
            "bulk import (CSV: prefix,target,rules[,id,hgw_rental])", body="text/csv", admin=True
        )},
        "/admin/subscribers/{id}": {"get": _op("one subscriber", params=["*id"], admin=True)},
        "/admin/subscribers/{id}/target": {"put": _op(
            "switch the deployment target {target: hgw|router}", params=["*id"], body=JSON,
            admin=True,
        )},
        "/admin/subscribers/{id}/hgw": {"put": _op(
            "rent or cancel the HGW {rental: bool}", params=["*id"], body=JSON, admin=True
        )},
        "/admin/vendors": {
            "get": _op("list vendor codes", admin=True),
            "post": _op("add a vendor code {code, name, kind}", body=JSON, admin=True),
        },
        "/admin/vendors/{code}/enabled": {"put": _op(
            "enable or disable a vendor code {enabled: bool}", params=["*code"], body=JSON,
            admin=True,
        )},
        "/admin/rule-sets": {"get": _op("list rule sets", admin=True)},
        "/admin/rule-sets/{name}": {"get": _op("one rule set", params=["*name"], admin=True)},
        "/admin/reports": {"get": _op("reports received", params=["limit"], admin=True)},
        "/admin/audit": {"get": _op("audit log", params=["limit"], admin=True)},
    },
}  # fmt: skip

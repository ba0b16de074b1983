"""The OpenAPI document served at ``/openapi.json``, generated from the validation layer.

Request bodies and JSON responses are the JSON Schemas of the models in
:mod:`mapekit.server.schemas` (the same models that check the input), so the description
cannot drift from what the server accepts; integer parameters carry their bounds and ids
their patterns. Every status a handler can give is listed, errors with their body.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from mapekit.server import schemas as s

JSON, JS, TEXT, CSV = "application/json", "application/javascript", "text/plain", "text/csv"
REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]

BODIES: tuple[type[BaseModel], ...] = (
    s.SubscriberIn, s.TargetIn, s.HgwIn, s.VendorIn, s.EnabledIn, s.MechanismsIn,
)  # fmt: skip
RESULTS: tuple[type[BaseModel], ...] = (
    s.SubscriberOut, s.SubscriberList, s.VendorList, s.VendorAdded, s.VendorEnabled,
    s.RuleSetOut, s.RuleSetList, s.ReportList, s.AuditList, s.TokenList, s.Revoked,
    s.ImportResult, s.ErrorBody,
)  # fmt: skip


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _string(pattern: str | None = None, max_length: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    if max_length:
        schema["maxLength"] = max_length
    return schema


def _integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path" or required, "schema": schema}


def _text(description: str, media: str = TEXT) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "string"}}}}


def _json(description: str, model: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    schema = model if isinstance(model, dict) else _ref(model)
    return {"description": description, "content": {JSON: {"schema": schema}}}


ERRORS = {
    "400": "invalid input; the error names the field",
    "401": "missing or invalid bearer token",
    "403": "the token lacks the scope (read or write)",
    "429": "too many failed authentications from this client",
    "503": "the database is unavailable",
}
PAGE = [_param("limit", "query", _integer(1, s.MAX_LIMIT)),
        _param("offset", "query", _integer(0, s.MAX_OFFSET))]  # fmt: skip


def _admin(
    summary: str,
    result: type[BaseModel],
    *,
    status: str = "200",
    params: list[dict[str, Any]] | None = None,
    body: type[BaseModel] | str | None = None,
    also: dict[str, str] | None = None,
) -> dict[str, Any]:
    responses = {status: _json(summary, result)}
    for code, why in {**ERRORS, **(also or {})}.items():
        responses[code] = _json(why, s.ErrorBody)
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": params or [],
        "responses": responses,
    }
    if body is not None:
        if isinstance(body, str):
            media = {body: {"schema": {"type": "string"}}}
        else:
            media = {JSON: {"schema": _ref(body)}}
        op["requestBody"] = {"required": True, "content": media}
        op["responses"]["413"] = _json("the body is too large", s.ErrorBody)
    return op


SUB_ID = _param("id", "path", _string(s.ID_PATTERN))
CODE = _param("code", "path", _string(s.CODE_PATTERN))
NAME = _param("name", "path", _string(s.NAME_PATTERN))
TOKEN_NAME = _param("name", "path", _string(s.ID_PATTERN))
MISSING = {"404": "no such subscriber, vendor code, rule set or token"}


def _admin_paths() -> dict[str, Any]:
    return {
        "/admin/subscribers": {
            "get": _admin("list subscribers", s.SubscriberList, params=PAGE),
            "post": _admin("add a subscriber", s.SubscriberOut, status="201",
                           body=s.SubscriberIn, also={"404": "no such rule set",
                                                      "409": "id, prefix or update_user exists"}),
        },
        "/admin/subscribers/import": {"post": _admin(
            "bulk import, CSV: prefix,target,rules[,id,hgw_rental,order,aftr,ipip_remote,"
            "ipip_ipv4,ipip_interface_id,update_user,update_password]; all rows or none",
            s.ImportResult, status="201", body=CSV,
            also={"404": "no such rule set", "409": "id, prefix or update_user exists"},
        )},
        "/admin/subscribers/{id}": {
            "get": _admin("one subscriber", s.SubscriberOut, params=[SUB_ID], also=MISSING)},
        "/admin/subscribers/{id}/target": {"put": _admin(
            "switch the deployment target", s.SubscriberOut, params=[SUB_ID], body=s.TargetIn,
            also=MISSING)},
        "/admin/subscribers/{id}/hgw": {"put": _admin(
            "rent or cancel the HGW (cancelling moves the target to router)", s.SubscriberOut,
            params=[SUB_ID], body=s.HgwIn, also=MISSING)},
        "/admin/subscribers/{id}/mechanisms": {"patch": _admin(
            "change the mechanisms (fields given replace, null clears, others stay)",
            s.SubscriberOut, params=[SUB_ID], body=s.MechanismsIn,
            also={**MISSING, "409": "update_user belongs to another subscriber"})},
        "/admin/vendors": {
            "get": _admin("list vendor codes", s.VendorList),
            "post": _admin("add a vendor code", s.VendorAdded, status="201", body=s.VendorIn,
                           also={"409": "the code exists"}),
        },
        "/admin/vendors/{code}/enabled": {"put": _admin(
            "enable or disable a vendor code", s.VendorEnabled, params=[CODE], body=s.EnabledIn,
            also=MISSING)},
        "/admin/rule-sets": {"get": _admin("list rule sets", s.RuleSetList)},
        "/admin/rule-sets/{name}": {
            "get": _admin("one rule set", s.RuleSetOut, params=[NAME], also=MISSING)},
        "/admin/reports": {"get": _admin("reports received", s.ReportList, params=PAGE)},
        "/admin/audit": {"get": _admin("audit log", s.AuditList, params=PAGE)},
        "/admin/tokens": {"get": _admin("admin tokens (needs write)", s.TokenList)},
        "/admin/tokens/{name}": {"delete": _admin(
            "revoke an admin token", s.Revoked, params=[TOKEN_NAME], also=MISSING)},
    }  # fmt: skip


def _public(
    summary: str, params: list[dict[str, Any]], responses: dict[str, Any]
) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params, "responses": responses}}


LIMITED = _text("rate limited (per subscriber, or per /64)")
CALLBACK = _param("callback", "query", _string(max_length=64))
USER_ID = _param("id", "query", _string(max_length=64))
ANY_CODE = _param("code", "path", _string())
OBJECT: dict[str, Any] = {"type": "object"}


def _public_paths() -> dict[str, Any]:
    return {
        "/{code}/get_rules": _public(
            "JPNE-style rules for the requesting address (JSONP)", [ANY_CODE, CALLBACK, USER_ID],
            {"200": _text("rules, or the blank cb({}) when the deployment target differs", JS),
             "400": _text("bad callback, or a bad client-address header from a proxy"),
             "403": _text("the address is in no subscriber prefix"), "429": LIMITED,
             "503": _text("unknown or disabled manufacturer code (the protocol's answer)")}),
        "/{code}/acct_report": _public(
            "JPNE-style report (action 1 start / 2 stop, reason 0-4)",
            [ANY_CODE, CALLBACK, USER_ID, _param("action", "query", _integer(1, 2), True),
             _param("reason", "query", _integer(0, 4), True)],
            {"200": _text("rpt({result: ok|ignored})", JS), "400": _text("bad parameter"),
             "429": LIMITED, "503": _text("unknown or disabled manufacturer code")}),
        "/": _public(
            "OCN-style rules (with ipv6Prefix), else the service's name",
            [_param("ipv6Prefix", "query", _string(max_length=64)),
             _param("ipv6PrefixLength", "query", _integer(0, 64)),
             _param("code", "query", _string())],
            {"200": _json("basicMapRules, or the service's name", OBJECT),
             "400": _text("bad parameter"), "403": _text("no subscriber holds the prefix"),
             "429": LIMITED, "503": _text("unknown or disabled vendor code")}),
        "/config": _public(
            "HB46PP configuration for the requesting address; order is the subscriber's, "
            "restricted to the capability given",
            [_param(n, "query", _string(max_length=64))
             for n in ("vendorid", "product", "version", "capability", "token")],
            {"200": _json("configuration (order: [] when nothing is offered)", OBJECT),
             "400": _text("a bad client-address header from a proxy"),
             "403": _text("unknown source address"), "429": LIMITED}),
        "/update": _update(),
        "/healthz": _public("health (database reachable and migrated)", [], {
            "200": _json("ok", OBJECT), "503": _json("the database is unavailable", OBJECT)}),
        "/metrics": _public("Prometheus metrics", [], {"200": _text("metrics")}),
        "/openapi.json": _public("this document", [], {"200": _json("OpenAPI 3.1", OBJECT)}),
    }  # fmt: skip


def _update() -> dict[str, Any]:
    op = _public(
        "IPIP update: record the CE's new tunnel address (Basic auth, or user and pass)",
        [_param("user", "query", _string(max_length=64)),
         _param("pass", "query", _string(max_length=256)),
         _param("address", "query", _string(max_length=45))],
        {"200": _text("OK <address>"),
         "400": _text("ERROR address: not IPv6, or outside the subscriber's prefix"),
         "401": _text("ERROR credentials: missing or wrong (WWW-Authenticate: Basic)"),
         "403": _text("ERROR ipip: the subscriber has no IPIP tunnel"),
         "429": _text("too many requests, or failed authentications (Retry-After)")},
    )  # fmt: skip
    op["get"]["security"] = [{"basic": []}, {}]
    return op


def _components() -> dict[str, Any]:
    pairs: list[tuple[type[BaseModel], Mode]] = [(m, "validation") for m in BODIES]
    pairs += [(m, "serialization") for m in RESULTS]
    _, defs = models_json_schema(pairs, ref_template=REF)
    return dict(defs.get("$defs", {}))


@functools.cache
def build_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "mapekit rule server", "version": "2"},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
            },
            "schemas": _components(),
        },
        "paths": {**_public_paths(), **_admin_paths()},
    }

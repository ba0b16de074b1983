"""The admin API under ``/admin``: bearer tokens with scopes, JSON in and out.

A token has the scope ``read`` (every GET) and/or ``write`` (every change, and the token
list); tokens are stored as SHA-256 hashes. Failed authentications are limited per client
(/64 for IPv6): past :data:`AUTH_BURST` failures the client gets 429 until its bucket
refills (one failure allowed per :data:`AUTH_REFILL_SECONDS`). Every input goes through
:mod:`mapekit.server.schemas` before it reaches the store. Handlers run in worker
threads (:mod:`mapekit.server.threads`: reads and writes in separate pools), never on
the event loop; bodies are read first, bounded.

Errors are ``{"error": {"reason_code", "message", "field"}}`` with the HTTP status of the
reason (one table, :func:`status_of`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mapekit.core.errors import MapeError
from mapekit.core.reasons import Category
from mapekit.core.tables import rule_to_entry
from mapekit.server import schemas as s
from mapekit.server.csvimport import parse_csv
from mapekit.server.identity import Address, limit_key
from mapekit.server.ratelimit import RateLimiter
from mapekit.server.service import ServerError, Subscriber, Target, Vendor
from mapekit.server.store import Store
from mapekit.server.threads import Pools

MAX_BODY = 64 << 10  # JSON bodies (the largest valid one is a few hundred bytes)
MAX_CSV = 64 << 20  # bulk imports
AUTH_BURST = 10.0
AUTH_REFILL_SECONDS = 6.0

_STATUS_BY_CODE = {
    "server.exists": 409,
    "server.unauthorized": 401,
    "server.forbidden": 403,
    "server.rate_limited": 429,
    "server.too_large": 413,
}
_STATUS_BY_CATEGORY = {
    Category.USAGE: 400,
    Category.INPUT: 400,
    Category.RULE: 400,
    Category.NOT_FOUND: 404,
    Category.DATA: 503,
}
Handler = Callable[["Call"], BaseModel]


def status_of(exc: MapeError) -> int:
    return _STATUS_BY_CODE.get(exc.reason_code, _STATUS_BY_CATEGORY.get(exc.reason.category, 400))


def error_response(exc: MapeError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_of(exc), headers=headers)


def subscriber_json(sub: Subscriber) -> dict[str, object]:
    return subscriber_out(sub).model_dump()


def subscriber_out(sub: Subscriber) -> s.SubscriberOut:
    m = sub.mechanisms
    ipip = m.ipip
    return s.SubscriberOut(
        id=sub.id, prefix=sub.prefix_text, hgw_rental=sub.hgw_rental, target=sub.target.value,
        rule_set_id=sub.rule_set_id, order=list(m.order), aftr=m.aftr,  # type: ignore[arg-type]
        ipip_remote=ipip.remote if ipip else None, ipip_ipv4=ipip.ipv4 if ipip else None,
        ipip_interface_id=ipip.interface_id_text if ipip else None,
        ipip_local=ipip.local(sub.prefix) if ipip else None, ipip_local_current=m.ipip_current,
        ipip_updated_at=m.ipip_updated_at, update_user=m.update_user,
        update_password_set=m.password_set,
    )  # fmt: skip


@dataclass(frozen=True)
class Call:
    """One admin request, as a handler sees it (in a worker thread)."""

    actor: str
    path: dict[str, str]
    query: dict[str, str]
    body: bytes


async def _body(request: Request, limit: int) -> bytes:
    size = request.headers.get("content-length")
    if size is not None and (not size.isdigit() or int(size) > limit):
        raise ServerError("server.too_large", f"body: larger than {limit} bytes", field="body")
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise ServerError("server.too_large", f"body: larger than {limit} bytes", field="body")
        chunks.append(chunk)
    return b"".join(chunks)


def _page(call: Call) -> tuple[int, int]:
    limit = s.bounded_int(call.query.get("limit"), "limit", 100, 1, s.MAX_LIMIT)
    return limit, s.bounded_int(call.query.get("offset"), "offset", 0, 0, s.MAX_OFFSET)


class AdminApi:
    """The admin handlers over one store."""

    def __init__(
        self,
        store: Store,
        client_of: Callable[[Request], Address | None],
        limit_failures: bool = True,
        pools: Pools | None = None,
    ) -> None:
        self.store, self.client_of = store, client_of
        self.pools = pools or Pools()
        rate = 1.0 / AUTH_REFILL_SECONDS if limit_failures else 0.0  # 0: off (tests only)
        self.failures = RateLimiter(rate, AUTH_BURST)

    # --- plumbing -------------------------------------------------------------------

    async def _authorize(self, request: Request, scope: s.Scope, key: str) -> str:
        """The actor of a request with a valid token of ``scope``; the token is looked up
        in the cache first (no thread), in the database only on a miss."""
        now = time.monotonic()
        if self.failures.exhausted(key, now):
            raise ServerError("server.rate_limited", "admin: too many failed authentications")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        info = None
        if scheme.lower() == "bearer" and token.strip():
            found, info = self.store.cached_token(token.strip())
            if not found:
                info = await self.pools.read(self.store.token_info, token.strip())
        if info is None:
            self.failures.allow(key, now)
            raise ServerError("server.unauthorized", "admin: missing or invalid bearer token")
        if scope not in info.scopes:
            raise ServerError("server.forbidden", f"admin: token {info.name!r} lacks {scope}")
        return info.name

    def route(
        self,
        path: str,
        method: str,
        handler: Handler,
        limit: int = MAX_BODY,
        *,
        scope: s.Scope | None = None,
    ) -> Route:
        needs: s.Scope = scope or ("read" if method == "GET" else "write")

        async def run(request: Request) -> Response:
            try:
                key = limit_key(self.client_of(request), None)
                actor = await self._authorize(request, needs, key)
                body = await _body(request, limit) if method in ("POST", "PUT", "PATCH") else b""
                call = Call(actor, dict(request.path_params), dict(request.query_params), body)
                run_in = self.pools.read if method == "GET" else self.pools.write
                result = await run_in(handler, call)
            except MapeError as exc:
                retry = {"Retry-After": str(int(AUTH_REFILL_SECONDS))}
                return error_response(
                    exc, retry if exc.reason_code == "server.rate_limited" else None
                )
            status = 201 if method == "POST" else 200
            return JSONResponse(result.model_dump(mode="json"), status)

        return Route(path, run, methods=[method])

    # --- handlers (worker threads) --------------------------------------------------

    def list_subscribers(self, call: Call) -> s.SubscriberList:
        limit, offset = _page(call)
        subs = self.store.subscribers(limit, offset)
        return s.SubscriberList(subscribers=[subscriber_out(x) for x in subs],
                                total=self.store.count_subscribers())  # fmt: skip

    def add_subscriber(self, call: Call) -> s.SubscriberOut:
        entry = s.parse_model(s.SubscriberIn, call.body)
        self.store.add_subscribers([entry], call.actor)
        return subscriber_out(self.store.subscriber(prefix=entry.prefix))

    def import_csv(self, call: Call) -> s.ImportResult:
        parsed = parse_csv(call.body)
        if not parsed.entries:
            raise s.invalid("row 2", "no subscriber rows after the header")
        added = self.store.add_subscribers(parsed.entries, call.actor, parsed.label)
        return s.ImportResult(added=added)

    def _sub_id(self, call: Call) -> str:
        return s.path_value(call.path["id"], s.ID_PATTERN, "id")

    def subscriber(self, call: Call) -> s.SubscriberOut:
        return subscriber_out(self.store.subscriber(sub_id=self._sub_id(call)))

    def set_target(self, call: Call) -> s.SubscriberOut:
        target = Target(s.parse_model(s.TargetIn, call.body).target)
        return subscriber_out(self.store.set_target(target, call.actor, sub_id=self._sub_id(call)))

    def set_hgw(self, call: Call) -> s.SubscriberOut:
        rental = s.parse_model(s.HgwIn, call.body).rental
        sub = self.store.set_hgw_rental(rental, call.actor, sub_id=self._sub_id(call))
        return subscriber_out(sub)

    def set_mechanisms(self, call: Call) -> s.SubscriberOut:
        changes = s.parse_model(s.MechanismsIn, call.body)
        sub = self.store.set_mechanisms(changes, call.actor, sub_id=self._sub_id(call))
        return subscriber_out(sub)

    def vendors(self, call: Call) -> s.VendorList:
        return s.VendorList(vendors=[
            s.VendorOut(code=v.code, name=v.name, kind=v.kind.value, enabled=v.enabled)
            for v in self.store.vendors()
        ])  # fmt: skip

    def add_vendor(self, call: Call) -> s.VendorAdded:
        doc = s.parse_model(s.VendorIn, call.body)
        vendor = Vendor(doc.code.lower(), doc.name, Target(doc.kind))
        self.store.add_vendor(vendor, call.actor)
        return s.VendorAdded(code=vendor.code, kind=doc.kind)

    def vendor_enabled(self, call: Call) -> s.VendorEnabled:
        code = s.path_value(call.path["code"], s.CODE_PATTERN, "code").lower()
        enabled = s.parse_model(s.EnabledIn, call.body).enabled
        self.store.set_vendor_enabled(code, enabled, call.actor)
        return s.VendorEnabled(code=code, enabled=enabled)

    def rule_sets(self, call: Call) -> s.RuleSetList:
        return s.RuleSetList(rule_sets=self.store.rule_set_names())

    def rule_set(self, call: Call) -> s.RuleSetOut:
        domain = self.store.domain(s.path_value(call.path["name"], s.NAME_PATTERN, "name"))
        rules: list[Any] = [rule_to_entry(r) for r in domain.rules]
        return s.RuleSetOut(name=domain.name, dmr=domain.dmr, ipv6_fixlen=domain.fixlen,
                            iid=domain.iid.value, rules=rules)  # fmt: skip

    def reports(self, call: Call) -> s.ReportList:
        limit, offset = _page(call)
        return s.ReportList.model_validate({"reports": self.store.reports(limit, offset)})

    def audit(self, call: Call) -> s.AuditList:
        limit, offset = _page(call)
        entries = [e.__dict__ for e in self.store.audit(limit, offset)]
        return s.AuditList.model_validate({"audit": entries})

    def tokens(self, call: Call) -> s.TokenList:
        return s.TokenList(tokens=[
            s.TokenOut(name=t.name, scopes=list(t.scopes), created_at=t.created_at)
            for t in self.store.tokens()
        ])  # fmt: skip

    def revoke(self, call: Call) -> s.Revoked:
        name = s.path_value(call.path["name"], s.ID_PATTERN, "name")
        self.store.revoke_token(name, call.actor)
        return s.Revoked(name=name, revoked=True)

    def routes(self) -> list[BaseRoute]:
        r = self.route
        return [
            r("/admin/subscribers", "GET", self.list_subscribers),
            r("/admin/subscribers", "POST", self.add_subscriber),
            r("/admin/subscribers/import", "POST", self.import_csv, MAX_CSV),
            r("/admin/subscribers/{id}", "GET", self.subscriber),
            r("/admin/subscribers/{id}/target", "PUT", self.set_target),
            r("/admin/subscribers/{id}/hgw", "PUT", self.set_hgw),
            r("/admin/subscribers/{id}/mechanisms", "PATCH", self.set_mechanisms),
            r("/admin/vendors", "GET", self.vendors),
            r("/admin/vendors", "POST", self.add_vendor),
            r("/admin/vendors/{code}/enabled", "PUT", self.vendor_enabled),
            r("/admin/rule-sets", "GET", self.rule_sets),
            r("/admin/rule-sets/{name}", "GET", self.rule_set),
            r("/admin/reports", "GET", self.reports),
            r("/admin/audit", "GET", self.audit),
            r("/admin/tokens", "GET", self.tokens, scope="write"),
            r("/admin/tokens/{name}", "DELETE", self.revoke),
        ]


def openapi_route(document: Callable[[], dict[str, object]]) -> Route:
    body = json.dumps(document()).encode()

    async def openapi(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Route("/openapi.json", openapi, methods=["GET"])


__all__ = ["AdminApi", "error_response", "openapi_route", "subscriber_json"]

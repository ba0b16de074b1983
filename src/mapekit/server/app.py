"""The rule server's HTTP face (Starlette): JPNE, OCN and HB46PP endpoints for CEs, the
IPIP update endpoint (:mod:`mapekit.server.update`), an admin API for operators, health and
Prometheus metrics.

Who the client is follows one rule (:mod:`mapekit.server.identity`): the TCP peer, or the
configured header from a trusted proxy — nothing else. Handlers are plain functions run in
worker threads (:mod:`mapekit.server.threads`), so a slow query holds one thread, never
the event loop.
Rate limits are per subscriber (or per /64 for clients that are none).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mapekit.core.errors import MapeError
from mapekit.server import service
from mapekit.server.admin import AdminApi, openapi_route
from mapekit.server.identity import Address, BadClientAddress, ClientRule, Network, limit_key
from mapekit.server.identity import client_address as rule_address
from mapekit.server.openapi import build_document
from mapekit.server.ratelimit import RateLimiter
from mapekit.server.schemas import bounded_int
from mapekit.server.softwires import parse_capability
from mapekit.server.store import Store
from mapekit.server.threads import Pools
from mapekit.server.update import PATH as UPDATE_PATH
from mapekit.server.update import UpdateApi

log = logging.getLogger("mapekit.server.access")
Work = Callable[[str, "service.Subscriber | None"], service.Answer]
Endpoint = Callable[[Request], Awaitable[Response]]
LOOPBACK: tuple[Network, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
MAX_CODE = 64


@dataclass
class ServerConfig:
    client_header: str | None = None  # take the client address from this header …
    trusted_proxies: Sequence[Network] = ()  # … on connections from these networks only
    rate: float = 5.0  # requests per second per subscriber (or /64) (0: no limit)
    burst: float = 20.0
    access_log: bool = True
    auth_limit: bool = True  # limit failed authentications (off only in tests)
    names: service.Hb46ppNames = field(default_factory=service.Hb46ppNames)  # HB46PP answers
    update_moves_prefix: bool = False  # an IPIP update outside the prefix moves it

    @property
    def rule(self) -> ClientRule:
        return ClientRule(self.client_header, tuple(self.trusted_proxies))


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "mapekit_requests", "Requests by endpoint and outcome", ["endpoint", "outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "mapekit_request_seconds", "Request latency by endpoint", ["endpoint"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0),
        )  # fmt: skip


def client_address(request: Request, config: ServerConfig) -> str:
    """The client's address as text (see :mod:`mapekit.server.identity`)."""
    peer = request.client.host if request.client else ""
    address = rule_address(peer, request.headers, config.rule)
    return "" if address is None else str(address)


def _bad(outcome: str) -> service.Answer:
    return service.Answer(400, b"", outcome, "text/plain")


class RuleServer:
    """The handlers, over one store; :meth:`routes` wires them up."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store, self.config = store, config
        self.metrics = Metrics()
        self.limiter = RateLimiter(config.rate, config.burst)
        self.pools = Pools()
        self.admin = AdminApi(store, self.address_of, config.auth_limit, self.pools)
        self.updates = UpdateApi(store, self.pools, config.auth_limit, config.update_moves_prefix)

    def address_of(self, request: Request) -> Address | None:
        peer = request.client.host if request.client else ""
        try:
            return rule_address(peer, request.headers, self.config.rule)
        except BadClientAddress:
            return None

    def answer(self, endpoint: str, result: service.Answer, start: float, client: str) -> Response:
        self.metrics.requests.labels(endpoint, result.outcome).inc()
        elapsed = time.perf_counter() - start
        self.metrics.latency.labels(endpoint).observe(elapsed)
        if self.config.access_log:
            entry = {"endpoint": endpoint, "client": client, "status": result.status,
                     "outcome": result.outcome, "ms": round(elapsed * 1000, 2)}  # fmt: skip
            log.info(json.dumps(entry))
        headers = dict(result.headers) or None
        return Response(result.body, result.status, headers, media_type=result.content_type)

    def _client(self, request: Request) -> Address | BadClientAddress | None:
        peer = request.client.host if request.client else ""
        try:
            return rule_address(peer, request.headers, self.config.rule)
        except BadClientAddress as exc:
            return exc

    def _limited(self, endpoint: str, key: str) -> Response | None:
        if self.limiter.allow(key, time.monotonic()):
            return None
        self.metrics.requests.labels(endpoint, "rate_limited").inc()
        retry = str(self.limiter.retry_after(key))
        return Response(b"", 429, headers={"Retry-After": retry}, media_type="text/plain")

    def _subscriber(self, address: Address | None) -> service.Subscriber | None:
        if not isinstance(address, ipaddress.IPv6Address):
            return None
        return self.store.subscriber_by_address(int(address))

    def domain_of(self, sub: service.Subscriber | None) -> service.RuleDomain | None:
        if sub is None or sub.rule_set_id is None:
            return None
        return self.store.domain_by_id(sub.rule_set_id)

    def vendor_of(self, code: str) -> service.Vendor | None:
        return self.store.vendor(code) if 0 < len(code) <= MAX_CODE else None

    def _serve(self, endpoint: str, request: Request, work: Work) -> Response:
        """Identify the client, apply its rate limit, then ``work(address, subscriber)``."""
        start = time.perf_counter()
        address = self._client(request)
        if isinstance(address, BadClientAddress):
            return self.answer(endpoint, _bad("bad_client_address"), start, "?")
        client = "" if address is None else str(address)
        sub = self._subscriber(address)
        busy = self._limited(endpoint, limit_key(address, sub.id if sub else None))
        if busy is not None:
            return busy
        return self.answer(endpoint, work(client, sub), start, client)

    def get_rules(self, request: Request) -> Response:
        def work(client: str, sub: service.Subscriber | None) -> service.Answer:
            vendor = self.vendor_of(request.path_params["code"])
            callback = request.query_params.get("callback")
            enabled = vendor is not None and vendor.enabled
            found = sub if enabled else None
            return service.get_rules(callback, vendor, found, self.domain_of(found))

        return self._serve("get_rules", request, work)

    def acct_report(self, request: Request) -> Response:
        def work(client: str, sub: service.Subscriber | None) -> service.Answer:
            query = request.query_params
            code = request.path_params["code"].lower()
            vendor = self.vendor_of(code)
            if vendor is None or not vendor.enabled:
                return service.Answer(503, b"", "unknown_code", "text/plain")
            try:
                action = bounded_int(query.get("action"), "action", -1, 1, 2)
                reason = bounded_int(query.get("reason"), "reason", -1, 0, 4)
            except MapeError:
                return _bad("bad_request")
            if action < 0 or reason < 0:
                return _bad("bad_request")
            self.store.add_report(code, action, reason, client, sub.id if sub else None)
            return service.acct_report(query.get("callback"), accepted=sub is not None)

        return self._serve("acct_report", request, work)

    def root(self, request: Request) -> Response:
        query = request.query_params
        if "ipv6Prefix" not in query:
            return JSONResponse({"service": "mapekit rule server"})

        def work(client: str, sub: service.Subscriber | None) -> service.Answer:
            prefix = _prefix(query.get("ipv6Prefix", ""), query.get("ipv6PrefixLength", ""))
            if prefix is None:
                return _bad("bad_request")
            vendor = self.vendor_of(query.get("code", ""))
            enabled = vendor is not None and vendor.enabled
            found = self.store.subscriber_by_address(prefix) if enabled else None
            return service.ocn_rules(vendor, found, self.domain_of(found))

        return self._serve("ocn", request, work)

    def hb46pp_config(self, request: Request) -> Response:
        capability = parse_capability(request.query_params.get("capability"))

        def work(client: str, sub: service.Subscriber | None) -> service.Answer:
            return service.hb46pp_config(sub, self.domain_of(sub), capability, self.config.names)

        return self._serve("hb46pp", request, work)

    async def update(self, request: Request) -> Response:
        """The IPIP update endpoint (its own threads: the password check is slow)."""
        start = time.perf_counter()
        address = self._client(request)
        if isinstance(address, BadClientAddress):
            return self.answer("update", _bad("bad_client_address"), start, "?")
        busy = self._limited("update", limit_key(address, None))
        if busy is not None:
            return busy
        query, auth = request.query_params, request.headers.get("authorization")
        result = await self.updates.handle(query, auth, address)
        return self.answer("update", result, start, "" if address is None else str(address))

    def healthz(self, request: Request) -> Response:
        try:
            self.store.check_ready()
        except MapeError as exc:
            return JSONResponse({"status": "unavailable", "error": exc.message}, 503)
        return JSONResponse({"status": "ok"})

    def metrics_page(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def threaded(self, handler: Callable[[Request], Response]) -> Endpoint:
        async def run(request: Request) -> Response:
            return await self.pools.read(handler, request)

        return run

    def routes(self) -> list[BaseRoute]:
        t = self.threaded
        return [  # the hot path first: routes are tried in order
            Route("/{code}/get_rules", t(self.get_rules), methods=["GET"]),
            Route("/{code}/acct_report", t(self.acct_report), methods=["GET"]),
            Route("/", t(self.root), methods=["GET"]),
            Route("/healthz", t(self.healthz), methods=["GET"]),
            Route("/metrics", t(self.metrics_page), methods=["GET"]),
            Route("/config", t(self.hb46pp_config), methods=["GET"]),
            Route(UPDATE_PATH, self.update, methods=["GET"]),
            openapi_route(build_document),
            *self.admin.routes(),
        ]


def build_app(store: Store, config: ServerConfig | None = None) -> Starlette:
    """The ASGI app over ``store``."""
    return Starlette(routes=RuleServer(store, config or ServerConfig()).routes())


def _prefix(text: str, length_text: str) -> int | None:
    try:
        length = bounded_int(length_text, "ipv6PrefixLength", -1, 0, 64)
    except MapeError:
        return None
    if length < 0 or len(text) > 64 or "%" in text:
        return None
    try:
        network = ipaddress.IPv6Network(f"{text}/{length}", strict=False)
    except ValueError:
        return None
    return int(network.network_address)

"""The rule server's HTTP face (Starlette): JPNE, OCN and HB46PP endpoints for CEs, an
admin API for operators, health and Prometheus metrics.

The client address is the connection's source; ``client_header`` takes it from a header
instead, but only for connections from a trusted proxy (default: loopback only).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Sequence
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
from mapekit.server.admin import admin_routes
from mapekit.server.ratelimit import RateLimiter
from mapekit.server.store import Store

log = logging.getLogger("mapekit.server.access")
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


@dataclass
class ServerConfig:
    client_header: str | None = None
    trusted_proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = LOOPBACK
    rate: float = 5.0  # requests per second per client (0: no limit)
    burst: float = 20.0
    access_log: bool = True


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
    peer = request.client.host if request.client else ""
    if config.client_header is None:
        return peer
    try:
        peer_ip = ipaddress.ip_address(peer.split("%", maxsplit=1)[0])
    except ValueError:
        return peer
    if not any(peer_ip in net for net in config.trusted_proxies):
        return peer
    return request.headers.get(config.client_header, peer).strip()


def _address_int(text: str) -> int | None:
    try:
        address = ipaddress.ip_address(text.split("%", maxsplit=1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv4Address):
        return None
    return int(address)


class RuleServer:
    """The handlers, over one store; :meth:`routes` wires them up."""

    def __init__(self, store: Store, config: ServerConfig) -> None:
        self.store, self.config = store, config
        self.metrics = Metrics()
        self.limiter = RateLimiter(config.rate, config.burst)

    def answer(self, endpoint: str, result: service.Answer, start: float, client: str) -> Response:
        self.metrics.requests.labels(endpoint, result.outcome).inc()
        elapsed = time.perf_counter() - start
        self.metrics.latency.labels(endpoint).observe(elapsed)
        if self.config.access_log:
            entry = {"endpoint": endpoint, "client": client, "status": result.status,
                     "outcome": result.outcome, "ms": round(elapsed * 1000, 2)}  # fmt: skip
            log.info(json.dumps(entry))
        return Response(result.body, result.status, media_type=result.content_type)

    def limited(self, endpoint: str, client: str) -> Response | None:
        if self.limiter.allow(client, time.monotonic()):
            return None
        self.metrics.requests.labels(endpoint, "rate_limited").inc()
        retry = str(self.limiter.retry_after(client))
        return Response(b"", 429, headers={"Retry-After": retry}, media_type="text/plain")

    def subscriber_of(self, client: str) -> service.Subscriber | None:
        address = _address_int(client)
        return None if address is None else self.store.subscriber_by_address(address)

    def domain_of(self, sub: service.Subscriber | None) -> service.RuleDomain | None:
        return None if sub is None else self.store.domain_by_id(sub.rule_set_id)

    def vendor_of(self, code: str) -> service.Vendor | None:
        return self.store.vendor(code) if 0 < len(code) <= 64 else None

    async def get_rules(self, request: Request) -> Response:
        start, client = time.perf_counter(), client_address(request, self.config)
        if (busy := self.limited("get_rules", client)) is not None:
            return busy
        vendor = self.vendor_of(request.path_params["code"])
        sub = self.subscriber_of(client) if vendor is not None and vendor.enabled else None
        callback = request.query_params.get("callback")
        result = service.get_rules(callback, vendor, sub, self.domain_of(sub))
        return self.answer("get_rules", result, start, client)

    async def acct_report(self, request: Request) -> Response:
        start, client = time.perf_counter(), client_address(request, self.config)
        if (busy := self.limited("acct_report", client)) is not None:
            return busy
        query = request.query_params
        code = request.path_params["code"].lower()
        vendor = self.vendor_of(code)
        action, reason = _small_int(query.get("action")), _small_int(query.get("reason"))
        if vendor is None or not vendor.enabled:
            result = service.Answer(503, b"", "unknown_code", "text/plain")
        elif action not in (1, 2) or reason is None or not 0 <= reason <= 4:
            result = service.Answer(400, b"", "bad_request", "text/plain")
        else:
            sub = self.subscriber_of(client)
            self.store.add_report(code, action, reason, client, sub.id if sub else None)
            result = service.acct_report(query.get("callback"), accepted=sub is not None)
        return self.answer("acct_report", result, start, client)

    async def root(self, request: Request) -> Response:
        query = request.query_params
        if "ipv6Prefix" not in query:
            return JSONResponse({"service": "mapekit rule server"})
        start, client = time.perf_counter(), client_address(request, self.config)
        if (busy := self.limited("ocn", client)) is not None:
            return busy
        prefix = _prefix(query.get("ipv6Prefix", ""), query.get("ipv6PrefixLength", ""))
        if prefix is None:
            bad = service.Answer(400, b"", "bad_request", "text/plain")
            return self.answer("ocn", bad, start, client)
        vendor = self.vendor_of(query.get("code", ""))
        enabled = vendor is not None and vendor.enabled
        sub = self.store.subscriber_by_address(prefix) if enabled else None
        return self.answer(
            "ocn", service.ocn_rules(vendor, sub, self.domain_of(sub)), start, client
        )

    async def hb46pp_config(self, request: Request) -> Response:
        start, client = time.perf_counter(), client_address(request, self.config)
        if (busy := self.limited("hb46pp", client)) is not None:
            return busy
        sub = self.subscriber_of(client)
        result = service.hb46pp_config(sub, self.domain_of(sub))
        return self.answer("hb46pp", result, start, client)

    async def healthz(self, request: Request) -> Response:
        try:
            self.store.check_ready()
        except MapeError as exc:
            return JSONResponse({"status": "unavailable", "error": exc.message}, 503)
        return JSONResponse({"status": "ok"})

    async def metrics_page(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.root),
            Route("/healthz", self.healthz),
            Route("/metrics", self.metrics_page),
            Route("/config", self.hb46pp_config),
            *admin_routes(self.store),
            Route("/{code}/get_rules", self.get_rules),
            Route("/{code}/acct_report", self.acct_report),
        ]


def build_app(store: Store, config: ServerConfig | None = None) -> Starlette:
    """The ASGI app over ``store``."""
    return Starlette(routes=RuleServer(store, config or ServerConfig()).routes())


def _small_int(text: str | None) -> int | None:
    if text is None or not text.isdigit() or len(text) > 3:
        return None
    return int(text)


def _prefix(text: str, length_text: str) -> int | None:
    if not length_text.isdigit() or len(text) > 64:
        return None
    try:
        network = ipaddress.IPv6Network(f"{text}/{int(length_text)}", strict=False)
    except ValueError:
        return None
    return int(network.network_address) if network.prefixlen <= 64 else None

"""HTTP for provisioning: httpx with verification on, and every transport failure
translated once, here, into a ProvisionError with a reason code.

Each request is bounded in time and memory, whatever the peer does:

- **one deadline** (``HttpSettings.timeout``) for the whole exchange — connection, headers,
  body, and every redirect hop. httpx's own timeouts apply per read, so a peer sending
  one byte a second would never time out; here a watchdog shuts the connection's socket
  down when the deadline passes (the socket is taken from httpcore's ``trace`` events)
  and the exchange ends with ``net.timeout``;
- **bounded bodies**: ``Accept-Encoding: identity`` is sent and the body is read raw
  (``iter_raw``), at most :data:`MAX_BODY` bytes; any content coding the server applies
  anyway is undone layer by layer under the same cap (:mod:`mapekit.provision.content`);
- **redirects** are followed by hand, under a :class:`RedirectPolicy`: never from https to
  http, to another host only where the provider's protocol allows it (HB46PP: 307 only).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from mapekit.core.errors import MapeError
from mapekit.core.files import read_text_file
from mapekit.provision.content import decode_content
from mapekit.provision.errors import ProvisionError
from mapekit.provision.jsonp import MAX_BODY

USER_AGENT = "mapekit"
MAX_CA_FILE = 1 << 20  # PEM; a whole system bundle is about 200 KB
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class RedirectPolicy:
    """Which redirects a provider's protocol allows."""

    statuses: frozenset[int] = REDIRECT_STATUSES
    other_hosts: bool = False  # may the Location name another host (or port)?


SAME_HOST = RedirectPolicy()
HB46PP_REDIRECTS = RedirectPolicy(frozenset({307}), other_hosts=True)


@dataclass(frozen=True)
class HttpSettings:
    """How to talk to a rule server."""

    timeout: float = 10.0  # seconds for a whole exchange (connect + headers + body + hops)
    verify: bool = True  # TLS verification; off only by explicit opt-in
    ca_file: str | None = None  # an extra CA (e.g. a lab's), added to the system's
    max_redirects: int = 3
    source_address: str | None = None  # bind requests to this local address
    redirects: RedirectPolicy = field(default_factory=RedirectPolicy)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    url: str


def _verify(settings: HttpSettings) -> ssl.SSLContext | bool:
    if not settings.verify:
        return False
    context = ssl.create_default_context()
    if settings.ca_file:
        try:
            pem = read_text_file(settings.ca_file, what="ca-file", max_bytes=MAX_CA_FILE)
            context.load_verify_locations(cadata=pem)
        except (OSError, ssl.SSLError, MapeError) as exc:
            why = exc.message.split(": ", 2)[-1] if isinstance(exc, MapeError) else exc
            raise ProvisionError(
                "input.value_range",
                f"ca-file: cannot load {settings.ca_file}: {why}",
                field="ca-file",
                value=settings.ca_file,
            ) from None
    return context


def make_client(
    settings: HttpSettings, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A client for one exchange; ``transport`` replaces the network (tests)."""
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=_verify(settings), local_address=settings.source_address, retries=0
        )
    return httpx.Client(
        transport=transport,
        timeout=settings.timeout,
        follow_redirects=False,  # get() follows them under the policy
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        trust_env=False,
    )


class Deadline:
    """The time left for one exchange, and a watchdog that shuts the current
    connection's socket down when it runs out (a blocked read then returns at once)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def left(self) -> float:
        return self.end - time.monotonic()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember the socket of each new connection."""
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def check(self, url: str) -> None:
        if self.expired or self.left() <= 0:
            raise _timeout(url)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _timeout(url: str) -> ProvisionError:
    return ProvisionError("net.timeout", f"{url}: no complete answer in time", field="url")


def redirect_target(url: str, status: int, location: str, policy: RedirectPolicy) -> str:
    """Where a redirect leads, or ``net.redirect_refused`` when the policy forbids it."""
    target = urljoin(url, location)
    old, new = urlsplit(url), urlsplit(target)

    def refuse(why: str) -> ProvisionError:
        return ProvisionError(
            "net.redirect_refused",
            f"{url}: HTTP {status} to {target[:120]}: {why}",
            field="url",
            value=target[:120],
        )

    if status not in policy.statuses:
        allowed = ", ".join(str(s) for s in sorted(policy.statuses)) or "none"
        raise refuse(f"this protocol allows only these redirects: {allowed}")
    if new.scheme not in ("http", "https"):
        raise refuse("not an http(s) URL")
    if old.scheme == "https" and new.scheme != "https":
        raise refuse("a downgrade from https to plain http")
    if not policy.other_hosts and (new.hostname, new.port) != (old.hostname, old.port):
        raise refuse("another host, which this protocol does not allow")
    return target


def get(
    client: httpx.Client,
    url: str,
    params: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    *,
    settings: HttpSettings,
) -> Response:
    """GET within ``settings.timeout`` in all, with a bounded body and checked redirects;
    network trouble becomes a ProvisionError."""
    deadline = Deadline(settings.timeout)
    try:
        query: Sequence[tuple[str, str]] = params
        for _ in range(settings.max_redirects + 1):
            reply = _one(client, url, query, headers, deadline)
            if reply.status not in REDIRECT_STATUSES:
                return reply
            location = reply.location
            if location is None:
                return Response(reply.status, reply.body, reply.url)
            url, query = redirect_target(reply.url, reply.status, location, settings.redirects), ()
        raise ProvisionError(
            "net.too_many_redirects", f"{url}: more than the allowed redirects", field="url"
        )
    finally:
        deadline.cancel()


@dataclass(frozen=True)
class _Hop(Response):
    location: str | None = None


def _one(
    client: httpx.Client,
    url: str,
    params: Sequence[tuple[str, str]],
    headers: dict[str, str] | None,
    deadline: Deadline,
) -> _Hop:
    deadline.check(url)
    try:
        with client.stream(
            "GET",
            url,
            params=list(params) or None,
            headers=headers,
            timeout=max(0.01, deadline.left()),
            extensions={"trace": deadline.trace},
        ) as reply:
            raw = _read_raw(reply, deadline, url)
            body = decode_content(raw, reply.headers.get("content-encoding"), MAX_BODY, url)
            location = reply.headers.get("location")
            return _Hop(reply.status_code, body, str(reply.url), location)
    except httpx.TimeoutException:
        raise _timeout(url) from None
    except httpx.TransportError as exc:
        if deadline.expired:
            raise _timeout(url) from None
        raise translate(exc, url) from None


def _read_raw(reply: httpx.Response, deadline: Deadline, url: str) -> bytes:
    """The raw body, at most MAX_BODY + 1 bytes (the codec refuses more)."""
    if reply.is_stream_consumed:  # an in-process transport that built it from bytes
        return reply.content[: MAX_BODY + 1]
    chunks: list[bytes] = []
    size = 0
    for chunk in reply.iter_raw():
        deadline.check(url)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            break
    deadline.check(url)
    return b"".join(chunks)


def translate(exc: Exception, url: str) -> ProvisionError:
    """One place that knows what a transport failure means."""
    text = str(exc) or type(exc).__name__
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return ProvisionError("net.tls", f"{url}: TLS failed: {text}", field="url")
        cause = cause.__cause__ or cause.__context__
    lowered = text.lower()
    if "certificate" in lowered or "ssl" in lowered:
        return ProvisionError("net.tls", f"{url}: TLS failed: {text}", field="url")
    if (
        "name or service not known" in lowered
        or "nodename nor servname" in lowered
        or ("temporary failure in name resolution" in lowered)
    ):
        return ProvisionError("net.dns", f"{url}: cannot resolve: {text}", field="url")
    return ProvisionError("net.unreachable", f"{url}: {text}", field="url")


_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="route")


def predicted_source(url: str, timeout: float = 2.0) -> str | None:
    """The local address the kernel would use to reach ``url``'s host (no packet is sent)."""
    host = urlsplit(url).hostname
    if not host:
        return None
    future = _POOL.submit(socket.getaddrinfo, host, 443, 0, socket.SOCK_DGRAM)
    try:
        infos = future.result(timeout=timeout)
    except (concurrent.futures.TimeoutError, OSError, UnicodeError):
        return None
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.connect(address)
                return str(ipaddress.ip_address(probe.getsockname()[0]))
        except OSError:
            continue
    return None

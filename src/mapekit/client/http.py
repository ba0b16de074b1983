"""HTTP for provisioning: httpx with verification on, bounded bodies and redirects, and
every transport failure translated once, here, into a ProvisionError with a reason code.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from mapekit.provision.errors import ProvisionError
from mapekit.provision.jsonp import MAX_BODY

USER_AGENT = "mapekit"


@dataclass(frozen=True)
class HttpSettings:
    """How to talk to a rule server."""

    timeout: float = 10.0
    verify: bool = True  # TLS verification; off only by explicit opt-in
    ca_file: str | None = None  # an extra CA (e.g. a lab's), added to the system's
    max_redirects: int = 3
    source_address: str | None = None  # bind requests to this local address


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
            context.load_verify_locations(cafile=settings.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ProvisionError(
                "input.value_range",
                f"ca-file: cannot load {settings.ca_file}: {exc}",
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
        follow_redirects=True,
        max_redirects=settings.max_redirects,
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


def get(
    client: httpx.Client,
    url: str,
    params: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    """GET with a body limit; network trouble becomes a ProvisionError."""
    try:
        with client.stream("GET", url, params=list(params), headers=headers) as reply:
            body = b""
            for chunk in reply.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    break  # the codec refuses it with reply.too_large
            return Response(reply.status_code, body, str(reply.url))
    except httpx.TooManyRedirects:
        raise ProvisionError(
            "net.too_many_redirects", f"{url}: more than the allowed redirects", field="url"
        ) from None
    except httpx.TimeoutException:
        raise ProvisionError("net.timeout", f"{url}: no answer in time", field="url") from None
    except httpx.TransportError as exc:
        raise translate(exc, url) from None


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

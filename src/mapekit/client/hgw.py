"""The HGW check over IPv4 on the WAN side, concluding "no HGW" within the budget.

Without IPv4 on the WAN, without the name ``ntt.setup`` or without an answer there is no
HGW. Name resolution runs in a worker with a deadline, because a system resolver can
block for longer than the whole budget.
"""

from __future__ import annotations

import concurrent.futures
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from mapekit.client.http import HttpSettings, get, make_client
from mapekit.core.errors import MapeError
from mapekit.provision.hgw import DEFAULT_URL, HgwReport, HgwState, decode_check

BUDGET = 2.0  # seconds for the whole check
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="hgw-dns")


def _resolve_ipv4(host: str, timeout: float) -> str | None:
    try:
        socket.inet_aton(host)
        return host
    except OSError:
        pass
    future = _POOL.submit(socket.getaddrinfo, host, None, socket.AF_INET, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=max(0.01, timeout))
    except (concurrent.futures.TimeoutError, OSError, UnicodeError):
        return None
    return str(infos[0][4][0]) if infos else None


def check_hgw(
    url: str = DEFAULT_URL,
    budget: float = BUDGET,
    transport: httpx.BaseTransport | None = None,
    resolve: Callable[[str, float], str | None] = _resolve_ipv4,
) -> tuple[HgwReport, str]:
    """The HGW's state and a one-line account of how it was decided."""
    start = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = resolve(host, budget)
    if address is None:
        return HgwReport(HgwState.NONE), f"{host} does not resolve over IPv4"
    left = budget - (time.monotonic() - start)
    netloc = address + (f":{parts.port}" if parts.port else "")
    direct = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    settings = HttpSettings(timeout=max(0.05, left), max_redirects=0)
    try:
        with make_client(settings, transport) as client:
            reply = get(
                client,
                direct,
                [("callback", "hgw")],
                headers={"Host": parts.netloc},
                settings=settings,
            )
    except MapeError as exc:
        return HgwReport(HgwState.NONE), f"no answer from {host} ({address}): {exc.message}"
    if reply.status != 200:
        return HgwReport(HgwState.NONE), f"{host} answered HTTP {reply.status}"
    try:
        report = decode_check(reply.body)
    except MapeError as exc:
        return HgwReport(HgwState.NONE), f"{host} answered, but not as an HGW: {exc.message}"
    return report, f"{host} ({address}) says MAP-E is {report.state.value.upper()}"

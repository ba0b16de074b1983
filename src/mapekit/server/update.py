"""The IPIP update endpoint, ``GET /update``: a fixed-address CE tells the server its new
tunnel address after a prefix change and at start.

Authentication: the subscriber's update credentials, as HTTP Basic authentication or as
the query parameters ``user`` and ``pass`` (what operators' update URLs use; when either
is present the header is not read). ``address`` is the CE's new IPv6 tunnel address; without
it the request's source address (:mod:`mapekit.server.identity`) is taken. The address must
lie inside the subscriber's delegated prefix — unless the server follows renumbered lines
(``moves_prefix``, ``mape server serve --update-moves-prefix``): then an address outside
moves the subscriber's prefix to the one of the same length around it, provided that
prefix is free and fits the subscriber's rule set.

Answers are plain text; the first line is what a CE logs: ``OK <address>`` (200), or
``ERROR <field>: <reason>`` with 400 (the address), 401 (credentials, with
``WWW-Authenticate: Basic``), 403 (no IPIP tunnel for this subscriber) or 429 (too many
failed authentications from this client's /64, or for this user name: the admin API's
limit, one more attempt every 6 s after 10). A change of address is recorded with its time
and written to the audit log as ``update:<user>``; the password is never logged, stored in
clear or repeated in an answer.
"""

from __future__ import annotations

import base64
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from mapekit.server.identity import Address, limit_key, parse_address
from mapekit.server.ratelimit import RateLimiter
from mapekit.server.service import Answer, ServerError, Subscriber
from mapekit.server.store import Store
from mapekit.server.threads import Pools

PATH = "/update"
MAX_USER, MAX_PASSWORD = 64, 256
AUTH_BURST, AUTH_REFILL_SECONDS = 10.0, 6.0  # as the admin API's
CHALLENGE = ("WWW-Authenticate", 'Basic realm="mapekit update", charset="UTF-8"')


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


def _text(status: int, outcome: str, line: str, *headers: tuple[str, str]) -> Answer:
    return Answer(status, f"{line}\n".encode(), outcome, "text/plain", tuple(headers))


UNAUTHORIZED = _text(401, "unauthorized", "ERROR credentials: missing or wrong", CHALLENGE)


def credentials(query: Mapping[str, str], authorization: str | None) -> Credentials | None:
    """The credentials of a request: ``user``/``pass`` in the query, else Basic."""
    if "user" in query or "pass" in query:
        user, password = query.get("user"), query.get("pass")
        if user is None or password is None:
            return None
    else:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "basic" or len(token) > 4 * MAX_PASSWORD:
            return None
        try:
            text = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
            return None
        user, sep, password = text.partition(":")
        if not sep:
            return None
    if not user or len(user) > MAX_USER or len(password) > MAX_PASSWORD:
        return None
    return Credentials(user, password)


def tunnel_address(
    sub: Subscriber, given: str | None, client: Address | None, moves_prefix: bool = False
) -> str | Answer:
    """The new tunnel address of ``sub``: ``given``, else the client's; or the refusal
    (outside the subscriber's prefix only when prefixes may move)."""
    if sub.mechanisms.ipip is None:
        return _text(403, "not_ipip", "ERROR ipip: this subscriber has no IPIP tunnel")
    if given is None:
        address = client
        if not isinstance(address, ipaddress.IPv6Address):
            why = "the request did not come over IPv6; give address=IPV6"
            return _text(400, "bad_address", f"ERROR address: {why}")
    else:
        address = parse_address(given)
        if not isinstance(address, ipaddress.IPv6Address):
            why = f"{given[:60]!r} is not an IPv6 address"
            return _text(400, "bad_address", f"ERROR address: {why}")
    network = ipaddress.IPv6Network(sub.prefix_text)
    if address not in network and not moves_prefix:
        why = f"{address} is not inside the subscriber's prefix {network}"
        return _text(400, "outside_prefix", f"ERROR address: {why}")
    return str(address)


class UpdateApi:
    """The handler over one store; failed authentications limited as for the admin API."""

    def __init__(
        self, store: Store, pools: Pools, limit_failures: bool = True, moves_prefix: bool = False
    ) -> None:
        self.store, self.pools, self.moves_prefix = store, pools, moves_prefix
        rate = 1.0 / AUTH_REFILL_SECONDS if limit_failures else 0.0  # 0: off (tests only)
        self.failures = RateLimiter(rate, AUTH_BURST)

    async def handle(self, query: Mapping[str, str], authorization: str | None,
                     client: Address | None) -> Answer:  # fmt: skip
        creds = credentials(query, authorization)
        keys = [limit_key(client, None)] + ([f"user:{creds.user}"] if creds else [])
        now = time.monotonic()
        if any(self.failures.exhausted(key, now) for key in keys):
            retry = ("Retry-After", str(int(AUTH_REFILL_SECONDS)))
            return _text(429, "rate_limited", "ERROR credentials: too many failures; wait", retry)
        sub = None
        if creds is not None:
            sub = await self.pools.read(self.store.update_login, creds.user, creds.password)
        if creds is None or sub is None:
            for key in keys:
                self.failures.allow(key, now)
            return UNAUTHORIZED
        return await self.pools.write(self._record, sub, creds.user, query.get("address"), client)

    def _record(self, sub: Subscriber, user: str, given: str | None,
                client: Address | None) -> Answer:  # fmt: skip
        address = tunnel_address(sub, given, client, self.moves_prefix)
        if isinstance(address, Answer):
            return address
        try:
            old = self.store.record_ipip_address(sub.id, address, f"update:{user}",
                                                 move=self.moves_prefix)  # fmt: skip
        except ServerError as exc:  # the moved prefix is taken or does not fit
            status = 409 if exc.reason_code == "server.exists" else 400
            return _text(status, "prefix_refused", f"ERROR {exc.message}")
        if ipaddress.IPv6Address(address) not in ipaddress.IPv6Network(sub.prefix_text):
            return _text(200, "moved", f"OK {address}\nprefix moved from {sub.prefix_text}")
        return _text(200, "unchanged" if old == address else "updated", f"OK {address}")


__all__ = ["PATH", "Credentials", "UpdateApi", "credentials", "tunnel_address"]

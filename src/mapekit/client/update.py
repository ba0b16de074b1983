"""The update URL of an IPIP fixed-address line: the CE tells the operator its tunnel
address after every prefix change and at start.

Operators publish a URL to call (GET) with the subscriber's credentials. The URL may name
``{address}`` (the CE's IPv6 tunnel address), ``{prefix}``, ``{user}`` and ``{password}``,
each filled in URL-encoded; without ``{user}``/``{password}`` the credentials go as HTTP
Basic authentication. Without ``{address}`` the server learns the address from the
request's source, so the call is sent from the tunnel address (unless the settings bind
another). The credentials come from the configuration only, are sent over
verified TLS when the URL is https, and never appear in a log line or the status: what is
logged is the URL with them masked, and the first line of the answer. httpx logs every
request's URL (logger ``httpx``, level INFO); during the call that line shows the masked
URL too.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import quote

from mapekit.client.http import HttpSettings, get, make_client
from mapekit.provision.errors import ProvisionError

MASK = "****"
MAX_ANSWER = 200


@dataclass(frozen=True)
class UpdateUrl:
    template: str
    user: str | None = None
    password: str | None = None

    def url(self, address: str, prefix: str, masked: bool = False) -> str:
        def fill(value: str | None) -> str:
            return MASK if masked and value else quote(value or "", safe="")

        return (self.template.replace("{address}", quote(address, safe=":"))
                .replace("{prefix}", quote(prefix, safe=":/"))
                .replace("{user}", fill(self.user))
                .replace("{password}", fill(self.password)))  # fmt: skip

    def mask(self, text: str) -> str:
        """``text`` with the credentials (and their URL-encoded forms) replaced by ****: a
        server's answer may echo them."""
        for secret in (self.password, self.user):
            if secret:
                text = text.replace(secret, MASK).replace(quote(secret, safe=""), MASK)
        return text

    def headers(self) -> dict[str, str]:
        if self.user is None or "{user}" in self.template or "{password}" in self.template:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


@dataclass(frozen=True)
class UpdateAnswer:
    """What the update URL answered: the HTTP status and the first line of the body
    (bounded, the credentials masked)."""

    url: str  # masked
    status: int
    first_line: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.first_line}".strip()

    def refusal(self) -> ProvisionError:
        return ProvisionError("update.refused", f"{self.url}: {self}", field="update_url")


def call_update(update: UpdateUrl, address: str, prefix: str, http: HttpSettings) -> UpdateAnswer:
    """Call the update URL: its answer (a refusal too), or a ProvisionError when none came
    (DNS, connection, TLS, timeout). Neither carries the credentials."""
    url = update.url(address, prefix)
    shown = update.url(address, prefix, masked=True)
    if "{address}" not in update.template and http.source_address is None:
        http = replace(http, source_address=address)
    try:
        with make_client(http) as client, _masked(url, shown, update.password):
            reply = get(client, url, headers=update.headers(), settings=http)
    except ProvisionError as exc:
        message = update.mask(exc.message.replace(url, shown))
        raise ProvisionError(exc.reason_code, f"{shown}: {message}", field="update_url") from None
    answer = reply.body[:MAX_ANSWER].decode("utf-8", "replace").strip().splitlines()
    return UpdateAnswer(shown, reply.status, update.mask(answer[0] if answer else ""))


class _Mask(logging.Filter):
    """Replaces the URL with credentials by the masked one in log records (and the
    password in any other form the logger may print it)."""

    def __init__(self, url: str, shown: str, password: str | None) -> None:
        super().__init__()
        self.url, self.shown = url, shown
        forms = [quote(password, safe=""), password] if password else []
        self.password = [re.compile(re.escape(form), re.IGNORECASE) for form in forms]

    def filter(self, record: logging.LogRecord) -> bool:
        text = original = record.getMessage()
        text = text.replace(self.url, self.shown)
        for form in self.password:  # escapes in either case
            text = form.sub(MASK, text)
        if text != original:
            record.msg, record.args = text, ()
        return True


@contextmanager
def _masked(url: str, shown: str, password: str | None) -> Iterator[None]:
    logger = logging.getLogger("httpx")
    mask = _Mask(url, shown, password)
    logger.addFilter(mask)
    try:
        yield
    finally:
        logger.removeFilter(mask)

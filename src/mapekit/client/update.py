"""The update URL of an IPIP fixed-address line: the CE tells the operator its tunnel
address after every prefix change and at start.

Operators publish a URL to call (GET) with the subscriber's credentials. The URL may name
``{address}`` (the CE's IPv6 tunnel address), ``{prefix}``, ``{user}`` and ``{password}``,
each filled in URL-encoded; without ``{user}``/``{password}`` the credentials go as HTTP
Basic authentication. The credentials come from the configuration only, are sent over
verified TLS when the URL is https, and never appear in a log line or the status: what is
logged is the URL with them masked, and the first line of the answer.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
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
    try:
        with make_client(http) as client:
            reply = get(client, url, headers=update.headers(), settings=http)
    except ProvisionError as exc:
        message = update.mask(exc.message.replace(url, shown))
        raise ProvisionError(exc.reason_code, f"{shown}: {message}", field="update_url") from None
    answer = reply.body[:MAX_ANSWER].decode("utf-8", "replace").strip().splitlines()
    return UpdateAnswer(shown, reply.status, update.mask(answer[0] if answer else ""))

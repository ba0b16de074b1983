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

    def headers(self) -> dict[str, str]:
        if self.user is None or "{user}" in self.template or "{password}" in self.template:
            return {}
        token = base64.b64encode(f"{self.user}:{self.password or ''}".encode()).decode()
        return {"Authorization": f"Basic {token}"}


def call_update(update: UpdateUrl, address: str, prefix: str, http: HttpSettings) -> str:
    """Call the update URL; the answer's first line (bounded), or a ProvisionError that
    never carries the credentials."""
    url = update.url(address, prefix)
    shown = update.url(address, prefix, masked=True)
    try:
        with make_client(http) as client:
            reply = get(client, url, headers=update.headers(), settings=http)
    except ProvisionError as exc:
        raise ProvisionError(exc.reason_code, f"{shown}: {exc.message.replace(url, shown)}",
                             field="update_url") from None  # fmt: skip
    answer = reply.body[:MAX_ANSWER].decode("utf-8", "replace").strip().splitlines()
    first = answer[0] if answer else ""
    if not 200 <= reply.status < 300:
        raise ProvisionError("update.refused", f"{shown}: HTTP {reply.status} {first}",
                             field="update_url")  # fmt: skip
    return f"HTTP {reply.status} {first}".strip()

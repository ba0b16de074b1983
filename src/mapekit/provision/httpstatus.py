"""What an HTTP status from a rule server means (docs/design.md §3)."""

from __future__ import annotations

from mapekit.provision.errors import ProvisionError
from mapekit.provision.model import Provider


def check_status(status: int, body: bytes, provider: Provider, what: str) -> None:
    """Raise the ProvisionError that ``status`` stands for; return for 200."""
    if status == 200:
        return
    if status == 403 or (status == 404 and provider is Provider.HB46PP):
        raise ProvisionError(
            "rules.forbidden",
            f"{what}: HTTP {status}: the server does not know this source address",
            field="status",
            value=status,
        )
    if 400 <= status < 500:
        raise ProvisionError(
            "rules.rejected", f"{what}: HTTP {status}", field="status", value=status
        )
    if status >= 500:
        hint = ""
        if status == 503 and not body.strip():
            hint = " with an empty body (also the answer to a retired or unknown manufacturer code)"
        raise ProvisionError(
            "server.error", f"{what}: HTTP {status}{hint}", field="status", value=status
        )
    raise ProvisionError(
        "rules.rejected",
        f"{what}: unexpected HTTP {status}",
        field="status",
        value=status,
    )

"""A saved DS-Lite or IPIP delivery (``rules.json`` with a ``mechanism`` key)."""

from __future__ import annotations

from mapekit.core.errors import MapeError
from mapekit.provision.model import Provider, SoftwireDelivery

FIELDS = ("remote", "remote_name", "local", "ipv4", "token")


def softwire_to_dict(delivery: SoftwireDelivery, version: int) -> dict[str, object]:
    return {
        "version": version,
        "provider": delivery.provider.value,
        "mechanism": delivery.mechanism,
        **{name: getattr(delivery, name) for name in FIELDS},
        "interface_id": delivery.interface_id,
        "ttl": delivery.ttl,
    }


def softwire_from_dict(doc: dict[str, object]) -> SoftwireDelivery:
    mechanism = doc.get("mechanism")
    if mechanism not in ("dslite", "ipip"):
        raise MapeError("state.corrupt", "mechanism: not dslite or ipip", field="mechanism")
    values: dict[str, object] = {}
    for name in FIELDS:
        value = doc.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise MapeError("state.corrupt", f"{name}: not a string", field=name)
        values[name] = value
    for name in ("interface_id", "ttl"):
        value = doc.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise MapeError("state.corrupt", f"{name}: not an integer", field=name)
        values[name] = value
    if not isinstance(values["remote"], str):
        raise MapeError("state.corrupt", "remote: missing", field="remote")
    try:
        provider = Provider(doc.get("provider"))
    except ValueError:
        raise MapeError("state.corrupt", "provider: unknown", field="provider") from None
    return SoftwireDelivery(provider, str(mechanism), **values)  # type: ignore[arg-type]

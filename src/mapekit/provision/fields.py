"""Typed access to decoded JSON, raising ReplyError that names the field path."""

from __future__ import annotations

from collections.abc import Mapping

from mapekit.core.errors import MapeError
from mapekit.provision.errors import ReplyError

_MISSING = object()


def as_object(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise ReplyError(
            "reply.wrong_type",
            f"{field}: expected an object, got {type(value).__name__}",
            field=field,
        )
    return value


def as_list(value: object, field: str, max_items: int) -> list[object]:
    if not isinstance(value, list):
        raise ReplyError(
            "reply.wrong_type",
            f"{field}: expected a list, got {type(value).__name__}",
            field=field,
        )
    if len(value) > max_items:
        raise ReplyError(
            "reply.bad_value",
            f"{field}: {len(value)} entries, more than the {max_items} allowed",
            field=field,
            value=len(value),
        )
    return value


def _get(obj: Mapping[str, object], key: str, field: str) -> object:
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        raise ReplyError("reply.missing_field", f"{field}: missing", field=field)
    return value


def get_str(obj: Mapping[str, object], key: str, where: str, max_len: int = 256) -> str:
    field = f"{where}.{key}" if where else key
    value = _get(obj, key, field)
    if not isinstance(value, str):
        raise ReplyError(
            "reply.wrong_type",
            f"{field}: expected a string, got {type(value).__name__} {value!r:.40}",
            field=field,
        )
    if len(value) > max_len:
        raise ReplyError(
            "reply.bad_value", f"{field}: longer than {max_len} characters", field=field
        )
    return value


def get_int(obj: Mapping[str, object], key: str, where: str, low: int, high: int) -> int:
    field = f"{where}.{key}" if where else key
    value = _get(obj, key, field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ReplyError(
            "reply.wrong_type",
            f"{field}: expected an integer, got {type(value).__name__} {value!r:.40}",
            field=field,
        )
    if not low <= value <= high:
        raise ReplyError(
            "reply.bad_value",
            f"{field}: {value} is outside {low}-{high}",
            field=field,
            value=value,
        )
    return value


def optional(obj: Mapping[str, object], key: str) -> bool:
    """True when ``key`` is present with a non-null value."""
    return obj.get(key) is not None


def remote(exc: MapeError, where: str, names: Mapping[str, str] | None = None) -> ReplyError:
    """A local validation error (bad rule, bad prefix) re-raised as the peer's fault.

    ``names`` renames the rule model's fields to the wire's (``ea_len`` → ``ea_length``).
    """
    name = (names or {}).get(exc.field or "", exc.field)
    field = f"{where}.{name}" if name else where
    return ReplyError(
        "reply.invalid_rule",
        f"{where}: {exc.message} ({exc.reason_code})",
        field=field,
        value=exc.value,
    )

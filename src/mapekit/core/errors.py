"""Errors of the mapping engine.

::

    MapeError                   every error mapekit raises on purpose
     ├── InputError             a value from the user is malformed or out of range
     ├── RuleError              a MAP-E rule is inconsistent
     ├── LookupFailure          well-formed input that no rule or port set maps
     └── DataError              a rule file or an encoded option cannot be used

Each error carries a registered ``reason_code`` (``mapekit.core.reasons``), a message
saying what is wrong here, the ``field`` it concerns and the offending ``value``. Later
layers subclass :class:`MapeError` the same way.
"""

from __future__ import annotations

from mapekit.core.reasons import Reason, reason


class MapeError(Exception):
    """Base of every mapekit error."""

    def __init__(
        self,
        reason_code: str,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.reason: Reason = reason(reason_code)
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value

    @property
    def reason_code(self) -> str:
        return self.reason.code

    def to_dict(self) -> dict[str, object]:
        """The JSON form: ``{"reason_code", "message", "field"}`` (and ``value``)."""
        out: dict[str, object] = {
            "reason_code": self.reason_code,
            "message": self.message,
            "field": self.field,
        }
        if self.value is not None:
            out["value"] = self.value if isinstance(self.value, int | str) else str(self.value)
        return out

    def with_field_prefix(self, prefix: str) -> MapeError:
        """The same error re-addressed, e.g. ``ea_len`` → ``rules[3].ea_len``."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        message = f"{prefix}: {self.message}"
        return type(self)(self.reason_code, message, field=field, value=self.value)


class InputError(MapeError):
    """A value given by the user is malformed or out of range."""


class RuleError(MapeError):
    """A MAP-E rule is inconsistent."""


class LookupFailure(MapeError):
    """Well-formed input that no rule or port set maps."""


class DataError(MapeError):
    """A rule file or an encoded option cannot be used."""

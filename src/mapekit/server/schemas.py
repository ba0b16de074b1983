"""The one validation layer of the rule server's admin inputs, and its response shapes.

Every admin input — JSON bodies, CSV rows, path and query parameters, and the CLI's
arguments — is checked here before it reaches the store: types are strict (``"false"``
is not a boolean, a list is not an id), ids and names match a pattern, prefixes are global
unicast (inside 2000::/3) of /32 to /64 without a zone, integers are ASCII digits within
bounds. A failure is one :class:`ServerError` naming the field (``usage.invalid_arguments``,
HTTP 400). The OpenAPI document (:mod:`mapekit.server.openapi`) is generated from these
models, so the description and the checks cannot drift apart.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from mapekit.server.service import ServerError

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CODE_PATTERN = r"^[0-9A-Fa-f]{32}$"
MIN_PREFIX_LEN, MAX_PREFIX_LEN = 32, 64
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
MAX_LIMIT, MAX_OFFSET = 10_000, 1_000_000_000
_DIGITS = re.compile(r"[0-9]{1,10}")

SubscriberId = Annotated[str, Field(pattern=ID_PATTERN, description="1-64 of [A-Za-z0-9_-]")]
RuleSetName = Annotated[str, Field(pattern=NAME_PATTERN, description="rule set name")]
TargetName = Literal["hgw", "router"]
Scope = Literal["read", "write"]
M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def check_prefix(text: str, field: str = "prefix") -> str:
    """A subscriber prefix: ADDRESS/LENGTH, global unicast, /32-/64, no host bits, no
    zone; returns its canonical text."""
    if "%" in text:
        raise ValueError("a zone id (%…) has no place in a prefix")
    try:
        network = ipaddress.IPv6Network(text.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"not an IPv6 prefix ({exc})") from None
    if "/" not in text:
        raise ValueError("needs a length, e.g. /56")
    if not MIN_PREFIX_LEN <= network.prefixlen <= MAX_PREFIX_LEN:
        raise ValueError(f"/{network.prefixlen} is not a delegated prefix length (/32 to /64)")
    if not network.subnet_of(GLOBAL_UNICAST):
        raise ValueError("not global unicast (2000::/3)")
    return str(network)


class SubscriberIn(Strict):
    """A new subscriber."""

    prefix: str = Field(max_length=64, description="delegated prefix, e.g. 240b:10:3f6c:d400::/56")
    rules: RuleSetName
    target: TargetName = "router"
    id: SubscriberId | None = None
    hgw_rental: StrictBool | None = Field(
        default=None, description="default: true when the target is hgw"
    )

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_prefix(value)


class TargetIn(Strict):
    target: TargetName


class HgwIn(Strict):
    rental: StrictBool


class VendorIn(Strict):
    code: str = Field(pattern=CODE_PATTERN, description="32 hexadecimal digits")
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    kind: TargetName = "router"


class EnabledIn(Strict):
    enabled: StrictBool


class RuleImportIn(Strict):
    """``mape server rules import`` arguments."""

    name: RuleSetName
    dmr: str | None = Field(default=None, max_length=64, description="BR IPv6 address")
    fixlen: int = Field(default=56, ge=0, le=64)

    @field_validator("dmr")
    @classmethod
    def _dmr(cls, value: str | None) -> str | None:
        if value is None:
            return None
        address = ipaddress.IPv6Address(value)  # ValueError names the text
        if address not in GLOBAL_UNICAST:
            raise ValueError("the BR address must be global unicast (2000::/3)")
        return str(address)


# --- responses ------------------------------------------------------------------------


class SubscriberOut(Strict):
    id: str
    prefix: str
    hgw_rental: bool
    target: TargetName
    rule_set_id: int


class SubscriberList(Strict):
    subscribers: list[SubscriberOut]
    total: int


class VendorOut(Strict):
    code: str
    name: str
    kind: TargetName
    enabled: bool


class VendorList(Strict):
    vendors: list[VendorOut]


class VendorAdded(Strict):
    code: str
    kind: TargetName


class VendorEnabled(Strict):
    code: str
    enabled: bool


class RuleOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    ipv6_prefix: str
    ipv4_prefix: str
    ea_len: int
    psid_offset: int


class RuleSetOut(Strict):
    name: str
    dmr: str
    ipv6_fixlen: int | None
    iid: str
    rules: list[RuleOut]


class RuleSetList(Strict):
    rule_sets: list[str]


class ReportOut(Strict):
    id: int
    at: float
    subscriber_id: str | None
    code: str
    action: int
    reason: int
    client: str


class ReportList(Strict):
    reports: list[ReportOut]


class AuditOut(Strict):
    at: float
    actor: str
    entity: str
    entity_id: str
    field: str
    old: str | None
    new: str | None


class AuditList(Strict):
    audit: list[AuditOut]


class TokenOut(Strict):
    name: str
    scopes: list[Scope]
    created_at: float


class TokenList(Strict):
    tokens: list[TokenOut]


class Revoked(Strict):
    name: str
    revoked: bool


class ImportResult(Strict):
    added: int


class ErrorDetail(BaseModel):
    reason_code: str
    message: str
    field: str | None
    value: int | str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- parsing --------------------------------------------------------------------------


def invalid(field: str, why: str) -> ServerError:
    return ServerError("usage.invalid_arguments", f"{field}: {why}", field=field)


def from_validation(exc: ValidationError, where: str = "") -> ServerError:
    """The first problem of a pydantic error, as one ServerError naming its field."""
    first = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first["loc"])
    field = ".".join(part for part in (where, loc) if part) or "body"
    return invalid(field, str(first["msg"]).removeprefix("Value error, "))


def parse_model(model: type[M], data: bytes | object, where: str = "") -> M:
    """``model`` from JSON bytes or from decoded values; 400 naming the field otherwise."""
    try:
        if isinstance(data, bytes):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation(exc, where) from None


def bounded_int(text: str | None, field: str, default: int, low: int, high: int) -> int:
    """A query parameter: ASCII digits only (no ``²``, no sign), within [low, high]."""
    if text is None:
        return default
    if not _DIGITS.fullmatch(text):
        raise invalid(field, f"expected an integer from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise invalid(field, f"{value} is outside {low}-{high}")
    return value


def path_value(text: str, pattern: str, field: str) -> str:
    if not re.fullmatch(pattern.strip("^$"), text):
        raise invalid(field, "not a valid value (see the API description)")
    return text

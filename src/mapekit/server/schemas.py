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
import json
import re
from typing import Annotated, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    ValidationError,
    field_validator,
)

from mapekit.server import softwires as sw
from mapekit.server.passwords import MAX_LENGTH, MIN_LENGTH, check_password
from mapekit.server.service import ServerError

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CODE_PATTERN = r"^[0-9A-Fa-f]{32}$"
USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,47}$"
MIN_PREFIX_LEN, MAX_PREFIX_LEN = 32, 64
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
MAX_LIMIT, MAX_OFFSET = 10_000, 1_000_000_000
MAX_NAME_BYTES = 256  # an HB46PP name with its quotes (the specification's limit)
_DIGITS = re.compile(r"[0-9]{1,10}")

SubscriberId = Annotated[str, Field(pattern=ID_PATTERN, description="1-64 of [A-Za-z0-9_-]")]
RuleSetName = Annotated[str, Field(pattern=NAME_PATTERN, description="rule set name")]
TargetName = Literal["hgw", "router"]
Mechanism = Literal["map_e", "dslite", "ipip"]
UpdateUser = Annotated[str, Field(pattern=USER_PATTERN, description="1-48 of [A-Za-z0-9._@+-]")]
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


class MechanismChecks(Strict):
    """The checks of a subscriber's mechanism parameters (for the models below)."""

    @field_validator("order", check_fields=False)
    @classmethod
    def _order(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(sw.parse_order(value))

    @field_validator("aftr", check_fields=False)
    @classmethod
    def _aftr(cls, value: str | None) -> str | None:
        return None if value is None else sw.parse_aftr(value)

    @field_validator("ipip_remote", check_fields=False)
    @classmethod
    def _remote(cls, value: str | None) -> str | None:
        return None if value is None else sw.parse_ipv6(value)

    @field_validator("ipip_ipv4", check_fields=False)
    @classmethod
    def _ipv4(cls, value: str | None) -> str | None:
        return None if value is None else sw.parse_ipv4(value)

    @field_validator("ipip_interface_id", check_fields=False)
    @classmethod
    def _iid(cls, value: str | None) -> str | None:
        return None if value is None else str(ipaddress.IPv6Address(sw.parse_interface_id(value)))

    @field_validator("update_password", check_fields=False)
    @classmethod
    def _password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_password(value.get_secret_value())
        return value

    def ipip(self) -> sw.IpipParams | None:
        """The IPIP parameters given (all three or none; else a FieldProblem)."""
        iid_text: str | None = getattr(self, "ipip_interface_id", None)
        iid = None if iid_text is None else int(ipaddress.IPv6Address(iid_text))
        return sw.ipip_params(getattr(self, "ipip_remote", None),
                              getattr(self, "ipip_ipv4", None), iid)  # fmt: skip


ORDER_HELP = "mechanisms offered, in order (default map_e)"
AFTR_HELP = "DS-Lite AFTR: a DNS name or an IPv6 address"
REMOTE_HELP = "IPIP endpoint (IPv6 address)"
IPV4_HELP = "IPIP fixed IPv4 address, or prefix /24 to /32"
IID_HELP = "IPIP interface id, ::1234:5678:9abc:def0 (the CE's address: prefix subnet 0 + it)"
PASSWORD_HELP = f"update endpoint password, {MIN_LENGTH}-{MAX_LENGTH} characters (stored hashed)"


def _default_order() -> list[Mechanism]:
    return ["map_e"]


class SubscriberIn(MechanismChecks):
    """A new subscriber."""

    prefix: str = Field(max_length=64, description="delegated prefix, e.g. 240b:10:3f6c:d400::/56")
    rules: RuleSetName | None = Field(
        default=None, description="MAP-E rule set; required when order has map_e"
    )
    target: TargetName = "router"
    id: SubscriberId | None = None
    hgw_rental: StrictBool | None = Field(
        default=None, description="default: true when the target is hgw"
    )
    order: list[Mechanism] = Field(
        default_factory=_default_order, min_length=1, max_length=3, description=ORDER_HELP
    )
    aftr: str | None = Field(default=None, max_length=255, description=AFTR_HELP)
    ipip_remote: str | None = Field(default=None, max_length=64, description=REMOTE_HELP)
    ipip_ipv4: str | None = Field(default=None, max_length=32, description=IPV4_HELP)
    ipip_interface_id: str | None = Field(default=None, max_length=64, description=IID_HELP)
    update_user: UpdateUser | None = None
    update_password: SecretStr | None = Field(default=None, description=PASSWORD_HELP)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_prefix(value)

    def mechanisms(self, password_set: bool) -> sw.Mechanisms:
        """The mechanisms given (a FieldProblem when the IPIP parameters are partial)."""
        return sw.Mechanisms(tuple(self.order), self.aftr, self.ipip(), self.update_user,
                             password_set)  # fmt: skip


class MechanismsIn(MechanismChecks):
    """Changes to a subscriber's mechanisms: a field given replaces its value, ``null``
    clears it (``update_user: null`` clears the credentials), a field left out stays."""

    order: list[Mechanism] | None = Field(default=None, min_length=1, max_length=3,
                                          description=ORDER_HELP)  # fmt: skip
    aftr: str | None = Field(default=None, max_length=255, description=AFTR_HELP)
    ipip_remote: str | None = Field(default=None, max_length=64, description=REMOTE_HELP)
    ipip_ipv4: str | None = Field(default=None, max_length=32, description=IPV4_HELP)
    ipip_interface_id: str | None = Field(default=None, max_length=64, description=IID_HELP)
    update_user: UpdateUser | None = None
    update_password: SecretStr | None = Field(default=None, description=PASSWORD_HELP)

    @field_validator("order", "update_password", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value


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
    rule_set_id: int | None
    order: list[Mechanism]
    aftr: str | None
    ipip_remote: str | None
    ipip_ipv4: str | None
    ipip_interface_id: str | None
    ipip_local: str | None = Field(description="the CE's tunnel address HB46PP announces")
    ipip_local_current: str | None = Field(description="the address of the last update call")
    ipip_updated_at: float | None
    update_user: str | None
    update_password_set: bool


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


def hb46pp_name(text: str | None, field: str) -> str | None:
    """An HB46PP name (``enabler_name`` …): printable, at most 256 bytes as a JSON string."""
    if text is None:
        return None
    if not text.strip() or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise invalid(field, "needs printable characters (no control characters)")
    if len(json.dumps(text)) > MAX_NAME_BYTES:
        raise invalid(field, f"longer than {MAX_NAME_BYTES} bytes as a JSON string")
    return text


def path_value(text: str, pattern: str, field: str) -> str:
    if not re.fullmatch(pattern.strip("^$"), text):
        raise invalid(field, "not a valid value (see the API description)")
    return text

"""DHCPv6 Softwire46 options (RFC 7598) as validated values, standard library only.

This module holds the option codes, :class:`S46Kind` and the frozen dataclasses
:class:`PortParams`, :class:`S46Rule`, :class:`V4V6Bind` and :class:`S46Container`, and
:func:`container_rules`, which turns a MAP-E or MAP-T container into the mapping engine's
rules (:class:`~mapekit.core.rule.MappingRule`). The wire format, decoding and encoding
bytes, lives in :mod:`mapekit.core.s46_wire`, which builds on this module.

The dataclasses validate themselves when built: field ranges (RFC 7598 §4.1, §4.5), field
types, unknown options kept raw as ``(code, bytes)`` pairs (never an S46 code), and the
container layout of RFC 7598 §5.1-5.3 (MAP-E: at least one S46_RULE and at least one S46_BR;
MAP-T: at least one S46_RULE and exactly one S46_DMR; lw4o6: at least one S46_BR and at
most one S46_V4V6BIND; nothing else). A problem raises
:class:`~mapekit.core.errors.DataError` with ``data.s46_bad_option`` or
``data.s46_missing_option``; its ``field`` names the dataclass field in wire terms
(``ea-len``, ``S46_PORTPARAMS``, ``S46_BR[1]``...), which the decoder prefixes with the
option's path.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from mapekit.core.errors import DataError, MapeError
from mapekit.core.rule import IidFormat, MappingRule

__all__ = [
    "OPTION_S46_BR",
    "OPTION_S46_CONT_LW",
    "OPTION_S46_CONT_MAPE",
    "OPTION_S46_CONT_MAPT",
    "OPTION_S46_DMR",
    "OPTION_S46_PORTPARAMS",
    "OPTION_S46_RULE",
    "OPTION_S46_V4V6BIND",
    "PortParams",
    "S46Container",
    "S46Kind",
    "S46Rule",
    "V4V6Bind",
    "container_rules",
]

OPTION_S46_RULE = 89
OPTION_S46_BR = 90
OPTION_S46_DMR = 91
OPTION_S46_V4V6BIND = 92
OPTION_S46_PORTPARAMS = 93
OPTION_S46_CONT_MAPE = 94
OPTION_S46_CONT_MAPT = 95
OPTION_S46_CONT_LW = 96

_MAX_OPTION_LEN = 0xFFFF
_MAX_EA_LEN = 48
_DEFAULT_PSID_OFFSET = 6  # RFC 7597 §5.1, when no S46_PORTPARAMS gives one

Unknown = tuple[tuple[int, bytes], ...]


class S46Kind(enum.IntEnum):
    """The three Softwire46 containers (RFC 7598 §5), by option code."""

    MAP_E = OPTION_S46_CONT_MAPE
    MAP_T = OPTION_S46_CONT_MAPT
    LW4O6 = OPTION_S46_CONT_LW


# Option names, RFC 7598 sections and places, for messages here and in s46_wire.
_NAMES: dict[int, str] = {
    OPTION_S46_RULE: "S46_RULE",
    OPTION_S46_BR: "S46_BR",
    OPTION_S46_DMR: "S46_DMR",
    OPTION_S46_V4V6BIND: "S46_V4V6BIND",
    OPTION_S46_PORTPARAMS: "S46_PORTPARAMS",
    OPTION_S46_CONT_MAPE: "S46_CONT_MAPE",
    OPTION_S46_CONT_MAPT: "S46_CONT_MAPT",
    OPTION_S46_CONT_LW: "S46_CONT_LW",
}
_SECTIONS: dict[int, str] = {
    OPTION_S46_RULE: "4.1",
    OPTION_S46_BR: "4.2",
    OPTION_S46_DMR: "4.3",
    OPTION_S46_V4V6BIND: "4.4",
    OPTION_S46_PORTPARAMS: "4.5",
    OPTION_S46_CONT_MAPE: "5.1",
    OPTION_S46_CONT_MAPT: "5.2",
    OPTION_S46_CONT_LW: "5.3",
}
# Where RFC 7598 puts each option; used in the message when one turns up elsewhere.
_PLACES: dict[int, str] = {
    OPTION_S46_RULE: "OPTION_S46_CONT_MAPE and OPTION_S46_CONT_MAPT",
    OPTION_S46_BR: "OPTION_S46_CONT_MAPE and OPTION_S46_CONT_LW",
    OPTION_S46_DMR: "OPTION_S46_CONT_MAPT",
    OPTION_S46_V4V6BIND: "OPTION_S46_CONT_LW",
    OPTION_S46_PORTPARAMS: "OPTION_S46_RULE and OPTION_S46_V4V6BIND",
    OPTION_S46_CONT_MAPE: "the top level of a DHCPv6 message",
    OPTION_S46_CONT_MAPT: "the top level of a DHCPv6 message",
    OPTION_S46_CONT_LW: "the top level of a DHCPv6 message",
}
_S46_CODES = frozenset(_NAMES)
_KIND_CODES = tuple(S46Kind)  # a tuple: membership by ==, no hashing

# Container layout (RFC 7598 §5.1-5.3): options it must carry, and options it may carry.
_REQUIRED: dict[S46Kind, frozenset[int]] = {
    S46Kind.MAP_E: frozenset({OPTION_S46_RULE, OPTION_S46_BR}),
    S46Kind.MAP_T: frozenset({OPTION_S46_RULE, OPTION_S46_DMR}),
    S46Kind.LW4O6: frozenset({OPTION_S46_BR}),
}
_ALLOWED: dict[S46Kind, frozenset[int]] = {
    S46Kind.MAP_E: frozenset({OPTION_S46_RULE, OPTION_S46_BR}),
    S46Kind.MAP_T: frozenset({OPTION_S46_RULE, OPTION_S46_DMR}),
    S46Kind.LW4O6: frozenset({OPTION_S46_BR, OPTION_S46_V4V6BIND}),
}


def _label(code: int) -> str:
    """``OPTION_S46_RULE (89)``, or ``option code 23`` for a code this module does not know."""
    return f"OPTION_{_NAMES[code]} ({int(code)})" if code in _NAMES else f"option code {int(code)}"


def _bad(field: str, value: object, message: str) -> DataError:
    return DataError("data.s46_bad_option", message, field=field, value=value)


# --- the dataclasses ----------------------------------------------------------------------


def _check_int(value: object, low: int, high: int, field: str, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, repr(value), f"{what} must be an integer, not {type(value).__name__}")
    if not low <= value <= high:
        raise _bad(field, value, f"{what} is {value}, outside the allowed {low}..{high}")


def _check_type(value: object, kind: type, field: str, what: str) -> None:
    if not isinstance(value, kind):
        raise _bad(
            field, repr(value), f"{what} must be {kind.__name__}, not {type(value).__name__}"
        )


def _check_unknown(unknown: object, field: str) -> Unknown:
    """Unknown options as a tuple of ``(code, bytes)``; S46 codes belong in their fields."""
    if not isinstance(unknown, tuple | list):
        raise _bad(field, repr(unknown), f"{field} must be a tuple of (code, bytes) pairs")
    out: list[tuple[int, bytes]] = []
    for index, item in enumerate(unknown):
        where = f"{field}[{index}]"
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes)):
            raise _bad(where, repr(item), f"{where} must be a (code, bytes) pair")
        code, data = item
        _check_int(code, 0, 0xFFFF, where, f"{where} option code")
        if code in _S46_CODES:
            raise _bad(
                where, code, f"{where}: {_label(code)} is decoded by this module, not kept raw"
            )
        _check_int(len(data), 0, _MAX_OPTION_LEN, where, f"{where} data length")
        out.append((code, data))
    return tuple(out)


@dataclass(frozen=True)
class PortParams:
    """OPTION_S46_PORTPARAMS (RFC 7598 §4.5); ``psid`` is the right-aligned value."""

    offset: int
    psid_len: int
    psid: int

    def __post_init__(self) -> None:
        _check_int(self.offset, 0, 15, "offset", "OPTION_S46_PORTPARAMS offset (RFC 7598 §4.5)")
        _check_int(self.psid_len, 0, 16, "PSID-len", "OPTION_S46_PORTPARAMS PSID-len")
        if self.offset + self.psid_len > 16:
            raise _bad(
                "PSID-len",
                self.psid_len,
                f"OPTION_S46_PORTPARAMS offset {self.offset} + PSID-len {self.psid_len} "
                f"= {self.offset + self.psid_len} exceeds the 16 bits of a port number",
            )
        limit = (1 << self.psid_len) - 1
        _check_int(
            self.psid, 0, limit, "PSID", f"OPTION_S46_PORTPARAMS PSID ({self.psid_len} bits)"
        )


@dataclass(frozen=True)
class S46Rule:
    """OPTION_S46_RULE (RFC 7598 §4.1): a BMR, and also an FMR when ``fmr`` (the F flag)."""

    fmr: bool
    ea_len: int
    ipv4_prefix: IPv4Network
    ipv6_prefix: IPv6Network
    port_params: PortParams | None = None
    unknown: Unknown = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fmr", bool(self.fmr))
        _check_int(self.ea_len, 0, _MAX_EA_LEN, "ea-len", "OPTION_S46_RULE ea-len (RFC 7598 §4.1)")
        _check_type(self.ipv4_prefix, IPv4Network, "ipv4-prefix", "OPTION_S46_RULE ipv4-prefix")
        _check_type(self.ipv6_prefix, IPv6Network, "ipv6-prefix", "OPTION_S46_RULE ipv6-prefix")
        if self.port_params is not None:
            _check_type(self.port_params, PortParams, "S46_PORTPARAMS", "port_params")
        object.__setattr__(self, "unknown", _check_unknown(self.unknown, "unknown"))


@dataclass(frozen=True)
class V4V6Bind:
    """OPTION_S46_V4V6BIND (RFC 7598 §4.4): the lw4o6 CE's IPv4 address and IPv6 prefix."""

    ipv4_address: IPv4Address
    bind_prefix: IPv6Network
    port_params: PortParams | None
    unknown: Unknown = ()

    def __post_init__(self) -> None:
        _check_type(self.ipv4_address, IPv4Address, "ipv4-address", "V4V6BIND ipv4-address")
        _check_type(self.bind_prefix, IPv6Network, "bind-ipv6-prefix", "V4V6BIND bind prefix")
        if self.port_params is not None:
            _check_type(self.port_params, PortParams, "S46_PORTPARAMS", "port_params")
        object.__setattr__(self, "unknown", _check_unknown(self.unknown, "unknown"))


@dataclass(frozen=True)
class S46Container:
    """One OPTION_S46_CONT_MAPE / _MAPT / _LW (RFC 7598 §5.1-5.3) with its options."""

    kind: S46Kind
    rules: tuple[S46Rule, ...] = ()
    brs: tuple[IPv6Address, ...] = ()
    dmr: IPv6Network | None = None
    binding: V4V6Bind | None = None
    unknown: Unknown = ()

    def __post_init__(self) -> None:
        if isinstance(self.kind, bool) or self.kind not in _KIND_CODES:
            raise _bad("kind", repr(self.kind), f"kind must be an S46Kind, not {self.kind!r}")
        object.__setattr__(self, "kind", S46Kind(self.kind))
        object.__setattr__(self, "rules", _as_tuple(self.rules, S46Rule, "S46_RULE"))
        object.__setattr__(self, "brs", _as_tuple(self.brs, IPv6Address, "S46_BR"))
        if self.dmr is not None:
            _check_type(self.dmr, IPv6Network, "S46_DMR[0]", "dmr")
        if self.binding is not None:
            _check_type(self.binding, V4V6Bind, "S46_V4V6BIND[0]", "binding")
        object.__setattr__(self, "unknown", _check_unknown(self.unknown, "unknown"))
        _check_layout(self)


def _as_tuple(items: object, kind: type, name: str) -> tuple[object, ...]:
    """A container's ``rules`` or ``brs`` as a tuple, each member checked."""
    if not isinstance(items, tuple | list):
        raise _bad(name, repr(items), f"{name} options must be given as a tuple")
    for index, item in enumerate(items):
        _check_type(item, kind, f"{name}[{index}]", f"{name}[{index}]")
    return tuple(items)


def _check_layout(container: S46Container) -> None:
    """Which options a container of this kind must and may carry (RFC 7598 §5.1-5.3)."""
    kind = container.kind
    counts = {
        OPTION_S46_RULE: len(container.rules),
        OPTION_S46_BR: len(container.brs),
        OPTION_S46_DMR: int(container.dmr is not None),
        OPTION_S46_V4V6BIND: int(container.binding is not None),
    }
    for code, count in counts.items():
        if count and code not in _ALLOWED[kind]:
            raise _bad(
                _NAMES[code],
                count,
                f"{_label(kind)} carries {count} {_label(code)}; RFC 7598 §{_SECTIONS[code]} "
                f"puts that option only in {_PLACES[code]}",
            )
        if not count and code in _REQUIRED[kind]:
            quantity = "exactly one" if code == OPTION_S46_DMR else "at least one"
            raise DataError(
                "data.s46_missing_option",
                f"{_label(kind)} carries no {_label(code)}; RFC 7598 §{_SECTIONS[kind]} "
                f"requires {quantity}",
                field=_NAMES[code],
                value=0,
            )


# --- into mapping rules -------------------------------------------------------------------


def container_rules(
    container: S46Container, *, iid: IidFormat = IidFormat.RFC
) -> tuple[MappingRule, ...]:
    """The mapping rules of a MAP-E (or MAP-T) container, one per S46_RULE, in order.

    Each rule keeps its prefixes, ea-len and F flag (``fmr``); ``br`` is the container's
    first BR (``None`` for MAP-T, which has a DMR instead) and ``iid`` is as given. From
    S46_PORTPARAMS (RFC 7598 §4.5) come the PSID offset (else the RFC 7597 §5.1 default of
    6), the PSID length when non-zero (checked against the EA bits by
    :class:`~mapekit.core.rule.MappingRule`; else derived) and the PSID, used only when the
    EA bits carry none (ea-len + prefix4-len <= 32).

    An lw4o6 container has no mapping rules and raises :class:`DataError`
    (``data.s46_bad_option``, field ``kind``). A rule the mapping engine refuses re-raises
    its :class:`~mapekit.core.errors.MapeError` with the field prefixed by the rule's path,
    e.g. ``S46_CONT_MAPE[0].S46_RULE[1].ea_len`` (the container is numbered 0).
    """
    kind = container.kind
    if kind == S46Kind.LW4O6:
        raise _bad(
            "kind",
            int(kind),
            f"{_label(kind)} is lw4o6, not MAP-E: its CE gets an IPv4 address and port set "
            "from S46_V4V6BIND, not from mapping rules (RFC 7598 §5.3)",
        )
    br = container.brs[0] if container.brs else None
    out: list[MappingRule] = []
    for index, rule in enumerate(container.rules):
        where = f"{_NAMES[kind]}[0].S46_RULE[{index}]"
        params = rule.port_params
        offset = _DEFAULT_PSID_OFFSET if params is None else params.offset
        psid_len = None if params is None or params.psid_len == 0 else params.psid_len
        ea_has_psid = rule.ea_len + rule.ipv4_prefix.prefixlen > 32
        psid = None if params is None or psid_len is None or ea_has_psid else params.psid
        try:
            mapped = MappingRule(
                ipv6_prefix=rule.ipv6_prefix,
                ipv4_prefix=rule.ipv4_prefix,
                ea_len=rule.ea_len,
                psid_offset=offset,
                explicit_psid_len=psid_len,
                psid=psid,
                br=br,
                fmr=rule.fmr,
                iid=iid,
            )
        except MapeError as err:
            raise err.with_field_prefix(where) from None
        out.append(mapped)
    return tuple(out)

"""The DHCPv6 wire format of the Softwire46 options (RFC 7598): decode and encode bytes.

The values are the dataclasses of :mod:`mapekit.core.s46`. Every DHCPv6 option is
``option-code`` (2 bytes, big-endian), ``option-len`` (2 bytes) and ``option-len`` bytes
of data (RFC 8415 §21.1). RFC 7598 defines:

=====  ======================  =========================================================
code   option                  data
=====  ======================  =========================================================
89     OPTION_S46_RULE         §4.1: flags (F = 0x01), ea-len, prefix4-len, ipv4-prefix
                               (4 bytes), prefix6-len, ipv6-prefix (ceil(len / 8) bytes,
                               zero-padded), then sub-options (OPTION_S46_PORTPARAMS)
90     OPTION_S46_BR           §4.2: one IPv6 address; option-len is 16
91     OPTION_S46_DMR          §4.3: dmr-prefix6-len, dmr-ipv6-prefix (ceil(len / 8) bytes)
92     OPTION_S46_V4V6BIND     §4.4: ipv4-address (4 bytes), bindprefix6-len,
                               bind-ipv6-prefix (ceil(len / 8) bytes), then sub-options
93     OPTION_S46_PORTPARAMS   §4.5: offset (0..15), PSID-len, PSID (left-aligned in 16
                               bits, the bits after PSID-len zero); option-len is 4
94     OPTION_S46_CONT_MAPE    §5.1: at least one S46_RULE and at least one S46_BR
95     OPTION_S46_CONT_MAPT    §5.2: at least one S46_RULE and exactly one S46_DMR
96     OPTION_S46_CONT_LW      §5.3: at least one S46_BR and at most one S46_V4V6BIND
=====  ======================  =========================================================

Decoding is strict and never recursive: top-level options → containers → their options →
sub-options, and sub-options are never opened further. Options of other codes are kept as
raw ``(code, data)`` pairs inside containers, rules and bindings, and skipped at the top
level. An S46 option in a place RFC 7598 does not put it (a DMR in a MAP-E container, a
container inside a container...) is refused, as are bits set after a prefix length (the
RFC asks senders to zero them) and the reserved PSID padding.

Every problem raises :class:`~mapekit.core.errors.DataError` with one of
``data.s46_truncated``, ``data.s46_bad_option`` or ``data.s46_missing_option``. Its
``field`` is a path such as ``S46_CONT_MAPE[0].S46_RULE[1].prefix4-len``: containers are
numbered per kind in the order they appear, options inside a container (and sub-options
inside a rule or binding) per option code; ``option[N]`` names the N-th option of a block
when its header itself is faulty.

The dataclasses validate themselves, so whatever :func:`encode_container` writes,
:func:`decode_options` reads back equal. Encoding writes options in code order (rules,
BRs, DMR, binding, then unknown options) and the reserved flag bits as zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TypeVar

from mapekit.core.errors import DataError
from mapekit.core.s46 import (
    _KIND_CODES,
    _MAX_OPTION_LEN,
    _NAMES,
    _PLACES,
    _S46_CODES,
    _SECTIONS,
    OPTION_S46_BR,
    OPTION_S46_DMR,
    OPTION_S46_PORTPARAMS,
    OPTION_S46_RULE,
    OPTION_S46_V4V6BIND,
    PortParams,
    S46Container,
    S46Kind,
    S46Rule,
    Unknown,
    V4V6Bind,
    _bad,
    _check_type,
    _label,
)

__all__ = [
    "container_from_hex",
    "decode_options",
    "encode_container",
    "encode_options",
]

_T = TypeVar("_T")


def _join(where: str, field: str) -> str:
    return f"{where}.{field}" if where else field


# --- decoding -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Raw:
    """One option as split from a block: its code, data and place in the block."""

    code: int
    data: bytes
    index: int


def _split(data: bytes, where: str) -> list[_Raw]:
    """The options of one block (top level, container or sub-options), not opened."""
    options: list[_Raw] = []
    pos = 0
    while pos < len(data):
        index = len(options)
        field = _join(where, f"option[{index}]")
        left = len(data) - pos
        if left < 4:
            part = "option-code" if left < 2 else "option-len"
            raise DataError(
                "data.s46_truncated",
                f"{where or 'top level'}: option {index} starts at byte {pos} but only {left} "
                f"byte(s) remain, too few for its 4-byte option-code and option-len",
                field=f"{field}.{part}",
                value=left,
            )
        code = int.from_bytes(data[pos : pos + 2], "big")
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length > left - 4:
            raise DataError(
                "data.s46_truncated",
                f"{where or 'top level'}: option {index} ({_label(code)}, at byte {pos}) "
                f"declares option-len {length} but only {left - 4} byte(s) follow its header",
                field=f"{field}.option-len",
                value=length,
            )
        options.append(_Raw(code, data[pos + 4 : pos + 4 + length], index))
        pos += 4 + length
    return options


class _Reader:
    """Reads the fixed fields of one option's data, front to back."""

    def __init__(self, data: bytes, where: str, code: int) -> None:
        self.data = data
        self.pos = 0
        self.where = where
        self.code = code

    def bad(self, field: str, value: object, why: str) -> DataError:
        return _bad(f"{self.where}.{field}", value, f"{_label(self.code)} at {self.where}: {why}")

    def take(self, size: int, field: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise DataError(
                "data.s46_truncated",
                f"{_label(self.code)} at {self.where}: option-len {len(self.data)} ends before "
                f"its {field} field, which needs {size} byte(s) at data offset {self.pos} "
                f"({len(self.data) - self.pos} left)",
                field=f"{self.where}.{field}",
                value=len(self.data),
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def finish(self) -> None:
        extra = len(self.data) - self.pos
        if extra:
            raise self.bad(
                "option-len",
                len(self.data),
                f"option-len is {len(self.data)} but its fields take {self.pos} byte(s); "
                f"{extra} byte(s) trail (RFC 7598 §{_SECTIONS[self.code]})",
            )


def _build(factory: Callable[[], _T], where: str) -> _T:
    """Construct a dataclass; its own validation errors get the wire path ``where``."""
    try:
        return factory()
    except DataError as err:
        raise err.with_field_prefix(where) from None


def _read_ipv4_prefix(reader: _Reader) -> IPv4Network:
    length = reader.u8("prefix4-len")
    if length > 32:
        raise reader.bad(
            "prefix4-len", length, f"prefix4-len is {length}; RFC 7598 §4.1 allows 0..32"
        )
    value = int.from_bytes(reader.take(4, "ipv4-prefix"), "big")
    stray = value & ((1 << (32 - length)) - 1)
    if stray:
        raise reader.bad(
            "ipv4-prefix",
            str(IPv4Address(value)),
            f"ipv4-prefix {IPv4Address(value)} has bits set after prefix4-len {length} "
            f"({IPv4Address(stray)}); RFC 7598 §4.1 requires them to be zero",
        )
    return IPv4Network((value, length))


def _read_ipv6_prefix(reader: _Reader, len_field: str, prefix_field: str) -> IPv6Network:
    section = _SECTIONS[reader.code]
    length = reader.u8(len_field)
    if length > 128:
        raise reader.bad(
            len_field, length, f"{len_field} is {length}; RFC 7598 §{section} allows 0..128"
        )
    raw = reader.take((length + 7) // 8, prefix_field)
    value = int.from_bytes(raw.ljust(16, b"\x00"), "big")
    if value & ((1 << (128 - length)) - 1):
        raise reader.bad(
            prefix_field,
            raw.hex(),
            f"{prefix_field} {raw.hex()} has non-zero padding bits after {len_field} {length}; "
            f"RFC 7598 §{section} pads the field with zero bits",
        )
    return IPv6Network((value, length))


def _decode_port_params(data: bytes, where: str) -> PortParams:
    reader = _Reader(data, where, OPTION_S46_PORTPARAMS)
    if len(data) != 4:
        raise reader.bad(
            "option-len", len(data), f"option-len is {len(data)}; RFC 7598 §4.5 fixes it at 4"
        )
    offset, psid_len = data[0], data[1]
    raw = int.from_bytes(data[2:4], "big")
    if psid_len > 16:
        raise reader.bad(
            "PSID-len", psid_len, f"PSID-len is {psid_len}; the PSID field has 16 bits"
        )
    if raw & ((1 << (16 - psid_len)) - 1):
        raise reader.bad(
            "PSID",
            f"0x{raw:04x}",
            f"PSID field 0x{raw:04x} has bits set after its first PSID-len {psid_len} bits; "
            f"RFC 7598 §4.5 requires the remaining {16 - psid_len} bits to be zero",
        )
    return _build(lambda: PortParams(offset, psid_len, raw >> (16 - psid_len)), where)


def _misplaced(option: _Raw, where: str) -> DataError:
    return _bad(
        f"{where}.option[{option.index}]",
        option.code,
        f"{where}: {_label(option.code)} may not appear here; RFC 7598 "
        f"§{_SECTIONS[option.code]} puts it only in {_PLACES[option.code]}",
    )


def _at_most_one(items: list[_T], where: str, code: int, rule: str) -> _T | None:
    if len(items) > 1:
        raise _bad(
            f"{where}.{_NAMES[code]}[1]",
            len(items),
            f"{where} carries {len(items)} {_label(code)} options; {rule}",
        )
    return items[0] if items else None


def _decode_sub_options(data: bytes, where: str) -> tuple[PortParams | None, Unknown]:
    """The sub-options of a rule or binding: one PORTPARAMS at most, others kept raw."""
    params: list[PortParams] = []
    unknown: list[tuple[int, bytes]] = []
    for option in _split(data, where):
        if option.code == OPTION_S46_PORTPARAMS:
            params.append(
                _decode_port_params(option.data, f"{where}.S46_PORTPARAMS[{len(params)}]")
            )
        elif option.code in _S46_CODES:
            raise _misplaced(option, where)
        else:
            unknown.append((option.code, option.data))
    only = _at_most_one(params, where, OPTION_S46_PORTPARAMS, "one port set per rule or binding")
    return only, tuple(unknown)


def _decode_rule(data: bytes, where: str) -> S46Rule:
    reader = _Reader(data, where, OPTION_S46_RULE)
    flags = reader.u8("flags")
    ea_len = reader.u8("ea-len")
    ipv4 = _read_ipv4_prefix(reader)
    ipv6 = _read_ipv6_prefix(reader, "prefix6-len", "ipv6-prefix")
    params, unknown = _decode_sub_options(reader.rest(), where)
    return _build(lambda: S46Rule(bool(flags & 0x01), ea_len, ipv4, ipv6, params, unknown), where)


def _decode_br(data: bytes, where: str) -> IPv6Address:
    if len(data) != 16:
        reader = _Reader(data, where, OPTION_S46_BR)
        raise reader.bad(
            "option-len", len(data), f"option-len is {len(data)}; RFC 7598 §4.2 fixes it at 16"
        )
    return IPv6Address(data)


def _decode_dmr(data: bytes, where: str) -> IPv6Network:
    reader = _Reader(data, where, OPTION_S46_DMR)
    prefix = _read_ipv6_prefix(reader, "dmr-prefix6-len", "dmr-ipv6-prefix")
    reader.finish()
    return prefix


def _decode_bind(data: bytes, where: str) -> V4V6Bind:
    reader = _Reader(data, where, OPTION_S46_V4V6BIND)
    ipv4 = IPv4Address(reader.take(4, "ipv4-address"))
    prefix = _read_ipv6_prefix(reader, "bindprefix6-len", "bind-ipv6-prefix")
    params, unknown = _decode_sub_options(reader.rest(), where)
    return _build(lambda: V4V6Bind(ipv4, prefix, params, unknown), where)


def _decode_container(kind: S46Kind, data: bytes, where: str) -> S46Container:
    rules: list[S46Rule] = []
    brs: list[IPv6Address] = []
    dmrs: list[IPv6Network] = []
    binds: list[V4V6Bind] = []
    unknown: list[tuple[int, bytes]] = []
    for option in _split(data, where):
        code, body = option.code, option.data
        if code == OPTION_S46_RULE:
            rules.append(_decode_rule(body, f"{where}.S46_RULE[{len(rules)}]"))
        elif code == OPTION_S46_BR:
            brs.append(_decode_br(body, f"{where}.S46_BR[{len(brs)}]"))
        elif code == OPTION_S46_DMR:
            dmrs.append(_decode_dmr(body, f"{where}.S46_DMR[{len(dmrs)}]"))
        elif code == OPTION_S46_V4V6BIND:
            binds.append(_decode_bind(body, f"{where}.S46_V4V6BIND[{len(binds)}]"))
        elif code in _S46_CODES:
            raise _misplaced(option, where)
        else:
            unknown.append((code, body))
    dmr = _at_most_one(dmrs, where, OPTION_S46_DMR, "RFC 7598 §5.2 allows exactly one")
    bind = _at_most_one(binds, where, OPTION_S46_V4V6BIND, "RFC 7598 §5.3 allows at most one")
    return _build(
        lambda: S46Container(kind, tuple(rules), tuple(brs), dmr, bind, tuple(unknown)), where
    )


def _input_bytes(data: object, max_size: int) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise _bad(
            "input",
            type(data).__name__,
            f"the options must be bytes, not {type(data).__name__} "
            f"(use container_from_hex() for hex text)",
        )
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    if size > max_size:
        raise _bad(
            "input",
            size,
            f"the options are {size} bytes, more than max_size {max_size}; refusing to parse",
        )
    return bytes(data)


def decode_options(
    data: bytes | bytearray | memoryview, *, max_size: int = 65535
) -> tuple[S46Container, ...]:
    """The S46 containers among the top-level DHCPv6 options ``data``, in order.

    Other top-level options are skipped. Raises :class:`DataError` for anything RFC 7598
    does not allow, and for input longer than ``max_size`` bytes (checked first).
    """
    raw = _input_bytes(data, max_size)
    containers: list[S46Container] = []
    seen: dict[S46Kind, int] = dict.fromkeys(S46Kind, 0)
    for option in _split(raw, ""):
        if option.code not in _KIND_CODES:
            continue
        kind = S46Kind(option.code)
        where = f"{_NAMES[kind]}[{seen[kind]}]"
        seen[kind] += 1
        containers.append(_decode_container(kind, option.data, where))
    return tuple(containers)


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def container_from_hex(text: str, *, max_size: int = 65535) -> tuple[S46Container, ...]:
    """:func:`decode_options` of hex text; whitespace and colons between digits are ignored."""
    if not isinstance(text, str):
        raise _bad("hex", type(text).__name__, f"hex text must be str, not {type(text).__name__}")
    for position, char in enumerate(text):
        if char not in _HEX_DIGITS and char != ":" and not char.isspace():
            raise _bad(
                "hex", char, f"hex text has {char!r} at position {position}, not a hex digit"
            )
    digits = "".join(text.split()).replace(":", "")
    if len(digits) % 2:
        raise _bad(
            "hex",
            len(digits),
            f"hex text has an odd number of digits ({len(digits)}); each byte needs two",
        )
    return decode_options(bytes.fromhex(digits), max_size=max_size)


# --- encoding -----------------------------------------------------------------------------


def _option(code: int, data: bytes, where: str) -> bytes:
    if len(data) > _MAX_OPTION_LEN:
        raise _bad(
            f"{where}.option-len",
            len(data),
            f"{_label(code)} at {where}: {len(data)} bytes of data do not fit the 16-bit "
            f"option-len (at most {_MAX_OPTION_LEN})",
        )
    return code.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def _prefix6(prefix: IPv6Network) -> bytes:
    """A prefix length byte and the ceil(length / 8) bytes of the prefix."""
    size = (prefix.prefixlen + 7) // 8
    return bytes([prefix.prefixlen]) + prefix.network_address.packed[:size]


def _encode_sub_options(params: PortParams | None, unknown: Unknown, where: str) -> bytes:
    out = b""
    if params is not None:
        psid = params.psid << (16 - params.psid_len) if params.psid_len else 0
        body = bytes([params.offset, params.psid_len]) + psid.to_bytes(2, "big")
        out = _option(OPTION_S46_PORTPARAMS, body, f"{where}.S46_PORTPARAMS[0]")
    return out + b"".join(_option(code, data, f"{where}.unknown") for code, data in unknown)


def _encode_rule(rule: S46Rule, where: str) -> bytes:
    head = bytes([0x01 if rule.fmr else 0x00, rule.ea_len, rule.ipv4_prefix.prefixlen])
    body = head + rule.ipv4_prefix.network_address.packed + _prefix6(rule.ipv6_prefix)
    body += _encode_sub_options(rule.port_params, rule.unknown, where)
    return _option(OPTION_S46_RULE, body, where)


def _encode_bind(bind: V4V6Bind, where: str) -> bytes:
    body = bind.ipv4_address.packed + _prefix6(bind.bind_prefix)
    body += _encode_sub_options(bind.port_params, bind.unknown, where)
    return _option(OPTION_S46_V4V6BIND, body, where)


def encode_container(container: S46Container) -> bytes:
    """The wire form of one container option; :func:`decode_options` reads it back equal."""
    _check_type(container, S46Container, "container", "container")
    where = _NAMES[container.kind]
    parts = [_encode_rule(r, f"{where}.S46_RULE[{i}]") for i, r in enumerate(container.rules)]
    parts += [_option(OPTION_S46_BR, br.packed, f"{where}.S46_BR") for br in container.brs]
    if container.dmr is not None:
        parts.append(_option(OPTION_S46_DMR, _prefix6(container.dmr), f"{where}.S46_DMR[0]"))
    if container.binding is not None:
        parts.append(_encode_bind(container.binding, f"{where}.S46_V4V6BIND[0]"))
    parts += [_option(code, data, f"{where}.unknown") for code, data in container.unknown]
    return _option(container.kind, b"".join(parts), where)


def encode_options(containers: Iterable[S46Container]) -> bytes:
    """Several containers one after another, as they sit among a Reply's options."""
    return b"".join(encode_container(container) for container in containers)

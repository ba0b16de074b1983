"""Strict, bounded decoding of JSON and JSONP replies.

A JSONP reply must be exactly ``callback(`` JSON ``)``, optionally followed by ``;``, with
only whitespace around; the callback must be the one requested (or, when none was, a plain
identifier). Bodies over :data:`MAX_BODY` and JSON nested deeper than :data:`MAX_DEPTH` are
refused *before* parsing; an object that names a key twice is refused
(``reply.duplicate_key``: which value counts would be a guess). Nothing is ever evaluated.

The limits come from the largest real tables, with a wide margin: all 690 built-in rules
of v6plus, BIGLOBE and OCN in one reply take 66 KB as a JPNE reply and 130 KB in the OCN
format (each rule carries its BR), so replies may hold :data:`MAX_RULES` = 4,096 rules
(about 6x) in :data:`MAX_BODY` = 1 MiB (8x; pretty-printed JSON fits too). A test builds
replies from every built-in table and checks that they are accepted.
"""

from __future__ import annotations

import json
import re

from mapekit.provision.errors import ReplyError

MAX_BODY = 1 << 20
MAX_RULES = 4096
MAX_DEPTH = 16
CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")
_JSONP_HEAD = re.compile(rb"\s*([A-Za-z0-9_$.]{1,64})\s*\(")
_JSONP_TAIL = re.compile(r"\s*\)\s*;?\s*")


def check_size(body: bytes, what: str) -> None:
    if len(body) > MAX_BODY:
        raise ReplyError(
            "reply.too_large",
            f"{what}: reply of {len(body)} bytes exceeds {MAX_BODY}",
            field="body",
            value=len(body),
        )


def _depth(text: bytes) -> int:
    """Deepest nesting of arrays/objects, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    doc: dict[str, object] = {}
    for key, value in pairs:
        if key in doc:
            raise _DuplicateKey(key)
        doc[key] = value
    return doc


def _check_depth(body: bytes, what: str) -> None:
    if _depth(body) > MAX_DEPTH:
        raise ReplyError(
            "reply.too_deep",
            f"{what}: JSON nested deeper than {MAX_DEPTH} levels",
            field="body",
        )


def _text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReplyError(
            "reply.not_json", f"{what}: reply is not UTF-8 ({exc.reason})", field="body"
        ) from None


def _parse(text: str, what: str, start: int = 0) -> tuple[object, int]:
    decoder = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    try:
        return decoder.raw_decode(text, start)
    except _DuplicateKey as exc:
        raise ReplyError(
            "reply.duplicate_key",
            f"{what}: the key {exc.key[:40]!r} appears twice in one object",
            field=exc.key[:40],
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ReplyError(
            "reply.not_json", f"{what}: reply is not JSON ({exc})", field="body"
        ) from None


def decode_json(body: bytes, what: str) -> object:
    """A JSON document from a reply body (UTF-8), bounded in size and depth."""
    check_size(body, what)
    _check_depth(body, what)
    text = _text(body, what)
    start = len(text) - len(text.lstrip())
    value, end = _parse(text, what, start)
    if text[end:].strip():
        raise ReplyError("reply.not_json", f"{what}: data after the JSON value", field="body")
    return value


def decode_jsonp(body: bytes, what: str, callback: str | None) -> object:
    """The JSON argument of a JSONP reply ``callback({...})``, with nothing around it."""
    check_size(body, what)
    match = _JSONP_HEAD.match(body)
    if match is None:
        raise ReplyError(
            "reply.not_jsonp",
            f"{what}: reply is not a JSONP call name({{...}}): {body[:40]!r}",
            field="body",
        )
    name = match.group(1).decode("ascii")
    expected_ok = name == callback if callback is not None else CALLBACK.fullmatch(name)
    if not expected_ok:
        raise ReplyError(
            "reply.bad_callback",
            f"{what}: JSONP callback is {name!r}, expected {callback or 'an identifier'!r}",
            field="callback",
            value=name,
        )
    _check_depth(body, what)
    text = _text(body, what)
    start = len(match.group(0))  # the head is ASCII, so bytes and characters agree
    while start < len(text) and text[start].isspace():
        start += 1
    value, end = _parse(text, what, start)
    if not _JSONP_TAIL.fullmatch(text[end:]):
        raise ReplyError(
            "reply.not_jsonp",
            f"{what}: unexpected text after the JSON argument: {text[end : end + 40]!r}",
            field="body",
        )
    return value


def valid_callback(name: str) -> bool:
    """True for a short plain JavaScript identifier (safe to echo in JSONP)."""
    return CALLBACK.fullmatch(name) is not None


def encode_jsonp(callback: str, obj: object) -> bytes:
    """``callback(<json>)``; the callback must pass :func:`valid_callback` (or be ``?``)."""
    if callback != "?" and not valid_callback(callback):
        raise ValueError(f"unsafe JSONP callback {callback!r}")
    payload = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return f"{callback}({payload})".encode("ascii")

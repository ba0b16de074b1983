"""Content codings of a reply, decoded under a cap (sans-IO).

Clients ask for ``Accept-Encoding: identity``, but a server may still compress, even in
several layers (``Content-Encoding: gzip, gzip``). Each layer is decoded here with
``zlib.decompressobj().decompress(data, max_length)``, so no layer ever produces more than
``cap + 1`` bytes, whatever the compression ratio: a gzip bomb costs at most the cap per
layer, never its expanded size. ``gzip`` / ``x-gzip`` and ``deflate`` (zlib-wrapped or
raw) are decoded; any other coding is refused (``reply.bad_encoding``).
"""

from __future__ import annotations

import zlib

from mapekit.provision.errors import ReplyError

MAX_LAYERS = 4
_GZIP, _ZLIB, _RAW = 16 + zlib.MAX_WBITS, zlib.MAX_WBITS, -zlib.MAX_WBITS


def codings(header: str | None) -> list[str]:
    """The content codings of a ``Content-Encoding`` header, in the order applied."""
    if not header:
        return []
    found = [c.strip().lower() for c in header.split(",")]
    return [c for c in found if c and c != "identity"]


def _too_large(what: str, cap: int) -> ReplyError:
    return ReplyError(
        "reply.too_large",
        f"{what}: reply decodes to more than {cap} bytes",
        field="body",
        value=cap,
    )


def _wbits(coding: str, data: bytes) -> int:
    if coding in ("gzip", "x-gzip"):
        return _GZIP
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        return _ZLIB
    return _RAW


def _inflate(data: bytes, coding: str, cap: int, what: str) -> bytes:
    """One layer (every gzip member of it), at most ``cap`` bytes out."""
    out = bytearray()
    rest = data
    while rest:
        engine = zlib.decompressobj(_wbits(coding, rest))
        try:
            out += engine.decompress(rest, cap + 1 - len(out))
        except zlib.error as exc:
            raise ReplyError(
                "reply.bad_encoding", f"{what}: corrupt {coding} data ({exc})", field="body"
            ) from None
        if len(out) > cap or engine.unconsumed_tail:
            raise _too_large(what, cap)
        if not engine.eof:
            raise ReplyError("reply.bad_encoding", f"{what}: truncated {coding} data", field="body")
        rest = engine.unused_data if coding in ("gzip", "x-gzip") else b""
    return bytes(out)


def decode_content(body: bytes, header: str | None, cap: int, what: str = "reply") -> bytes:
    """``body`` with the codings of ``header`` undone, last applied first."""
    layers = codings(header)
    if len(layers) > MAX_LAYERS:
        raise ReplyError(
            "reply.bad_encoding",
            f"{what}: {len(layers)} content codings, more than {MAX_LAYERS}",
            field="content-encoding",
        )
    for coding in reversed(layers):
        if coding not in ("gzip", "x-gzip", "deflate"):
            raise ReplyError(
                "reply.bad_encoding",
                f"{what}: content coding {coding[:32]!r} is not supported",
                field="content-encoding",
                value=coding[:32],
            )
        body = _inflate(body, coding, cap, what)
    return body

"""The DHCPv6 AFTR-Name option (RFC 6334): the DS-Lite AFTR's name, decoded and encoded.

``OPTION_AFTR_NAME`` (64): ``option-code`` (2 bytes), ``option-len`` (2 bytes) and
``tunnel-endpoint-name``, one fully qualified domain name in the DNS wire format of RFC
1035 §3.1 — labels each preceded by their length (1 to 63), ending with the zero-length
root label — without compression (RFC 6334 §3, by RFC 8415 §10). A name is at most 255
bytes on the wire. An option that holds anything else (a compression pointer, a label
running past the option, bytes after the root, no root, an empty name) is refused with
:class:`~mapekit.core.errors.DataError` naming what is wrong; the name is returned in
lowercase text without the final dot. Letters, digits and hyphens only (host names, RFC
1123 §2.1): the name is resolved, and it appears in logs and configurations.
"""

from __future__ import annotations

import re

from mapekit.core.errors import DataError

OPTION_AFTR_NAME = 64
MAX_NAME = 255
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _bad(field: str, why: str) -> DataError:
    return DataError("data.aftr_name", f"OPTION_AFTR_NAME.{field}: {why}",
                     field=f"OPTION_AFTR_NAME.{field}")  # fmt: skip


def decode_name(data: bytes) -> str:
    """The FQDN of an option's data (``tunnel-endpoint-name``)."""
    if not data:
        raise _bad("tunnel-endpoint-name", "empty")
    if len(data) > MAX_NAME:
        raise _bad("tunnel-endpoint-name",
                   f"{len(data)} bytes, more than {MAX_NAME}")  # fmt: skip
    labels: list[str] = []
    offset = 0
    while True:
        if offset >= len(data):
            raise _bad("tunnel-endpoint-name", "no root label at the end")
        length = data[offset]
        if length == 0:
            break
        if length & 0xC0:
            raise _bad(f"label[{len(labels)}]",
                       "a compression pointer or a label longer than 63")  # fmt: skip
        label = data[offset + 1 : offset + 1 + length]
        if len(label) < length:
            raise _bad(f"label[{len(labels)}]",
                       f"{length} bytes announced, {len(label)} left")  # fmt: skip
        text = label.decode("ascii", errors="replace")
        if not _LABEL.fullmatch(text):
            raise _bad(f"label[{len(labels)}]",
                       f"{text!r:.70} is not a host-name label")  # fmt: skip
        labels.append(text.lower())
        offset += 1 + length
    if offset + 1 != len(data):
        raise _bad("tunnel-endpoint-name",
                   f"{len(data) - offset - 1} bytes after the root label")  # fmt: skip
    if not labels:
        raise _bad("tunnel-endpoint-name", "the root alone is no name")
    return ".".join(labels)


def encode_name(name: str) -> bytes:
    """``name`` in DNS wire format (a final dot is allowed)."""
    labels = name.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise DataError("input.value_range", f"aftr: {name!r:.70} is not a host name",
                        field="aftr", value=name)  # fmt: skip
    wire = b"".join(bytes([len(label)]) + label.encode("ascii") for label in labels) + b"\0"
    if len(wire) > MAX_NAME:
        raise DataError("input.value_range", f"aftr: {name!r:.70} is longer than 255 bytes",
                        field="aftr", value=name)  # fmt: skip
    return wire


def encode_option(name: str) -> bytes:
    data = encode_name(name)
    return OPTION_AFTR_NAME.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data


def find_aftr_name(options: bytes) -> str | None:
    """The AFTR name among a DHCPv6 reply's options (the first option 64), or None."""
    offset = 0
    while offset + 4 <= len(options):
        code = int.from_bytes(options[offset : offset + 2], "big")
        length = int.from_bytes(options[offset + 2 : offset + 4], "big")
        data = options[offset + 4 : offset + 4 + length]
        if len(data) < length:
            raise _bad("option-len", f"{length} announced, {len(data)} left")
        if code == OPTION_AFTR_NAME:
            return decode_name(data)
        offset += 4 + length
    if offset != len(options):
        raise _bad("option-code", "a partial option header at the end")
    return None

"""The one reader for the files mapekit reads: state, configuration, rule and import files.

Every such file goes through :func:`read_bytes_file` (or a wrapper below), which

- opens the path with ``O_NONBLOCK`` (a FIFO without a writer cannot block the open) and,
  when ``follow_symlinks`` is false, ``O_NOFOLLOW``;
- checks with ``fstat`` on the open descriptor that it is a *regular* file, so a
  directory, a FIFO, a socket or a device (``/dev/zero``, ``/dev/urandom``) is refused
  before a byte is read;
- reads at most ``max_bytes`` (one byte more tells that the file is larger);
- raises one :class:`~mapekit.core.errors.DataError` whose reason the caller chooses
  (``state.unreadable``, ``config.unreadable``, ``data.file_unreadable``), whose message
  names the file and says why, and whose ``field`` is the caller's ``what``.

:func:`load_json_file` and :func:`load_toml_file` add a UTF-8 check, a nesting limit
(:func:`check_nesting`; JSON is measured before parsing, so a file of 100,000 brackets
costs one pass and no recursion) and the parse, with the same kind of error.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tomllib
from pathlib import Path

from mapekit.core.errors import DataError

MAX_NESTING = 32  # objects and arrays inside each other; real files use 3 or 4
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _fail(reason: str, what: str, path: Path | str, why: str) -> DataError:
    return DataError(reason, f"{what}: cannot use {path}: {why}", field=what, value=str(path))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _open(path: Path | str, follow_symlinks: bool) -> int:
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    return os.open(path, flags)


def _open_error(exc: OSError, follow_symlinks: bool) -> str:
    if exc.errno == errno.ELOOP and not follow_symlinks:
        return "it is a symbolic link (refused here)"
    if exc.errno == errno.ENXIO:
        return "it is a socket or a device without a reader (not a regular file)"
    return exc.strerror or str(exc)


def read_bytes_file(
    path: Path | str,
    *,
    what: str,
    max_bytes: int,
    reason: str = "data.file_unreadable",
    follow_symlinks: bool = True,
) -> bytes:
    """The content of the regular file ``path``, at most ``max_bytes`` long.

    A missing file raises :class:`FileNotFoundError` (callers often treat it as "none
    yet"); every other problem raises :class:`DataError` with ``reason``.
    """
    try:
        fd = _open(path, follow_symlinks)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _fail(reason, what, path, _open_error(exc, follow_symlinks)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _fail(reason, what, path, f"it is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise _fail(reason, what, path, f"{info.st_size} bytes, more than {max_bytes}")
        data = _read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        raise _fail(reason, what, path, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise _fail(reason, what, path, f"more than {max_bytes} bytes")
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def read_text_file(
    path: Path | str,
    *,
    what: str,
    max_bytes: int,
    reason: str = "data.file_unreadable",
    follow_symlinks: bool = True,
) -> str:
    """:func:`read_bytes_file` decoded as UTF-8 (a leading byte-order mark is dropped)."""
    data = read_bytes_file(
        path, what=what, max_bytes=max_bytes, reason=reason, follow_symlinks=follow_symlinks
    )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _fail(reason, what, path, f"not UTF-8 text (byte {exc.start})") from None


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings
    do not count); one pass, no recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def check_nesting(obj: object, limit: int = MAX_NESTING) -> bool:
    """True when ``obj`` (decoded JSON or TOML) nests lists and dicts at most ``limit``
    deep; iterative, so any depth is measured safely."""
    stack: list[tuple[object, int]] = [(obj, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def load_json_file(
    path: Path | str,
    *,
    what: str,
    max_bytes: int,
    reason: str = "data.file_unreadable",
    max_nesting: int = MAX_NESTING,
    follow_symlinks: bool = True,
) -> object:
    """A JSON document from a file (see :func:`read_text_file`), nested at most
    ``max_nesting`` deep; NaN and Infinity are refused."""
    text = read_text_file(
        path, what=what, max_bytes=max_bytes, reason=reason, follow_symlinks=follow_symlinks
    )
    return parse_json_text(
        text, what=what, source=str(path), reason=reason, max_nesting=max_nesting
    )


def load_toml_file(
    path: Path | str,
    *,
    what: str,
    max_bytes: int,
    reason: str = "data.file_unreadable",
    max_nesting: int = MAX_NESTING,
    follow_symlinks: bool = True,
) -> dict[str, object]:
    """A TOML document from a file (see :func:`read_text_file`), nested at most
    ``max_nesting`` deep."""
    text = read_text_file(
        path, what=what, max_bytes=max_bytes, reason=reason, follow_symlinks=follow_symlinks
    )
    return parse_toml_text(
        text, what=what, source=str(path), reason=reason, max_nesting=max_nesting
    )


def parse_toml_text(
    text: str, *, what: str, source: str, reason: str, max_nesting: int = MAX_NESTING
) -> dict[str, object]:
    """TOML text parsed, with the nesting limit (deep inline tables cannot recurse the
    parser into a crash: that is reported like any other syntax problem)."""
    try:
        doc: dict[str, object] = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise _fail(reason, what, source, f"not valid TOML ({why})") from None
    if not check_nesting(doc, max_nesting):
        raise _fail(reason, what, source, f"TOML nested deeper than {max_nesting} levels")
    return doc


def parse_json_text(
    text: str, *, what: str, source: str, reason: str, max_nesting: int = MAX_NESTING
) -> object:
    """JSON text parsed, with the nesting limit measured before parsing."""
    if json_depth(text) > max_nesting:
        raise _fail(reason, what, source, f"JSON nested deeper than {max_nesting} levels")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _fail(reason, what, source, f"not valid JSON ({exc})") from None

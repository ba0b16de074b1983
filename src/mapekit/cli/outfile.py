"""``-o FILE``: write a command's output atomically, and only where that is safe.

``-o -`` is standard output. Any other path must be a new path or an existing *regular*
file: the text goes to a temporary file beside it, which is fsynced and renamed over the
path. A symbolic link, FIFO, socket, device or directory at the path is refused with
``output.refused`` — renaming over it would silently replace it with a regular file (for
``-o /dev/stdout``, the system's own link).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from mapekit.core.errors import InputError

STDOUT = "-"
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _refused(path: str, why: str) -> InputError:
    return InputError(
        "output.refused",
        f"output: {path} is {why}; give a regular file or a new path (-o - for standard output)",
        field="output",
        value=path,
    )


def check_target(path: str) -> None:
    """Refuse a path that is neither new nor a regular file (symbolic links included)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _cannot_write(Path(path), exc) from None
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
        raise _refused(path, kind)


def write_output(path: str, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` to ``path`` (``-``: standard output). True when a file was written."""
    if path == STDOUT:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return False
    check_target(path)
    _write_atomically(Path(path), text, mode)
    return True


def _write_atomically(path: Path, text: str, mode: int) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        check_target(str(path))  # once more, just before the rename
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from None
        raise


def _cannot_write(path: Path, exc: OSError) -> InputError:
    return InputError(
        "input.value_range",
        f"output: cannot write {path}: {exc.strerror or exc}",
        field="output",
        value=str(path),
    )

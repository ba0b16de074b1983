"""bpffs: where the bpf backend pins its programs and maps (``<root>/mapekit/<name>/``).

bpffs is not always mounted (a plain Debian host without systemd's mount, and every
``ip netns exec``, which remounts ``/sys`` so that ``/sys/fs/bpf`` is an empty folder
of sysfs): :func:`ensure_mounted` mounts it where it is missing. Each mount of bpffs is
an instance of its own; pins live as long as their mount.

Pinned objects outlive the process that made them, so a run cleans the folder a
crashed run left (:func:`clear`) before it pins anew, and removes its folder when it
stops.
"""

from __future__ import annotations

import ctypes
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from mapekit.dataplane.links import DataplaneError

DEFAULT_ROOT = Path("/sys/fs/bpf")
FOLDER = "mapekit"


def mount_point(path: Path) -> str | None:
    """The file system type mounted exactly at ``path`` (the last mount wins)."""
    found = None
    target = str(path.resolve())
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) < 7 or fields[4] != target:
            continue
        rest = line.split(" - ", 1)[1].split()
        found = rest[0] if rest else None
    return found


def ensure_mounted(root: Path = DEFAULT_ROOT) -> bool:
    """bpffs at ``root`` (mounted when missing); True when this call mounted it."""
    if mount_point(root) == "bpf":
        return False
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataplaneError(
            "dataplane.setup", f"{root}: no folder to mount bpffs on: {exc.strerror}",
            field="bpffs",
        ) from None  # fmt: skip
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_void_p]
    if libc.mount(b"bpf", str(root).encode(), b"bpf", 0, None) != 0:
        code = ctypes.get_errno()
        raise DataplaneError(
            "dataplane.setup",
            f"{root}: cannot mount bpffs: {os.strerror(code)} (CAP_SYS_ADMIN is needed once, "
            "or mount it beforehand: mount -t bpf bpf /sys/fs/bpf)",
            field="bpffs",
        )
    return True


def unmount(root: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    libc.umount2(str(root).encode(), 2)  # MNT_DETACH


def folder(root: Path, name: str) -> Path:
    return root / FOLDER / name


def clear(path: Path) -> list[str]:
    """Unpin everything under ``path`` and remove it; the names that were there."""
    if not path.exists():
        return []
    found = sorted(p.name for p in path.iterdir())
    shutil.rmtree(path, ignore_errors=True)  # unlinking a pin drops its reference
    parent = path.parent
    if parent.name == FOLDER and parent.exists() and not any(parent.iterdir()):
        parent.rmdir()
    return found


@dataclass(frozen=True)
class PinFolder:
    """Where a run pins (None: no bpffs here — nothing is pinned, and every program and
    map still goes with the process, ``why`` says why), whether this run mounted bpffs,
    and what a previous run had left in the folder."""

    path: Path | None
    mounted: bool
    left: tuple[str, ...] = ()
    why: str | None = None


def prepare(root: Path, name: str) -> PinFolder:
    """Mount bpffs if needed and make an empty pin folder for ``name``."""
    try:
        mounted = ensure_mounted(root)
    except DataplaneError as exc:
        return PinFolder(None, False, why=exc.message)
    path = folder(root, name)
    left = tuple(f"pinned {item}" for item in clear(path))
    path.mkdir(parents=True, mode=0o700)
    return PinFolder(path, mounted, left)

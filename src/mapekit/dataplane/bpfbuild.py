"""The BPF objects of the bpf data plane: found beside their C sources, or built with
clang when they are missing or older than the sources.

The wheel and ``scripts/setup.sh`` build them ahead (``python -m
mapekit.dataplane.bpfbuild``); at run time an object that is missing or stale is built
into a temporary folder when clang is there. Without either the backend is unavailable,
and :func:`unavailable` says why. Standard library only: ``setup.py`` loads this file
before mapekit's dependencies exist.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = Path(__file__).resolve().with_name("bpf")
PROGRAMS = ("ce", "br")
HEADERS = Path("/usr/include/bpf/bpf_helpers.h")  # Debian package libbpf-dev


class BuildError(Exception):
    """No object for a program, and none can be built (the message says why)."""


def source(name: str) -> Path:
    return SOURCES / f"{name}.bpf.c"


def packaged(name: str, folder: Path | None = None) -> Path:
    return (folder or SOURCES) / f"{name}.bpf.o"


def digest(name: str) -> str:
    """What an object is built from: the hash of its source and the shared header."""
    sha = hashlib.sha256()
    for path in (source(name), SOURCES / "mapekit.h"):
        sha.update(path.read_bytes() if path.exists() else b"")
    return sha.hexdigest()


def _stamp(obj: Path) -> Path:
    return obj.with_name(obj.name + ".sha256")


def _fresh(obj: Path, name: str) -> bool:
    """The object exists and was built from the sources beside it (file times are not
    kept by every installer: a hash, written next to the object, says it)."""
    if not obj.exists():
        return False
    if not source(name).exists():
        return True  # an installation without sources: the object is all there is
    try:
        return _stamp(obj).read_text().strip() == digest(name)
    except OSError:
        return False


def clang_missing() -> str | None:
    """None when clang and the libbpf headers are there, else what is missing."""
    missing = [
        what
        for what, ok in (
            ("clang", shutil.which("clang") is not None),
            ("libbpf-dev (bpf/bpf_helpers.h)", HEADERS.exists()),
        )
        if not ok
    ]
    return " and ".join(missing) if missing else None


def compile_object(name: str, target: Path) -> Path:
    """``clang -O2 -target bpf`` of ``bpf/<name>.bpf.c`` into ``target``."""
    why = clang_missing()
    if why is not None:
        raise BuildError(f"cannot build {name}.bpf.o: no {why} (Debian packages clang, libbpf-dev)")
    if not source(name).exists():
        raise BuildError(f"cannot build {name}.bpf.o: its source {source(name)} is not installed")
    arch = Path(f"/usr/include/{platform.machine()}-linux-gnu")
    command = [
        "clang", "-O2", "-g", "-target", "bpf", "-Wall", "-Werror",
        *([f"-I{arch}"] if arch.is_dir() else []),
        "-c", str(source(name)), "-o", str(target),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BuildError(f"clang {name}.bpf.c: {done.stderr.strip()[-1500:]}")
    _stamp(target).write_text(digest(name) + "\n")
    return target


def unavailable() -> str | None:
    """None when every program has an object or can be built, else why not."""
    stale = [name for name in PROGRAMS if not _fresh(packaged(name), name)]
    if not stale:
        return None
    why = clang_missing()
    if why is None:
        return None
    names = ", ".join(f"{n}.bpf.o" for n in stale)
    return f"no compiled BPF object ({names}) and no {why} to build one"


def object_for(name: str) -> tuple[Path, Path | None]:
    """The object file to load for program ``name``, and a temporary folder to remove
    after loading (None when the packaged object is used)."""
    obj = packaged(name)
    if _fresh(obj, name):
        return obj, None
    folder = Path(tempfile.mkdtemp(prefix="mapekit-bpf-"))
    try:
        return compile_object(name, folder / f"{name}.bpf.o"), folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def build_all(folder: Path = SOURCES) -> list[str]:
    """Build every object into ``folder`` (in place by default); what was done."""
    done = []
    for name in PROGRAMS:
        target = packaged(name, folder)
        if folder == SOURCES and _fresh(target, name):
            done.append(f"{target.name}: up to date")
            continue
        compile_object(name, target)
        done.append(f"{target.name}: built")
    return done


def main(argv: list[str]) -> int:
    """``python -m mapekit.dataplane.bpfbuild [FOLDER]``: build the objects."""
    try:
        for line in build_all(Path(argv[0]) if argv else SOURCES):
            print(f"bpf: {line}")
    except BuildError as exc:
        print(f"bpf: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""What an install weighs: ``pip install .`` with no extra (a router), with ``[server]``
and with ``[lab]``, each into a fresh virtual environment at the locked versions
(requirements/dev.txt as constraints), measured as bytes in site-packages beyond pip and
setuptools (compiled ``__pycache__`` included) and as packages installed. The router's
figure is gated at 20 MB by tests/test_install.py; this prints all three.

    .venv/bin/python bench/bench_install.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = {"pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence.pth"}


def installed(site: Path) -> tuple[int, int]:
    """(bytes, distributions) in ``site`` beyond pip and setuptools."""
    total, dists = 0, 0
    for entry in site.iterdir():
        if entry.name.split("-")[0] in PACKAGING or entry.name in PACKAGING:
            continue
        dists += entry.name.endswith(".dist-info")
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        total += sum(p.lstat().st_size for p in files)
    return total, dists


def constraints(folder: Path) -> Path:
    """requirements/dev.txt's versions without hashes (pip takes no hashes as constraints)."""
    text = (ROOT / "requirements" / "dev.txt").read_text()
    pins = re.findall(r"^([A-Za-z0-9_.-]+==[^\s\\]+(?: ; [^\\\n]+)?)", text, re.M)
    path = folder / "constraints.txt"
    path.write_text("\n".join(pins) + "\n")
    return path


def measure(extra: str, folder: Path, pins: Path) -> tuple[int, int, float]:
    env = folder / (extra or "base")
    venv.create(env, with_pip=True)
    target = f"{ROOT}[{extra}]" if extra else str(ROOT)
    start = time.monotonic()
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", "-c", str(pins), target],
                   check=True)  # fmt: skip
    seconds = time.monotonic() - start
    site = next((env / "lib").glob("python3*/site-packages"))
    return (*installed(site), seconds)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mapekit-install-") as tmp:
        folder = Path(tmp)
        pins = constraints(folder)
        print("install size in site-packages beyond pip and setuptools (gate: router <= 20 MB)")
        print(f"{'install':24} {'MB':>7} {'packages':>9} {'pip s':>7}")
        for extra in ("", "server", "lab"):
            size, dists, seconds = measure(extra, folder, pins)
            name = f"mapekit[{extra}]" if extra else "mapekit (router)"
            print(f"{name:24} {size / 1e6:7.1f} {dists:9d} {seconds:7.1f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()

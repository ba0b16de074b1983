"""The router install, as a new user makes it: ``pip install .`` into a fresh virtual
environment, no extras (the versions of requirements/ce.txt, from the machine's package
index). The gate: at most 20 MB in site-packages beyond pip and setuptools; the CE's
commands work (``mape calc``, ``mape setup --dry-run``), the server's say which extra
they need, and the wheel brought the manual pages, completions, contrib files and the data tables.

bench/bench_install.py measures the same install with and without the extras."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GATE_BYTES = 20 * 1000 * 1000
PACKAGING = {"pip", "setuptools", "_distutils_hack", "pkg_resources", "distutils-precedence.pth"}
SERVER_STACK = ("starlette", "uvicorn", "sqlalchemy", "alembic", "pydantic", "psycopg", "trustme",
                "prometheus_client", "uvloop", "httptools")  # fmt: skip


def site_packages(env: Path) -> Path:
    return next((env / "lib").glob("python3*/site-packages"))


def installed_bytes(site: Path) -> int:
    """Bytes in ``site`` beyond pip and setuptools (their dist-info included)."""
    total = 0
    for entry in site.iterdir():
        if entry.name.split("-")[0] in PACKAGING or entry.name in PACKAGING:
            continue
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        total += sum(p.lstat().st_size for p in files)
    return total


@pytest.fixture(scope="module")
def router_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    env = tmp_path_factory.mktemp("router") / "venv"
    venv.create(env, with_pip=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]  # fmt: skip
    lock = ["--require-hashes", "-r", str(ROOT / "requirements" / "ce.txt")]
    for step in (lock, [str(ROOT)]):  # the locked versions, then `pip install .` itself
        done = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=900,
                              check=False)  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"pip install {step[-1]} failed:\n{done.stderr[-3000:]}")
    yield env


def mape(env: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(env / "bin" / "mape"), *args], capture_output=True, text=True,
                          timeout=120, check=False, env={**clean, "LANG": "C.UTF-8"})  # fmt: skip


def test_the_router_install_stays_within_20_mb(router_env: Path) -> None:
    size = installed_bytes(site_packages(router_env))
    sys.stderr.write(f"router install: {size / 1e6:.1f} MB beyond pip and setuptools\n")
    assert size <= GATE_BYTES, f"{size / 1e6:.1f} MB"


def test_the_router_install_has_no_server_stack(router_env: Path) -> None:
    site = site_packages(router_env)
    present = [name for name in SERVER_STACK if (site / name).exists()]
    assert present == []
    assert (site / "httpx").is_dir() and (site / "pyroute2").is_dir()


def test_calc_and_setup_work_without_the_extras(router_env: Path, tmp_path: Path) -> None:
    calc = mape(router_env, "calc", "240b:10:3f6c:d400::/56", "--json")
    assert calc.returncode == 0, calc.stderr
    assert json.loads(calc.stdout)["ipv4"] == "106.72.63.108"
    setup = mape(router_env, "setup", "--dry-run", "--root", str(tmp_path), "--wan", "wan0",
                 "--lan", "lan0", "--prefix", "240b:10:3f6c:d400::/56", "--no-hgw-check",
                 "--json")  # fmt: skip
    assert setup.returncode == 0, setup.stderr
    doc = json.loads(setup.stdout)
    assert doc["provider"] == "static" and doc["written"] is False
    assert f"{tmp_path}/etc/mapekit/agent.toml" in [f["path"] for f in doc["files"]]


@pytest.mark.parametrize(("command", "extra"), [("server", "server"), ("lab", "lab"),
                                                ("hgw-emulator", "server")])  # fmt: skip
def test_a_command_of_an_extra_names_it(router_env: Path, command: str, extra: str) -> None:
    args = {"server": ["server", "rules", "list"], "lab": ["lab", "status"],
            "hgw-emulator": ["hgw-emulator"]}[command]  # fmt: skip
    done = mape(router_env, *args)
    assert done.returncode == 15
    assert f"pip install 'mapekit[{extra}]'" in done.stderr
    assert "[install.extra_missing]" in done.stderr and "Traceback" not in done.stderr
    assert mape(router_env, command, "--help").returncode == 0  # the help needs no extra


def test_the_wheel_carries_pages_completions_contrib_and_tables(router_env: Path) -> None:
    share = router_env / "share"
    pages = {p.name for p in (share / "man" / "man1").glob("mape*.1")}
    assert {"mape.1", "mape-calc.1", "mape-agent.1", "mape-server.1"} <= pages
    assert "provision" in (share / "bash-completion" / "completions" / "mape").read_text()
    assert (share / "zsh" / "site-functions" / "_mape").read_text().startswith("#compdef mape")
    unit = (share / "mapekit" / "systemd" / "mapekit-agent.service").read_text()
    assert unit == (ROOT / "contrib" / "mapekit-agent.service").read_text()
    hook = (share / "mapekit" / "dhcpcd-hook").read_text()
    assert hook == (ROOT / "contrib" / "dhcpcd-hook").read_text()
    examples = {p.name for p in (share / "mapekit" / "examples").glob("agent-*.toml")}
    assert examples == {p.name for p in (ROOT / "contrib").glob("agent-*.toml")}
    tables = {p.name for p in (site_packages(router_env) / "mapekit" / "core" / "data").iterdir()}
    assert {"jp_rules.json", "aftr_names.json", "PROVENANCE.md"} <= tables

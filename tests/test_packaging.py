"""What the package promises about itself: a command imports only its own stack, the full
parser (manual pages, completions) needs nothing but the standard library, the lock files
hold every dependency at a version inside its range, and the generated pages are valid
roff."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from mapekit.cli.extras import EXTRA_MODULES
from mapekit.cli.main import COMMANDS
from mapekit.cli.manuals import completions, manual_pages

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SERVER_STACK = sorted(m for m, extra in EXTRA_MODULES.items() if extra == "server")
CE_COMMANDS = ["calc", "rules", "plan", "export", "ports", "tunnel", "br", "provision", "doctor",
               "setup", "agent", "retry", "status", "forget", "states"]  # fmt: skip


def loaded_after(statement: str) -> set[str]:
    """Top-level modules a fresh interpreter has loaded after ``statement``."""
    code = f"import sys; {statement}; print(__import__('json').dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    return {name.split(".")[0] for name in json.loads(done.stdout)}


@pytest.mark.parametrize("command", CE_COMMANDS)
def test_a_router_command_imports_no_server_stack(command: str) -> None:
    module = COMMANDS[command]
    loaded = loaded_after(f"import mapekit.cli.{module} as m; m.run")
    assert loaded.isdisjoint(SERVER_STACK), sorted(loaded & set(SERVER_STACK))


def test_calc_imports_neither_the_client_nor_the_data_plane() -> None:
    loaded = loaded_after("import mapekit.cli.main, mapekit.cli.calc")
    assert loaded.isdisjoint({"httpx", "dns", "pyroute2", *SERVER_STACK})


BLOCKER = """
import importlib.abc, sys
class Only(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.split(".")[0]
        if top not in sys.stdlib_module_names and top != "mapekit":
            raise ImportError(f"not in the standard library: {name}")
sys.meta_path.insert(0, Only())
from mapekit.cli.main import full_parser
from mapekit.cli.parsing import subparsers
print(len(list(subparsers(full_parser()))))
"""


def test_the_full_parser_needs_only_the_standard_library() -> None:
    """What the build step needs: the wheel is built without mapekit's dependencies."""
    done = subprocess.run([sys.executable, "-c", BLOCKER], capture_output=True, text=True,
                          check=False, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(COMMANDS)


def _locked(name: str) -> dict[str, str]:
    text = (ROOT / "requirements" / name).read_text()
    return {m[1].lower().replace("_", "-"): m[2]
            for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", text, re.M)}  # fmt: skip


def _within(requirement: str, locked: dict[str, str]) -> str | None:
    req = Requirement(requirement)
    if req.name == "mapekit" or (req.marker and not req.marker.evaluate()):
        return None
    version = locked.get(req.name.lower().replace("_", "-"))
    if version is None:
        return f"{req.name}: not locked"
    return None if req.specifier.contains(version, prereleases=True) else f"{req}: {version}"


def test_the_locks_hold_every_dependency_within_its_range() -> None:
    ce, dev = _locked("ce.txt"), _locked("dev.txt")
    extras = [r for group in PROJECT["optional-dependencies"].values() for r in group]
    problems = [_within(r, ce) for r in PROJECT["dependencies"]]
    problems += [_within(r, dev) for r in [*PROJECT["dependencies"], *extras]]
    assert [p for p in problems if p] == []
    assert set(ce) < set(dev) and all(dev[name] == version for name, version in ce.items())
    assert not any(name in ce for name in SERVER_STACK)  # the router's lock has no server


def test_metadata_has_ranges_not_pins() -> None:
    every = [*PROJECT["dependencies"]]
    every += [r for group in PROJECT["optional-dependencies"].values() for r in group]
    assert not [r for r in every if "==" in r]


def test_every_command_has_a_manual_page() -> None:
    pages = manual_pages()
    assert set(pages) == {"mape.1", *(f"mape-{name}.1" for name in COMMANDS)}
    assert pages["mape-provision.1"].startswith('.TH MAPE\\-PROVISION "1"')
    assert "\\-\\-source\\-address" in pages["mape-provision.1"]


@pytest.mark.skipif(shutil.which("groff") is None, reason="needs groff (Debian: groff-base)")
def test_the_manual_pages_are_clean_roff(tmp_path: Path) -> None:
    for name, text in manual_pages().items():
        page = tmp_path / name
        page.write_text(text)
        done = subprocess.run(["groff", "-k", "-man", "-ww", "-z", str(page)], capture_output=True,
                              text=True, check=False, timeout=60)  # fmt: skip
        assert done.returncode == 0 and done.stderr == "", f"{name}: {done.stderr}"


def test_completions_know_every_command_and_option() -> None:
    scripts = completions()
    for shell in ("bash", "zsh"):
        for name in COMMANDS:
            assert name in scripts[shell], (shell, name)
        assert "--source-address" in scripts[shell] and "--interface-id" in scripts[shell]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_completion_completes(tmp_path: Path) -> None:
    script = tmp_path / "mape"
    script.write_text(completions()["bash"])
    probe = (f'source "{script}"; COMP_WORDS=(mape prov); COMP_CWORD=1; '
             "_shtab_mape mape prov mape; printf '%s\\n' \"${COMPREPLY[@]}\"")  # fmt: skip
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, check=False,
                          timeout=30)  # fmt: skip
    assert done.stdout.split() == ["provision"], done.stderr

"""The import graph of docs/design.md §4, enforced on the source tree.

A → B means modules of layer A may import layer B. Third-party libraries are allowed
only in the layers that own them (the edge); core and provision use the standard
library alone.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "mapekit"

ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "provision": {"core"},
    "client": {"provision", "core"},
    "server": {"provision", "core"},
    "dataplane": {"core"},
    "export": {"dataplane", "core"},
    "agent": {"client", "provision", "dataplane", "core"},
    "diag": {"client", "provision", "dataplane", "core"},
    "lab": {"agent", "server", "diag", "dataplane", "core"},
    "cli": {"core", "provision", "client", "server", "dataplane", "export", "agent", "diag",
            "lab"},
}  # fmt: skip

THIRD_PARTY: dict[str, set[str]] = {
    "core": set(),
    "provision": set(),
    "client": {"httpx", "dns"},
    "server": {
        "starlette",
        "uvicorn",
        "sqlalchemy",
        "alembic",
        "prometheus_client",
        "httpx",
        "pydantic",
        "h11",
        "anyio",
    },
    "dataplane": {"pyroute2", "nftables"},
    "export": set(),
    "agent": set(),
    "diag": set(),
    "lab": {"trustme"},
    "cli": set(),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def layer_of(path: Path) -> str | None:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else None


def test_every_layer_is_known() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer = layer_of(path)
        assert layer is None or layer in ALLOWED, f"{path}: unknown layer {layer}"


def test_imports_follow_the_layer_graph() -> None:
    problems: list[str] = []
    for path in PACKAGE.rglob("*.py"):
        layer = layer_of(path)
        if layer is None:
            continue
        for name in imports_of(path):
            top = name.split(".")[0]
            if top == "mapekit":
                parts = name.split(".")
                target = parts[1] if len(parts) > 1 else "mapekit"
                if target in ALLOWED and target != layer and target not in ALLOWED[layer]:
                    problems.append(f"{path.relative_to(PACKAGE)}: {layer} imports {name}")
            elif top not in sys.stdlib_module_names and top not in THIRD_PARTY[layer]:
                problems.append(f"{path.relative_to(PACKAGE)}: {layer} imports {name}")
    assert not problems, "\n".join(problems)


def test_core_is_standard_library_only() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name.startswith("mapekit.core"), (
                f"{path}: {name}"
            )


def test_a_violation_would_be_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import httpx\nfrom mapekit.cli import main\n")
    assert imports_of(bad) == {"httpx", "mapekit.cli"}

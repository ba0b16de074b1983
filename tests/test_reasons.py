"""The reason-code registry: complete, documented, and mapped to exit statuses."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mapekit.cli.exitcodes import EXIT_CODES
from mapekit.core.errors import MapeError
from mapekit.core.reasons import REASONS, Category, render_markdown

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


def used_codes() -> set[str]:
    """String literals passed as the first argument of an *Error(…) call in src/."""
    found: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and CODE.match(node.args[0].value)
                and (getattr(node.func, "id", "") or getattr(node.func, "attr", "")).endswith(
                    ("Error", "Failure")
                )
            ):
                found.add(node.args[0].value)
    return found


def test_every_code_used_in_the_source_is_registered() -> None:
    used = used_codes()
    assert used, "the scan found no error constructions"
    assert used <= set(REASONS), used - set(REASONS)


def test_codes_are_well_formed_and_explained_in_both_languages() -> None:
    for code, reason in REASONS.items():
        assert CODE.match(code) and code.split(".")[0]
        assert reason.en.strip() and reason.ja.strip()


def test_every_category_has_one_exit_status() -> None:
    assert set(EXIT_CODES) == set(Category)
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    assert 0 not in EXIT_CODES.values() and 1 not in EXIT_CODES.values()


def test_docs_are_generated_from_the_registry() -> None:
    assert (ROOT / "docs" / "reasons.md").read_text() == render_markdown(), (
        "regenerate with: python -m mapekit.core.reasons > docs/reasons.md"
    )


def test_unregistered_code_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        MapeError("no.such_code", "x")

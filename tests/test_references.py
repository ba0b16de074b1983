"""The project documents itself: every document or repository path that source, docs,
tests, scripts, benchmarks, contrib and the README refer to exists in the repository, and
nothing points outside it (the team's own briefs are not part of it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("src", "docs", "tests", "scripts", "bench", "contrib")
SCANNED = [
    p
    for top in TOP
    for p in sorted((ROOT / top).rglob("*"))
    if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".json", ".o")
] + [ROOT / "README.md"]
REPO_PATH = re.compile(rf"(?<![\w/.$-])((?:{'|'.join(TOP)})/[\w./*{{}}-]*[\w*}}])")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
DOCUMENT = re.compile(r"(?<![\w/.-])([A-Za-z][\w-]*\.md)\b")
OUTSIDE = re.compile(r"\.\./shared|/work/shared|DESIGN\.md|STYLE\.md")
ALL_DOCS = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}


def _exists(text: str, base: Path) -> bool:
    text = text.rstrip(".,:;")
    for folder in (ROOT, base):
        if any(c in text for c in "*{"):
            if list(folder.glob(re.sub(r"\{[^}]*\}", "*", text))):
                return True
        elif (folder / text).exists():
            return True
    return False


def references(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    bad = [f"points outside the repository: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    for match in REPO_PATH.finditer(text):
        if not _exists(match.group(1), path.parent):
            bad.append(f"no such path: {match.group(1)}")
    for match in MARKDOWN_LINK.finditer(text) if path.suffix == ".md" else ():
        target = match.group(1)
        if "://" not in target and not (path.parent / target).exists():
            bad.append(f"broken link: {target}")
    bad += [f"no such document: {m.group(1)}" for m in DOCUMENT.finditer(text)
            if m.group(1) not in ALL_DOCS]  # fmt: skip
    return bad


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_reference_resolves(path: Path) -> None:
    if path == Path(__file__):
        return  # this file names the patterns it looks for
    assert references(path) == []


def test_the_scan_finds_what_it_should(tmp_path: Path) -> None:
    sample = tmp_path / "sample.md"
    sample.write_text("See DESIGN.md §3, docs/nothing.md, [x](missing.md), docs/cli.md, "
                      "src/mapekit/agent/config.py and ../shared/data.")  # fmt: skip
    found = references(sample)
    assert "points outside the repository: DESIGN.md" in found
    assert "no such path: docs/nothing.md" in found and "broken link: missing.md" in found
    assert "points outside the repository: ../shared" in found
    assert not any("docs/cli.md" in f or "config.py" in f for f in found)

"""``mape lab scenario`` for the situations beyond the story: static rules, a rule server
that goes away and comes back, and a renumbered line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mapekit.cli.main import main
from tests.netns import needs_root

pytestmark = needs_root


def scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str) -> dict[str, object]:
    assert main(["lab", "scenario", name, "--json", "--keep-logs", str(tmp_path)]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_static(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = scenario(capsys, tmp_path, "static")
    assert doc["state"] == "established"
    assert "192.0.2.18" in str(doc["page"])


def test_server_down(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = scenario(capsys, tmp_path, "server-down")
    during = doc["during"]
    assert isinstance(during, dict)
    assert during["state"] == "established"  # the saved rules stay in use
    assert during["outcome"] in ("unreachable", "server_error")
    assert "192.0.2.18" in str(doc["page_during"])  # traffic keeps flowing
    assert doc["after"] == "established"


def test_renumber(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = scenario(capsys, tmp_path, "renumber")
    assert "192.0.2.18" in str(doc["before"]) and "192.0.2.19" in str(doc["after"])
    reports = [tuple(r) for r in doc["reports"]]  # type: ignore[union-attr]
    start, stop = (1, 0), (2, 2)
    assert reports[0] == start and stop in reports  # stop (address change), then start again
    assert reports.index(stop) < len(reports) - 1 and reports[-1] == start


def test_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "scenario", "nonsense"]) == 2

"""Every message has Japanese: each text of the catalogue (``mapekit.core.messages``), of the
reason codes, of the event lines, of the doctor's findings and of the agent's status page
has a Japanese side with kana or kanji, is not a copy of its English side, and both sides
take the same values."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from mapekit.agent.pagetext import TEXT
from mapekit.cli import lang as language
from mapekit.cli.main import main
from mapekit.core.messages import MESSAGES, say
from mapekit.core.reasons import REASONS
from mapekit.provision.events import MESSAGES as EVENTS
from mapekit.provision.events import LogEntry

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff5e]")
DIAG = Path(__file__).resolve().parents[1] / "src" / "mapekit" / "diag"


def fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def problems(key: str, en: str, ja: str) -> list[str]:
    found = [] if JAPANESE.search(ja) else [f"{key}: no Japanese in {ja!r}"]
    if ja.strip() == en.strip():
        found.append(f"{key}: the Japanese is a copy of the English")
    if fields(en) != fields(ja):
        found.append(f"{key}: values differ: {sorted(fields(en))} / {sorted(fields(ja))}")
    return found


def pairs() -> list[tuple[str, str, str]]:
    """(where, English, Japanese) of every table."""
    found = [(f"messages {k}", m.en, m.ja) for k, m in MESSAGES.items()]
    found += [(f"reasons {r.code}", r.en, r.ja) for r in REASONS.values()]
    found += [(f"events {code}", en, ja) for code, (en, ja) in EVENTS.items()]
    found += [(f"page {k}", TEXT["en"][k], TEXT["ja"][k]) for k in TEXT["en"]]
    return found + doctor_texts()


def _literal(node: ast.expr) -> str | None:
    """The text of a string literal or f-string (its values as ``{}``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def doctor_texts() -> list[tuple[str, str, str]]:
    """Every ``Text(English, Japanese)`` written in the doctor's checks."""
    found = []
    for path in sorted(DIAG.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Text":
                texts = [_literal(arg) for arg in node.args]
                if len(texts) == 2 and None not in texts:
                    found.append((f"{path.name}:{node.lineno}", str(texts[0]), str(texts[1])))
    return found


def test_the_tables_are_found() -> None:
    kinds = {where.split()[0].split(":")[0] for where, _, _ in pairs()}
    assert {"messages", "reasons", "events", "page", "checks.py"} <= kinds
    assert len(doctor_texts()) > 40


@pytest.mark.parametrize(("where", "en", "ja"), pairs(), ids=[p[0] for p in pairs()])
def test_every_message_has_japanese(where: str, en: str, ja: str) -> None:
    assert problems(where, en, ja) == []


def test_the_check_finds_what_it_should() -> None:
    assert problems("x", "Prefix", "Prefix") == [
        "x: no Japanese in 'Prefix'", "x: the Japanese is a copy of the English"
    ]  # fmt: skip
    assert problems("y", "{n} ports", "ポート") == ["y: values differ: ['n'] / []"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ja_JP.eucJP"}, "ja"),
        ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, "en"),
        ({}, "en"),
    ],
)
def test_the_locale_chooses_the_language(environ: dict[str, str], expected: str) -> None:
    assert language.choose([], environ) == expected
    assert language.choose(["calc", "--lang", "en"], environ) == "en"
    assert language.choose(["calc", "--lang=ja"], environ) == "ja"


def test_lang_ja_by_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert main(["calc", "240b:10:3f6c:d400::/56", "--iid", "nope"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("mape: エラー: インターフェース ID の形式は")
    assert err.rstrip().endswith("[input.unknown_iid]") and "'nope'" in err


def test_state_names_in_japanese_event_lines() -> None:
    line = LogEntry(0.0, "MAPE.022", {"old": "waiting", "new": "established"}).message("ja")
    waiting, established = say("state.waiting", "ja"), say("state.established", "ja")
    assert line == f"MAP-E 状態が {waiting} から {established} に変化"
    assert "waiting" not in line

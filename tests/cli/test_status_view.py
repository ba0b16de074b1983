"""``mape status`` for people: what a person checks at a glance, in English and Japanese,
with colour only on a terminal; from a saved file it says the agent is not running."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from mapekit.cli.colour import wanted
from mapekit.cli.main import main
from mapekit.cli.output import width
from mapekit.cli.statusview import age, render_status

NOW = time.time()
RUNNING = {
    "provider": "jpne", "state": "established", "outcome": "established", "running": True,
    "started_at": NOW - 7200, "rules": 4, "last_update": NOW - 3 * 3600, "hgw": "none",
    "requests": 3, "successes": 3, "failures": 0, "last_request": NOW - 3 * 3600,
    "next_attempt": NOW + 600, "next_attempt_in": 600, "prefix_source": "pd",
    "backend": "userspace", "plan": {"tunnel": {"name": "mape0"}}, "repairs": 2,
    "mapping": {"end_user_prefix": "240b:10:3f6c:d400::/56", "ipv4": "106.72.63.108",
                "psid": 212, "psid_len": 8, "port_count": 240, "iid": "legacy",
                "ce_ipv6": "240b:10:3f6c:d400:6a:483f:6c00:d400", "br": "2404:9200:225:100::64",
                "rule": {"ipv6_prefix": "240b:10::/31", "ipv4_prefix": "106.72.0.0/15",
                         "ea_len": 25, "psid_offset": 4}},
    "counters": {"out": 10, "out_bytes": 12000, "in": 8, "in_bytes": 9000,
                 "in_drop_spoofed_source": 3, "out_drop_no_port": 0},
    "port_use": {"port_count": 240, "flows": 5, "ports_in_use": {"tcp": 4, "udp": 1},
                 "insert_failed": 0, "drop": 0, "busiest": [], "per_host": {}},
    "notes": [], "events": [],
}  # fmt: skip
DSLITE = {**RUNNING, "provider": "dslite", "mapping": None, "port_use": None, "counters": {},
          "softwire": {"mechanism": "dslite", "local": "2001:db8:12:3400::b4",
                       "remote": "2001:db8::1", "remote_name": "aftr.example.jp",
                       "ipv4": "192.0.0.2", "ipv4_prefix_len": 29, "nat": False}}  # fmt: skip


def rows(text: str) -> dict[str, str]:
    return {line[:22].strip(): line[22:].strip() for line in text.splitlines()[1:]}


def test_what_a_person_checks_at_a_glance() -> None:
    text = render_status(RUNNING)
    assert text.splitlines()[0] == "MAP-E status"
    for expected in ("established", "running since", "4 saved, updated", "(3 h ago)",
                     "240b:10:3f6c:d400::/56 from pd", "106.72.63.108, PSID 212 (8 bits), 240",
                     "userspace, tunnel mape0", "2 (something removed",
                     "out 10 packets (12.0 kB), in 8 packets (9.0 kB)",
                     "in_drop_spoofed_source 3", "tcp 4, udp 1 of 240 (5 flows)",
                     "(in 600 s)"):  # fmt: skip
        assert expected in text, expected
    assert "out_drop_no_port" not in text  # only the drops that happened
    assert "\x1b[" not in text  # no colour unless asked


def test_the_softwire_instead_of_a_mapping() -> None:
    text = render_status(DSLITE)
    assert text.splitlines()[0] == "DS-Lite status"
    found = rows(text)
    assert found["AFTR"] == "aftr.example.jp (2001:db8::1)"
    assert found["B4 address"] == "2001:db8:12:3400::b4"
    assert found["IPv4 on the tunnel"].startswith("192.0.0.2/29 (no NAT here")
    assert "PSID" not in text


def test_in_japanese_the_columns_line_up() -> None:
    text = render_status(RUNNING, "ja")
    lines = text.splitlines()
    assert lines[0] == "MAP-E 状態" and "確立" in text and "3 時間前" in text
    starts = {width(line) - width(line.split("  ")[-1].lstrip()) for line in lines[1:4]}
    assert len(starts) == 1, lines[1:4]  # values begin in one column on a terminal


def test_colour_only_on_a_terminal() -> None:
    coloured = render_status(RUNNING, colour=True)
    assert "\x1b[32mestablished\x1b[0m" in coloured
    waiting = render_status({**RUNNING, "state": "waiting"}, colour=True)
    assert "\x1b[33mwaiting\x1b[0m" in waiting

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wanted(Terminal(), {}) is True
    assert wanted(Terminal(), {"NO_COLOR": "1"}) is False
    assert wanted(Terminal(), {"TERM": "dumb"}) is False
    assert wanted(io.StringIO(), {}) is False


def test_ages() -> None:
    assert [age(s) for s in (5, 300, 3 * 3600, 3 * 86400)] == [
        "5 s ago", "5 min ago", "3 h ago", "3 days ago"
    ]  # fmt: skip


def test_from_a_saved_file_nothing_is_pending(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = {**RUNNING, "running": False, "stopped_at": NOW - 60}
    (tmp_path / "status.json").write_text(json.dumps(saved))
    code = main(["status", "--socket", str(tmp_path / "none.sock"), "--state-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "not running; it ran from" in out and "Next attempt" not in out
    assert f"(from the saved status in {tmp_path})" in out

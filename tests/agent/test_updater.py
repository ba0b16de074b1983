"""The IPIP update URL called against a real (loopback) server: the last call is kept for
`mape status` and `mape doctor` with its HTTP status and answer, and the credentials — sent
to the server — appear nowhere in what is kept, logged or shown, even when the server
echoes them."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mapekit.agent import updater as updater_module
from mapekit.agent.updater import Updater
from mapekit.cli.main import main
from mapekit.client.http import HttpSettings
from mapekit.client.state import StateStore
from mapekit.client.update import UpdateUrl
from mapekit.core.softwire import Softwire
from mapekit.diag.checks import diagnose
from mapekit.diag.model import Facts
from tests.provision.servers import serve_app

USER, PASSWORD = "subscriber-0042", "s3cr/et pw&x"
ADDRESS = "2001:db8:12:3400:1234:5678:9abc:def0"
NOW = 1_700_000_000.0


def run(status: int) -> tuple[Updater, list[tuple[str, dict[str, object]]], list[str]]:
    """One update for ADDRESS against a server answering ``status`` (echoing the query)."""
    seen: list[str] = []

    async def update(request: Request) -> PlainTextResponse:
        seen.append(str(request.url))
        echo = f"{'ok' if status == 200 else 'denied'}: {request.url.query}\nsecond line"
        return PlainTextResponse(echo, status)

    events: list[tuple[str, dict[str, object]]] = []
    template = "/update?address={address}&user={user}&pass={password}"
    with serve_app(Starlette(routes=[Route("/update", update)])) as base:
        job = Updater(UpdateUrl(base + template, USER, PASSWORD), HttpSettings(),
                      lambda code, params: events.append((code, params)), threading.Event(),
                      wall=lambda: NOW)  # fmt: skip
        job.submit(ADDRESS, "2001:db8:12:3400::/56")
        deadline = time.monotonic() + 20
        while not events:
            assert time.monotonic() < deadline, "the updater reported nothing"
            time.sleep(0.02)
        job.stop.set()
    return job, events, seen


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(updater_module, "RETRIES", (0.01, 0.01, 0.01))


def test_an_accepted_call_is_kept() -> None:
    job, events, seen = run(200)
    assert events == [("MAPE.044", {"answer": "HTTP 200 ok: address=2001:db8:12:3400:1234:5678:"
                                              "9abc:def0&user=****&pass=****"})]  # fmt: skip
    record = job.last
    assert record is not None and record.ok and record.status == 200 and record.attempts == 1
    assert (record.time, record.address) == (NOW, ADDRESS)
    assert "pass=s3cr%2Fet%20pw%26x" in seen[0]  # the server got the real credentials


def test_a_refused_call_is_kept_with_its_status_and_nothing_secret() -> None:
    job, events, seen = run(401)
    record = job.last
    assert record is not None and not record.ok and record.status == 401
    assert record.attempts == 4 and len(seen) == 4  # bounded retries
    assert record.answer.startswith("HTTP 401 denied: address=")
    assert record.url.endswith("&user=****&pass=****")
    ((code, params),) = events
    assert code == "MAPE.045" and "HTTP 401" in str(params["reason"])
    wire = Softwire("ipip", ADDRESS, "2001:db8:ffff::2", None, "203.0.113.9", 32, nat=True)
    facts = Facts(wan="wan0", prefix="2001:db8:12:3400::/56", outcome="established",
                  provider="ipip", softwire=wire, update=record.to_dict())  # fmt: skip
    findings = diagnose(facts)
    assert "update.refused" in [f.code for f in findings]
    shown = json.dumps([record.to_dict(), events, [f.to_dict(lang) for f in findings
                                                   for lang in ("en", "ja")]])  # fmt: skip
    for secret in (USER, PASSWORD, "s3cr%2Fet", "s3cr/et"):
        assert secret not in shown


def test_mape_status_shows_the_last_call_and_no_credentials(tmp_path: Path) -> None:
    """The saved status of an IPIP CE whose update URL refused: `mape status` (English and
    Japanese, text and JSON) shows the tunnel and the last call, never a credential."""
    job, _, _ = run(401)
    assert job.last is not None
    wire = Softwire("ipip", ADDRESS, "2001:db8:ffff::2", None, "203.0.113.9", 32, nat=True)
    StateStore(tmp_path).save_status({"state": "established", "provider": "ipip",
                                      "softwire": wire.to_dict(), "update": job.last.to_dict(),
                                      "started_at": NOW, "stopped_at": NOW + 60})  # fmt: skip
    shown = {}
    for lang in ("en", "ja"):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["status", "--state-dir", str(tmp_path), "--lang", lang]) == 0
        shown[lang] = out.getvalue()
    assert shown["en"].startswith("IPIP (fixed IPv4) status")
    assert "None" not in shown["en"] + shown["ja"]  # no MAP-E rows without their facts
    for label, value in (("Endpoint", "2001:db8:ffff::2"), ("Tunnel address", ADDRESS),
                         ("Fixed IPv4", "203.0.113.9 (the LAN is NATed to it)")):  # fmt: skip
        assert re.search(rf"^\s+{re.escape(label)}\s+{re.escape(value)}$", shown["en"], re.M)
    assert re.search(r"Last update call\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d HTTP 401 denied: "
                     r"address=.*&user=\*\*\*\*&pass=\*\*\*\*, 4 attempt\(s\)$", shown["en"],
                     re.M)  # fmt: skip
    assert "終端装置" in shown["ja"] and "直近のアップデート URL 呼び出し" in shown["ja"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", "--state-dir", str(tmp_path), "--json"]) == 0
    shown["json"] = out.getvalue()
    assert json.loads(shown["json"])["update"]["status"] == 401
    for text in shown.values():
        for secret in (USER, PASSWORD, "s3cr%2Fet", "s3cr/et"):
            assert secret not in text

"""``mape server`` administration commands against a real database, and ``serve``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mapekit.cli.main import main
from tests.provision.samples import JPNE_FULL, jsonp

ROOT = Path(__file__).resolve().parents[2]
CODE = "0123456789abcdef0123456789abcdef"


def mape(capsys: pytest.CaptureFixture[str], db: str, *argv: str) -> tuple[int, object]:
    code = main(["server", "--db", db, "--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_admin_commands(capsys: pytest.CaptureFixture[str], db_url: str, tmp_path: Path) -> None:
    shown = mape_safe(db_url) if "@" in db_url else db_url
    assert mape(capsys, db_url, "init")[1] == {"db": shown, "schema": "0003"}
    rules = tmp_path / "reply.js"
    rules.write_bytes(jsonp("v6plus", JPNE_FULL))
    code, doc = mape(capsys, db_url, "rules", "import", str(rules), "--name", "v6plus")
    assert code == 0 and doc == {"name": "v6plus", "rules": 8, "dmr": "2404:9200:225:100::64"}
    lab = ROOT / "src" / "mapekit" / "core" / "data" / "jp_rules.json"
    assert mape(capsys, db_url, "rules", "import", str(lab), "--name", "jp")[1]["rules"] == 690  # type: ignore[index]
    assert mape(capsys, db_url, "rules", "list")[1] == {"rule_sets": ["jp", "v6plus"]}
    assert mape(capsys, db_url, "vendor", "add", CODE, "--name", "lab router")[0] == 0
    assert mape(capsys, db_url, "vendor", "disable", CODE)[1] == {"code": CODE, "enabled": False}
    code, doc = mape(capsys, db_url, "token", "add", "alice")
    assert code == 0 and len(doc["token"]) > 30  # type: ignore[index]
    code, doc = mape(capsys, db_url, "subscriber", "add", "--prefix", "240b:10:3f6c:d400::/56",
                     "--target", "hgw", "--rule-set", "v6plus")  # fmt: skip
    assert code == 0 and doc["target"] == "hgw" and doc["hgw_rental"] is True  # type: ignore[index]
    code, doc = mape(capsys, db_url, "subscriber", "set-target", "--prefix",
                     "240b:10:3f6c:d400::/56", "router")  # fmt: skip
    assert doc["target"] == "router"  # type: ignore[index]
    code, doc = mape(capsys, db_url, "subscriber", "set-hgw", "--prefix",
                     "240b:10:3f6c:d400::/56", "none")  # fmt: skip
    assert doc["hgw_rental"] is False  # type: ignore[index]
    code, doc = mape(capsys, db_url, "subscriber", "set-target", "--prefix",
                     "240b:10:3f6c:d400::/56", "hgw")  # fmt: skip
    assert code == 3 and doc["error"]["reason_code"] == "server.target_needs_hgw"  # type: ignore[index]
    csv_file = tmp_path / "subs.csv"
    csv_file.write_text(
        "prefix,target,rules\n240b:10:1::/56,router,v6plus\n240b:10:2::/56,hgw,jp\n"
    )
    assert mape(capsys, db_url, "subscriber", "import", str(csv_file))[1] == {"added": 2}
    assert len(mape(capsys, db_url, "subscriber", "list")[1]["subscribers"]) == 3  # type: ignore[index]
    code, doc = mape(capsys, db_url, "subscriber", "show", "--id", "nobody")
    assert code == 5 and doc["error"]["reason_code"] == "server.not_found"  # type: ignore[index]
    code, doc = mape(capsys, db_url, "rules", "import", str(tmp_path / "none.json"), "--name", "x")
    assert code == 6


def mape_safe(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"


def test_uninitialised_database_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, doc = mape(capsys, f"sqlite:///{tmp_path}/x.db", "vendor", "list")
    assert code == 6 and "mape server init" in doc["error"]["message"]  # type: ignore[index]


def test_serve_runs_the_http_server(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/s.db"
    assert main(["server", "--db", db, "init"]) == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mapekit", "server", "--db", db, "serve", "--listen",
         f"127.0.0.1:{port}", "--workers", "2"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert reply.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/{CODE}/get_rules").status_code == 503
    finally:
        proc.terminate()
        proc.wait(timeout=15)

"""``mape lab up|status|exec|down`` as a user drives it: a lab that stays up between
commands, the story played by hand, and nothing left behind."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.netns import needs_root

pytestmark = needs_root

FETCH = ("import urllib.request as u; "
         "print(u.urlopen('http://198.51.100.7/', timeout=3).read().decode())")  # fmt: skip


def mape(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mapekit", *args]
    return subprocess.run(
        command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=120
    )


def test_a_lab_that_stays_up(tmp_path: Path) -> None:
    state = str(tmp_path / "lab")
    up = mape("lab", "up", "--dir", state, "--json")
    assert up.returncode == 0, up.stderr
    prefix = json.loads(up.stdout)["prefix"]
    try:
        assert mape("lab", "up", "--dir", state).returncode == 3  # one at a time
        deadline = time.monotonic() + 30
        while json.loads(mape("lab", "status", "--dir", state, "--json").stdout)["ce"].get(
            "outcome") != "blank":  # fmt: skip
            assert time.monotonic() < deadline, "the CE never got its blank answer"
            time.sleep(0.5)
        diagnosis = mape("doctor", "--node", "ce", "--lab-dir", state, "--json")
        assert diagnosis.returncode == 16, diagnosis.stderr  # problems found …
        assert json.loads(diagnosis.stdout)["cause"]["code"] == "rules.blank"  # … and named
        db = f"sqlite:///{state}/server.db"
        switched = mape(
            "lab",
            "exec",
            "--dir",
            state,
            "ngn",
            "--",
            "mape",
            "server",
            "--db",
            db,
            "subscriber",
            "set-target",
            "--prefix",
            "2001:db8:12:3400::/56",
            "router",
        )
        assert switched.returncode == 0, switched.stderr
        assert mape("lab", "exec", "--dir", state, "ce", "--", "mape", "retry", "--socket",
                    f"{state}/agent.sock").returncode == 0  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            page = mape("lab", "exec", "--dir", state, "lan", "--", sys.executable, "-c", FETCH)
            if page.returncode == 0:
                break
            assert time.monotonic() < deadline, page.stderr
            time.sleep(0.5)
        assert "192.0.2.18" in page.stdout
    finally:
        down = mape("lab", "down", "--dir", state)
    assert down.returncode == 0, down.stderr
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in left.stdout
    assert mape("lab", "status", "--dir", state).returncode == 5

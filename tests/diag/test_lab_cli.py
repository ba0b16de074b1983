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
        # the same CE without the lab CA: the server's certificate is refused, and said so
        config = Path(state, "agent.toml").read_text()
        no_ca = Path(state, "no-ca.toml")
        no_ca.write_text("\n".join(x for x in config.splitlines() if "ca_file" not in x))
        tls = mape("doctor", "--node", "ce", "--lab-dir", state, "--config", str(no_ca), "--json")
        assert json.loads(tls.stdout)["cause"]["code"] == "rules.tls", tls.stdout
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
        iperf = mape("lab", "exec", "--dir", state, "lan", "--", "iperf3", "--client",
                     "198.51.100.7", "--time", "1", "--json")  # fmt: skip
        assert iperf.returncode == 0, iperf.stdout[-500:]
        assert json.loads(iperf.stdout)["end"]["sum_received"]["bits_per_second"] > 1e6
    finally:
        down = mape("lab", "down", "--dir", state)
    assert down.returncode == 0, down.stderr
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in left.stdout
    assert mape("lab", "status", "--dir", state).returncode == 5


def test_up_with_a_topology_file(tmp_path: Path) -> None:
    """An HGW running MAP-E in front of the CE: status shows both agents, the doctor runs on
    either node, and `down` leaves no namespace and no /etc/netns files."""
    state = str(tmp_path / "lab")
    topology = tmp_path / "hgw.toml"
    topology.write_text('hgw = "on"\ntarget = "hgw"\n')
    up = mape("lab", "up", "--topology", str(topology), "--dir", state, "--json")
    assert up.returncode == 0, up.stderr
    doc = json.loads(up.stdout)
    prefix = doc["prefix"]
    try:
        assert "hgw" in doc["nodes"] and doc["topology"]["hgw"] == "on"
        deadline = time.monotonic() + 60
        while True:
            status = json.loads(mape("lab", "status", "--dir", state, "--json").stdout)
            if (status["ce"].get("outcome") == "hgw_active"
                    and status.get("hgw", {}).get("state") == "established"):  # fmt: skip
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.5)
        ce = mape("doctor", "--node", "ce", "--lab-dir", state, "--json")
        assert json.loads(ce.stdout)["cause"]["code"] == "hgw.active", ce.stdout
        hgw = mape("doctor", "--node", "hgw", "--lab-dir", state, "--json")
        assert hgw.returncode == 0 and json.loads(hgw.stdout)["cause"] is None, hgw.stdout
    finally:
        down = mape("lab", "down", "--dir", state)
    assert down.returncode == 0, down.stderr
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert prefix not in left.stdout
    netns = Path("/etc/netns")
    assert not [p for p in netns.iterdir() if p.name.startswith(prefix)] if netns.exists() else True


def test_a_bad_topology_file_is_named(tmp_path: Path) -> None:
    topology = tmp_path / "bad.toml"
    topology.write_text('hgw = "sometimes"\n')
    done = mape("lab", "up", "--topology", str(topology), "--dir", str(tmp_path / "lab"))
    assert done.returncode == 78 and "hgw" in done.stderr, done.stderr  # a config error
    assert not (tmp_path / "lab" / "state.json").exists()

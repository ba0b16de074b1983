"""The story of docs/design.md §1 with real processes (mapekit.lab.story): blank rules, the
doctor's diagnosis, the operator's target switch, the CE coming up, traffic from the shared
address — then the doctor finds a healthy CE. And ``mape lab demo`` as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mapekit.cli.main import main
from mapekit.lab.network import Topology, build_network
from mapekit.lab.scenarios import dataplane
from mapekit.lab.story import agent_status, blank_rules, fetch_page, switch_target
from tests.dataplane.running import BACKENDS
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_story_and_a_healthy_ce_afterwards(tmp_path: Path, backend: str) -> None:
    said: list[str] = []
    with Lab() as lab:
        result = blank_rules(lab, tmp_path, said.append, Topology(backend=backend))
        diagnosis = result.diagnosis
        assert diagnosis is not None and diagnosis["code"] == "rules.blank"
        assert "home gateway" in diagnosis["explanation"]
        assert "192.0.2.18" in diagnosis["explanation"]  # what the static table gives
        assert "cancel the HGW rental" in diagnosis["fix"]
        assert result.shared_address == "192.0.2.18" and result.port_in_set is True
        assert any("v6plus({})" in line for line in said)  # the log shows the blank answer
        command = [sys.executable, "-m", "mapekit", "doctor", "--config",
                   str(tmp_path / "agent.toml"), "--json"]  # fmt: skip
        healthy = json.loads(lab.run("ce", *command, check=False).stdout)
        codes = {f["code"]: f["severity"] for f in healthy["findings"]}
        assert codes["rules.ok"] == "ok" and codes["tunnel.up"] == "ok"
        assert codes["nat.ok"] == "ok" and healthy["cause"] is None
        ran = dataplane(lab, tmp_path)  # the backend asked for is the one that carried the page
        assert ran["ce"]["backend"] == backend and ran["br"]["backend"] == backend
        if backend == "bpf":
            assert set(ran["ce"]["programs"]) == {"mk_ce_ingress", "mk_ce_egress"}
            assert set(ran["br"]["programs"]) == {"mk_br_ingress", "mk_br_egress"}
            assert ran["ce"]["counters"]["in"] > 0 and ran["br"]["counters"]["from_ce"] > 0


def test_mape_lab_demo(capsys: object, tmp_path: Path) -> None:
    assert main(["lab", "demo", "--json", "--keep-logs", str(tmp_path)]) == 0
    doc = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert doc["diagnosis"]["code"] == "rules.blank"
    assert doc["page"].startswith("hello from inet; you came from 192.0.2.18:")
    assert doc["port_in_set"] is True and doc["seconds_to_traffic"] < 10
    assert (tmp_path / "agent.log").exists() and (tmp_path / "server.log").exists()


def test_after_the_switch_the_normal_timer_brings_the_ce_up(tmp_path: Path) -> None:
    """No `mape retry`: the retry the agent scheduled after the blank answer (10-30 min,
    scaled 500 times down) fetches the rules once the operator switched the target."""
    with Lab() as lab:
        net = build_network(lab, tmp_path)
        lab.mape("ce", "agent", "--config", str(net.ce_config), log=tmp_path / "agent.log")
        wait_for(lambda: agent_status(tmp_path).get("outcome") == "blank", timeout=60,
                 what="the blank answer")  # fmt: skip
        waiting = agent_status(tmp_path)
        assert waiting["state"] == "waiting" and 1 <= waiting["next_attempt_in"] <= 4
        switch_target(lab, net.db, "router")
        wait_for(lambda: agent_status(tmp_path).get("state") == "established", timeout=20,
                 what="the timer's attempt")  # fmt: skip
        assert agent_status(tmp_path)["requests"] > waiting["requests"]
        assert "192.0.2.18" in fetch_page(lab)

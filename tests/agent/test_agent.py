"""``mape agent`` in namespaces: it brings the CE up from its prefix, serves status, retries,
re-plans when the prefix changes, converges after kill -9, and cleans up on SIGTERM.

    lan ─ ce (mape agent, static rules, userspace tunnel) ─ br (mape br) ─ inet
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mapekit.agent.control import ask_agent
from mapekit.lab.network import agent_config as story_config
from mapekit.lab.topology import LAB_RULES, mape_wire
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

WHO = """
import socket
c = socket.create_connection(("198.51.100.7", 8080), timeout=5); print(c.recv(100).decode())
"""
SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""


def agent_config(work: Path) -> Path:
    return story_config(work, kind="static", timer_scale=0.001)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Lab, Path]]:
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    (tmp_path / "pd").write_text("2001:db8:12:3400::/56\n")
    with Lab() as lab:
        mape_wire(lab)
        lab.mape("br", "br", "--rules", str(tmp_path / "rules.json"), "--device", "ce0",
                 "--stats", str(tmp_path / "br.json"), log=tmp_path / "br.log")  # fmt: skip
        lab.start("inet", "python3", "-c", SERVER)
        yield lab, tmp_path


def who(lab: Lab) -> str:
    """The address and port ``inet`` sees; retried while the path settles (ND, first SYN)."""
    seen: list[str] = []

    def attempt() -> bool:
        try:
            seen.append(lab.python("lan", WHO).strip())
        except RuntimeError:
            return False
        return True

    wait_for(attempt, timeout=30, what="a connection from lan to inet")
    return seen[-1]


def status(work: Path) -> dict[str, object]:
    return ask_agent(str(work / "agent.sock"), "status") or {}


def established(work: Path) -> bool:
    return status(work).get("state") == "established"


def test_agent_lifecycle(lab: tuple[Lab, Path]) -> None:
    lab_, work = lab
    config = agent_config(work)
    agent = lab_.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(lambda: established(work), what="the agent to establish")
    doc = status(work)
    assert doc["mapping"]["ipv4"] == "192.0.2.18"  # type: ignore[index]
    assert doc["prefix_source"] == "DHCPv6-PD" and doc["backend"] == "userspace"
    wait_for(lambda: "8080" in lab_.run("inet", "ss", "-ltn").stdout, what="server")
    assert who(lab_).startswith("192.0.2.18:")
    use = status(work)["port_use"]
    assert isinstance(use, dict) and use["block_size"] == 4 and len(use["per_block"]) == 63
    assert use["flows"] >= 1 and use["ports_in_use"]["tcp"] >= 1  # the connection above
    assert isinstance(use["insert_failed"], int) and "tcp_timeout_time_wait" in use["timeouts"]

    # mape retry starts a new cycle at once
    before = int(doc["requests"])  # type: ignore[call-overload]
    assert ask_agent(str(work / "agent.sock"), "retry") == {"ok": True, "command": "retry"}
    wait_for(lambda: int(status(work)["requests"]) > before, what="the retry")  # type: ignore[call-overload]

    # a new delegated prefix: re-derived and re-applied, traffic resumes from the new address
    (work / "pd").write_text("2001:db8:13:3500::/56\n")
    wait_for(lambda: (status(work).get("mapping") or {}).get("ipv4") == "192.0.2.19",  # type: ignore[union-attr]
             what="the new mapping")  # fmt: skip
    wait_for(lambda: who(lab_).startswith("192.0.2.19:"), what="traffic from the new address")
    addresses = lab_.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout
    assert "2001:db8:13:3500:0:c000:213:35/128" in addresses
    assert "2001:db8:12:3400:0:c000:212:34" not in addresses  # the old one is gone

    # kill -9, then a restart converges to the same state without duplicates
    agent.send_signal(signal.SIGKILL)
    agent.wait(timeout=10)
    agent = lab_.mape("ce", "agent", "--config", str(config), log=work / "agent2.log")
    wait_for(lambda: established(work), what="the restarted agent")
    wait_for(lambda: who(lab_).startswith("192.0.2.19:"), what="traffic after the restart")
    addresses = lab_.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout
    assert addresses.count("/128") == 1
    assert lab_.run("ce", "nft", "list", "tables").stdout.count("table ip mapekit\n") == 1

    # SIGTERM removes everything the agent made
    agent.send_signal(signal.SIGTERM)
    agent.wait(timeout=15)
    assert "mape0" not in lab_.run("ce", "ip", "link").stdout
    assert "mapekit" not in lab_.run("ce", "nft", "list", "tables").stdout
    assert "/128" not in lab_.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout


def test_ra_prefix_metrics_and_the_cli(lab: tuple[Lab, Path]) -> None:
    """The RA /64 of the WAN address as the prefix; metrics; mape status and mape retry."""
    lab_, work = lab
    lab_.run("ce", "ip", "-6", "addr", "add", "2001:db8:12:3400::1/64", "dev", "wan0", "nodad")
    text = agent_config(work).read_text()
    text = text.replace('source = "pd"', 'source = "ra"').replace(
        'metrics = ""', 'metrics = "127.0.0.1:9107"'
    )
    config = work / "agent-ra.toml"
    config.write_text(text)
    lab_.mape("ce", "agent", "--config", str(config), log=work / "agent-ra.log")
    wait_for(lambda: established(work), what="the agent (RA prefix)")
    doc = status(work)
    assert doc["prefix_source"] == "RA /64"
    assert doc["mapping"]["end_user_prefix"] == "2001:db8:12:3400::/64"  # type: ignore[index]
    metrics = lab_.python(
        "ce",
        "import urllib.request as u; "
        "print(u.urlopen('http://127.0.0.1:9107/metrics').read().decode())",
    )
    families = {f.name: f for f in text_string_to_metric_families(metrics)}  # a strict parser
    assert families["mapekit_established"].samples[0].value == 1
    assert families["mapekit_requests"].type == "counter"  # mapekit_requests_total
    assert "# HELP mapekit_dataplane_packets_total" in metrics
    env_main = lab_.run("ce", sys.executable, "-m", "mapekit", "status", "--socket",
                        str(work / "agent.sock"), "--json")  # fmt: skip
    assert json.loads(env_main.stdout)["state"] == "established"
    retried = lab_.run("ce", sys.executable, "-m", "mapekit", "retry", "--socket",
                       str(work / "agent.sock"), "--json")  # fmt: skip
    assert json.loads(retried.stdout) == {"ok": True, "command": "retry"}

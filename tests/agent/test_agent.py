"""``mape agent`` in namespaces: it brings the CE up from its prefix, serves status, retries,
re-plans when the prefix changes, converges after kill -9, and cleans up on SIGTERM.

    lan ─ ce (mape agent, static rules, userspace or bpf tunnel) ─ br (mape br) ─ inet

Each test runs with the userspace and the bpf backend (the BR runs the same kind).
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
from mapekit.core.portset import PortSet
from mapekit.dataplane import libbpf
from mapekit.lab.network import agent_config as story_config
from mapekit.lab.topology import LAB_RULES, mape_wire
from tests.dataplane.running import BACKENDS, assert_programs, filters
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


def backend_of(work: Path) -> str:
    """The backend this test's lab runs (the fixture's parameter)."""
    return (work / "backend").read_text()


def agent_config(work: Path, timer_scale: float = 0.001) -> Path:
    return story_config(work, kind="static", timer_scale=timer_scale,
                        dataplane={"backend": backend_of(work)})  # fmt: skip


@pytest.fixture(params=BACKENDS)
def lab(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Lab, Path]]:
    (tmp_path / "rules.json").write_text(json.dumps(LAB_RULES))
    (tmp_path / "pd").write_text("2001:db8:12:3400::/56\n")
    (tmp_path / "backend").write_text(request.param)
    with Lab() as lab:
        mape_wire(lab)
        lab.mape("br", "br", "--rules", str(tmp_path / "rules.json"), "--device", "ce0",
                 "--backend", request.param, "--stats", str(tmp_path / "br.json"),
                 log=tmp_path / "br.log")  # fmt: skip
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
    backend = backend_of(work)
    assert doc["prefix_source"] == "DHCPv6-PD" and doc["backend"] == backend
    wait_for(lambda: "8080" in lab_.run("inet", "ss", "-ltn").stdout, what="server")
    assert who(lab_).startswith("192.0.2.18:")
    counters = status(work)["counters"]
    assert isinstance(counters, dict) and counters.get("out", 0) >= 3  # SYN, ACK, FIN at least
    if backend == "bpf":
        assert_programs(lab_, "ce", {("mape0", "egress"): "mk_ce_egress",
                                     ("wan0", "ingress"): "mk_ce_ingress"})  # fmt: skip
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
    ids = program_ids(lab_)
    agent.send_signal(signal.SIGKILL)
    agent.wait(timeout=10)
    if backend == "bpf":  # what the crash left: the WAN's filter, holding its program
        assert "mk_ce_ingress" in filters(lab_, "ce", "wan0", "ingress")
    agent = lab_.mape("ce", "agent", "--config", str(config), log=work / "agent2.log")
    wait_for(lambda: established(work), what="the restarted agent")
    wait_for(lambda: who(lab_).startswith("192.0.2.19:"), what="traffic after the restart")
    addresses = lab_.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout
    assert addresses.count("/128") == 1
    assert lab_.run("ce", "nft", "list", "tables").stdout.count("table ip mapekit\n") == 1
    if backend == "bpf":  # one filter, a new program: the crashed run's is gone
        assert filters(lab_, "ce", "wan0", "ingress").count("name mk_ce_ingress ") == 1
        assert not any(libbpf.object_exists("prog", i) for i in ids)
        ids = program_ids(lab_)

    # SIGTERM removes everything the agent made
    agent.send_signal(signal.SIGTERM)
    agent.wait(timeout=15)
    assert "mk_ce" not in filters(lab_, "ce", "wan0", "ingress")
    assert not any(libbpf.object_exists("prog", i) for i in ids)
    assert "mape0" not in lab_.run("ce", "ip", "link").stdout
    assert "mapekit" not in lab_.run("ce", "nft", "list", "tables").stdout
    assert "/128" not in lab_.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout


def program_ids(lab: Lab) -> list[int]:
    """The ids of the BPF programs attached in the CE (none with the userspace backend)."""
    shown = filters(lab, "ce", "wan0", "ingress") + filters(lab, "ce", "mape0", "egress")
    words = shown.split()
    return [int(words[i + 1]) for i, w in enumerate(words[:-1]) if w == "id"]


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
    wait_for(lambda: "8080" in lab_.run("inet", "ss", "-ltn").stdout, what="server")
    assert who(lab_).startswith("192.0.2.18:")
    metrics = lab_.python(
        "ce",
        "import urllib.request as u; "
        "print(u.urlopen('http://127.0.0.1:9107/metrics').read().decode())",
    )
    forwarded = 'mapekit_dataplane_packets_total{direction="out",result="forwarded",reason=""}'
    assert forwarded in metrics  # the backend's own counters
    env_main = lab_.run("ce", sys.executable, "-m", "mapekit", "status", "--socket",
                        str(work / "agent.sock"), "--json")  # fmt: skip
    assert json.loads(env_main.stdout)["state"] == "established"
    retried = lab_.run("ce", sys.executable, "-m", "mapekit", "retry", "--socket",
                       str(work / "agent.sock"), "--json")  # fmt: skip
    assert json.loads(retried.stdout) == {"ok": True, "command": "retry"}


HOLD = """
import socket, time
c = socket.create_connection(("198.51.100.7", 8080), timeout=5)
print(c.recv(100).decode(), flush=True); time.sleep(600)
"""
NATED = """
import json
from pyroute2 import Conntrack
print(json.dumps(sorted(e.tuple_reply.dport for e in Conntrack().dump_entries()
                        if e.tuple_reply.daddr == "192.0.2.18" and e.tuple_reply.proto == 6)))
"""


def test_a_reload_switches_the_nat_mode_and_forgets_the_old_flows(
    lab: tuple[Lab, Path],
) -> None:
    """``dataplane.nat`` on a running agent: the whole set (virtual ports the backend
    translates), then per block (no translation left behind: answers to real ports would
    not reach conntrack otherwise), then back; each switch drops the flows NATed the old
    way, and traffic flows from ports of the set after each."""
    lab_, work = lab
    ports = PortSet(int(str(LAB_RULES[0]["psid_offset"])), 8, 0x34)
    agent = lab_.mape("ce", "agent", "--config", str(agent_config(work)), log=work / "agent.log")
    wait_for(lambda: established(work), what="the agent to establish")
    wait_for(lambda: "8080" in lab_.run("inet", "ss", "-ltn").stdout, what="server")
    plan = status(work)["plan"]
    assert isinstance(plan, dict) and plan["nat_range"] is not None
    first, last = plan["nat_range"]["nat_range"]
    assert int(who(lab_).rsplit(":", 1)[1]) in ports
    lab_.start("lan", "python3", "-c", HOLD, log=work / "hold.log")
    wait_for(lambda: "192.0.2.18:" in (work / "hold.log").read_text(), what="a held connection")
    held = json.loads(lab_.python("ce", NATED))
    assert held and all(first <= port <= last for port in held)  # conntrack's virtual ports

    def reload(nat: str) -> None:
        story_config(work, kind="static", timer_scale=0.001,
                     dataplane={"backend": backend_of(work), "nat": nat})  # fmt: skip
        agent.send_signal(signal.SIGHUP)

    reload("per-block")
    wait_for(lambda: status(work)["plan"]["nat_range"] is None, what="the per-block NAT")  # type: ignore[index]
    assert json.loads(lab_.python("ce", NATED)) == []  # the held flow is forgotten
    ruleset = lab_.run("ce", "nft", "list", "table", "ip", "mapekit").stdout
    assert f"{first}-{last}" not in ruleset and "numgen" in ruleset
    for _ in range(5):  # real ports, answered through a data plane that translates no more
        assert int(who(lab_).rsplit(":", 1)[1]) in ports
    assert all(port in ports for port in json.loads(lab_.python("ce", NATED)))
    notes = " ".join(str(n) for n in status(work)["notes"])  # type: ignore[union-attr]
    assert "connections in progress dropped" in notes, notes

    reload("auto")
    wait_for(lambda: status(work)["plan"]["nat_range"] is not None, what="the whole-set NAT")  # type: ignore[index]
    assert json.loads(lab_.python("ce", NATED)) == []
    assert int(who(lab_).rsplit(":", 1)[1]) in ports
    assert all(first <= port <= last for port in json.loads(lab_.python("ce", NATED)))
    agent.send_signal(signal.SIGTERM)
    agent.wait(timeout=15)

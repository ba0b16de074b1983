"""The story of docs/design.md §1, replayed with real processes in network namespaces.

    lan ─ ce (dhcpcd, mape agent) ─ ngn (Kea, radvd, DNS, rule server) ─ br ─ inet

The subscriber's deployment target is the home gateway, so the rule server answers the
router with a blank rule set; the agent waits and the doctor names the cause; the operator
switches the target; the CE comes up and the LAN host fetches a page from ``inet``, which
sees the shared IPv4 address and a source port inside the CE's port set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapekit.agent.control import ask_agent
from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.network import PREFIX, Topology, build_network, node_agent, rule_server

FETCH = """
import sys, urllib.request
timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 5
print(urllib.request.urlopen("http://198.51.100.7/", timeout=timeout).read().decode().strip())
"""

Say = Callable[[str], None]


@dataclass
class StoryResult:
    steps: list[dict[str, Any]] = field(default_factory=list)
    diagnosis: dict[str, Any] | None = None
    page: str | None = None
    shared_address: str | None = None
    source_port: int | None = None
    port_in_set: bool | None = None
    seconds_to_traffic: float | None = None


def agent_status(work: Path, node: str = "ce") -> dict[str, Any]:
    """The status of ``node``'s agent in the lab ({} when it does not answer)."""
    return ask_agent(str(node_agent(work, node)[1]), "status") or {}


def retry(lab: Lab, work: Path) -> None:
    """``mape retry`` on the CE: fetch the rules now."""
    lab.run_mape("ce", "retry", "--socket", str(node_agent(work, "ce")[1]))


def doctor(lab: Lab, work: Path, node: str = "ce") -> dict[str, Any]:
    """``mape doctor --json`` on ``node`` (the CE, or the HGW with its own agent)."""
    config = node_agent(work, node)[0]
    done = lab.run_mape(node, "doctor", "--config", str(config), "--json", check=False)
    return dict(json.loads(done.stdout))


def fetch_page(lab: Lab, timeout: float = 30, node: str = "lan") -> str:
    """A page from ``inet`` fetched by ``node`` (``lan``) through the tunnel, retried while
    the path settles."""
    pages: list[str] = []

    def fetched() -> bool:
        try:
            pages.append(lab.python(node, FETCH, timeout=15).strip())
        except RuntimeError:
            return False
        return True

    wait_for(fetched, timeout=timeout, what=f"a page for {node} through the tunnel")
    return pages[-1]


def switch_target(lab: Lab, db: str, target: str) -> None:
    """What the operator does: set the subscriber's deployment target."""
    rule_server(lab, db, "subscriber", "set-target", "--prefix", PREFIX, target)


def blank_rules(lab: Lab, work: Path, say: Say, base: Topology | None = None) -> StoryResult:
    """Scenario 1: blank rules, diagnosis, target switched, traffic."""
    result = StoryResult()
    net = build_network(lab, work, base)
    say(
        "The subscriber rents an HGW, and the operator delivers the MAP-E rules to it "
        "(deployment target: hgw). The subscriber has put their own router in its place."
    )
    config = net.ce_config
    lab.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(
        lambda: agent_status(work).get("outcome") == "blank", timeout=60, what="a blank answer"
    )
    doc = agent_status(work)
    events = [e["message"] for e in doc.get("events", [])][-8:]
    result.steps.append({"step": "blank", "state": doc.get("state"), "events": events})
    say(
        f"The router's DHCPv6 client (dhcpcd) got {PREFIX} from the access network's "
        f"server (Kea); no HGW answers ntt.setup. It asked {net.url} for its rules "
        "(HTTPS, the lab's CA). Its log:\n  " + "\n  ".join(events)
    )
    say(
        f"It stays '{doc.get('state')}'; next attempt in {doc.get('next_attempt_in')} s "
        "(lab timers run 500 times faster than an operator's)."
    )
    result.diagnosis = doctor(lab, work).get("cause")
    if result.diagnosis:
        say(f"mape doctor: {result.diagnosis['explanation']}\n  Fix: {result.diagnosis['fix']}")
    say("The operator switches the subscriber's deployment target to the router.")
    switch_target(lab, net.db, "router")
    start = time.monotonic()
    retry(lab, work)
    wait_for(
        lambda: agent_status(work).get("state") == "established",
        timeout=60,
        what="the CE to come up",
    )
    mapping = agent_status(work)["mapping"]
    say(
        f"mape retry: the router gets its rules at once: IPv4 {mapping['ipv4']}, PSID "
        f"{mapping['psid']}, {mapping['port_count']} ports, CE {mapping['ce_ipv6']}."
    )
    result.page = fetch_page(lab)
    result.seconds_to_traffic = round(time.monotonic() - start, 2)
    address, _, port = result.page.rsplit(" ", 1)[-1].partition(":")
    result.shared_address, result.source_port = address, int(port)
    ranges = mapping["port_ranges"]
    result.port_in_set = any(a <= result.source_port <= b for a, b in ranges)
    say(
        f'The LAN host fetched a page through MAP-E: "{result.page}" — the shared address, '
        f"and port {port} {'inside' if result.port_in_set else 'OUTSIDE'} the CE's port set "
        f"({result.seconds_to_traffic} s from the switch to the page)."
    )
    return result


def summary(found: dict[str, Any]) -> dict[str, Any]:
    """The doctor's cause and the codes of its findings."""
    return {
        "cause": found.get("cause"),
        "codes": {f["code"]: f["severity"] for f in found.get("findings", [])},
        "evidence": {f["code"]: f["evidence"] for f in found.get("findings", [])},
    }

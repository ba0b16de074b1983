"""The story of DESIGN.md §1, replayed with real processes in network namespaces.

    lan ─ ce (mape agent, JPNE-style) ─ isp (rule server, BR) ─ inet (an IPv4 web server)

The subscriber's deployment target is the home gateway, so the rule server answers the
router with a blank rule set; the agent waits and the doctor names the cause; the operator
switches the target; the CE comes up and the LAN host fetches a page from ``inet``, which
sees the shared IPv4 address and a source port inside the CE's port set.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mapekit.agent.control import ask_agent
from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.topology import LAB_RULES, mape_wire

ROUTER_CODE = "0123456789abcdef0123456789abcdef"
HGW_CODE = "fedcba9876543210fedcba9876543210"
SERVER = "[2001:db8:100::1]:8080"
PREFIX = "2001:db8:12:3400::/56"
WEB = """
import http.server
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        host, port = self.client_address[:2]
        body = f"hello from inet; you came from {host}:{port}\\n"
        self.send_response(200); self.end_headers(); self.wfile.write(body.encode())
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("198.51.100.7", 80), Page).serve_forever()
"""
FETCH = """
import urllib.request
print(urllib.request.urlopen("http://198.51.100.7/", timeout=5).read().decode().strip())
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


def agent_config(work: Path, kind: str = "jpne", timer_scale: float = 0.002) -> Path:
    """The CE agent's configuration for the lab (``kind = static`` needs no rule server)."""
    path = work / "agent.toml"
    path.write_text(f"""
[provider]
kind = "{kind}"
url = "http://{SERVER}"
vendor_code = "{ROUTER_CODE}"
hgw_url = ""
rules_file = "{work / "rules.json"}"

[interfaces]
wan = "wan0"
lan = "lan0"

[prefix]
source = "pd"
pd_file = "{work / "pd"}"

[dataplane]
backend = "userspace"

[state]
dir = "{work / "state"}"
socket = "{work / "agent.sock"}"
metrics = ""

[timers]
scale = {timer_scale}
""")
    return path


def build(lab: Lab, work: Path) -> str:
    """Namespaces, addresses, the rule server with its subscriber, the BR, the web server."""
    # JPNE-style operators use the draft-03 interface id, on the CE and the BR alike
    (work / "rules.json").write_text(json.dumps([{**LAB_RULES[0], "iid": "legacy"}]))
    (work / "pd").write_text(PREFIX + "\n")  # what the DHCPv6 client's hook would write
    mape_wire(lab, border="isp", lan_ipv6="2001:db8:12:3400::1/64")
    db = f"sqlite:///{work / 'server.db'}"
    mape = [sys.executable, "-m", "mapekit", "server", "--db", db]
    lab.run("isp", *mape, "init")
    lab.run("isp", *mape, "rules", "import", str(work / "rules.json"), "--name", "lab")
    lab.run("isp", *mape, "vendor", "add", ROUTER_CODE, "--name", "router maker")
    lab.run("isp", *mape, "vendor", "add", HGW_CODE, "--name", "HGW maker", "--kind", "hgw")
    lab.run(
        "isp", *mape, "subscriber", "add", "--prefix", PREFIX, "--target", "hgw", "--rules", "lab"
    )
    start_server(lab, work, db)
    lab.mape(
        "isp",
        "br",
        "--rules",
        str(work / "rules.json"),
        "--device",
        "ce0",
        "--stats",
        str(work / "br.json"),
        log=work / "br.log",
    )
    lab.start("inet", sys.executable, "-c", WEB, log=work / "web.log")
    wait_for(lambda: "8080" in lab.run("isp", "ss", "-ltn").stdout, what="the rule server")
    wait_for(lambda: ":80 " in lab.run("inet", "ss", "-ltn").stdout, what="the web server")
    return db


def start_server(lab: Lab, work: Path, db: str) -> subprocess.Popen[str]:
    """The rule server in ``isp`` (again, after it was stopped)."""
    return lab.mape(
        "isp",
        "server",
        "--db",
        db,
        "serve",
        "--listen",
        SERVER,
        "--rate-limit",
        "0",
        log=work / "server.log",
    )


def agent_status(work: Path) -> dict[str, Any]:
    """The lab CE agent's status ({} when it does not answer)."""
    return ask_agent(str(work / "agent.sock"), "status") or {}


def fetch_page(lab: Lab, timeout: float = 30) -> str:
    """A page from ``inet`` fetched by ``lan`` through MAP-E, retried while the path settles."""
    pages: list[str] = []

    def fetched() -> bool:
        try:
            pages.append(lab.python("lan", FETCH, timeout=15).strip())
        except RuntimeError:
            return False
        return True

    wait_for(fetched, timeout=timeout, what="a page through MAP-E")
    return pages[-1]


def switch_target(lab: Lab, db: str, target: str) -> None:
    """What the operator does: set the subscriber's deployment target."""
    lab.run(
        "isp",
        sys.executable,
        "-m",
        "mapekit",
        "server",
        "--db",
        db,
        "subscriber",
        "set-target",
        "--prefix",
        PREFIX,
        target,
    )


def blank_rules(lab: Lab, work: Path, say: Say) -> StoryResult:
    """Scenario 1: blank rules, diagnosis, target switched, traffic."""
    result = StoryResult()
    db = build(lab, work)
    say(
        "The subscriber rents an HGW, and the operator delivers the MAP-E rules to it "
        "(deployment target: hgw). The subscriber has put their own router in its place."
    )
    config = agent_config(work)
    lab.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(
        lambda: agent_status(work).get("outcome") == "blank", timeout=60, what="a blank answer"
    )
    doc = agent_status(work)
    events = [e["message"] for e in doc.get("events", [])][-8:]
    result.steps.append({"step": "blank", "state": doc.get("state"), "events": events})
    say("The router asked for its rules. Its log:\n  " + "\n  ".join(events))
    say(
        f"It stays '{doc.get('state')}'; next attempt in {doc.get('next_attempt_in')} s "
        "(lab timers run 500 times faster than an operator's)."
    )
    found = lab.run(
        "ce",
        sys.executable,
        "-m",
        "mapekit",
        "doctor",
        "--config",
        str(config),
        "--json",
        check=False,
    )
    result.diagnosis = json.loads(found.stdout).get("cause")
    if result.diagnosis:
        say(f"mape doctor: {result.diagnosis['explanation']}\n  Fix: {result.diagnosis['fix']}")
    say("The operator switches the subscriber's deployment target to the router.")
    switch_target(lab, db, "router")
    start = time.monotonic()
    lab.run("ce", sys.executable, "-m", "mapekit", "retry", "--socket", str(work / "agent.sock"))
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

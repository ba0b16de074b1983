"""The story of DESIGN.md §1 with real processes: the subscriber's deployment target is the
HGW, so the rule server answers the router with a blank rule set; the agent waits, the
doctor names the cause; the operator switches the target; the CE comes up and the LAN
host reaches the IPv4 host from the shared address.

    lan ─ ce (mape agent, jpne) ─ br (mape br + mape server) ─ inet
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.client.control import ask_agent
from mapekit.lab.topology import LAB_RULES
from tests.netns import Lab, needs_root, wait_for

pytestmark = needs_root

ROUTER_CODE = "0123456789abcdef0123456789abcdef"
SERVER_URL = "http://[2001:db8:100::1]:8080"
WHO = """
import socket
c = socket.create_connection(("198.51.100.7", 8080), timeout=5); print(c.recv(100).decode())
"""
INET = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""


def write_config(work: Path) -> Path:
    path = work / "agent.toml"
    path.write_text(f"""
[provider]
kind = "jpne"
url = "{SERVER_URL}"
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
scale = 0.001
""")
    return path


@pytest.fixture
def story(tmp_path: Path) -> Iterator[tuple[Lab, Path]]:
    work = tmp_path
    # JPNE-style operators use the draft-03 interface id: the BR must derive the same CE
    # address as the CE (a mismatch is the classic "no traffic comes back")
    (work / "rules.json").write_text(json.dumps([{**LAB_RULES[0], "iid": "legacy"}]))
    (work / "pd").write_text("2001:db8:12:3400::/56\n")
    db = f"sqlite:///{work / 'server.db'}"
    with Lab() as lab:
        lab.add("lan", "ce", "br", "inet")
        lab.link("lan", "eth0", "ce", "lan0")
        lab.link("ce", "wan0", "br", "ce0")
        lab.link("br", "inet0", "inet", "eth0")
        for node, args in [
            ("lan", ("ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")),
            ("lan", ("ip", "route", "add", "default", "via", "192.168.1.1")),
            ("ce", ("ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")),
            # the LAN side gets a /64 of the delegated prefix: rule requests leave from it
            ("ce", ("ip", "-6", "addr", "add", "2001:db8:12:3400::1/64", "dev", "lan0", "nodad")),
            ("ce", ("ip", "-6", "addr", "add", "2001:db8:100::2/64", "dev", "wan0", "nodad")),
            ("ce", ("ip", "-6", "route", "add", "default", "via", "2001:db8:100::1")),
            ("br", ("ip", "-6", "addr", "add", "2001:db8:100::1/64", "dev", "ce0", "nodad")),
            ("br", ("ip", "-6", "route", "add", "2001:db8::/40", "via", "2001:db8:100::2")),
            ("br", ("ip", "addr", "add", "198.51.100.1/24", "dev", "inet0")),
            ("inet", ("ip", "addr", "add", "198.51.100.7/24", "dev", "eth0")),
            ("inet", ("ip", "route", "add", "192.0.2.0/24", "via", "198.51.100.1")),
        ]:
            lab.run(node, *args)
        mape = [sys.executable, "-m", "mapekit", "server", "--db", db]
        lab.run("br", *mape, "init")
        lab.run("br", *mape, "rules", "import", str(work / "rules.json"), "--name", "lab")
        lab.run("br", *mape, "vendor", "add", ROUTER_CODE, "--name", "router maker")
        lab.run("br", *mape, "subscriber", "add", "--prefix", "2001:db8:12:3400::/56",
                "--target", "hgw", "--rules", "lab")  # fmt: skip
        lab.mape("br", "server", "--db", db, "serve", "--listen", "[2001:db8:100::1]:8080",
                 "--rate-limit", "0", log=work / "server.log")  # fmt: skip
        lab.mape("br", "br", "--rules", str(work / "rules.json"), "--device", "ce0",
                 log=work / "br.log")  # fmt: skip
        lab.start("inet", "python3", "-c", INET)
        wait_for(lambda: "8080" in lab.run("br", "ss", "-ltn").stdout, what="the rule server")
        yield lab, work


def status(work: Path) -> dict[str, object]:
    return ask_agent(str(work / "agent.sock"), "status") or {}


def doctor(lab: Lab, config: Path) -> dict[str, object]:
    command = [sys.executable, "-m", "mapekit", "doctor", "--config", str(config), "--json"]
    done = lab.run("ce", *command, check=False)
    return dict(json.loads(done.stdout))


def test_blank_rules_then_target_switched(story: tuple[Lab, Path]) -> None:
    lab, work = story
    config = write_config(work)
    lab.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(lambda: status(work).get("outcome") == "blank", what="the blank answer")
    doc = status(work)
    assert doc["state"] == "waiting" and doc["reason_code"] == "rules.blank"
    assert doc["next_attempt_in"] is not None  # the retry is scheduled

    found = doctor(lab, config)
    named = found["cause"]
    assert isinstance(named, dict) and named["code"] == "rules.blank"
    assert "home gateway" in str(named["explanation"])
    assert "192.0.2.18" in str(named["explanation"])  # what the static table would give
    assert "cancel the HGW rental" in str(named["fix"])

    # the operator switches the deployment target; the CE comes up on its own timer
    lab.run("br", sys.executable, "-m", "mapekit", "server", "--db",
            f"sqlite:///{work / 'server.db'}", "subscriber", "set-target", "--prefix",
            "2001:db8:12:3400::/56", "router")  # fmt: skip
    wait_for(lambda: status(work).get("state") == "established", timeout=30,
             what="the CE to come up after the switch")  # fmt: skip
    seen: list[str] = []

    def reached() -> bool:
        try:
            seen.append(lab.python("lan", WHO).strip())
        except RuntimeError:
            return False
        return True

    wait_for(reached, timeout=30, what="the LAN host to reach inet")
    address, port = seen[-1].rsplit(":", 1)
    assert address == "192.0.2.18" and (int(port) >> 2) & 0xFF == 0x34 and int(port) >= 1024
    healthy = doctor(lab, config)
    codes = {f["code"]: f["severity"] for f in healthy["findings"]}  # type: ignore[union-attr]
    assert codes["rules.ok"] == "ok" and codes["tunnel.up"] == "ok" and codes["nat.ok"] == "ok"

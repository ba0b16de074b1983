"""Lab scenarios beyond the story (DESIGN.md §5): each builds the story's lab, plays one
situation with real processes and returns what it observed (tests assert on it).

- ``static``: no rule server at all; the lab's rule file brings the CE up.
- ``server-down``: the rule server goes away; the CE keeps its saved rules and traffic flows;
  it recovers when the server returns.
- ``renumber``: the delegated prefix changes; the CE re-derives, reports stop (address
  change) then start, and traffic resumes from the new address.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.story import (
    Say,
    agent_config,
    agent_status,
    blank_rules,
    build,
    fetch_page,
    start_server,
    switch_target,
)
from mapekit.server.store import Store

Scenario = Callable[[Lab, Path, Say], dict[str, Any]]


def _up(lab: Lab, work: Path, config: Path) -> None:
    lab.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
    wait_for(lambda: agent_status(work).get("state") == "established", timeout=60, what="the CE")


def static(lab: Lab, work: Path, say: Say) -> dict[str, Any]:
    build(lab, work)
    config = agent_config(work, kind="static")
    say("No rule server: the CE takes its rules from the lab's rule file.")
    _up(lab, work, config)
    page = fetch_page(lab)
    say(f"Page through MAP-E: {page}")
    return {"state": agent_status(work)["state"], "page": page}


def server_down(lab: Lab, work: Path, say: Say) -> dict[str, Any]:
    db = build(lab, work)
    switch_target(lab, db, "router")
    _up(lab, work, agent_config(work))
    server = next(p for p in lab.procs if "serve" in p.args)  # type: ignore[operator]
    server.terminate()
    server.wait(timeout=10)
    say("The rule server went away.")
    sock = str(work / "agent.sock")
    lab.run("ce", sys.executable, "-m", "mapekit", "retry", "--socket", sock)
    wait_for(
        lambda: agent_status(work).get("outcome") in ("unreachable", "server_error"),
        timeout=30,
        what="the failed fetch",
    )
    during = agent_status(work)
    page = fetch_page(lab)
    say(
        f"The CE keeps its saved rules ({during['state']}, outcome {during['outcome']}); "
        f"page: {page}"
    )
    start_server(lab, work, db)
    wait_for(lambda: "8080" in lab.run("isp", "ss", "-ltn").stdout, what="the server again")
    lab.run("ce", sys.executable, "-m", "mapekit", "retry", "--socket", sock)
    wait_for(
        lambda: agent_status(work).get("outcome") == "established", timeout=30, what="the recovery"
    )
    say("The server is back; the CE fetched its rules again.")
    return {
        "during": {k: during[k] for k in ("state", "outcome", "reason_code")},
        "page_during": page,
        "after": agent_status(work)["outcome"],
    }


def renumber(lab: Lab, work: Path, say: Say) -> dict[str, Any]:
    db = build(lab, work)
    switch_target(lab, db, "router")
    lab.run(
        "isp",
        sys.executable,
        "-m",
        "mapekit",
        "server",
        "--db",
        db,
        "subscriber",
        "add",
        "--prefix",
        "2001:db8:13:3500::/56",
        "--target",
        "router",
        "--rules",
        "lab",
    )
    lab.run("ce", "ip", "-6", "addr", "add", "2001:db8:13:3500::1/64", "dev", "lan0", "nodad")
    _up(lab, work, agent_config(work))
    before = fetch_page(lab)
    (work / "pd").write_text("2001:db8:13:3500::/56\n")  # the line delegates a new prefix
    say("The access network delegated a new prefix.")
    wait_for(
        lambda: (agent_status(work).get("mapping") or {}).get("ipv4") == "192.0.2.19",
        timeout=30,
        what="the new mapping",
    )
    after = fetch_page(lab)
    reports = [(r["action"], r["reason"]) for r in reversed(Store(db).reports())]
    say(f"Before: {before}\nAfter: {after}\nReports received: {reports}")
    return {"before": before, "after": after, "reports": reports}


SCENARIOS: dict[str, Scenario] = {
    "blank-rules": lambda lab, work, say: vars(blank_rules(lab, work, say)),
    "static": static,
    "server-down": server_down,
    "renumber": renumber,
}

"""The ``fresh-router`` scenario: a CE with no mapekit configuration and no DHCPv6 client
running, as after installing mapekit on a new router.

``mape setup --yes --root DIR`` runs on the CE and writes the agent's configuration, the
dhcpcd configuration and hook, and the systemd unit under DIR; then dhcpcd starts from
exactly that configuration and hooks folder, and the agent from the unit's ``ExecStart``
line; a LAN host fetches a page through MAP-E. A second ``mape setup`` changes nothing.
The lab's rules come by ``--rules FILE`` (its prefixes are documentation space, which no
operator table covers).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from pathlib import Path
from typing import Any

from mapekit.agent.control import ask_agent
from mapekit.lab import services
from mapekit.lab.netns import Lab, LabError, wait_for
from mapekit.lab.network import Topology, build_network
from mapekit.lab.story import Say, fetch_page


def _setup(lab: Lab, root: Path, rules: Path) -> dict[str, Any]:
    done = lab.run_mape("ce", "setup", "--yes", "--root", str(root), "--rules", str(rules),
                        "--json", check=False)  # fmt: skip
    if done.returncode != 0:
        raise LabError(f"lab: mape setup failed on the CE: {done.stdout} {done.stderr}")
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def exec_start(unit: Path) -> list[str]:
    """The unit's ExecStart command line, as systemd would run it."""
    for line in unit.read_text().splitlines():
        if line.startswith("ExecStart="):
            return shlex.split(line.removeprefix("ExecStart="))
    raise LabError(f"lab: {unit} has no ExecStart")


def fresh_router(lab: Lab, work: Path, say: Say, base: Topology | None = None) -> dict[str, Any]:
    topology = replace(base or Topology(), provider="static", target="router", fresh=True)
    build_network(lab, work, topology)
    root = work / "ce-root"
    say("A new router: mapekit is installed, nothing is configured, no DHCPv6 client runs.")
    first = _setup(lab, root, work / "rules.json")
    say(f"mape setup: WAN {first['detected']['wan']}, LAN {first['detected']['lan']}, "
        f"prefix by {first['detected']['delivery']}; provider {first['provider']} — "
        f"{first['reasons'][0]}")  # fmt: skip
    config = root / "etc" / "mapekit" / "agent.toml"
    unit = root / "etc" / "systemd" / "system" / "mapekit-agent.service"
    services.start_dhcpcd_as_installed(
        lab, "ce", work, conf=root / "etc" / "dhcpcd.conf",
        hooks=root / "usr" / "lib" / "dhcpcd" / "dhcpcd-hooks", wan=first["detected"]["wan"],
    )  # fmt: skip
    lab.start("ce", *exec_start(unit), log=work / "agent.log")
    socket = str(root / "run" / "mapekit" / "agent.sock")

    def status() -> dict[str, Any]:
        return ask_agent(socket, "status") or {}

    wait_for(lambda: status().get("state") == "established", timeout=60,
             what="the agent that mape setup configured")  # fmt: skip
    page = fetch_page(lab)
    say(f"dhcpcd and the agent started from those files; page through MAP-E: {page}")
    second = _setup(lab, root, work / "rules.json")
    unchanged = all(f["status"] == "unchanged" for f in second["files"])
    say(f"mape setup again: {'nothing to change' if unchanged else second['files']}")
    doc = status()
    return {
        "setup": first,
        "again": second,
        "config": config.read_text(),
        "unit_exec": exec_start(unit),
        "state": doc.get("state"),
        "prefix_source": doc.get("prefix_source"),
        "mapping": doc.get("mapping"),
        "page": page,
    }

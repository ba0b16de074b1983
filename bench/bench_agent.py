"""Agent benchmark: what a router's agent costs over time.

    bash bench/agent.sh [--idle 300] [--soak 600] [--baseline-ref 3f4b8e7]

In namespaces (lan ─ ce ─ br ─ inet, static rules, the userspace tunnel):

- **time to repair** after something else removes part of the data plane (``nft flush
  ruleset``, the tunnel device deleted, the default route deleted): from the removal to the
  part being back, and to the first connection through it; the baseline is what the repair
  itself costs (the same ``nft -f`` / ``ip route add`` run by hand in the same namespace);
- **writes per hour of an idle agent**: every file change in its state folder (inotify) and
  every line it logs over ``--idle`` seconds, against the same agent at ``--baseline-ref``
  (a git revision from before writes were limited to changes), run the same way;
- **RSS** at start and every minute of ``--soak`` seconds with traffic and a provisioning
  cycle every few seconds (aim: no growth).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mapekit.agent.control import ask_agent
from mapekit.lab.netns import Lab, available, wait_for
from mapekit.lab.network import agent_config
from mapekit.lab.topology import LAB_RULES, mape_wire

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.agent.test_healing import Inotify  # noqa: E402

WHO = """
import socket, sys
c = socket.create_connection(("198.51.100.7", 8080), timeout=2); c.recv(100)
"""
SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""


def lab_up(lab: Lab, work: Path) -> None:
    (work / "rules.json").write_text(json.dumps(LAB_RULES))
    (work / "pd").write_text("2001:db8:12:3400::/56\n")
    mape_wire(lab)
    lab.mape("br", "br", "--rules", str(work / "rules.json"), "--device", "ce0",
             log=work / "br.log")  # fmt: skip
    lab.start("inet", sys.executable, "-c", SERVER)
    wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="the server")


def connects(lab: Lab) -> bool:
    done = subprocess.run(["ip", "netns", "exec", lab.ns("lan"), sys.executable, "-c", WHO],
                          capture_output=True, check=False, timeout=10)  # fmt: skip
    return done.returncode == 0


def status(work: Path, name: str = "agent") -> dict[str, object]:
    return ask_agent(str(work / f"{name}.sock"), "status") or {}


def start_agent(lab: Lab, work: Path, scale: float, src: Path | None = None,
                name: str = "agent") -> subprocess.Popen[str]:  # fmt: skip
    config = agent_config(work, "static", scale, name=name)
    if src is None:
        return lab.mape("ce", "agent", "--config", str(config), log=work / f"{name}.log")
    config.write_text(f"""[provider]
kind = "static"
rules_file = "{work / "rules.json"}"
hgw_url = ""
[interfaces]
wan = "wan0"
lan = "lan0"
[prefix]
source = "pd"
pd_file = "{work / "pd"}"
[dataplane]
backend = "userspace"
[state]
dir = "{work / f"{name}-state"}"
socket = "{work / f"{name}.sock"}"
metrics = ""
[timers]
scale = {scale}
""")  # the layout the older agent reads
    env = ["env", f"PYTHONPATH={src}"]
    return lab.start("ce", *env, sys.executable, "-m", "mapekit", "agent", "--config",
                     str(config), log=work / f"{name}.log")  # fmt: skip


def repairs(lab: Lab, work: Path) -> list[dict[str, object]]:
    out = []
    cases = [
        ("nft flush ruleset", ["nft", "flush", "ruleset"],
         lambda: "mapekit" in lab.run("ce", "nft", "list", "tables").stdout),
        ("ip link del mape0", ["ip", "link", "del", "mape0"],
         lambda: "mape0" in lab.run("ce", "ip", "link").stdout),
        ("ip route del default", ["ip", "route", "del", "default", "dev", "mape0"],
         lambda: "default" in lab.run("ce", "ip", "route").stdout),
    ]  # fmt: skip
    for name, breaker, back in cases:
        start = time.monotonic()
        lab.run("ce", *breaker)
        wait_for(back, timeout=30, what=name)
        restored = time.monotonic() - start
        wait_for(lambda: connects(lab), timeout=30, what="traffic")
        flowing = time.monotonic() - start
        out.append({"removal": name, "back_s": round(restored, 3),
                    "traffic_s": round(flowing, 3)})  # fmt: skip
    return out


def repair_baseline(lab: Lab, work: Path) -> dict[str, float]:
    """The cost of the repairs themselves, run by hand (no detection)."""
    ruleset = lab.run("ce", "nft", "list", "ruleset").stdout
    (work / "ruleset.nft").write_text(ruleset)
    timings = {}
    for name, command in [
        ("nft -f (the tables)", ["sh", "-c", f"nft -f {work / 'ruleset.nft'} && nft flush "
                                 "ruleset && nft -f " + str(work / "ruleset.nft")]),
        ("ip route replace default", ["ip", "route", "replace", "default", "dev", "mape0"]),
    ]:  # fmt: skip
        start = time.monotonic()
        lab.run("ce", *command)
        timings[name] = round(time.monotonic() - start, 4)
    return timings


def idle_writes(lab: Lab, work: Path, seconds: float, name: str) -> dict[str, float]:
    before = (work / f"{name}.log").read_text().count("\n")
    watch = Inotify(work / f"{name}-state" if name != "agent" else work / "state")
    time.sleep(seconds)
    events = watch.events()
    watch.close()
    lines = (work / f"{name}.log").read_text().count("\n") - before
    per_hour = 3600 / seconds
    return {"file_events": len(events), "file_events_per_hour": round(len(events) * per_hour),
            "log_lines_per_hour": round(lines * per_hour)}  # fmt: skip


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def soak(lab: Lab, work: Path, seconds: float, agent: subprocess.Popen[str]) -> list[int]:
    samples = [rss_kib(agent.pid)]
    end = time.monotonic() + seconds
    next_sample = time.monotonic() + 60
    while time.monotonic() < end:
        connects(lab)
        if time.monotonic() >= next_sample:
            samples.append(rss_kib(agent.pid))
            next_sample += 60
        time.sleep(0.2)
    samples.append(rss_kib(agent.pid))
    return samples


def baseline_source(ref: str, into: Path) -> Path | None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"],
                             capture_output=True, check=False)  # fmt: skip
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=float, default=300, help="seconds of idle measurement")
    parser.add_argument("--soak", type=float, default=600, help="seconds of the RSS soak")
    parser.add_argument("--baseline-ref", default="3f4b8e7", help="git revision to compare")
    args = parser.parse_args()
    if available() is not None:
        raise SystemExit(f"bench: {available()}")
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, Lab() as lab:
        work = Path(tmp)
        lab_up(lab, work)
        agent = start_agent(lab, work, 1.0)
        wait_for(lambda: status(work).get("state") == "established", what="the agent")
        wait_for(lambda: connects(lab), timeout=30, what="traffic")
        results["rss_start_kib"] = rss_kib(agent.pid)
        print(json.dumps(results), flush=True)
        results["repair"] = repairs(lab, work)
        results["repair_baseline_s"] = repair_baseline(lab, work)
        wait_for(lambda: connects(lab), timeout=30, what="traffic")
        time.sleep(2)
        results["idle"] = idle_writes(lab, work, args.idle, "agent")
        print(json.dumps(results), flush=True)
        agent.terminate()
        agent.wait(15)
        old_src = baseline_source(args.baseline_ref, work)
        if old_src is not None:
            old = start_agent(lab, work, 1.0, src=old_src, name="old")
            wait_for(lambda: status(work, "old").get("state") == "established", what="old")
            time.sleep(2)
            results[f"idle_baseline_{args.baseline_ref}"] = idle_writes(lab, work, args.idle,
                                                                         "old")  # fmt: skip
            old.terminate()
            old.wait(15)
        soaker = start_agent(lab, work, 0.0005, name="soak")  # a cycle every 5 to 43 s
        wait_for(lambda: status(work, "soak").get("state") == "established", what="soak")
        results["rss_soak_kib_per_minute"] = soak(lab, work, args.soak, soaker)
        results["soak_requests"] = status(work, "soak").get("requests")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

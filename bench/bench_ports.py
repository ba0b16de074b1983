"""Port benchmark: caps, timeouts and the cost of watching port use.

    bash bench/ports.sh [--rates 10,15,20,30] [--seconds 20]

- **Capacity toward one destination** (lan ─ ce (mape tunnel) ─ br ─ inet, 252 ports):
  host A holds H connections (120, 200, 230), then host B opens 60 new ones to the same
  destination — mapekit's ruleset without caps, then with a cap of 180 per host and
  destination (A is held at 180, B gets its 60).
- **dns-burst**: queries from fresh source ports to one resolver at each rate, with the
  kernel's timeouts and with mapekit's policy (failed queries of 400 or ``rate * seconds``).
- **The cost of the live view**: a PortWatcher (conntrack events) beside 1,000 new flows a
  second toward many destinations; its CPU time per second, against the same process idle.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import load_rule_file
from mapekit.dataplane.nftables import render
from mapekit.dataplane.plan import make_plan
from mapekit.dataplane.policy import PortPolicy
from mapekit.lab.netns import Lab, available, wait_for
from mapekit.lab.ports import CONNECT, HOLD, dns_burst
from mapekit.lab.topology import CE_PREFIX, LAB_RULES, mape_path

FLOWS = """
import socket, sys, time
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
start, i = time.monotonic(), 0
while time.monotonic() < start + seconds:
    s.sendto(b"x", ("198.51.100.7", 10000 + i % 20000)); i += 1
    time.sleep(max(0.0, start + i / rate - time.monotonic()))
print(i)
"""
WATCH = """
import os, sys, time
from mapekit.core.portset import PortSet
from mapekit.core.tables import load_rule_file
from mapekit.core.addr import parse_end_user_prefix
from mapekit.dataplane.conntrack import PortWatcher
rules = load_rule_file(sys.argv[1])
m = rules.map(*parse_end_user_prefix(sys.argv[2]))
w = PortWatcher(m.ipv4_text, m.port_set); w.start()
print("ready", flush=True)
time.sleep(float(sys.argv[3]))
t = os.times()
print(f"{t.user + t.system} {w.events} {w.view().flows}", flush=True)
"""


def capacity(lab: Lab, work: Path, held: int, cap: int) -> dict[str, object]:
    rules = load_rule_file(work / "lab-rules.json")
    mapping = rules.map(*parse_end_user_prefix(CE_PREFIX))
    plan = make_plan(mapping, "wan0", lan="lan0", rules=rules,
                     policy=PortPolicy(per_destination=cap))  # fmt: skip
    (work / "table.nft").write_text(render(plan))
    lab.run("ce", "nft", "-f", str(work / "table.nft"))
    lab.python("ce", "from pyroute2 import Conntrack; Conntrack().flush()")
    log = work / f"a-{held}-{cap}.log"
    holder = lab.start("lan", sys.executable, "-u", "-c", CONNECT, "192.168.1.2", "8080",
                       str(held), "hold", log=log)  # fmt: skip
    wait_for(lambda: log.read_text().strip() != "", timeout=30, what="host A")
    a = int(json.loads(log.read_text().splitlines()[0])["connected"])
    b = int(json.loads(lab.python("lan", CONNECT, "192.168.1.3", "8080", "60", "no",
                                  timeout=30))["connected"])  # fmt: skip
    holder.kill()
    holder.wait(5)
    time.sleep(1)
    return {"held_asked": held, "cap": cap or None, "a_holds": a, "b_new_ok": b}


def watcher_cost(lab: Lab, work: Path, rate: int, seconds: float) -> dict[str, object]:
    rules = work / "lab-rules.json"
    results = {}
    for name, traffic in (("idle", 0), (f"{rate} new flows/s", rate)):
        lab.python("ce", "from pyroute2 import Conntrack; Conntrack().flush()")
        log = work / f"watch-{traffic}.log"
        lab.start("ce", sys.executable, "-u", "-c", WATCH, str(rules), CE_PREFIX,
                  str(seconds + 2), log=log)  # fmt: skip
        wait_for(lambda log=log: "ready" in log.read_text(), what="the watcher")  # type: ignore[misc]
        if traffic:
            lab.python("lan", FLOWS, str(traffic), str(seconds), timeout=seconds + 30)
        wait_for(
            lambda log=log: len(log.read_text().split()) > 1,
            timeout=seconds + 30,
            what="the watcher's figures",
        )  # type: ignore[misc]
        cpu, events, flows = log.read_text().split()[1:4]
        results[name] = {"cpu_s": round(float(cpu), 2), "events": int(events),
                         "flows_seen": int(flows)}  # fmt: skip
    busy, idle = results[f"{rate} new flows/s"], results["idle"]
    per_second = (float(busy["cpu_s"]) - float(idle["cpu_s"])) / seconds  # type: ignore[arg-type]
    results["cpu_per_1000_flows_per_s"] = round(per_second * 1000 / rate, 4)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", default="10,15,20,30")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    if available() is not None:
        raise SystemExit(f"bench: {available()}")
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, Lab() as lab:
        work = Path(tmp)
        mape_path(lab, work, LAB_RULES)
        lab.run("lan", "ip", "addr", "add", "192.168.1.3/24", "dev", "eth0")
        lab.start("inet", sys.executable, "-c", HOLD)
        wait_for(lambda: ":8081 " in lab.run("inet", "ss", "-ltn").stdout, what="servers")
        out["capacity"] = [capacity(lab, work, h, cap) for cap in (0, 180)
                           for h in (120, 200, 230)]  # fmt: skip
        print(json.dumps(out), flush=True)
        out["watcher"] = watcher_cost(lab, work, 1000, args.seconds)
        print(json.dumps(out), flush=True)
    bursts = []
    for rate in (float(r) for r in args.rates.split(",")):
        with tempfile.TemporaryDirectory() as tmp, Lab() as lab:
            doc = dns_burst(
                lab, Path(tmp), lambda _: None, rate=rate, queries=int(rate * args.seconds)
            )
            bursts.append({"rate": rate, "queries": doc["queries"],
                           "failed_kernel_defaults": doc["kernel_defaults"]["failed"],
                           "failed_mapekit_policy": doc["mapekit_policy"]["failed"]})  # fmt: skip
    out["dns_burst"] = bursts
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

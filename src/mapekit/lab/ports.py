"""Lab scenarios about the port set (docs/ports.md): two LAN hosts share the CE's ports.

- ``port-hog``: 192.168.1.2 opens connections to one destination on ``inet`` until the
  set is gone; 192.168.1.3's new connections to the **same** destination fail, the agent's
  event and the doctor name the hog and the destination. With a per-destination cap (a
  reload of the agent's configuration) the other host's connections succeed and the hog's
  excess is refused and counted. Connections of both to another destination succeed
  throughout.
- ``dns-burst``: a LAN host sends DNS queries to one resolver on ``inet`` from fresh source
  ports, faster than conntrack's default UDP timeout frees them: with the kernel's timeouts
  queries fail, with mapekit's policy none do.
"""

from __future__ import annotations

import json
import signal
import sys
import time
import tomllib
from dataclasses import replace
from pathlib import Path
from subprocess import Popen
from typing import Any

from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.network import Network, Topology, build_network, write_toml
from mapekit.lab.story import Say, agent_status, doctor, summary
from mapekit.lab.topology import INET

HOG, OTHER = "192.168.1.2", "192.168.1.3"
HOLD = """
import socket, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.51.100.7", port)); s.listen(1024)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: (c.recv(10), c.close()), daemon=True).start()
for p in (8080, 8081):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
"""
# open N connections at once from SOURCE to PORT; print how many were established, then hold
CONNECT = """
import json, select, socket, sys, time
source, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "hold"
pending = []
for _ in range(n):
    s = socket.socket(); s.bind((source, 0)); s.setblocking(False)
    s.connect_ex(("198.51.100.7", port)); pending.append(s)
done, deadline = [], time.monotonic() + 4
while pending and time.monotonic() < deadline:
    _, ready, _ = select.select([], pending, [], 0.2)
    for s in ready:
        pending.remove(s)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            done.append(s)
print(json.dumps({"asked": n, "connected": len(done)}), flush=True)
if hold:
    time.sleep(3600)
"""
RESOLVER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.51.100.7", 53))
while True:
    data, peer = s.recvfrom(512); s.sendto(data, peer)
"""
# QUERIES queries at RATE per second, each from a fresh socket; a query fails without a reply
# within a second
BURST = """
import json, select, socket, sys, time
rate, total = float(sys.argv[1]), int(sys.argv[2])
open_, failed, answered, start = [], 0, 0, time.monotonic()
for i in range(total):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
    s.sendto(b"q%d" % i, ("198.51.100.7", 53)); open_.append((s, time.monotonic() + 1))
    while time.monotonic() < start + (i + 1) / rate:
        ready, _, _ = select.select([s for s, _ in open_], [], [], 0.01)
        for r in ready:
            r.recv(512); answered += 1; r.close()
            open_ = [(s, d) for s, d in open_ if s is not r]
        now = time.monotonic()
        failed += sum(1 for s, d in open_ if d < now)
        open_ = [(s, d) for s, d in open_ if d >= now]
time.sleep(1.1)
ready, _, _ = select.select([s for s, _ in open_], [], [], 0)
answered += len(ready); failed += len(open_) - len(ready)
print(json.dumps({"queries": total, "answered": answered, "failed": failed}))
"""


def set_ports(net: Network, **values: object) -> None:
    """Put ``values`` in the CE agent's ``[ports]`` section (then reload it)."""
    doc = tomllib.loads(net.ce_config.read_text())
    doc["ports"] = {**doc.get("ports", {}), **values}
    write_toml(net.ce_config, doc)


def reload_agent(lab: Lab, net: Network, agent: Popen[str]) -> None:
    before = (net.work / "agent.log").read_text().count("MAPE.033")
    agent.send_signal(signal.SIGHUP)
    wait_for(lambda: (net.work / "agent.log").read_text().count("MAPE.033") > before,
             what="the agent's reload")  # fmt: skip
    time.sleep(0.5)


def _up(lab: Lab, net: Network) -> Popen[str]:
    agent = lab.mape("ce", "agent", "--config", str(net.ce_config), log=net.work / "agent.log")
    wait_for(lambda: agent_status(net.work).get("state") == "established", timeout=60,
             what="the CE")  # fmt: skip
    return agent


def _connect(lab: Lab, what: tuple[str, int, int]) -> Any:
    """Open ``what`` = (source, port, count) connections at once, close them, say how many
    connected."""
    source, port, n = what
    return json.loads(lab.python("lan", CONNECT, source, str(port), str(n), "no", timeout=30))


def _hold(lab: Lab, work: Path, name: str, what: tuple[str, int, int]) -> tuple[Any, Popen[str]]:
    """Open ``what`` and keep the connections open in a background process (stopped by the
    caller, or with the lab); return once they are counted."""
    source, port, n = what
    log = work / f"{name}.log"
    holder = lab.start("lan", sys.executable, "-u", "-c", CONNECT, source, str(port), str(n),
                       "hold", log=log)  # fmt: skip
    wait_for(lambda: log.exists() and "connected" in log.read_text(), timeout=30, what=name)
    return json.loads(log.read_text().splitlines()[0]), holder


def port_hog(lab: Lab, work: Path, say: Say, base: Topology | None = None) -> dict[str, Any]:
    net = build_network(lab, work, replace(base or Topology(), provider="static", target="router"))
    lab.run("lan", "ip", "addr", "add", f"{OTHER}/24", "dev", "eth0")
    lab.start("inet", sys.executable, "-c", HOLD, log=work / "hold.log")
    wait_for(lambda: ":8081 " in lab.run("inet", "ss", "-ltn").stdout, what="the servers")
    set_ports(net, timeouts=False)  # the kernel's timeouts: the scenario is about caps
    agent = _up(lab, net)
    count = int(agent_status(net.work)["mapping"]["port_count"])
    hog, holder = _hold(lab, work, "hog", (HOG, 8080, count + 20))
    say(f"{HOG} opens {count + 20} connections to {INET}:8080: {hog['connected']} of the "
        f"{count} ports are its.")  # fmt: skip
    time.sleep(6)  # the agent reads conntrack's counters every 5 s
    other = _connect(lab, (OTHER, 8080, 20))
    elsewhere = [_connect(lab, (h, 8081, 10)) for h in (HOG, OTHER)]
    say(f"{OTHER}'s connections to the same destination: {other['connected']} of 20; to "
        f"another one: {[e['connected'] for e in elsewhere]} of 10 each.")  # fmt: skip
    wait_for(lambda: "MAPE.041" in (work / "agent.log").read_text(), timeout=20,
             what="the agent's NAT-failure event")  # fmt: skip
    event = next(line for line in (work / "agent.log").read_text().splitlines()
                 if "MAPE.041" in line)  # fmt: skip
    found = doctor(lab, net.work)
    say(f"The agent: {event.split('MAPE.041', 1)[1].strip()}")
    holder.kill()  # this process only: a pattern would match processes outside the lab
    holder.wait(5)
    time.sleep(1)
    cap = count // 2
    set_ports(net, cap_per_destination=cap)
    reload_agent(lab, net, agent)
    lab.python("ce", "from pyroute2 import Conntrack; Conntrack().flush()")
    capped, _ = _hold(lab, work, "hog2", (HOG, 8080, count + 20))
    other_capped = _connect(lab, (OTHER, 8080, 20))
    elsewhere_capped = [_connect(lab, (h, 8081, 10)) for h in (HOG, OTHER)]
    time.sleep(1)
    refused = agent_status(net.work).get("port_use") or {}
    say(f"With a cap of {cap} flows per host and destination: {HOG} holds {capped['connected']}, "
        f"{OTHER} connects {other_capped['connected']} of 20.")  # fmt: skip
    return {
        "port_count": count, "hog": hog, "other": other, "elsewhere": elsewhere,
        "event": event, "doctor": summary(found), "cap": cap, "capped": capped,
        "other_capped": other_capped, "elsewhere_capped": elsewhere_capped,
        "refused": _refused(lab), "port_use": refused,
    }  # fmt: skip


def _refused(lab: Lab) -> dict[str, int]:
    code = ("from mapekit.dataplane import nft; import json; "
            "print(json.dumps(nft.set_counters('mapekit_refused')))")  # fmt: skip
    doc: dict[str, int] = json.loads(lab.python("ce", code))
    return doc


def dns_burst(
    lab: Lab,
    work: Path,
    say: Say,
    base: Topology | None = None,
    *,
    rate: float = 15,
    queries: int = 300,  # 20 s: the defaults run out after 17 s (252 ports, 30 s timeout)
) -> dict[str, Any]:
    net = build_network(lab, work, replace(base or Topology(), provider="static", target="router"))
    lab.start("inet", sys.executable, "-c", RESOLVER, log=work / "resolver.log")
    wait_for(lambda: ":53 " in lab.run("inet", "ss", "-lun").stdout, what="the resolver")
    set_ports(net, timeouts=False)
    agent = _up(lab, net)
    results = {}
    for name, timeouts in (("kernel defaults", False), ("mapekit's policy", True)):
        set_ports(net, timeouts=timeouts)
        reload_agent(lab, net, agent)
        lab.python("ce", "from pyroute2 import Conntrack; Conntrack().flush()")
        results[name] = json.loads(lab.python("lan", BURST, str(rate), str(queries), timeout=120))
        say(f"{queries} DNS queries at {rate:g}/s with {name}: "
            f"{results[name]['failed']} failed")  # fmt: skip
    return {"rate": rate, "queries": queries, "kernel_defaults": results["kernel defaults"],
            "mapekit_policy": results["mapekit's policy"]}  # fmt: skip

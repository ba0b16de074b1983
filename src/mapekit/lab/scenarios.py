"""Lab scenarios (docs/design.md §5): each builds the lab of :mod:`mapekit.lab.network` for its
situation, plays it with real processes, asks ``mape doctor`` on the CE, and returns what
it observed (tests assert on it).

- ``blank-rules``: the story (:mod:`mapekit.lab.story`).
- ``hgw-active``: an HGW running MAP-E sits in the path: the CE stands down (reason 4) and
  traffic flows through the HGW.
- ``hgw-off``: an HGW without MAP-E: the CE uses the RA /64 the HGW advertises.
- ``hgw-pd``: the same HGW also delegates a /60 of its /56, and the CE takes it: a prefix
  with bits after the EA bits, so the BR expects the CE at another address and nothing
  flows; the doctor names it, and with the RA /64 the CE works.
- ``server-down``: the rule server goes away; the CE keeps its saved rules and traffic
  flows; it recovers when the server returns.
- ``renumber``: Kea delegates another prefix; the CE re-derives, reports stop (address
  change) then start, and traffic resumes from the new address.
- ``static``: no rule server at all; the lab's rule file brings the CE up.
- ``ocn``, ``hb46pp``, ``dhcpv6``: the other provisioning styles end to end (``dhcpv6``:
  the rule arrives as RFC 7598 S46 options from Kea, through dhcpcd's hook).
- ``spoof``: a rogue host on the access network forges tunnel packets; the BR and the CE
  drop and count them and nothing reaches ``inet`` or ``lan``.
- ``dslite``, ``ipip-fixed``, ``hb46pp-order``: DS-Lite and IPIP (:mod:`mapekit.lab.softwires`).
- ``fresh-router``: no mapekit configuration on the CE; ``mape setup`` writes it, dhcpcd and
  the agent start from those files (:mod:`mapekit.lab.fresh`).
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from mapekit.lab import services
from mapekit.lab.fresh import fresh_router
from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.network import (
    ROGUE,
    Network,
    Topology,
    build_network,
    rule_server,
    start_rule_server,
)
from mapekit.lab.ports import dns_burst, port_hog
from mapekit.lab.softwires import SOFTWIRE_SCENARIOS
from mapekit.lab.story import Say, agent_status, blank_rules, doctor, fetch_page, retry, summary

Scenario = Callable[[Lab, Path, Say, Topology], dict[str, Any]]
BASE = Topology()  # what every scenario's topology starts from (``backend`` from the CLI)
NEW_PREFIX = "2001:db8:13:3500::/56"


def _reports(db: str) -> list[tuple[object, object]]:
    """The rule server's stored reports, oldest first (the server extra, imported here)."""
    from mapekit.server.store import Store  # noqa: PLC0415

    return [(r["action"], r["reason"]) for r in reversed(Store(db).reports())]


def _up(lab: Lab, net: Network, state: str = "established") -> dict[str, Any]:
    lab.mape("ce", "agent", "--config", str(net.ce_config), log=net.work / "agent.log")
    wait_for(
        lambda: agent_status(net.work).get("outcome") == state, timeout=60, what=f"the CE: {state}"
    )
    return agent_status(net.work)


def _say_doctor(say: Say, found: dict[str, Any]) -> None:
    cause = found.get("cause")
    if cause:
        say(f"mape doctor: {cause['explanation']}\n  Fix: {cause['fix']}")
    else:
        say("mape doctor: no problem found.")


def _provider(kind: str) -> Scenario:
    def play(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
        net = build_network(lab, work, replace(base, provider=kind, target="router"))
        say(f"The CE asks for its rules the {kind} way.")
        doc = _up(lab, net)
        page = fetch_page(lab)
        say(f"Established from {doc['prefix_source']}; page through MAP-E: {page}")
        found = doctor(lab, net.work)
        _say_doctor(say, found)
        result = {"state": doc["state"], "provider": kind, "page": page, "doctor": summary(found)}
        if kind == "dhcpv6" and net.ce_dhcp is not None:  # what dhcpcd's hook wrote
            result["s46_options"] = (net.ce_dhcp / "s46.hex").read_text().strip()
        return result

    return play


def static(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, provider="static"))
    say("No rule server: the CE takes its rules from the lab's rule file.")
    doc = _up(lab, net)
    page = fetch_page(lab)
    say(f"Page through MAP-E: {page}")
    return {"state": doc["state"], "page": page, "doctor": summary(doctor(lab, net.work))}


def server_down(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, target="router"))
    _up(lab, net)
    server = next(p for p in lab.procs if "serve" in p.args)  # type: ignore[operator]
    server.terminate()
    server.wait(timeout=10)
    lab.procs.remove(server)
    say("The rule server went away.")
    retry(lab, work)
    wait_for(
        lambda: agent_status(work).get("outcome") in ("unreachable", "server_error"),
        timeout=30,
        what="the failed fetch",
    )
    during = agent_status(work)
    page = fetch_page(lab)
    found = doctor(lab, net.work)
    say(
        f"The CE keeps its saved rules ({during['state']}, outcome {during['outcome']}); "
        f"page: {page}"
    )
    _say_doctor(say, found)
    start_rule_server(lab, net, log="server-again.log")
    retry(lab, work)
    wait_for(
        lambda: agent_status(work).get("outcome") == "established", timeout=30, what="the recovery"
    )
    say("The server is back; the CE fetched its rules again.")
    return {
        "during": {k: during[k] for k in ("state", "outcome", "reason_code")},
        "page_during": page,
        "doctor": summary(found),
        "after": agent_status(work)["outcome"],
    }


def renumber(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, target="router"))
    rule_server(lab, net.db, "subscriber", "add", "--prefix", NEW_PREFIX, "--target", "router",
                "--rule-set", "lab")  # fmt: skip
    first = _up(lab, net)
    before = fetch_page(lab)
    services.kea_delegate(work, NEW_PREFIX)
    assert net.ce_dhcp is not None
    services.dhcpcd_rebind(lab, "ce", net.ce_dhcp, "wan0")
    say(f"The access network (Kea) now delegates {NEW_PREFIX}; the CE's dhcpcd rebinds.")
    wait_for(
        lambda: (agent_status(work).get("mapping") or {}).get("ipv4") == "192.0.2.19",
        timeout=60,
        what="the new mapping",
    )
    after = fetch_page(lab)
    reports = _reports(net.db)
    say(f"Before: {before}\nAfter: {after}\nReports received: {reports}")
    return {
        "prefixes": [_prefix(first), _prefix(agent_status(work))],
        "before": before,
        "after": after,
        "reports": reports,
        "doctor": summary(doctor(lab, net.work)),
    }


def hgw_active(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, hgw="on", target="hgw"))
    say(
        "The rented HGW runs MAP-E (the operator delivers the rules to it); the subscriber's "
        "router sits behind it."
    )
    doc = _up(lab, net, state="hgw_active")
    events = [e["message"] for e in doc.get("events", [])][-5:]
    say("The router's log:\n  " + "\n  ".join(events))
    hgw: dict[str, Any] = {}
    wait_for(
        lambda: hgw.update(agent_status(work, "hgw")) or hgw.get("state") == "established",
        timeout=60,
        what="the HGW's own MAP-E",
    )
    page = fetch_page(lab)
    say(f"Traffic flows through the HGW's MAP-E: {page}")
    found = doctor(lab, net.work)
    _say_doctor(say, found)
    reports = _reports(net.db)
    return {
        "state": doc["outcome"],
        "hgw_state": hgw["state"],
        "page": page,
        "reports": reports,
        "doctor": summary(found),
    }


def hgw_off(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, hgw="off", target="router"))
    say("An HGW without MAP-E sits in the path; it advertises a /64 of its /56 on its LAN.")
    doc = _up(lab, net)
    page = fetch_page(lab)
    say(f"The CE uses the {doc['prefix_source']} {_prefix(doc)}; page: {page}")
    found = doctor(lab, net.work)
    _say_doctor(say, found)
    return {
        "state": doc["state"],
        "prefix_source": doc["prefix_source"],
        "prefix": _prefix(doc),
        "page": page,
        "doctor": summary(found),
    }


def hgw_pd(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, hgw="off", hgw_pd=True, target="router"))
    say(
        "An HGW without MAP-E delegates a /60 of its /56 to the router (DHCPv6-PD), and "
        "advertises its first /64 on its LAN. The router takes the delegated prefix."
    )
    first = _up(lab, net)
    try:
        broken: str | None = fetch_page(lab, timeout=4)
    except TimeoutError:
        broken = None
    found = doctor(lab, net.work)
    say(f"With {_prefix(first)}: page {'fetched' if broken else 'NOT fetched'}.")
    _say_doctor(say, found)
    say('The fix applied: prefix.source = "ra" (the HGW\'s /64), and the agent restarted.')
    agent = next(p for p in lab.procs if "agent" in p.args and p.poll() is None)  # type: ignore[operator]
    agent.terminate()
    agent.wait(timeout=15)
    lab.procs.remove(agent)
    text = net.ce_config.read_text().replace('source = "auto"', 'source = "ra"')
    net.ce_config.write_text(text)
    after = _up(lab, net)
    page = fetch_page(lab)
    say(f"With the {after['prefix_source']} {_prefix(after)}: {page}")
    return {
        "delegated": _prefix(first),
        "page_with_delegated": broken,
        "doctor": summary(found),
        "fixed_prefix": _prefix(after),
        "page": page,
    }


def _prefix(status: dict[str, Any]) -> str | None:
    return (status.get("mapping") or {}).get("end_user_prefix")


# A host on the access network forges IPv4-in-IPv6 packets (raw socket bound to addresses
# that are not its own: net.ipv6.ip_nonlocal_bind). argv: CE address, BR address, NAT port.
FORGE = """
import socket, struct, sys
ce, br, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
INET, SHARED = "198.51.100.7", "192.0.2.18"

def packet(src, dst, sport, dport):
    udp = struct.pack("!HHHH", sport, dport, 8 + 6, 0) + b"forged"
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + udp

def send(outer_src, outer_dst, inner):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 4)
    s.bind((outer_src, 0)); s.sendto(inner, (outer_dst, 0)); s.close()

rogue = sys.argv[4]
for _ in range(5):
    # to the BR: the CE's shared address from the rogue's own IPv6 address
    send(rogue, br, packet(SHARED, INET, port, 9999))
    # to the BR: from the CE's address, but with a port outside the CE's set
    send(ce, br, packet(SHARED, INET, port ^ 0x0100, 9999))
    # to the CE: a reply to the LAN's flow, not from the BR
    send(rogue, ce, packet(INET, SHARED, 9999, port))
    # to the CE: as if from the BR, for a port of another CE
    send(br, ce, packet(INET, SHARED, 9999, port ^ 0x0100))
"""
UDP_SINK = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 9999))
while True:
    data, peer = s.recvfrom(2048)
    print(f"{peer[0]}:{peer[1]} {data.decode(errors='replace')}", flush=True)
    if not data.startswith(b"forged"):
        s.sendto(b"reply", peer)
"""
LAN_FLOW = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
s.bind(("192.168.1.2", 40000))
s.sendto(b"hello", ("198.51.100.7", 9999)); print(s.recv(100).decode(), flush=True)
end = time.monotonic() + 6
while time.monotonic() < end:
    try:
        print(s.recv(100).decode(), flush=True)
    except TimeoutError:
        s.sendto(b"keepalive", ("198.51.100.7", 9999))
"""


def _counters(path: Path) -> dict[str, int]:
    try:
        return {k: v for k, v in json.loads(path.read_text()).items() if "drop" in k}
    except (OSError, ValueError):
        return {}


def spoof(lab: Lab, work: Path, say: Say, base: Topology = BASE) -> dict[str, Any]:
    net = build_network(lab, work, replace(base, target="router", rogue=True))
    doc = _up(lab, net)
    ce_address, br = doc["mapping"]["ce_ipv6"], "2001:db8:ffff::1"
    lab.start("inet", sys.executable, "-u", "-c", UDP_SINK, "198.51.100.7", log=work / "sink.log")
    wait_for(lambda: ":9999 " in lab.run("inet", "ss", "-lun").stdout, what="the UDP sink")
    fetch_page(lab)  # the path works
    flow = lab.start("lan", sys.executable, "-u", "-c", LAN_FLOW, log=work / "lan-flow.log")
    wait_for(lambda: "reply" in (work / "lan-flow.log").read_text(), what="the LAN's UDP flow")
    port = int((work / "sink.log").read_text().split()[0].rsplit(":", 1)[1])
    before = {"br": _counters(work / "br.json"), "ce": _ce_counters(work)}
    lab.run("rogue", "sysctl", "-qw", "net.ipv6.ip_nonlocal_bind=1")
    say(f"A rogue host on the access network ({ROGUE}) forges tunnel packets for the CE's "
        f"address {doc['mapping']['ipv4']} (its flow uses port {port}).")  # fmt: skip
    lab.python("rogue", FORGE, ce_address, br, str(port), ROGUE)
    time.sleep(1.5)  # the forwarders write their counters every second
    flow.wait(timeout=15)
    after = {"br": _counters(work / "br.json"), "ce": _ce_counters(work)}
    dropped = {
        side: {k: v - before[side].get(k, 0) for k, v in after[side].items()
               if v != before[side].get(k, 0)}
        for side in ("br", "ce")
    }  # fmt: skip
    reached_inet = (work / "sink.log").read_text().count("forged")
    reached_lan = (work / "lan-flow.log").read_text().count("forged")
    found = doctor(lab, net.work)
    say(f"Dropped and counted: {dropped}; forged packets that reached inet: {reached_inet}, "
        f"lan: {reached_lan}")  # fmt: skip
    _say_doctor(say, found)
    return {
        "dropped": dropped,
        "reached_inet": reached_inet,
        "reached_lan": reached_lan,
        "doctor": summary(found),
    }


def _ce_counters(work: Path) -> dict[str, int]:
    counters = agent_status(work).get("counters") or {}
    return {k: int(v) for k, v in counters.items() if "drop" in k}


PROGRAM_HOOKS = {
    "ce": (("wan0", "ingress"), ("mape0", "egress")),
    "hgw": (("wan0", "ingress"), ("mape0", "egress")),
    "br": (("ngn0", "ingress"), ("mapebr0", "egress")),
}


def _programs(lab: Lab, node: str) -> list[str]:
    """The mapekit BPF programs attached (and JIT-compiled) in ``node``."""
    found = []
    for device, hook in PROGRAM_HOOKS[node]:
        shown = lab.run(node, "tc", "filter", "show", "dev", device, hook, check=False).stdout
        if "jited" not in shown:
            continue
        words = shown.split()
        found += [b for a, b in itertools.pairwise(words)
                  if a == "name" and b.startswith("mk_")]  # fmt: skip
    return found


def _br_start(work: Path) -> dict[str, Any]:
    for line in (work / "br.log").read_text(errors="replace").splitlines():
        if line.startswith("{") and '"role"' in line:
            return dict(json.loads(line))
    return {}


def dataplane(lab: Lab, work: Path) -> dict[str, Any]:
    """Which data plane ran, seen from outside: for the CE (and an HGW running MAP-E) and
    the BR, the backend each reports, the BPF programs attached, and the counters."""
    found: dict[str, Any] = {}
    for node in ("ce", "hgw"):
        if node not in lab.nodes:
            continue
        status = agent_status(work, node)
        if status:
            found[node] = {"backend": status.get("backend"), "state": status.get("state"),
                           "programs": _programs(lab, node),
                           "counters": status.get("counters") or {}}  # fmt: skip
    stats, asked = work / "br.json", time.time()
    try:  # the BR writes its counters every second: wait for a copy newer than now
        wait_for(lambda: stats.stat().st_mtime > asked, timeout=5, what="the BR's counters")
        counters = json.loads(stats.read_text())
    except (OSError, ValueError, TimeoutError):
        counters = {}
    found["br"] = {"backend": _br_start(work).get("backend"), "programs": _programs(lab, "br"),
                   "counters": counters}  # fmt: skip
    return found


SCENARIOS: dict[str, Scenario] = {
    "blank-rules": lambda lab, work, say, base: vars(blank_rules(lab, work, say, base)),
    "hgw-active": hgw_active,
    "hgw-off": hgw_off,
    "hgw-pd": hgw_pd,
    "server-down": server_down,
    "renumber": renumber,
    "static": static,
    "ocn": _provider("ocn"),
    "hb46pp": _provider("hb46pp"),
    "dhcpv6": _provider("dhcpv6"),
    "spoof": spoof,
    "fresh-router": fresh_router,
    "port-hog": port_hog,
    "dns-burst": dns_burst,
    **SOFTWIRE_SCENARIOS,
}

"""Lab scenarios of the other Japanese mechanisms (docs/design.md §5):

- ``dslite``: the CE is a DS-Lite B4 whose AFTR name comes from DHCPv6 option 64 (Kea's
  ``aftr-name``, through dhcpcd's hook); a second CE (``ce2``) learns its DS-Lite
  subscription from HB46PP. Both LANs use 192.168.1.2, and both hosts fetch a page from the
  same source port at the same time: the AFTR (``mape aftr``, one conntrack zone per
  softwire) NATs both, the CEs NAT nothing.
- ``ipip-fixed``: the CE has a fixed IPv4 address over an IPIP tunnel to the operator's
  endpoint; its update URL tells the rule server its tunnel address at start; after
  renumbering it calls it again, the endpoint follows and traffic resumes from the fixed
  address.
- ``hb46pp-order``: the rule server offers ``order: ["dslite", "map_e"]``; the CE takes
  DS-Lite; with ``hb46pp.prefer = "map_e"`` in its configuration it takes MAP-E.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from mapekit.lab import services
from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.network import (
    AFTR,
    AFTR_NAME,
    FIXED_IPV4,
    IPIP_ENDPOINT,
    IPIP_IID,
    PREFIX,
    UPDATE_PASSWORD,
    UPDATE_USER,
    Network,
    Topology,
    build_network,
    node_agent,
    rule_server,
)
from mapekit.lab.story import Say, agent_status, doctor, fetch_page, summary

NEW_PREFIX = "2001:db8:13:3500::/56"
AFTR_PUBLIC = "198.51.100.1"  # the AFTR's side towards inet: what its NAT translates to

# a page over a raw HTTP request from one fixed source port (both LANs use 192.168.1.2)
FETCH_FROM_PORT = """
import socket, sys
c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
c.settimeout(10); c.bind(("192.168.1.2", int(sys.argv[1])))
c.connect(("198.51.100.7", 80)); c.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
data = b""
while chunk := c.recv(4096):
    data += chunk
print(data.split(b"\\r\\n\\r\\n", 1)[1].decode().strip())
"""
# the AFTR's connections from 192.168.1.2:PORT as the kernel lists them
CONNTRACK = """
import json, re, sys
found = []
for line in open("/proc/net/nf_conntrack"):
    if "src=192.168.1.2 " in line and f"sport={sys.argv[1]} " in line:
        fields = dict(re.findall(r"([a-z-]+)=(\\S+)", line))
        found.append({"zone": fields.get("zone-orig"), "mark": fields.get("mark"),
                      "public_port": line.split("dport=", 2)[2].split()[0]})
print(json.dumps(found))
"""
SAME_PORT = 40000


def _start_agent(lab: Lab, work: Path, node: str) -> subprocess.Popen[str]:
    config, _ = node_agent(work, node)
    return lab.mape(node, "agent", "--config", str(config), log=work / f"{config.stem}.log")


def _established(work: Path, node: str = "ce", timeout: float = 60) -> dict[str, Any]:
    wait_for(lambda: agent_status(work, node).get("outcome") == "established",
             timeout=timeout, what=f"{node}: established")  # fmt: skip
    return agent_status(work, node)


def _came_from(page: str) -> str:
    """The address inet's web server saw (its page says "you came from A:P")."""
    return page.rsplit(" ", 1)[-1].rsplit(":", 1)[0]


def _mapekit_nat(lab: Lab, node: str) -> bool:
    """Whether mapekit's own table on ``node`` translates anything."""
    listed = lab.run(node, "nft", "list", "table", "ip", "mapekit", check=False).stdout
    return "snat" in listed or "masquerade" in listed


def _same_port_pages(lab: Lab) -> dict[str, str]:
    """Both LAN hosts fetch at once, from 192.168.1.2:SAME_PORT."""
    pages: dict[str, str] = {}

    def fetch(node: str) -> None:
        try:
            pages[node] = lab.python(node, FETCH_FROM_PORT, str(SAME_PORT), timeout=20).strip()
        except RuntimeError as exc:
            pages[node] = f"failed: {exc}"

    threads = [threading.Thread(target=fetch, args=(n,)) for n in ("lan", "lan2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return pages


def dslite(lab: Lab, work: Path, say: Say, base: Topology | None = None) -> dict[str, Any]:
    topology = replace(base or Topology(), provider="dslite", target="router", second_b4=True)
    net = build_network(lab, work, topology)
    assert net.ce_dhcp is not None
    say(f"Kea sends the AFTR's name ({AFTR_NAME}) in DHCPv6 option 64; the CE is a DS-Lite B4.")
    _start_agent(lab, work, "ce")
    first = _established(work)
    option64 = (net.ce_dhcp / "aftr").read_text().strip()
    page = fetch_page(lab)
    say(f"The B4 tunnels to {first['softwire']['remote']} ({option64}); page: {page}")
    say("A second CE learns its DS-Lite subscription from HB46PP; its LAN uses the same "
        "addresses as the first.")  # fmt: skip
    _start_agent(lab, work, "ce2")
    second = _established(work, "ce2")
    page2 = fetch_page(lab, node="lan2")
    pages = _same_port_pages(lab)
    say(f"Both LAN hosts at once from 192.168.1.2:{SAME_PORT}:\n  lan:  {pages.get('lan')}\n"
        f"  lan2: {pages.get('lan2')}")  # fmt: skip
    connections = json.loads(lab.python("br", CONNTRACK, str(SAME_PORT)))
    say(f"The AFTR's connections from 192.168.1.2:{SAME_PORT}: {connections}")

    def aftr_softwires() -> list[str]:  # the AFTR writes its counters every second
        doc = json.loads((work / "aftr.json").read_text())
        return sorted(str(s["b4"]) for s in doc.get("softwires", []))

    wait_for(lambda: len(aftr_softwires()) >= 2, timeout=5, what="the AFTR's counters")
    return {
        "state": first["state"],
        "mechanism": first["softwire"]["mechanism"],
        "aftr_from_option_64": option64,
        "aftr": first["softwire"]["remote"],
        "ce2_provider": second.get("provider"),
        "ce2_mechanism": second["softwire"]["mechanism"],
        "pages": {"lan": page, "lan2": page2},
        "same_port_pages": pages,
        "aftr_connections": connections,
        "aftr_softwires": aftr_softwires(),
        "nat_on_ce": _mapekit_nat(lab, "ce") or _mapekit_nat(lab, "ce2"),
        "doctor": summary(doctor(lab, work)),
    }


def tunnel_records(db: str) -> list[dict[str, Any]]:
    """What the rule server recorded for IPIP lines (the server extra, imported here)."""
    from mapekit.server.store import Store  # noqa: PLC0415

    return [
        {"ipv4": t.ipv4, "local": t.local, "updated_at": t.updated_at}
        for t in Store(db).ipip_tunnels()
    ]


def _local_in(records: list[dict[str, Any]], prefix: str) -> bool:
    network = ipaddress.IPv6Network(prefix)
    return any(ipaddress.IPv6Address(r["local"]) in network and r["updated_at"] for r in records)


def ipip_fixed(lab: Lab, work: Path, say: Say, base: Topology | None = None) -> dict[str, Any]:
    net = build_network(lab, work, replace(base or Topology(), provider="ipip", target="router"))
    ipip_subscriber(lab, net, PREFIX)
    say(f"The CE has the fixed address {FIXED_IPV4} over IPIP to {IPIP_ENDPOINT}.")
    _start_agent(lab, work, "ce")
    first = _established(work)
    wait_for(lambda: _local_in(tunnel_records(net.db), PREFIX), timeout=30,
             what="the update URL's first call")  # fmt: skip
    before = fetch_page(lab)
    say(f"Tunnel address {first['softwire']['local']}; the update URL was called; "
        f"page: {before}")  # fmt: skip
    services.kea_delegate(work, NEW_PREFIX)
    assert net.ce_dhcp is not None
    started = time.monotonic()
    services.dhcpcd_rebind(lab, "ce", net.ce_dhcp, "wan0")
    say(f"The access network now delegates {NEW_PREFIX}; the CE's dhcpcd rebinds.")
    wait_for(lambda: _local_in(tunnel_records(net.db), NEW_PREFIX), timeout=60,
             what="the update URL's call after renumbering")  # fmt: skip
    updated = time.monotonic() - started
    after = fetch_page(lab)
    resumed = time.monotonic() - started
    say(f"The update URL was called {updated:.1f} s after the rebind; traffic resumed after "
        f"{resumed:.1f} s: {after}")  # fmt: skip
    status = agent_status(work)
    return {
        "state": status["state"],
        "mechanism": status["softwire"]["mechanism"],
        "locals": [first["softwire"]["local"], status["softwire"]["local"]],
        "pages": [before, after],
        "records": tunnel_records(net.db),
        "update_seconds": round(updated, 2),
        "resume_seconds": round(resumed, 2),
        "log_has_password": UPDATE_PASSWORD in (work / "agent.log").read_text(),
        "doctor": summary(doctor(lab, work)),
    }


def ipip_subscriber(lab: Lab, net: Network, prefix: str) -> None:
    """The CE's subscriber with an IPIP line and update credentials."""
    secret = net.work / "update-password"
    secret.write_text(UPDATE_PASSWORD + "\n")
    secret.chmod(0o600)
    rule_server(lab, net.db, "subscriber", "set", "--prefix", prefix, "--order", "ipip",
                "--ipip-remote", IPIP_ENDPOINT, "--ipip-ipv4", f"{FIXED_IPV4}/32",
                "--ipip-interface-id", IPIP_IID, "--update-user", UPDATE_USER,
                "--update-password-file", str(secret))  # fmt: skip


def hb46pp_order(lab: Lab, work: Path, say: Say, base: Topology | None = None) -> dict[str, Any]:
    topology = replace(base or Topology(), provider="hb46pp", target="router")
    net = build_network(lab, work, topology)
    rule_server(lab, net.db, "subscriber", "set", "--prefix", PREFIX, "--order",
                "dslite,map_e", "--aftr", AFTR_NAME)  # fmt: skip
    say('The rule server offers order ["dslite", "map_e"]: DS-Lite first.')
    agent = _start_agent(lab, work, "ce")
    first = _established(work)
    page = fetch_page(lab)
    say(f"The CE took {first['softwire']['mechanism'] if first.get('softwire') else 'map_e'}; "
        f"page: {page}")  # fmt: skip
    agent.terminate()
    agent.wait(timeout=20)
    lab.procs.remove(agent)
    config = node_agent(work, "ce")[0]
    config.write_text(config.read_text().replace("[hb46pp]\n", '[hb46pp]\nprefer = "map_e"\n'))
    say('The user prefers MAP-E (hb46pp.prefer = "map_e"): the CE takes it instead.')
    _start_agent(lab, work, "ce")
    wait_for(lambda: bool(agent_status(work).get("mapping")), timeout=60, what="MAP-E")
    second = _established(work)
    page2 = fetch_page(lab)
    say(f"Page through MAP-E: {page2}")
    return {
        "first": (first.get("softwire") or {}).get("mechanism", "map_e"),
        "first_page_from": _came_from(page),
        "preferred": "map_e" if second.get("mapping") else "other",
        "second_page_from": _came_from(page2),
        "aftr": (first.get("softwire") or {}).get("remote"),
        "doctor": summary(doctor(lab, work)),
    }


SOFTWIRE_SCENARIOS = {"dslite": dslite, "ipip-fixed": ipip_fixed, "hb46pp-order": hb46pp_order}
__all__ = ["AFTR", "AFTR_PUBLIC", "SOFTWIRE_SCENARIOS"]

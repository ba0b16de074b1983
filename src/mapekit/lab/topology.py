"""Small topologies shared by tests and benchmarks.

``mape_path``: lan ─ ce (userspace or bpf CE) ─ br (the same kind of BR) ─ inet, lab
rules in documentation space. ``plain_path``: the same four namespaces with plain kernel IPv4
routing (the ceiling a tunnel is measured against).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from mapekit.lab.netns import Lab, wait_for

LAB_RULES = [
    {
        "isp": "lab",
        "ipv6_prefix": "2001:db8::/40",
        "ipv4_prefix": "192.0.2.0/24",
        "ea_len": 16,
        "psid_offset": 6,
        "br": "2001:db8:ffff::1",
    }
]
CE_PREFIX = "2001:db8:12:3400::/56"
INET = "198.51.100.7"


def _wire(lab: Lab, border: str = "br") -> None:
    lab.add("lan", "ce", border, "inet")
    lab.link("lan", "eth0", "ce", "lan0")
    lab.link("ce", "wan0", border, "ce0")
    lab.link(border, "inet0", "inet", "eth0")
    lab.run("lan", "ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")
    lab.run("lan", "ip", "route", "add", "default", "via", "192.168.1.1")
    lab.run("ce", "ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")
    lab.run(border, "ip", "addr", "add", "198.51.100.1/24", "dev", "inet0")
    lab.run("inet", "ip", "addr", "add", f"{INET}/24", "dev", "eth0")


def mape_wire(lab: Lab, border: str = "br", lan_ipv6: str | None = None) -> None:
    """The four nodes with the MAP-E address plan: the CE's WAN 2001:db8:100::2 towards
    ``border`` (2001:db8:100::1), which routes the MAP domain 2001:db8::/40 back to the CE
    and the CEs' IPv4 addresses to ``inet``; ``lan_ipv6`` puts an address of the delegated
    prefix on the CE's LAN (rule requests then leave from inside the prefix)."""
    _wire(lab, border)
    if lan_ipv6 is not None:
        lab.run("ce", "ip", "-6", "addr", "add", lan_ipv6, "dev", "lan0", "nodad")
    lab.run("ce", "ip", "-6", "addr", "add", "2001:db8:100::2/64", "dev", "wan0", "nodad")
    lab.run("ce", "ip", "-6", "route", "add", "default", "via", "2001:db8:100::1")
    lab.run(border, "ip", "-6", "addr", "add", "2001:db8:100::1/64", "dev", "ce0", "nodad")
    lab.run(border, "ip", "-6", "route", "add", "2001:db8::/40", "via", "2001:db8:100::2")
    lab.run("inet", "ip", "route", "add", "192.0.2.0/24", "via", "198.51.100.1")


# 15 blocks of 16 ports, as v6plus and BIGLOBE give: 240 ports per CE
V6PLUS_LIKE_RULES = [{**LAB_RULES[0], "psid_offset": 4}]


def mape_path(
    lab: Lab,
    work: Path,
    rules_doc: list[dict[str, object]] | None = None,
    backend: str = "userspace",
    *,
    timeout: float = 15.0,
    forwards: Sequence[str] = (),
    nat: str = "auto",
) -> None:
    """Wire the four nodes and start ``mape br`` and ``mape tunnel`` with ``backend``
    (``userspace`` or ``bpf``, for both; stats in ``work``; ``forwards``: the CE's
    ``--forward`` values; ``nat``: its ``--nat``)."""
    mape_wire(lab)
    rules = work / "lab-rules.json"
    rules.write_text(json.dumps(rules_doc or LAB_RULES))
    lab.mape("br", "br", "--rules", str(rules), "--device", "ce0", "--backend", backend,
             "--stats", str(work / "br.json"), "--json", log=work / "br.log")  # fmt: skip
    lab.mape("ce", "tunnel", CE_PREFIX, "--rules", str(rules), "--wan", "wan0", "--lan",
             "lan0", "--backend", backend, "--stats", str(work / "ce.json"), "--json",
             "--nat", nat, *(f"--forward={f}" for f in forwards),
             log=work / "ce.log")  # fmt: skip
    wait_for(lambda: (work / "br.json").exists() and (work / "ce.json").exists(),
             timeout=timeout, what="the BR and the CE to come up")  # fmt: skip


def plain_path(lab: Lab) -> None:
    """The same nodes routing IPv4 in the kernel, no tunnel, no NAT."""
    _wire(lab)
    for node in ("ce", "br"):
        lab.run(node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    lab.run("ce", "ip", "addr", "add", "192.0.2.1/30", "dev", "wan0")
    lab.run("br", "ip", "addr", "add", "192.0.2.2/30", "dev", "ce0")
    lab.run("ce", "ip", "route", "add", "default", "via", "192.0.2.2")
    lab.run("br", "ip", "route", "add", "192.168.1.0/24", "via", "192.0.2.1")
    lab.run("inet", "ip", "route", "add", "192.168.1.0/24", "via", "198.51.100.1")


# The softwire path (DS-Lite and IPIP): two CEs behind one operator core, the AFTR and the
# IPIP endpoint on one node, each CE's LAN with the same private address.
#
#   lan1 ─ ce1 ─┐
#               core ─ aftr (AFTR 2001:db8:ffff::2, IPIP endpoint ::3 | 198.51.100.1) ─ inet
#   lan2 ─ ce2 ─┘
AFTR_ADDRESS = "2001:db8:ffff::2"
IPIP_ENDPOINT = "2001:db8:ffff::3"
FIXED_IPV4 = "203.0.113.9"
SOFTWIRE_CES = {"ce1": "2001:db8:12:3400::/56", "ce2": "2001:db8:12:3500::/56"}


def softwire_wire(lab: Lab) -> None:
    """Wire the seven nodes: no tunnel runs yet (``mape tunnel --aftr …`` in a CE,
    ``mape aftr`` and ``mape ipip-endpoint`` in ``aftr`` start them)."""
    lab.add("lan1", "ce1", "lan2", "ce2", "core", "aftr", "inet")
    lab.link("core", "aftr0", "aftr", "core0")
    lab.link("aftr", "inet0", "inet", "eth0")
    for node in ("core", "aftr"):
        lab.run(node, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    lab.run("core", "ip", "-6", "addr", "add", "2001:db8:3::1/64", "dev", "aftr0", "nodad")
    lab.run("core", "ip", "-6", "route", "add", "2001:db8:ffff::/48", "via", "2001:db8:3::2")
    lab.run("aftr", "ip", "-6", "addr", "add", "2001:db8:3::2/64", "dev", "core0", "nodad")
    lab.run("aftr", "ip", "-6", "route", "add", "default", "via", "2001:db8:3::1")
    lab.run("aftr", "ip", "addr", "add", "198.51.100.1/24", "dev", "inet0")
    lab.run("inet", "ip", "addr", "add", f"{INET}/24", "dev", "eth0")
    lab.run("inet", "ip", "route", "add", "203.0.113.0/24", "via", "198.51.100.1")
    for number, (ce, prefix) in enumerate(SOFTWIRE_CES.items(), start=1):
        lan = f"lan{number}"
        lab.link(lan, "eth0", ce, "lan0")
        lab.link(ce, "wan0", "core", ce)
        lab.run(lan, "ip", "addr", "add", "192.168.1.2/24", "dev", "eth0")
        lab.run(lan, "ip", "route", "add", "default", "via", "192.168.1.1")
        lab.run(ce, "ip", "addr", "add", "192.168.1.1/24", "dev", "lan0")
        lab.run(ce, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        link = f"2001:db8:{number}::"
        lab.run(ce, "ip", "-6", "addr", "add", f"{link}2/64", "dev", "wan0", "nodad")
        lab.run(ce, "ip", "-6", "route", "add", "default", "via", f"{link}1")
        lab.run("core", "ip", "-6", "addr", "add", f"{link}1/64", "dev", ce, "nodad")
        lab.run("core", "ip", "-6", "route", "add", prefix, "via", f"{link}2")

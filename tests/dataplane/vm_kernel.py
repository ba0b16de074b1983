"""Runs inside the qemu VM (a kernel with ip6tnl): the kernel backend end to end.

Apply, re-apply (nothing changes), change the prefix (tunnel and address replaced),
traffic LAN → CE (kernel ip6tnl) → BR (mape br) → IPv4 host, and tear down (nothing left).
Prints one JSON object of findings; exits non-zero at the first failure.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from mapekit.lab.netns import Lab, wait_for
from mapekit.lab.topology import LAB_RULES, mape_wire

WHO = """
import socket
c = socket.create_connection(("198.51.100.7", 8080), timeout=10); print(c.recv(100).decode())
"""
SERVER = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(50)
while True:
    c, peer = s.accept(); c.sendall(f"{peer[0]}:{peer[1]}".encode()); c.close()
"""
APPLY = """
import json, sys
from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import load_rule_file
from mapekit.dataplane.kernel import KernelBackend, tunnel_state
from mapekit.dataplane.plan import make_plan
rules = load_rule_file(sys.argv[1])
def plan(prefix):
    return make_plan(rules.map(*parse_end_user_prefix(prefix)), "wan0", lan="lan0", rules=rules)
action, prefix = sys.argv[2], sys.argv[3]
if action == "up":
    notes = KernelBackend().up(plan(prefix))
    print(json.dumps({"notes": notes, "tunnel": tunnel_state("mape0")}))
else:
    KernelBackend().down(plan=plan(prefix))
    print(json.dumps({"down": True}))
"""


def check(condition: bool, what: str, findings: dict[str, object]) -> None:
    findings[what] = bool(condition)
    if not condition:
        print(json.dumps(findings))
        raise SystemExit(f"FAILED: {what}")


def diagnose(lab: Lab, work: Path, findings: dict[str, object], exc: Exception) -> None:
    findings["error"] = str(exc)[-300:]
    for node, args in [
        ("ce", ("ip", "route")),
        ("ce", ("ip", "-6", "route")),
        ("ce", ("ip", "-s", "link", "show", "mape0")),
        ("ce", ("ip", "-6", "addr")),
        ("ce", ("ping", "-6", "-c1", "-W2", "2001:db8:ffff::1")),
        ("br", ("ip", "-s", "link")),
        ("inet", ("ip", "-s", "link")),
        (
            "br",
            (
                "sysctl",
                "net.ipv4.ip_forward",
                "net.ipv4.conf.all.rp_filter",
                "net.ipv4.conf.mapebr0.rp_filter",
            ),
        ),
        ("br", ("nft", "list", "ruleset")),
        ("br", ("cat", "/proc/net/snmp")),
    ]:
        findings[f"{node} {' '.join(args)}"] = lab.run(node, *args, check=False).stdout
    findings["br stats"] = (work / "br.json").read_text()
    findings["br log"] = (work / "br.log").read_text()[-500:]


def wire(lab: Lab) -> None:
    mape_wire(lab)
    # veth hands on TCP checksums unfinished (CHECKSUM_PARTIAL); through a kernel tunnel
    # they would reach the BR's raw socket unfinished: let the LAN host finish them
    lab.run("lan", "ethtool", "-K", "eth0", "tx", "off")


def main() -> None:
    work = Path(tempfile.mkdtemp())
    rules = work / "rules.json"
    rules.write_text(json.dumps(LAB_RULES))
    findings: dict[str, object] = {}
    with Lab() as lab:
        wire(lab)
        lab.mape("br", "br", "--rules", str(rules), "--device", "ce0",
                 "--stats", str(work / "br.json"), log=work / "br.log")  # fmt: skip
        lab.start("inet", sys.executable, "-c", SERVER)
        wait_for((work / "br.json").exists, timeout=120, what="the BR")

        first = json.loads(lab.python("ce", APPLY, str(rules), "up", "2001:db8:12:3400::/56",
                                      timeout=120))  # fmt: skip
        tunnel = first["tunnel"]
        check(tunnel["kind"] == "ip6tnl", "an ip6tnl device", findings)
        check(tunnel["remote"] == "2001:db8:ffff::1", "remote is the BR", findings)
        check(tunnel["local"] == "2001:db8:12:3400:0:c000:212:34", "local is the CE", findings)
        check(tunnel["flags"] & 1 == 1 and tunnel["proto"] == 4, "no encap limit, ipip6", findings)
        check(tunnel["mtu"] == 1460 and tunnel["ttl"] == 64, "MTU 1460, hop limit 64", findings)
        check("tunnel created" in first["notes"], "created", findings)
        details = lab.run("ce", "ip", "-d", "link", "show", "mape0").stdout
        check("encaplimit none" in details, "ip shows encaplimit none", findings)

        again = json.loads(lab.python("ce", APPLY, str(rules), "up", "2001:db8:12:3400::/56",
                                      timeout=120))  # fmt: skip
        check("tunnel kept" in again["notes"], "re-applying keeps the tunnel", findings)
        v4 = lab.run("ce", "ip", "-4", "addr", "show", "dev", "mape0").stdout
        v6 = lab.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout
        check(v4.count("192.0.2.18/32") == 1 and v6.count("/128") == 1,
              "re-applying adds nothing twice", findings)  # fmt: skip
        check(lab.run("ce", "nft", "list", "tables").stdout.count("mapekit") == 1,
              "one ruleset", findings)  # fmt: skip

        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, timeout=60,
                 what="server")  # fmt: skip
        try:
            seen = lab.python("lan", WHO, timeout=60).strip()
        except RuntimeError as exc:
            diagnose(lab, work, findings, exc)
            seen = ""
        findings["inet saw"] = seen
        check(seen.startswith("192.0.2.18:"), "traffic through the kernel tunnel", findings)
        port = int(seen.rsplit(":", 1)[1])
        check((port >> 2) & 0xFF == 0x34 and port >= 1024, "source port in the set", findings)

        lab.python("ce", APPLY, str(rules), "down", "2001:db8:12:3400::/56", timeout=120)
        changed = json.loads(lab.python("ce", APPLY, str(rules), "up", "2001:db8:13:3500::/56",
                                        timeout=120))  # fmt: skip
        check(changed["tunnel"]["local"] == "2001:db8:13:3500:0:c000:213:35",
              "a new prefix replaces the tunnel", findings)  # fmt: skip
        addrs = lab.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout
        check("2001:db8:12:3400:0:c000:212:34" not in addrs, "the old address is gone", findings)
        seen = lab.python("lan", WHO, timeout=60).strip()
        check(seen.startswith("192.0.2.19:"), "traffic from the new address", findings)

        lab.python("ce", APPLY, str(rules), "down", "2001:db8:13:3500::/56", timeout=120)
        check("mape0" not in lab.run("ce", "ip", "link").stdout, "teardown: no tunnel", findings)
        check("mapekit" not in lab.run("ce", "nft", "list", "tables").stdout,
              "teardown: no ruleset", findings)  # fmt: skip
        check("/128" not in lab.run("ce", "ip", "-6", "addr", "show", "dev", "wan0").stdout,
              "teardown: no CE address", findings)  # fmt: skip
    print(json.dumps(findings))


if __name__ == "__main__":
    main()

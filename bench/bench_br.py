"""The BR alone: packets per second through ``mape br --backend bpf`` holding the full
built-in operator tables plus synthetic rules, against plain kernel IPv4 routing on the
same namespaces in the same run, and the BR's memory.

    .venv/bin/python bench/bench_br.py [--synthetic N] [--seconds S]  (in bench/dataplane.sh)

    gen (trafgen: 64-byte UDP to random addresses of 198.18.0.0/16, ports of the set)
      ─ br ─ sink (counts what arrives)

A MAP-E BR keeps rules, not per-CE entries: the synthetic rules cut 198.18.0.0/15 into
/28s (offset 4, 8 PSID bits: 4096 CEs each), one /48 of 2001:db8::/32 each. The BR
encapsulates each packet to the CE owning its address and port; the sink's interface
counts them. The baseline routes the same packets to the sink as plain IPv4.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from mapekit.core.tables import builtin_rules, rule_to_entry
from mapekit.lab.netns import Lab, available, wait_for

TRAFGEN = """{{
  {dmac}, {smac}, 0x08, 0x00,
  0x45, 0x00, const16(92), const16(1), const16(0x4000), 0x40, 0x11, csumip(14, 33),
  198, 51, 100, 7,
  198, 18, drnd(), drnd(),
  const16(40000), 0xc8, drnd(), const16(72), const16(0),
  fill(0x61, 64),
}}
"""


def synthetic_rules(count: int) -> list[dict[str, object]]:
    """``count`` rules: /28s of 198.18.0.0/15, each with its own /48 of 2001:db8::/32."""
    base4 = int(ipaddress.IPv4Address("198.18.0.0"))
    return [
        {
            "isp": "synthetic",
            "ipv6_prefix": f"2001:db8:{0x1000 + i:x}::/48",
            "ipv4_prefix": f"{ipaddress.IPv4Address(base4 + 16 * i)}/28",
            "ea_len": 12,
            "psid_offset": 4,
            "br": "2001:db8:ffff::1",
        }
        for i in range(count)
    ]


def mac(lab: Lab, node: str, dev: str) -> str:
    doc = json.loads(lab.run(node, "ip", "-j", "link", "show", "dev", dev).stdout)
    return ", ".join(f"0x{b}" for b in str(doc[0]["address"]).split(":"))


def rx_packets(lab: Lab) -> int:
    doc = json.loads(lab.run("sink", "ip", "-j", "-s", "link", "show", "dev", "eth0").stdout)
    return int(doc[0]["stats64"]["rx"]["packets"])


def wire(lab: Lab, mape: bool) -> None:
    lab.add("gen", "br", "sink")
    lab.link("gen", "eth0", "br", "inet0")
    lab.link("br", "ce0", "sink", "eth0")
    lab.run("gen", "ip", "addr", "add", "198.51.100.7/24", "dev", "eth0")
    lab.run("gen", "ip", "route", "add", "default", "via", "198.51.100.1")
    lab.run("br", "ip", "addr", "add", "198.51.100.1/24", "dev", "inet0")
    lab.run("br", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    if mape:
        lab.run("br", "ip", "-6", "addr", "add", "2001:db8:100::1/64", "dev", "ce0", "nodad")
        lab.run("br", "ip", "-6", "route", "add", "2001:db8::/32", "via", "2001:db8:100::2")
        lab.run("sink", "ip", "-6", "addr", "add", "2001:db8:100::2/64", "dev", "eth0", "nodad")
    else:
        lab.run("br", "ip", "addr", "add", "203.0.113.1/24", "dev", "ce0")
        lab.run("br", "ip", "route", "add", "198.18.0.0/15", "via", "203.0.113.2")
        lab.run("sink", "ip", "addr", "add", "203.0.113.2/24", "dev", "eth0")


def measure(mape: bool, rules: Path, seconds: int, work: Path) -> dict[str, float]:
    with Lab() as lab:
        wire(lab, mape)
        found: dict[str, float] = {}
        if mape:
            lab.mape("br", "br", "--backend", "bpf", "--rules", str(rules), "--device", "ce0",
                     "--access", "ce0", "--stats", str(work / "br.json"), "--json",
                     log=work / "br.log")  # fmt: skip
            wait_for((work / "br.json").exists, timeout=60, what="the BR")
        # resolve the next hop once, so that the first packets do not wait for it
        lab.run("gen", "ping", "-c", "1", "-W", "2", "198.51.100.1", check=False)
        (work / "gen.cfg").write_text(
            TRAFGEN.format(dmac=mac(lab, "br", "inet0"), smac=mac(lab, "gen", "eth0"))
        )
        gen = lab.start("gen", "trafgen", "-o", "eth0", "-i", str(work / "gen.cfg"),
                        "-P", "1", "-q", log=work / "trafgen.log")  # fmt: skip
        time.sleep(1.5)  # ramp up, neighbours resolved
        first, start = rx_packets(lab), time.monotonic()
        time.sleep(seconds)
        last, end = rx_packets(lab), time.monotonic()
        gen.send_signal(signal.SIGINT)  # trafgen stops on SIGINT
        try:
            gen.wait(10)
        except subprocess.TimeoutExpired:
            gen.kill()
            gen.wait(10)
        found["pps"] = (last - first) / (end - start)
        if mape:
            found.update(br_memory(lab, work))
    return found


def br_memory(lab: Lab, work: Path) -> dict[str, float]:
    """The BR's maps (kernel memory, as the kernel accounts it) and its process's RSS."""
    start = next(
        json.loads(line)
        for line in (work / "br.log").read_text().splitlines()
        if line.startswith("{")
    )
    maps = start["bpf"]["maps"]
    proc = next(p for p in lab.procs if "br" in p.args)  # type: ignore[operator]
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    counters = json.loads((work / "br.json").read_text())
    return {
        "maps_kib": sum(int(m["memlock"]) for m in maps.values()) / 1024,
        "rules_kib": int(maps["mk_rules"]["memlock"]) / 1024,
        "rss_kib": rss,
        "to_ce": counters.get("to_ce", 0),
        "drops": sum(v for k, v in counters.items() if "_drop_" in k),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--synthetic", type=int, default=8192)
    args = parser.parse_args()
    why = available() or (None if shutil.which("trafgen") else "needs trafgen (netsniff-ng)")
    if why:
        raise SystemExit(f"bench_br: {why}")
    work = Path(tempfile.mkdtemp(prefix="mapekit-br-"))
    rules = [rule_to_entry(r) for r in builtin_rules()] + synthetic_rules(args.synthetic)
    (work / "rules.json").write_text(json.dumps(rules))
    mape = measure(True, work / "rules.json", args.seconds, work)
    plain = measure(False, work / "rules.json", args.seconds, work)
    shutil.rmtree(work, ignore_errors=True)
    print(f"BR with {len(rules)} rules ({len(rules) - args.synthetic} built-in, "
          f"{args.synthetic} synthetic), 64-byte UDP, one trafgen core")  # fmt: skip
    print(f"{'':32} {'pkt/s':>12}")
    print(f"{'bpf BR (encapsulating to CEs)':32} {mape['pps']:12,.0f}")
    print(f"{'kernel IPv4 routing':32} {plain['pps']:12,.0f}")
    print(f"ratio {mape['pps'] / plain['pps']:.3f}; BR counted {mape['to_ce']:,.0f} packets "
          f"to CEs, {mape['drops']:,.0f} dropped")  # fmt: skip
    print(f"memory: maps {mape['maps_kib']:,.0f} KiB (rules {mape['rules_kib']:,.0f} KiB), "
          f"BR process RSS {mape['rss_kib']:,.0f} KiB")  # fmt: skip


if __name__ == "__main__":
    main()

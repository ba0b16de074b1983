"""Lab benchmark: convergence and port-set capacity, the way users meet them.

    bash bench/lab.sh [--fresh 60]

Convergence on the lab's real access network (Kea, dhcpcd with mapekit's hook; deliberate
timers excluded): prefix available (the hook wrote it) → first page through MAP-E, for the
first delegation and after renumbering; target switched → page (with ``mape retry``); the
HGW check concluding "no HGW" on a line without one.

Capacity: from ``lan`` to one ``inet`` address and port, (a) connections opened one by one
until the first failure, (b) H held (120, 200, 230 of 240) then 60 short-lived ones,
counting failures and connections slower than 0.5 s — for mapekit's ruleset and, in the
same run, for a ruleset that NATs into the first port block only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import load_rule_file
from mapekit.dataplane.nftables import render
from mapekit.dataplane.plan import make_plan
from mapekit.lab import services
from mapekit.lab.netns import Lab, available, wait_for
from mapekit.lab.network import Topology, build_network, rule_server
from mapekit.lab.story import FETCH, retry
from mapekit.lab.topology import V6PLUS_LIKE_RULES, mape_path

HOLD_SERVER = """
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.7", 8080)); s.listen(1024)
def serve(c):
    try:
        while c.recv(100):
            pass
    finally:
        c.close()
while True:
    c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
"""
CAPACITY = """
import json, socket, sys, time
mode, n, fresh = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keep = []
def connect():
    return socket.create_connection(("198.51.100.7", 8080), timeout=2)
if mode == "until":
    while len(keep) < 2000:
        try:
            keep.append(connect())
        except OSError:
            break
    print(json.dumps({"opened": len(keep)})); sys.exit()
for _ in range(n):
    keep.append(connect())
failed = slow = 0
for _ in range(fresh):
    start = time.monotonic()
    try:
        connect().close()
    except OSError:
        failed += 1; continue
    slow += time.monotonic() - start > 0.5
print(json.dumps({"held": n, "failed": failed, "slow": slow}))
"""


def page(lab: Lab) -> bool:
    try:
        return bool(lab.python("lan", FETCH, timeout=10).strip())
    except RuntimeError:
        return False


def _first_page(lab: Lab, address: str, timeout: float = 60) -> float:
    """Wait for a page from ``address``; the monotonic time it arrived."""

    def came() -> bool:  # short attempts: a SYN lost while the path changes costs 1 s
        try:
            return address in lab.python("lan", FETCH, "0.5")
        except RuntimeError:
            return False

    wait_for(came, timeout=timeout, what=f"a page from {address}")
    return time.time()


def convergence(work: Path) -> dict[str, float]:
    """With the lab's real access network: Kea delegates, dhcpcd's hook writes the prefix
    (its mtime is "prefix available"), the agent brings MAP-E up."""
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, float] = {}
    with Lab() as lab:
        started = time.time()
        net = build_network(lab, work, Topology(target="router"))
        assert net.ce_dhcp is not None
        pd = net.ce_dhcp / "pd"
        wait_for(pd.exists, timeout=30, what="the delegated prefix")
        out["dhcpcd_start_to_prefix_s"] = pd.stat().st_mtime - started
        lab.mape("ce", "agent", "--config", str(net.ce_config), log=work / "agent.log")
        out["prefix_to_first_page_s"] = _first_page(lab, "192.0.2.18") - pd.stat().st_mtime
        new = "2001:db8:13:3500::/56"
        rule_server(lab, net.db, "subscriber", "add", "--prefix", new, "--target", "router",
                    "--hgw", "rented", "--rule-set", "lab")  # fmt: skip
        services.kea_delegate(work, new)
        services.dhcpcd_rebind(lab, "ce", net.ce_dhcp, "wan0")
        wait_for(lambda: "3500" in pd.read_text(), timeout=30, what="the new prefix")
        out["renumbered_prefix_to_page_s"] = _first_page(lab, "192.0.2.19") - pd.stat().st_mtime
        rule_server(lab, net.db, "subscriber", "set-target", "--prefix", new, "hgw")
        retry(lab, work)
        wait_for(lambda: not page(lab), timeout=60, what="the CE to stand down")
        start = time.time()
        rule_server(lab, net.db, "subscriber", "set-target", "--prefix", new, "router")
        retry(lab, work)
        out["switch_to_page_s"] = _first_page(lab, "192.0.2.19") - start
        check = ("import time; from mapekit.client.hgw import check_hgw; t=time.monotonic(); "
                 "check_hgw('http://ntt.setup:8888/enabler.ipv4/check'); "
                 "print(time.monotonic()-t)")  # fmt: skip
        out["no_hgw_check_s"] = float(lab.python("ce", check).strip())
    return out


def capacity(work: Path, fresh: int, nat: str, repeat: int) -> dict[str, object]:
    """``nat``: "whole-set" (mapekit's default), "per-block", or "first-block" (a common
    setup: only the first block of the set)."""
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    first_block_only = nat == "first-block"
    mode = "auto" if nat == "whole-set" else "per-block"
    with Lab() as lab:
        mape_path(lab, work, V6PLUS_LIKE_RULES, nat=mode)
        if first_block_only:
            rules = load_rule_file(work / "lab-rules.json")
            plan = make_plan(rules.map(*parse_end_user_prefix("2001:db8:12:3400::/56")), "wan0",
                             lan="lan0", rules=rules)  # fmt: skip
            narrow = dataclasses.replace(plan, pool=plan.pool[:1])
            (work / "first.nft").write_text(render(narrow))
            lab.run("ce", "nft", "-f", str(work / "first.nft"))
        lab.start("inet", sys.executable, "-c", HOLD_SERVER)
        wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="server")
        results["until_failure"] = json.loads(lab.python("lan", CAPACITY, "until", "0", "0",
                                                          timeout=300))["opened"]  # fmt: skip
    for held in (120, 200, 230):
        if first_block_only:  # 16 ports in all: it cannot even hold 120 connections
            results[f"held_{held}"] = {"held": "impossible: the first block has 16 ports"}
            continue
        runs = []
        for _ in range(repeat):  # a fresh lab each time: no TIME_WAIT left from the last
            with Lab() as lab:
                mape_path(lab, work, V6PLUS_LIKE_RULES, nat=mode)
                lab.start("inet", sys.executable, "-c", HOLD_SERVER)
                wait_for(lambda: "8080" in lab.run("inet", "ss", "-ltn").stdout, what="server")
                try:
                    runs.append(json.loads(
                        lab.python("lan", CAPACITY, "hold", str(held), str(fresh), timeout=600)
                    ))  # fmt: skip
                except RuntimeError as exc:
                    runs.append({"error": str(exc)[-120:]})
        done = [r for r in runs if "failed" in r]
        results[f"held_{held}"] = {
            "runs": len(runs), "errors": len(runs) - len(done),
            "failed": sum(int(r["failed"]) for r in done),
            "slow": sum(int(r["slow"]) for r in done),
            "runs_with_a_failure": sum(1 for r in done if r["failed"]),
            "of": fresh * len(done),
        }  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fresh", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3, help="fresh labs per held count")
    parser.add_argument("--capacity-only", action="store_true", help="skip the convergence")
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_lab: {why}")
    work = Path(tempfile.mkdtemp(prefix="mapekit-benchlab-"))
    if not args.capacity_only:
        conv = convergence(work / "conv")
        print("convergence (deliberate timers excluded):")
        for key, value in conv.items():
            aim = (
                "(Kea and dhcpcd: RFC 8415 delays)" if key.startswith("dhcpcd") else "(aim <= 2 s)"
            )
            print(f"  {key:28} {value:6.2f} s   {aim}")
    for name, nat in (("whole set (mapekit, virtual range)", "whole-set"),
                      ("per block (numgen over 15 blocks)", "per-block"),
                      ("first block only (common setup)", "first-block")):  # fmt: skip
        result = capacity(work / nat, args.fresh, nat, args.repeat)
        print(f"capacity, {name}: {result['until_failure']} connections until the first failure")
        for held in (120, 200, 230):
            print(f"  held {held:3}: {result[f'held_{held}']}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""DS-Lite and IPIP convergence on the lab's real access network, MAP-E in the same run as
the baseline (deliberate timers excluded: the agents' timers run 500 times faster).

    bash bench/softwire.sh [--runs 3]

For each mechanism: prefix available (dhcpcd's hook wrote it) → first page from the LAN.
For IPIP also: renumbering (the new prefix written) → the update URL called (the rule
server's record) → first page again from the fixed address. Medians of ``--runs`` labs.
"""

from __future__ import annotations

import argparse
import ipaddress
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from mapekit.lab import services
from mapekit.lab.netns import Lab, available, wait_for
from mapekit.lab.network import PREFIX, Topology, build_network, node_agent
from mapekit.lab.softwires import NEW_PREFIX, ipip_subscriber, tunnel_records
from mapekit.lab.story import FETCH

SOURCES = {"jpne": "192.0.2.18", "dslite": "198.51.100.1", "ipip": "203.0.113.9"}


def _first_page(lab: Lab, address: str, timeout: float = 60) -> float:
    def came() -> bool:  # short attempts: a SYN lost while the path changes costs 1 s
        try:
            return f"from {address}:" in lab.python("lan", FETCH, "0.5")
        except RuntimeError:
            return False

    wait_for(came, timeout=timeout, what=f"a page from {address}")
    return time.time()


def _updated(db: str, prefix: str) -> float | None:
    network = ipaddress.IPv6Network(prefix)
    for record in tunnel_records(db):
        if record["updated_at"] and ipaddress.IPv6Address(record["local"]) in network:
            return time.time()
    return None


def one(work: Path, provider: str) -> dict[str, float]:
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, float] = {}
    with Lab() as lab:
        net = build_network(lab, work, Topology(provider=provider, target="router"))
        assert net.ce_dhcp is not None
        if provider == "ipip":
            ipip_subscriber(lab, net, PREFIX)
        pd = net.ce_dhcp / "pd"
        wait_for(pd.exists, timeout=30, what="the delegated prefix")
        config = node_agent(work, "ce")[0]
        lab.mape("ce", "agent", "--config", str(config), log=work / "agent.log")
        out["prefix_to_page_s"] = _first_page(lab, SOURCES[provider]) - pd.stat().st_mtime
        if provider != "ipip":
            return out
        services.kea_delegate(work, NEW_PREFIX)
        services.dhcpcd_rebind(lab, "ce", net.ce_dhcp, "wan0")
        wait_for(lambda: "3500" in pd.read_text(), timeout=30, what="the new prefix")
        written = pd.stat().st_mtime
        stamps: list[float] = []
        wait_for(lambda: stamps.append(_updated(net.db, NEW_PREFIX) or 0) or stamps[-1] > 0,
                 timeout=60, what="the update URL's call")  # fmt: skip
        out["renumber_to_update_s"] = stamps[-1] - written
        out["renumber_to_page_s"] = _first_page(lab, SOURCES[provider]) - written
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_softwire: {why}")
    work = Path(tempfile.mkdtemp(prefix="mapekit-benchsoftwire-"))
    try:
        results: dict[str, list[dict[str, float]]] = {}
        for run in range(args.runs):  # alternate, so drift hits every mechanism alike
            for provider in ("jpne", "dslite", "ipip"):
                results.setdefault(provider, []).append(one(work / f"{provider}-{run}", provider))
        print(f"convergence, median of {args.runs} labs (aim <= 2 s; MAP-E is the baseline):")
        for provider, runs in results.items():
            for key in runs[0]:
                values = [r[key] for r in runs]
                print(f"  {provider:7} {key:22} {statistics.median(values):6.2f} s   "
                      f"(min {min(values):.2f}, max {max(values):.2f})")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

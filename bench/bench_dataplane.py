"""Throughput through the MAP-E path (CE + BR), per backend, against plain kernel routing
on the same nodes, in one run.

    bash bench/dataplane.sh [--seconds S] [--backends userspace,bpf]

iperf3 from ``lan`` to ``inet``: TCP throughput (one stream) and the UDP rate of small
packets (64-byte payloads, as fast as they go), first through the MAP-E path (mape tunnel
+ mape br, every check on) with each backend, then through the same four namespaces
routing IPv4 in the kernel (the ceiling). Prints each row and its ratio to the ceiling.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from mapekit.lab.netns import Lab, available, wait_for
from mapekit.lab.topology import INET, mape_path, plain_path


def iperf(lab: Lab, seconds: int, udp: bool) -> dict[str, float]:
    args = ["iperf3", "-c", INET, "-t", str(seconds), "-J"]
    if udp:
        args += ["-u", "-l", "64", "-b", "0"]
    out = lab.run("lan", *args).stdout
    doc = json.loads(out)
    end = doc["end"]
    if udp:
        summary = end["sum"]
        received = summary["packets"] - summary["lost_packets"]
        return {"pps": received / summary["seconds"], "lost_percent": summary["lost_percent"]}
    return {"mbit_s": end["sum_received"]["bits_per_second"] / 1e6}


def measure(build: str, seconds: int) -> dict[str, float]:
    """``build``: a MAP-E backend (userspace, bpf) or ``plain`` (kernel routing)."""
    work = Path(tempfile.mkdtemp(prefix="mapekit-dp-"))
    with Lab() as lab:
        if build == "plain":
            plain_path(lab)
        else:
            mape_path(lab, work, backend=build)
        lab.start("inet", "iperf3", "-s", "-B", INET)
        wait_for(lambda: "5201" in lab.run("inet", "ss", "-ltn").stdout, what="iperf3 server")
        time.sleep(0.2)
        tcp = iperf(lab, seconds, udp=False)
        udp = iperf(lab, seconds, udp=True)
        if build != "plain":  # the backend that ran is the one asked for
            started = (work / "ce.log").read_text()
            assert f'"backend": "{build}"' in started, started[-500:]
    shutil.rmtree(work, ignore_errors=True)
    return {**tcp, **udp}


NAMES = {"userspace": "userspace MAP-E (CE + BR)", "bpf": "bpf MAP-E (CE + BR)",
         "plain": "kernel IPv4 routing"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--backends", default="userspace,bpf")
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_dataplane: {why}")
    rows = {name: measure(name, args.seconds) for name in [*args.backends.split(","), "plain"]}
    plain = rows["plain"]
    print(f"{'':28} {'TCP Mbit/s':>12} {'UDP 64 B pkt/s':>16} {'UDP loss':>9}")
    for name, row in rows.items():
        print(f"{NAMES[name]:28} {row['mbit_s']:12,.0f} {row['pps']:16,.0f} "
              f"{row['lost_percent']:8.1f}%")  # fmt: skip
    for name, row in rows.items():
        if name != "plain":
            print(f"{name}: TCP {row['mbit_s'] / plain['mbit_s']:.3f} of the kernel's, small "
                  f"UDP {row['pps'] / plain['pps']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()

"""Throughput through the userspace CE + BR, against plain kernel routing on the same nodes.

    bash bench/dataplane.sh [--seconds S]

iperf3 from ``lan`` to ``inet``: TCP throughput (one stream) and the UDP rate of small
packets (64-byte payloads, as fast as they go), first through the MAP-E path (mape tunnel
+ mape br, every check on), then through the same four namespaces routing IPv4 in the
kernel (the ceiling). Prints both and the ratio.
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
    work = Path(tempfile.mkdtemp(prefix="mapekit-dp-"))
    with Lab() as lab:
        if build == "mape":
            mape_path(lab, work)
        else:
            plain_path(lab)
        lab.start("inet", "iperf3", "-s", "-B", INET)
        wait_for(lambda: "5201" in lab.run("inet", "ss", "-ltn").stdout, what="iperf3 server")
        time.sleep(0.2)
        tcp = iperf(lab, seconds, udp=False)
        udp = iperf(lab, seconds, udp=True)
    shutil.rmtree(work, ignore_errors=True)
    return {**tcp, **udp}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"bench_dataplane: {why}")
    mape = measure("mape", args.seconds)
    plain = measure("plain", args.seconds)
    print(f"{'':28} {'TCP Mbit/s':>12} {'UDP 64 B pkt/s':>16} {'UDP loss':>9}")
    for name, row in (("userspace MAP-E (CE + BR)", mape), ("kernel IPv4 routing", plain)):
        print(f"{name:28} {row['mbit_s']:12,.0f} {row['pps']:16,.0f} {row['lost_percent']:8.1f}%")
    print(
        f"ratio: TCP {mape['mbit_s'] / plain['mbit_s']:.3f} of the kernel, "
        f"small UDP {mape['pps'] / plain['pps']:.3f}; aim >= 900 Mbit/s TCP: "
        f"{mape['mbit_s'] / 900:.2f}x"
    )


if __name__ == "__main__":
    main()

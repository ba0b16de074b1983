"""How to load and attach the bpf data plane's programs: libbpf's C API (what mapekit
uses) against iproute2's ``tc filter add … bpf obj`` — timed in a namespace, same run.

    .venv/bin/python bench/bench_bpf_load.py [--rounds N]

Each round brings the CE's two programs up on a veth pair and removes them again.
libbpf: one load of the object (both programs, one set of maps), two tc attachments.
tc: one ``tc filter add`` per program; each loads the object anew, so the two programs
get two separate sets of maps unless the maps are pinned by name in bpffs (which also
makes them outlive the process).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time

from mapekit.dataplane import bpfbuild, libbpf
from mapekit.lab.netns import Lab, available, sh

SETUP = """
import sys, time, json
from mapekit.dataplane import libbpf
from mapekit.dataplane.links import link_index
path, rounds = sys.argv[1], int(sys.argv[2])
a, b = link_index("va0"), link_index("vb0")
times = []
for _ in range(rounds):
    start = time.perf_counter()
    obj = libbpf.BpfObject.load(path)
    libbpf.tc_attach(a, libbpf.TC_EGRESS, obj.program_fd("mk_ce_egress"), 0x4D4B, 0x4D4B)
    libbpf.tc_attach(b, libbpf.TC_INGRESS, obj.program_fd("mk_ce_ingress"), 0x4D4B, 0x4D4B)
    libbpf.tc_detach(a, libbpf.TC_EGRESS, 0x4D4B, 0x4D4B)
    libbpf.tc_detach(b, libbpf.TC_INGRESS, 0x4D4B, 0x4D4B)
    obj.close()
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def tc_round(lab: Lab, path: str) -> float:
    start = time.perf_counter()
    for dev, hook in (("va0", "egress"), ("vb0", "ingress")):
        lab.run("x", "tc", "filter", "add", "dev", dev, hook, "bpf", "da", "obj", path,
                "sec", "tc")  # fmt: skip
    for dev, hook in (("va0", "egress"), ("vb0", "ingress")):
        lab.run("x", "tc", "filter", "del", "dev", dev, hook)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    why = available() or libbpf.missing()
    if why:
        raise SystemExit(f"bench_bpf_load: {why}")
    path, scratch = bpfbuild.object_for("ce")
    with Lab() as lab:
        lab.add("x")
        sh("ip", "link", "add", "va0", "netns", lab.ns("x"), "type", "veth", "peer", "name",
           "vb0", "netns", lab.ns("x"))  # fmt: skip
        for dev in ("va0", "vb0"):
            lab.run("x", "ip", "link", "set", dev, "up")
            lab.run("x", "tc", "qdisc", "add", "dev", dev, "clsact")
        ours = json.loads(lab.python("x", SETUP, str(path), str(args.rounds), timeout=300))
        theirs = [tc_round(lab, str(path)) for _ in range(args.rounds)]
    print(f"{'CE programs up and down':32} {'median ms':>10} {'max ms':>8}")
    for name, times in (("libbpf C API (ctypes)", ours), ("tc filter add … obj", theirs)):
        print(f"{name:32} {statistics.median(times) * 1e3:10.1f} {max(times) * 1e3:8.1f}")
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

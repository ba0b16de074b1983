"""The BPF programs decide as the Python checks do: a seeded corpus of tunnel packets —
sources with the right CE address and forged ones, ports inside and outside the sets,
A = 0 ports, TCP, UDP, ICMP echo, ICMP errors quoting the flow, protocols without ports,
rules with RFC and draft-03 interface ids, offsets 4 and 6, a full-address rule —
through ``mk_br_ingress`` and ``mk_ce_ingress`` with BPF_PROG_TEST_RUN (tests/dataplane/
bpf_corpus.py), each verdict compared with ``dataplane/checks.py``'s, drop reason by drop
reason and, for hairpinned packets, CE address by CE address; what the CE passes on,
byte for byte as ``PortMap.inbound`` translates it."""

from __future__ import annotations

import json
from pathlib import Path

from mapekit.dataplane.backend import bpf_unavailable
from tests.netns import Lab, needs_root

pytestmark = needs_root
ROOT = Path(__file__).resolve().parents[2]
RUN = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.dataplane.bpf_corpus import main
main(int(sys.argv[1]), int(sys.argv[2]))
"""


def test_the_programs_decide_as_the_checks_do() -> None:
    assert bpf_unavailable() is None, bpf_unavailable()  # CI installs clang and libbpf
    with Lab() as lab:
        lab.add("x")
        lab.run("x", "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        lab.run("x", "ip", "-6", "route", "add", "2001:db8::/32", "dev", "lo")  # hairpin FIB
        found = json.loads(lab.python("x", RUN, "3000", "17", timeout=300))
    for role in ("br", "ce"):
        assert found[role]["mismatches"] == 0, found[role]
    br, ce = found["br"]["verdicts"], found["ce"]["verdicts"]
    # the corpus reaches every verdict it is meant to
    for verdict in ("from_ce", "hairpin", "from_ce_drop_spoofed_source", "from_ce_drop_no_rule",
                    "from_ce_drop_no_port"):  # fmt: skip
        assert br.get(verdict, 0) > 20, (verdict, br)
    for verdict in ("in", "in_drop_port_outside_set", "in_drop_spoofed_source",
                    "in_drop_wrong_destination", "in_drop_no_port"):  # fmt: skip
        assert ce.get(verdict, 0) > 20, (verdict, ce)
    assert ce.get("translated", 0) > 20, ce  # ports of the set made virtual, as in Python

"""The doctor reads mapekit's whole-set NAT back from the kernel: the virtual range and
the translation behind it (dataplane/portmap.py), so it judges the real ports the NAT
uses and the port use conntrack shows, not the virtual ones."""

from __future__ import annotations

import subprocess
import uuid

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.tables import builtin_rules
from mapekit.dataplane.nftables import render
from mapekit.dataplane.plan import make_plan
from mapekit.diag.checks import diagnose
from mapekit.diag.gather import whole_set_nat
from mapekit.diag.model import Facts
from tests.netns import needs_root

PREFIX = "240b:10:3f6c:d400::/56"  # v6plus: 15 blocks of 16


@needs_root
def test_the_doctor_reads_the_translation_the_kernel_holds() -> None:
    mapping = builtin_rules().map(*parse_end_user_prefix(PREFIX))
    plan = make_plan(mapping, "wan0", forwards=["tcp:7490=192.168.1.10:22"], whole_set=True)
    assert plan.port_map is not None
    ns = f"mapekit-doctor-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        run = ["ip", "netns", "exec", ns, "nft"]
        subprocess.run([*run, "-f", "-"], input=render(plan), text=True, check=True)
        listed = subprocess.run([*run, "list", "table", "ip", "mapekit"], check=True,
                                capture_output=True, text=True).stdout  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=False)
    found = whole_set_nat(listed, plan.ipv4_address)
    assert found == plan.port_map
    assert whole_set_nat(listed, "192.0.2.1") is None  # another address's NAT is not ours
    real = sorted(found.real[: found.pool_size])
    assert len(real) == 239 and 7490 not in real and all(p in mapping.port_set for p in real)
    facts = Facts(wan="wan0", prefix=PREFIX, outcome="established", mapping=mapping,
                  tunnel_up=True, tunnel_mtu=1460, mss_clamp=True,
                  nat_ranges=[(p, p) for p in real])  # fmt: skip
    codes = {f.code for f in diagnose(facts)}
    assert "nat.ok" in codes and not codes & {"nat.outside", "nat.missing", "nat.partial"}

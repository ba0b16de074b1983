"""The port policy as nftables: every part loads in a namespace and lists back as written
(a map or a policy can be accepted and still differ: design.md §6), and the fingerprint a
health check compares ignores what traffic changes (set elements, counters)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import rule_from_entry
from mapekit.dataplane import nft
from mapekit.dataplane.nftables import render
from mapekit.dataplane.plan import make_plan
from mapekit.dataplane.policy import PortPolicy, Timeouts
from mapekit.lab.topology import CE_PREFIX, LAB_RULES
from tests.netns import Lab, needs_root

POLICY = PortPolicy(
    per_destination=50,
    per_host=100,
    overrides=((ipaddress.IPv4Address("192.168.1.50"), 0),
               (ipaddress.IPv4Address("192.168.1.60"), 200)),
    timeouts=Timeouts(quick_udp=7, tcp_time_wait=25),
)  # fmt: skip


def ruleset(policy: PortPolicy) -> str:
    rules = RuleSet([rule_from_entry(LAB_RULES[0], "rule")])
    mapping = rules.map(*parse_end_user_prefix(CE_PREFIX))
    return render(make_plan(mapping, "wan0", lan="lan0", rules=rules, policy=policy))


def test_no_policy_adds_nothing() -> None:
    text = ruleset(PortPolicy())
    assert "ct timeout" not in text and "ct count" not in text and "chain caps" not in text


def test_the_caps_in_order() -> None:
    text = ruleset(POLICY)
    caps = text[text.index("chain caps") :]
    assert caps.index("ip saddr 192.168.1.60 add @mapekit_flows") < caps.index(
        "ip saddr != { 192.168.1.50, 192.168.1.60 }"
    )  # a host's override before the general cap, which skips it
    assert "ip saddr 192.168.1.50 add" not in caps  # 0: no cap for that host
    assert "add @mapekit_hosts { ip saddr ct count over 100 }" in caps


@needs_root
def test_the_policy_loads_and_lists_back(tmp_path: Path) -> None:
    with Lab() as lab:
        lab.add("ce")
        lab.run("ce", "ip", "link", "add", "wan0", "type", "veth", "peer", "name", "mape0")
        (tmp_path / "table.nft").write_text(ruleset(POLICY))
        lab.run("ce", "nft", "-f", str(tmp_path / "table.nft"))
        listed = lab.run("ce", "nft", "list", "table", "ip", "mapekit").stdout
        assert "policy = { unreplied : 7, replied : 7 }" in listed, listed
        assert "time_wait : 25" in listed
        assert 'udp dport { 53, 123 } ct timeout set "mapekit_quick_udp"' in listed
        assert "type filter hook prerouting priority mangle" in listed
        assert "ct count over 50" in listed and "ct count over 200" in listed
        assert "ct count over 100" in listed
        fingerprint = lab.python("ce", "from mapekit.dataplane import nft; "
                                 "print(nft.fingerprint())")  # fmt: skip
        assert "elements" not in fingerprint and "packets" not in fingerprint
        assert nft.fingerprint.__doc__ and "elements" in nft.fingerprint.__doc__

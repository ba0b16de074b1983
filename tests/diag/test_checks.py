"""The doctor's checks on facts: each cause is named, in English and Japanese."""

from __future__ import annotations

import pytest

from mapekit.core.addr import parse_end_user_prefix
from mapekit.core.mapping import Mapping
from mapekit.core.tables import builtin_rules
from mapekit.diag.checks import cause, diagnose
from mapekit.diag.model import Facts, Severity

PREFIX = "240b:10:3f6c:d400::/56"


def mapping() -> Mapping:
    return builtin_rules().map(*parse_end_user_prefix(PREFIX))


def base(**changes: object) -> Facts:
    facts = Facts(wan="wan0", wan_addresses=["240b:10:3f6c:d400::1/64"], prefix=PREFIX,
                  prefix_source="DHCPv6-PD", hgw="none", outcome="established")  # fmt: skip
    for key, value in changes.items():
        setattr(facts, key, value)
    return facts


def test_blank_rules_names_the_deployment_target_and_shows_the_fallback() -> None:
    facts = base(outcome="blank", reason_code="rules.blank", error_message="v6plus({})",
                 fallback=mapping(), fallback_source="built-in operator table")  # fmt: skip
    named = cause(diagnose(facts))
    assert named is not None and named.code == "rules.blank"
    text = named.explanation.get("en")
    assert "home gateway" in text and "deployment target" in text
    assert "106.72.63.108" in text and "PSID 212" in text  # what the static table gives
    fix = named.fix.get("en")  # type: ignore[union-attr]
    assert "switch the deployment target" in fix and "cancel the HGW rental" in fix
    assert "telephone" in fix and "VoIP" in fix
    assert "配信先" in named.explanation.get("ja") and "ひかり電話" in named.fix.get("ja")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"hgw": "on"}, "hgw.active"),
        ({"prefix": None}, "prefix.none"),
        ({"wan_addresses": [], "prefix_source": "RA /64"}, "wan.address"),
        ({"outcome": "forbidden", "reason_code": "rules.forbidden"}, "rules.forbidden"),
        ({"outcome": "server_error", "reason_code": "server.error"}, "rules.server_error"),
        ({"rule_host": "rules.example", "resolves": False}, "server.dns"),
        ({"rule_host": "rules.example", "resolves": True, "reachable": False},
         "server.unreachable"),
        ({"outcome": "unreachable", "reason_code": "net.tls"}, "rules.tls"),
        ({"outcome": "unreachable", "reason_code": "net.timeout"}, "rules.timeout"),
        ({"outcome": "unreachable", "reason_code": "net.unreachable"}, "rules.unreachable"),
        ({"counters": {"in_drop_spoofed_source": 8, "in_drop_port_outside_set": 2}},
         "tunnel.forged"),
    ],
)  # fmt: skip
def test_each_cause(changes: dict[str, object], code: str) -> None:
    named = cause(diagnose(base(**changes)))
    assert named is not None and named.code == code
    assert named.explanation.get("en") and named.explanation.get("ja")


def test_nat_first_block_only_is_flagged() -> None:
    m = mapping()
    first = next(iter(m.port_set.ranges()))
    facts = base(mapping=m, tunnel_up=True, tunnel_mtu=1460, mss_clamp=True, nat_ranges=[first])
    named = cause(diagnose(facts))
    assert named is not None and named.code == "nat.partial"
    assert "first block" in named.explanation.get("en")
    whole = base(mapping=m, tunnel_up=True, tunnel_mtu=1460, mss_clamp=True,
                 nat_ranges=list(m.port_set.ranges()))  # fmt: skip
    assert cause(diagnose(whole)) is None
    outside = base(mapping=m, tunnel_up=True, tunnel_mtu=1460, mss_clamp=True,
                   nat_ranges=[(1024, 2047)])  # fmt: skip
    assert cause(diagnose(outside)).code == "nat.outside"  # type: ignore[union-attr]


def test_ports_mtu_mss_and_extra_prefix_bits() -> None:
    m = mapping()
    full = {"per_block": [16] + [0] * 14, "block_size": 16, "insert_failed": 3}
    facts = base(mapping=m, tunnel_up=True, tunnel_mtu=1500, mss_clamp=False,
                 nat_ranges=list(m.port_set.ranges()), port_use=full)  # fmt: skip
    codes = {f.code for f in diagnose(facts) if f.severity is Severity.WARNING}
    assert {"mtu.high", "mss.missing", "ports.exhausted"} <= codes
    odd = builtin_rules().map(*parse_end_user_prefix("240b:10:3f6c:d4a0::/60"))
    assert any(f.code == "prefix.extra_bits" for f in diagnose(base(mapping=odd)))


def test_a_healthy_ce_has_no_cause() -> None:
    m = mapping()
    facts = base(
        mapping=m,
        tunnel_up=True,
        tunnel_mtu=1460,
        mss_clamp=True,
        br_reachable=True,
        nat_ranges=list(m.port_set.ranges()),
        port_use={"per_block": [0] * 15, "block_size": 16, "insert_failed": 0},
    )
    findings = diagnose(facts)
    assert cause(findings) is None
    assert all(f.to_dict("ja")["explanation"] for f in findings)


def test_no_forged_packets_no_finding() -> None:
    facts = base(counters={"in": 100, "out": 90, "in_drop_not_ipv4": 3})
    assert [f for f in diagnose(facts) if f.code == "tunnel.forged"] == []


def test_a_few_stray_packets_are_not_the_cause() -> None:
    facts = base(counters={"in": 100, "in_drop_spoofed_source": 2})
    (found,) = [f for f in diagnose(facts) if f.code == "tunnel.forged"]
    assert found.severity is Severity.INFO and cause(diagnose(facts)) is None


def test_a_static_table_is_not_called_an_operator_delivery() -> None:
    findings = diagnose(base(provider="static", mapping=mapping(),
                             fallback_source="built-in operator table"))  # fmt: skip
    codes = [f.code for f in findings]
    assert "rules.ok" not in codes and "table.static" in codes
    table = next(f for f in findings if f.code == "table.static")
    text = table.explanation.get("en")
    assert "no rule server is asked" in text and "operator changes them" in text
    assert "106.72.63.108 PSID 212" in table.evidence
    assert "静的ルール" in table.explanation.get("ja")
    assert all("delivers" not in f.explanation.get("en") for f in findings)


def test_without_a_configuration_the_doctor_ends_with_mape_setup() -> None:
    facts = base(configured=False, config_path="/etc/mapekit/agent.toml", provider=None,
                 outcome=None, fallback=mapping(),
                 fallback_source="built-in operator table")  # fmt: skip
    findings = diagnose(facts)
    assert findings[0].code == "config.none"
    named = cause(findings)
    assert named is not None and named.code == "config.none"
    assert "mape setup --wan wan0" in named.fix.get("en")  # type: ignore[union-attr]
    assert "table.static" in [f.code for f in findings]  # what the table gives the prefix
    assert "rules" not in [f.code for f in findings]  # no claim about a rule fetch


def test_a_prefix_no_table_covers() -> None:
    facts = base(configured=False, provider=None, outcome=None, fallback=None,
                 prefix="2001:db8:1::/56", fallback_source="built-in operator table")  # fmt: skip
    named = cause(diagnose(facts))
    assert named is not None and named.code == "table.no_rule"
    assert "--rules FILE" in named.fix.get("en")  # type: ignore[union-attr]


def test_a_wan_too_small_for_the_tunnel() -> None:
    named = cause(diagnose(base(wan_mtu=1454)))
    assert named is not None and named.code == "wan.mtu"
    assert "1414" in named.fix.get("en")  # type: ignore[union-attr]
    assert all(f.code != "wan.mtu" for f in diagnose(base(wan_mtu=1500)))

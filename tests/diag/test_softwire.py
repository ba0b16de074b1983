"""The doctor on DS-Lite and IPIP lines, from gathered facts: each cause named with its
evidence, in English and Japanese. Addresses are worked out by hand from the definitions
(docs/design.md §7): the IPIP tunnel address is subnet 0 of the prefix with the operator's
interface ID; the B4's is subnet 0 with ::b4."""

from __future__ import annotations

import re
import string

import pytest

from mapekit.core.softwire import Softwire
from mapekit.diag.checks import cause, diagnose
from mapekit.diag.model import AftrLookup, Facts, Probe, Reach, Severity
from mapekit.diag.softwire_text import TEXTS

PREFIX = "2001:db8:12:3400::/56"
# 2001:db8:12:3400::/56, subnet 0 (the next 8 bits zero), interface ID ::1234:5678:9abc:def0
TUNNEL_ADDRESS = "2001:db8:12:3400:1234:5678:9abc:def0"
ENDPOINT = "2001:db8:ffff::2"
IPIP = Softwire("ipip", TUNNEL_ADDRESS, ENDPOINT, None, "203.0.113.9", 32, nat=True)
DSLITE = Softwire("dslite", "2001:db8:12:3400::b4", "2001:db8:ffff::1", "aftr.example",
                  "192.0.0.2", 29, nat=False)  # fmt: skip


def facts(provider: str = "ipip", **changes: object) -> Facts:
    found = Facts(wan="wan0", wan_addresses=["2001:db8:12:3400::1/64"], prefix=PREFIX,
                  prefix_source="DHCPv6-PD", hgw="none", outcome="established",
                  provider=provider)  # fmt: skip
    for key, value in changes.items():
        setattr(found, key, value)
    return found


def codes(f: Facts) -> dict[str, Severity]:
    return {finding.code: finding.severity for finding in diagnose(f)}


# --- the AFTR's name -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "words"),
    [("NXDOMAIN", "does not exist"), ("NODATA", "no IPv6 address"),
     ("timeout", "did not answer"), ("SERVFAIL", "failed or refused")],
)  # fmt: skip
def test_an_aftr_name_that_does_not_resolve(answer: str, words: str) -> None:
    lookup = AftrLookup("gw.aftr.example", "2001:db8::53", answer)
    f = facts("dslite", outcome="unreachable", reason_code="dns.aftr",
              error_message=f"aftr: gw.aftr.example: {answer}", aftr=lookup)  # fmt: skip
    named = cause(diagnose(f))
    assert named is not None and named.code == "aftr.dns"
    assert named.evidence == f"gw.aftr.example: {answer} from 2001:db8::53"
    assert words in named.explanation.get("en") and "gw.aftr.example" in named.explanation.get("ja")
    assert "dslite.dns_server" in named.fix.get("en")  # type: ignore[union-attr]
    assert "rules.unreachable" not in codes(f)  # the softwire check names it, once


def test_an_aftr_name_that_resolves_is_said_so() -> None:
    lookup = AftrLookup("aftr.example", "192.0.2.53", "ok", ("2001:db8:ffff::1",))
    f = facts("dslite", aftr=lookup, softwire=DSLITE,
              remote_probe=Probe("2001:db8:ffff::1", Reach.REPLY))  # fmt: skip
    found = codes(f)
    assert found["aftr.resolves"] is Severity.OK and found["softwire.reachable"] is Severity.OK
    assert cause(diagnose(f)) is None
    assert "rules.ok" not in found  # configured by hand: no server delivers anything
    assert all("MAP-E" not in x.explanation.get("en") for x in diagnose(f))


# --- the update URL --------------------------------------------------------------------


def test_a_refused_update_call_is_named_with_its_answer() -> None:
    record = {"time": 1_700_000_000, "address": TUNNEL_ADDRESS, "ok": False, "status": 401,
              "answer": "HTTP 401 bad credentials", "attempts": 4,
              "url": "https://update.example/?address=x&user=****&pass=****"}  # fmt: skip
    f = facts(softwire=IPIP, update=record,
              addresses={"wan0": [f"{TUNNEL_ADDRESS}/128"]})  # fmt: skip
    named = cause(diagnose(f))
    assert named is not None and named.code == "update.refused"
    assert named.evidence.startswith("HTTP 401 bad credentials at ")
    assert "****" in named.evidence
    assert "ipip.update_password" in named.fix.get("en")  # type: ignore[union-attr]
    assert "拒否" in named.explanation.get("ja")


def test_an_update_call_without_an_answer_is_a_failure_not_a_refusal() -> None:
    record = {"time": 1_700_000_000, "ok": False, "status": None,
              "answer": "cannot connect", "url": "https://update.example/"}  # fmt: skip
    named = cause(diagnose(facts(softwire=IPIP, update=record)))
    assert named is not None and named.code == "update.failed"
    assert "ipip.ca_file" in named.fix.get("en")  # type: ignore[union-attr]


def test_an_accepted_update_call() -> None:
    record = {"time": 1_700_000_000, "ok": True, "status": 200, "answer": "HTTP 200 OK"}
    assert codes(facts(softwire=IPIP, update=record))["update.ok"] is Severity.OK


# --- the IPIP tunnel address -----------------------------------------------------------


def test_the_tunnel_address_on_the_wan_is_fine() -> None:
    f = facts(softwire=IPIP, applied_softwire=IPIP,
              addresses={"wan0": ["2001:db8:12:3400::1/64", f"{TUNNEL_ADDRESS}/128"]})  # fmt: skip
    assert codes(f)["ipip.address"] is Severity.OK
    assert cause(diagnose(f)) is None


def test_a_missing_tunnel_address_names_the_expected_one_and_what_the_wan_has() -> None:
    # the interface ID mistyped into the router's hands: something else is on the WAN
    f = facts(softwire=IPIP, addresses={"wan0": ["2001:db8:12:3400:1234:5678:9abc:def1/128",
                                                  "2001:db8:12:3400::1/64"]})  # fmt: skip
    named = cause(diagnose(f))
    assert named is not None and named.code == "ipip.no_address"
    assert f"expected {TUNNEL_ADDRESS}" in named.evidence
    assert "interface ID ::1234:5678:9abc:def0" in named.evidence
    assert "on wan0: 2001:db8:12:3400:1234:5678:9abc:def1/128, 2001:db8:12:3400::1/64" in (
        named.evidence
    )
    assert "mistyped" in named.explanation.get("en")
    assert "ipip.interface_id" in named.fix.get("en")  # type: ignore[union-attr]


def test_after_renumbering_the_tunnel_still_using_the_old_address() -> None:
    old = "2001:db8:99:9900:1234:5678:9abc:def0"  # the old prefix's subnet 0, same ID
    applied = Softwire("ipip", old, ENDPOINT, None, "203.0.113.9", 32, nat=True)
    f = facts(softwire=IPIP, applied_softwire=applied,
              addresses={"wan0": [f"{old}/128", "2001:db8:12:3400::1/64"]})  # fmt: skip
    named = cause(diagnose(f))
    assert named is not None and named.code == "ipip.no_address"
    assert f"the tunnel uses {old}" in named.evidence
    assert old in named.explanation.get("en") and TUNNEL_ADDRESS in named.explanation.get("en")


def test_an_old_address_left_behind() -> None:
    old = "2001:db8:99:9900:1234:5678:9abc:def0"
    named = cause(diagnose(facts(softwire=IPIP, addresses={"wan0": [f"{old}/128"]})))
    assert named is not None and named.code == "ipip.no_address"
    assert "old prefix" in named.explanation.get("en")


def test_an_operator_address_outside_the_prefix() -> None:
    message = f"ipv6_local: 2001:db8:77:7700::99 is not inside the CE prefix {PREFIX}"
    f = facts("hb46pp", outcome="invalid", reason_code="softwire.outside_prefix",
              error_message=message)  # fmt: skip
    named = cause(diagnose(f))
    assert named is not None and named.code == "ipip.no_address"
    assert "2001:db8:77:7700::99" in named.explanation.get("en") and PREFIX in (
        named.explanation.get("en")
    )


# --- the AFTR or endpoint over IPv6 ----------------------------------------------------


@pytest.mark.parametrize(
    ("result", "severity", "words"),
    [(Reach.NO_ROUTE, Severity.ERROR, "no IPv6 route"),
     (Reach.UNREACHABLE, Severity.ERROR, "unreachable"),
     (Reach.TIMEOUT, Severity.WARNING, "did not answer")],
)  # fmt: skip
def test_an_endpoint_that_cannot_be_reached(result: Reach, severity: Severity, words: str) -> None:
    detail = "ICMPv6 destination unreachable (no route to destination) from 2001:db8::1"
    probe = Probe(ENDPOINT, result, detail if result is Reach.UNREACHABLE else "")
    f = facts(softwire=IPIP, remote_probe=probe, addresses={"wan0": [f"{TUNNEL_ADDRESS}/128"]})
    (found,) = [x for x in diagnose(f) if x.code == "softwire.unreachable"]
    assert found.severity is severity and words in found.explanation.get("en")
    assert found.evidence.startswith(f"{ENDPOINT}: {result.value}")
    assert "IPIP endpoint" in found.explanation.get("en")
    assert "終端装置" in found.explanation.get("ja")
    if result is Reach.UNREACHABLE:
        assert "from 2001:db8::1" in found.evidence


def test_an_aftr_probe_names_the_aftr() -> None:
    f = facts("dslite", softwire=DSLITE, remote_probe=Probe(DSLITE.remote, Reach.NO_ROUTE))
    named = cause(diagnose(f))
    assert named is not None and named.code == "softwire.unreachable"
    assert named.evidence.startswith("aftr.example (2001:db8:ffff::1): no route")
    assert "AFTR" in named.explanation.get("en")


def test_hb46pp_delivering_ds_lite_is_not_called_map_e() -> None:
    f = facts("hb46pp", softwire=DSLITE)
    (delivered,) = [x for x in diagnose(f) if x.code == "rules.ok"]
    assert "DS-Lite" in delivered.explanation.get("en") and "MAP-E" not in (
        delivered.explanation.get("en")
    )


# --- the words -------------------------------------------------------------------------

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_japanese_with_the_same_fields(key: str) -> None:
    en, ja = TEXTS[key]
    assert JAPANESE.search(ja), key
    assert {f.replace("role_ja", "role") for f in _fields(ja)} == _fields(en), key


# --- gathering: an HB46PP delivery of DS-Lite whose AFTR name is looked up ---------------


@pytest.mark.parametrize(("name", "answer"), [("aftr.example", "ok"),
                                              ("nothing.example", "NXDOMAIN")])  # fmt: skip
def test_gathering_looks_the_aftr_up_over_the_configured_resolver(name: str, answer: str) -> None:
    from mapekit.client.fetch import Hb46ppSource
    from mapekit.core.addr import parse_end_user_prefix
    from mapekit.diag.gather import take_softwire
    from mapekit.provision.hb46pp import ClientIdentity
    from mapekit.provision.model import Provider, SoftwireDelivery
    from tests.provision.test_aftr_lookup import dns_server

    delivery = SoftwireDelivery(Provider.HB46PP, "dslite", name)
    f = facts("hb46pp", outcome=None)
    with dns_server() as port:
        source = Hb46ppSource(ClientIdentity("000000", "mapekit", "1"), dns_server="127.0.0.1",
                              dns_port=port)  # fmt: skip
        take_softwire(delivery, parse_end_user_prefix(PREFIX), f, source)
    assert f.aftr is not None and f.aftr.answer == answer
    assert f.aftr.resolver == f"127.0.0.1 port {port}"
    if answer == "ok":
        assert f.softwire is not None and f.softwire.remote_name == name
        assert f.softwire.remote in ("2001:db8:ffff::1", "2001:db8:ffff::2")
        assert f.softwire.local == "2001:db8:12:3400::b4" and f.outcome == "established"
    else:
        assert (f.outcome, f.reason_code, f.softwire) == ("unreachable", "dns.aftr", None)
        assert cause(diagnose(f)).code == "aftr.dns"  # type: ignore[union-attr]

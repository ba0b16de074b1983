"""The HB46PP answer for subscribers with DS-Lite and IPIP, compared key by key with the
example of the HB46PP specification (§3.4, "v6mig-1", CC BY 4.0), read back by mapekit's
own decoder (round trip), restricted to the CE's capability; and what JPNE and OCN give a
subscriber without MAP-E. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any

import pytest

from mapekit.core.rule import IidFormat, MappingRule
from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.model import BlankAnswer, Provider, RuleDelivery, SoftwireDelivery
from mapekit.provision.softwire import select_softwire
from mapekit.server.app import ServerConfig, build_app
from mapekit.server.service import Hb46ppNames, Target
from mapekit.server.store import Store, rules_domain
from tests.server.conftest import HGW_CODE, ROUTER_CODE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

# The specification's example answer (§3.4), as published; mapekit does not offer
# 464xlat, lw4o6 or map_t, and answers `auth` only to user/pass requests (it takes none).
SPEC_EXAMPLE: dict[str, Any] = json.loads("""
{
  "enabler_name": "A VNE",
  "service_name": "Highspeed 4over6",
  "isp_name": "ISP-A",
  "ttl": 86400,
  "token": "640756965820d3b9025b6941f9590af6802830ba58663fe8f043dc92b576f17a",
  "auth": "ok",
  "order": [ "464xlat", "map_e", "dslite" ],
  "map_e": {
    "version": 0,
    "mesh": true,
    "br": "2001:db8:1::1",
    "rules": [
      {
        "ipv6": "2001:db8:1:2000::/52",
        "ipv4": "203.0.113.0/24",
        "ea_length": 12,
        "psid_offset": 4
      }
    ]
  },
  "dslite": {
    "aftr": "aftr.example.net"
  },
  "lw4o6": {
    "lwaftr": "lwaftr.example.net",
    "ipv6": "2001:db8:3:100::/56",
    "ipv4": "203.0.113.16",
    "psid": 3,
    "psid_length": 8,
    "psid_offset": 6
  },
  "map_t": {
    "dmr": "2001:db8:5::/64",
    "rules": [
      {
        "ipv6": "2001:db8:5:100::/56",
        "ipv4": "203.0.113.32/28",
        "ea_length": 8,
        "psid_offset": 4
      }
    ]
  },
  "464xlat": {
    "nat64prefix": "2001:db8:6::/96"
  },
  "ipip": [
    {
      "ipv6_local": "2001:db8:7:100::7",
      "ipv6_remote": "2001:db8:7::1",
      "ipv4": "203.0.113.0/29"
    }
  ]
}
""")
SPEC_NAMES = Hb46ppNames("A VNE", "Highspeed 4over6", "ISP-A")
CAPABILITY = {"capability": "map_e,dslite,ipip"}
SPEC_RULE = MappingRule.from_text("2001:db8:1:2000::/52", "203.0.113.0/24", 12, 4,
                                  br="2001:db8:1::1", iid=IidFormat.LEGACY, fmr=True)  # fmt: skip
DSLITE_SUB = {"prefix": "2001:db8:8:100::/56", "target": "router", "order": ["dslite"],
              "aftr": "aftr.example.net", "id": "ds"}  # fmt: skip
IPIP_SUB = {"prefix": "2001:db8:7:100::/56", "target": "router", "order": ["ipip"],
            "ipip_remote": "2001:db8:7::1", "ipip_ipv4": "203.0.113.0/29",
            "ipip_interface_id": "::7", "id": "ip"}  # fmt: skip
MAP_E_SUB = {"prefix": "2001:db8:1:2345::/64", "target": "router", "rules": "spec",
             "order": ["map_e", "dslite", "ipip"], "aftr": "aftr.example.net",
             "ipip_remote": "2001:db8:7::1", "ipip_ipv4": "203.0.113.0/29",
             "ipip_interface_id": "::7", "id": "me"}  # fmt: skip


@pytest.fixture
def spec(store: Store) -> Store:
    store.add_rule_set(rules_domain("spec", [SPEC_RULE], "2001:db8:1::1", None), "t")
    store.add_subscribers([DSLITE_SUB, IPIP_SUB, MAP_E_SUB], "t")
    return store


def ask(store: Store, address: str, params: dict[str, str] | None = None,
        names: Hb46ppNames = SPEC_NAMES) -> tuple[bytes, dict[str, Any]]:  # fmt: skip
    app = build_app(store, ServerConfig(rate=0, access_log=False, names=names))
    reply = TestClient(app, client=(address, 40000)).get("/config", params=params or CAPABILITY)
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    return reply.content, dict(json.loads(reply.content))


def test_dslite_answer_is_the_spec_example(spec: Store) -> None:
    """The acceptance gate: a DS-Lite subscriber's answer, key by key."""
    _, doc = ask(spec, "2001:db8:8:100::b4")
    keys = ("enabler_name", "service_name", "isp_name", "ttl", "dslite")
    expected = {key: SPEC_EXAMPLE[key] for key in keys}
    assert set(doc) == {*expected, "token", "order"}
    for key, value in expected.items():
        assert doc[key] == value, key
    assert doc["order"] == ["dslite"]
    assert re.fullmatch(r"[0-9a-f]{64}", doc["token"])
    assert doc["token"] == spec.subscriber(sub_id="ds").token
    assert list(doc) == [k for k in SPEC_EXAMPLE if k in doc]  # and in the example's order


def test_ipip_answer_is_the_spec_example(spec: Store) -> None:
    _, doc = ask(spec, "2001:db8:7:1ff::1")
    assert doc["order"] == ["ipip"] and set(doc) - {"token"} == {
        "enabler_name", "service_name", "isp_name", "ttl", "order", "ipip"}  # fmt: skip
    assert doc["ipip"] == SPEC_EXAMPLE["ipip"]  # ipv6_local: the prefix's subnet 0 + ::7


def test_map_e_and_dslite_as_in_the_spec_example(spec: Store) -> None:
    _, doc = ask(spec, "2001:db8:1:2345::1", {"capability": "map_e,dslite"})
    assert doc["order"] == [m for m in SPEC_EXAMPLE["order"] if m != "464xlat"]
    for key in ("map_e", "dslite", "enabler_name", "service_name", "isp_name", "ttl"):
        assert doc[key] == SPEC_EXAMPLE[key], key  # map_e.mesh: 1, which equals true
    assert "ipip" not in doc  # the CE cannot run it


@pytest.mark.parametrize(
    ("capability", "order"),
    [(None, ["map_e", "dslite", "ipip"]), ("map_e,dslite,ipip", ["map_e", "dslite", "ipip"]),
     ("ipip,dslite", ["dslite", "ipip"]), ("map_e,hubspoke", ["map_e"]),
     ("464xlat,lw4o6", []), ("", []), ("MAP_E", []), ("x" * 1000, [])],
)  # fmt: skip
def test_the_order_is_restricted_to_the_capability(
    spec: Store, capability: str | None, order: list[str]
) -> None:
    params = {"vendorid": "acde48"} if capability is None else {"capability": capability}
    _, doc = ask(spec, "2001:db8:1:2345::1", params)
    assert doc["order"] == order
    for mechanism in ("map_e", "dslite", "ipip"):
        assert (mechanism in doc) == (mechanism in order)


def test_round_trip_through_the_ce_decoder(spec: Store) -> None:
    body, doc = ask(spec, "2001:db8:8:100::b4")
    delivery = hb46pp.decode_config(body)
    assert delivery == SoftwireDelivery(
        Provider.HB46PP, "dslite", "aftr.example.net", ttl=86400, token=doc["token"],
        order=("dslite",))  # fmt: skip
    body, doc = ask(spec, "2001:db8:7:100::1")
    delivery = hb46pp.decode_config(body)
    assert delivery == SoftwireDelivery(Provider.HB46PP, "ipip", "2001:db8:7::1",
                                        local="2001:db8:7:100::7", ipv4="203.0.113.0/29",
                                        ttl=86400, token=doc["token"], order=("ipip",))  # fmt: skip
    sub = spec.subscriber(sub_id="ip")
    softwire = select_softwire(delivery, sub.prefix, sub.prefix_len)
    assert (softwire.local, softwire.remote, softwire.ipv4, softwire.ipv4_prefix_len) == (
        "2001:db8:7:100::7", "2001:db8:7::1", "203.0.113.0", 29)  # fmt: skip
    # a CE configured with the interface id computes the address the server announced
    configured = SoftwireDelivery(Provider.IPIP, "ipip", "2001:db8:7::1", interface_id=7,
                                  ipv4="203.0.113.0/29")  # fmt: skip
    assert select_softwire(configured, sub.prefix, sub.prefix_len).local == softwire.local


def test_round_trip_of_a_mixed_order(spec: Store) -> None:
    body, _ = ask(spec, "2001:db8:1:2345::1")
    first = hb46pp.decode_config(body)
    assert isinstance(first, RuleDelivery) and first.rules[0] == SPEC_RULE
    dslite = hb46pp.decode_config(body, prefer="dslite")
    assert isinstance(dslite, SoftwireDelivery) and dslite.remote == "aftr.example.net"
    assert dslite.order == ("map_e", "dslite", "ipip")
    ipip = hb46pp.decode_config(body, prefer="ipip")
    assert isinstance(ipip, SoftwireDelivery) and ipip.local == "2001:db8:1:2345::7"


def test_the_deployment_target_applies_to_every_mechanism(spec: Store) -> None:
    spec.set_hgw_rental(True, "t", sub_id="ds")
    spec.set_target(Target.HGW, "t", sub_id="ds")
    body, doc = ask(spec, "2001:db8:8:100::b4")
    assert doc["order"] == [] and "dslite" not in doc
    assert isinstance(hb46pp.decode_config(body), BlankAnswer)


def test_default_names_and_unknown_addresses(spec: Store) -> None:
    _, doc = ask(spec, "2001:db8:8:100::b4", names=Hb46ppNames())
    assert doc["enabler_name"] == "mapekit" and "service_name" not in doc
    assert "isp_name" not in doc
    _, doc = ask(spec, "2001:db8:1:2345::1", names=Hb46ppNames())
    assert doc["service_name"] == "spec"  # the rule set's name, as before
    app = build_app(spec, ServerConfig(rate=0, access_log=False))
    assert TestClient(app, client=("2001:db8:9::1", 1)).get("/config").status_code == 403


def test_jpne_and_ocn_give_a_subscriber_without_map_e_their_blank_answer(spec: Store) -> None:
    app = build_app(spec, ServerConfig(rate=0, access_log=False))
    for code in (ROUTER_CODE, HGW_CODE):
        c = TestClient(app, client=("2001:db8:8:100::b4", 1))
        reply = c.get(f"/{code}/get_rules", params={"callback": "v6plus"})
        assert reply.status_code == 200 and reply.content == b"v6plus({})"
        assert isinstance(jpne.decode_get_rules(reply.content), BlankAnswer)
    query = {"ipv6Prefix": "2001:db8:8:100::", "ipv6PrefixLength": "56", "code": ROUTER_CODE}
    reply = TestClient(app, client=("2001:db8::9", 1)).get("/", params=query)
    assert reply.status_code == 200 and isinstance(ocn.decode_rules(reply.content), BlankAnswer)
    # MAP-E anywhere in the order: JPNE and OCN deliver the rules
    c = TestClient(app, client=("2001:db8:1:2345::1", 1))
    reply = c.get(f"/{ROUTER_CODE}/get_rules", params={"callback": "v6plus"})
    result = jpne.decode_get_rules(reply.content)
    assert isinstance(result, RuleDelivery) and result.rules[0].ipv4_prefix == SPEC_RULE.ipv4_prefix

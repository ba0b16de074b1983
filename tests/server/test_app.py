"""Every endpoint and error path of the rule server, in process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from mapekit.provision import hb46pp, jpne, ocn
from mapekit.provision.model import BlankAnswer, RuleDelivery
from mapekit.server.app import LOOPBACK, ServerConfig, build_app
from mapekit.server.service import Target
from mapekit.server.store import Store
from tests.server.conftest import HGW_CODE, ROUTER_CODE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CE = "240b:10:3f6c:d400:6a:483f:6c00:d400"
PREFIX = "240b:10:3f6c:d400::/56"
SUB_ID = "c" * 32


@pytest.fixture
def served(store: Store) -> Store:
    store.add_subscribers(
        [{"prefix": PREFIX, "target": "hgw", "rules": "v6plus", "id": SUB_ID}], "t"
    )
    return store


def client(store: Store, address: str = CE, **config: object) -> TestClient:
    app = build_app(store, ServerConfig(**{"rate": 0, **config}))  # type: ignore[arg-type]
    return TestClient(app, client=(address, 40000))


def admin(store: Store) -> tuple[TestClient, dict[str, str]]:
    token = store.add_token("ops-alice", "t")
    return client(store, "::1"), {"Authorization": f"Bearer {token}"}


# --- get_rules ----------------------------------------------------------------------


def test_get_rules_follows_the_deployment_target(served: Store) -> None:
    c = client(served)
    blank = c.get(f"/{ROUTER_CODE}/get_rules", params={"callback": "v6plus"})
    assert blank.status_code == 200 and blank.content == b"v6plus({})"
    assert isinstance(jpne.decode_get_rules(blank.content), BlankAnswer)
    hgw = c.get(f"/{HGW_CODE}/get_rules", params={"callback": "v6plus"})
    result = jpne.decode_get_rules(hgw.content)
    assert isinstance(result, RuleDelivery) and result.user_id == SUB_ID
    served.set_target(Target.ROUTER, "t", sub_id=SUB_ID)
    router = c.get(f"/{ROUTER_CODE.upper()}/get_rules", params={"callback": "v6plus"})
    result = jpne.decode_get_rules(router.content)
    assert isinstance(result, RuleDelivery) and len(result.rules) == 4 and result.fixlen == 56
    assert str(result.rules[0].br) == "2404:9200:225:100::64"
    assert router.headers["content-type"].startswith("application/javascript")


@pytest.mark.parametrize(
    ("path", "params", "address", "status"),
    [
        (f"/{'9' * 32}/get_rules", {"callback": "v6plus"}, CE, 503),
        ("/not-a-code/get_rules", {"callback": "v6plus"}, CE, 503),
        (f"/{ROUTER_CODE}/get_rules", {"callback": "alert(1)//"}, CE, 400),
        (f"/{ROUTER_CODE}/get_rules", {"callback": "x" * 100}, CE, 400),
        (f"/{ROUTER_CODE}/get_rules", {"callback": "v6plus"}, "2001:db8::1", 403),
        (f"/{ROUTER_CODE}/get_rules", {"callback": "v6plus"}, "192.0.2.1", 403),
    ],
)
def test_get_rules_refusals(
    served: Store, path: str, params: dict[str, str], address: str, status: int
) -> None:
    reply = client(served, address).get(path, params=params)
    assert reply.status_code == status
    assert reply.content == b""


def test_disabled_code_gets_503_and_no_callback_gets_a_question_mark(served: Store) -> None:
    c = client(served)
    assert c.get(f"/{HGW_CODE}/get_rules").content.startswith(b"?({")
    served.set_vendor_enabled(HGW_CODE, False, "t")
    served.cache.forget()  # the per-process cache (5 s) would otherwise hide the change
    assert c.get(f"/{HGW_CODE}/get_rules").status_code == 503


# --- acct_report --------------------------------------------------------------------


def test_acct_report_is_stored(served: Store) -> None:
    c = client(served)
    reply = c.get(
        f"/{ROUTER_CODE}/acct_report",
        params={"callback": "rpt", "action": "2", "reason": "4", "id": SUB_ID},
    )
    assert reply.status_code == 200 and jpne.decode_acct_report(reply.content)["result"] == "ok"
    stored = served.reports()[0]
    assert (stored["action"], stored["reason"], stored["subscriber_id"], stored["client"]) == (
        2,
        4,
        SUB_ID,
        CE,
    )
    for bad in (
        {"action": "3", "reason": "0"},
        {"action": "1", "reason": "9"},
        {"action": "x", "reason": "0"},
        {"reason": "0"},
    ):
        assert c.get(f"/{ROUTER_CODE}/acct_report", params=bad).status_code == 400
    assert (
        c.get(f"/{'0' * 32}/acct_report", params={"action": "1", "reason": "0"}).status_code == 503
    )
    bad_cb = {"callback": "a b", "action": "1", "reason": "0"}
    assert c.get(f"/{ROUTER_CODE}/acct_report", params=bad_cb).status_code == 400


# --- OCN and HB46PP -----------------------------------------------------------------


def test_ocn_style(served: Store) -> None:
    c = client(served, "2001:db8::9")  # OCN identifies by the prefix parameter
    query = {"ipv6Prefix": "240b:10:3f6c:d400::", "ipv6PrefixLength": "56", "code": HGW_CODE}
    result = ocn.decode_rules(c.get("/", params=query).content)
    assert isinstance(result, RuleDelivery) and len(result.rules) == 4
    mismatch = ocn.decode_rules(c.get("/", params={**query, "code": ROUTER_CODE}).content)
    assert isinstance(mismatch, BlankAnswer)
    assert c.get("/", params={**query, "code": "0" * 32}).status_code == 503
    assert c.get("/", params={**query, "ipv6PrefixLength": "x"}).status_code == 400
    assert c.get("/", params={**query, "ipv6Prefix": "nonsense"}).status_code == 400
    assert c.get("/", params={**query, "ipv6Prefix": "2001:db8::"}).status_code == 403
    assert c.get("/").json() == {"service": "mapekit rule server"}


def test_hb46pp_style(served: Store) -> None:
    c = client(served)
    nothing = hb46pp.decode_config(c.get("/config", params={"vendorid": "000000"}).content)
    assert isinstance(nothing, BlankAnswer)  # target hgw: nothing for this router
    served.set_hgw_rental(False, "t", sub_id=SUB_ID)  # → target router
    offered = hb46pp.decode_config(c.get("/config").content)
    assert isinstance(offered, RuleDelivery) and offered.ttl == 86400 and offered.token
    assert client(served, "2001:db8::1").get("/config").status_code == 403


# --- client address, rate limits, health, metrics ----------------------------------


def test_client_address_header_only_from_trusted_proxies(served: Store) -> None:
    header = {"X-Client-Address": CE}
    path = f"/{HGW_CODE}/get_rules"
    proxied = client(served, "::1", client_header="X-Client-Address", trusted_proxies=LOOPBACK)
    assert proxied.get(path, headers=header).status_code == 200
    untrusted = client(
        served, "2001:db8::5", client_header="X-Client-Address", trusted_proxies=LOOPBACK
    )
    assert untrusted.get(path, headers=header).status_code == 403
    ignored = client(served, "::1")  # no header configured: the peer counts
    assert ignored.get(path, headers=header).status_code == 403


def test_rate_limit_per_client(served: Store) -> None:
    c = client(served, rate=1, burst=3)
    codes = [c.get(f"/{HGW_CODE}/get_rules").status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    other = client(served, "2001:db8::77", rate=1, burst=3)
    assert other.get(f"/{HGW_CODE}/get_rules").status_code == 403  # others unaffected


def test_health_and_metrics(served: Store) -> None:
    c = client(served)
    assert c.get("/healthz").json() == {"status": "ok"}
    c.get(f"/{ROUTER_CODE}/get_rules")
    text = c.get("/metrics").text
    assert 'mapekit_requests_total{endpoint="get_rules",outcome="blank"} 1.0' in text
    assert "mapekit_request_seconds_bucket" in text


def test_health_reports_an_unmigrated_database(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/empty.db")
    reply = client(store).get("/healthz")
    assert reply.status_code == 503 and reply.json()["status"] == "unavailable"


# --- admin API ----------------------------------------------------------------------


def test_admin_refuses_missing_or_wrong_tokens(served: Store) -> None:
    c, _ = admin(served)
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eA=="}):
        reply = c.get("/admin/subscribers", headers=headers)
        assert reply.status_code == 401
        assert reply.json()["error"]["reason_code"] == "server.unauthorized"


def test_admin_switch_target_ends_the_blank_answer(served: Store) -> None:
    c, auth = admin(served)
    ce = client(served)
    assert ce.get(f"/{ROUTER_CODE}/get_rules").content == b"?({})"
    reply = c.put(f"/admin/subscribers/{SUB_ID}/target", json={"target": "router"}, headers=auth)
    assert reply.status_code == 200 and reply.json()["target"] == "router"
    assert b'"fmr"' in ce.get(f"/{ROUTER_CODE}/get_rules").content
    audit = c.get("/admin/audit", headers=auth).json()["audit"]
    assert {"actor": "ops-alice", "field": "target", "old": "hgw", "new": "router"}.items() <= (
        audit[0].items()
    )


def test_admin_subscribers_and_errors(served: Store) -> None:
    c, auth = admin(served)
    new = {"prefix": "240b:10:1:100::/56", "target": "router", "rules": "v6plus"}
    created = c.post("/admin/subscribers", json=new, headers=auth)
    assert created.status_code == 201 and created.json()["prefix"] == "240b:10:1:100::/56"
    assert c.post("/admin/subscribers", json=new, headers=auth).status_code == 409
    bad = c.post("/admin/subscribers", json={**new, "prefix": "x"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "prefix"
    hgw_without_rental = {
        **new,
        "prefix": "240b:10:2:200::/56",
        "target": "hgw",
        "hgw_rental": False,
    }
    reply = c.post("/admin/subscribers", json=hgw_without_rental, headers=auth)
    assert reply.json()["error"]["reason_code"] == "server.target_needs_hgw"
    assert c.post("/admin/subscribers", content=b"[1]", headers=auth).status_code == 400
    assert c.post("/admin/subscribers", content=b"{", headers=auth).status_code == 400
    listing = c.get("/admin/subscribers", params={"limit": "1"}, headers=auth).json()
    assert listing["total"] == 2 and len(listing["subscribers"]) == 1
    assert c.get(f"/admin/subscribers/{SUB_ID}", headers=auth).json()["target"] == "hgw"
    assert c.get("/admin/subscribers/nobody", headers=auth).status_code == 404
    reply = c.put(f"/admin/subscribers/{SUB_ID}/hgw", json={"rental": False}, headers=auth)
    assert reply.json() == {**reply.json(), "hgw_rental": False, "target": "router"}
    reply = c.put(f"/admin/subscribers/{SUB_ID}/target", json={"target": "x"}, headers=auth)
    assert reply.status_code == 400 and reply.json()["error"]["field"] == "target"
    reply = c.put(f"/admin/subscribers/{SUB_ID}/hgw", json={"rental": "yes"}, headers=auth)
    assert reply.status_code == 400


def test_admin_csv_import(served: Store) -> None:
    c, auth = admin(served)
    csv_text = "prefix,target,rules,hgw_rental\n" + "".join(
        f"240b:10:9:{i:x}00::/56,router,v6plus,no\n" for i in range(50)
    )
    reply = c.post("/admin/subscribers/import", content=csv_text.encode(), headers=auth)
    assert reply.status_code == 201 and reply.json() == {"added": 50}
    broken = c.post(
        "/admin/subscribers/import", content=b"prefix,target,rules\nx,router,v6plus\n", headers=auth
    )
    assert broken.status_code == 400 and served.count_subscribers() == 51


def test_admin_vendors_rule_sets_reports(served: Store) -> None:
    c, auth = admin(served)
    code = "ab" * 16
    assert (
        c.post(
            "/admin/vendors", json={"code": code, "name": "x", "kind": "hgw"}, headers=auth
        ).status_code
        == 201
    )
    assert (
        c.post("/admin/vendors", json={"code": "zz", "name": "x"}, headers=auth).status_code == 400
    )
    assert (
        c.post(
            "/admin/vendors",
            json={"code": code[:-2] + "cd", "name": "x", "kind": "pc"},
            headers=auth,
        ).status_code
        == 400
    )
    assert (
        c.put(f"/admin/vendors/{code}/enabled", json={"enabled": False}, headers=auth).json()[
            "enabled"
        ]
        is False
    )
    assert (
        c.put(
            f"/admin/vendors/{'1' * 32}/enabled", json={"enabled": False}, headers=auth
        ).status_code
        == 404
    )
    vendors = {v["code"]: v for v in c.get("/admin/vendors", headers=auth).json()["vendors"]}
    assert vendors[code]["enabled"] is False and vendors[HGW_CODE]["kind"] == "hgw"
    assert c.get("/admin/rule-sets", headers=auth).json() == {"rule_sets": ["v6plus"]}
    rules = c.get("/admin/rule-sets/v6plus", headers=auth).json()
    assert rules["dmr"] == "2404:9200:225:100::64" and len(rules["rules"]) == 4
    assert c.get("/admin/rule-sets/none", headers=auth).status_code == 404
    assert c.get("/admin/reports", headers=auth).json() == {"reports": []}


def test_openapi_is_served(served: Store) -> None:
    spec = client(served).get("/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/admin/subscribers/{id}/target" in spec["paths"]
    assert spec["paths"]["/admin/audit"]["get"]["security"] == [{"bearer": []}]
    json.dumps(spec)

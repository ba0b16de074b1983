"""Mechanisms through every admin door — the HTTP API (POST, PATCH, GET), CSV imports and
the ``mape server`` command line — with errors that name the field and the reason, and
the update password in no answer or audit entry. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from mapekit.cli.main import main
from mapekit.server.app import ServerConfig, build_app
from mapekit.server.asgi import config_from_env
from mapekit.server.service import Hb46ppNames
from mapekit.server.store import Store

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PASSWORD = "update-password-1"
DSLITE = {"prefix": "2001:db8:8:100::/56", "target": "router", "order": ["dslite"],
          "aftr": "aftr.example.net", "id": "ds"}  # fmt: skip
IPIP = {"prefix": "2001:db8:7:100::/56", "target": "router", "order": ["ipip", "dslite"],
        "aftr": "2001:db8:7::64", "ipip_remote": "2001:db8:7::1",
        "ipip_ipv4": "203.0.113.9", "ipip_interface_id": "1234:5678:9abc:def0",
        "update_user": "alice", "update_password": PASSWORD, "id": "ip"}  # fmt: skip


@pytest.fixture
def api(store: Store) -> tuple[TestClient, dict[str, str], Store]:
    token = store.add_token("ops", "t")
    app = build_app(store, ServerConfig(rate=0, access_log=False))
    return TestClient(app, client=("::1", 40000)), {"Authorization": f"Bearer {token}"}, store


def error(reply: Any) -> tuple[int, str, str]:
    body = reply.json()["error"]
    return reply.status_code, body["field"], body["message"]


def test_add_and_show_subscribers_with_mechanisms(
    api: tuple[TestClient, dict[str, str], Store],
) -> None:
    c, auth, _ = api
    reply = c.post("/admin/subscribers", json=DSLITE, headers=auth)
    assert reply.status_code == 201
    expected = {"prefix": "2001:db8:8:100::/56", "rule_set_id": None, "order": ["dslite"],
                "aftr": "aftr.example.net", "ipip_local": None, "update_user": None,
                "update_password_set": False}  # fmt: skip
    assert reply.json() | expected == reply.json()
    reply = c.post("/admin/subscribers", json=IPIP, headers=auth)
    doc = reply.json()
    assert reply.status_code == 201 and doc["order"] == ["ipip", "dslite"]
    assert (doc["ipip_ipv4"], doc["ipip_interface_id"]) == (
        "203.0.113.9/32",
        "::1234:5678:9abc:def0",
    )
    assert doc["ipip_local"] == "2001:db8:7:100:1234:5678:9abc:def0"
    assert doc["update_user"] == "alice" and doc["update_password_set"] is True
    assert PASSWORD not in reply.text and "scrypt" not in reply.text
    assert c.get("/admin/subscribers/ip", headers=auth).json() == doc
    listing = c.get("/admin/subscribers", headers=auth).json()["subscribers"]
    assert {s["id"]: s["order"] for s in listing} == {"ds": ["dslite"], "ip": ["ipip", "dslite"]}


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [({"aftr": None}, 400, "aftr", "aftr: required when order has dslite"),
     ({"ipip_ipv4": "203.0.113.9/33"}, 400, "ipip_ipv4",
      "ipip_ipv4: 203.0.113.9/33 is not an IPv4 prefix"),
     ({"order": ["map_e"]}, 400, "rules", "rules: required when order has map_e"),
     ({"order": ["dslite", "x"]}, 400, "order.1", "'map_e', 'dslite' or 'ipip'"),
     ({"ipip_interface_id": "::"}, 400, "ipip_interface_id", "no interface id"),
     ({"update_password": "short"}, 400, "update_password", "8 to 256 characters"),
     ({"update_user": "bad user"}, 400, "update_user", "pattern"),
     ({"colour": "red"}, 400, "colour", "Extra inputs"),
     ({"aftr": 7}, 400, "aftr", "valid string"),
     ({"update_user": "alice", "update_password": "another-one"}, 409, "update_user",
      "alice belongs to another subscriber")],
)  # fmt: skip
def test_bad_input_names_the_field(
    api: tuple[TestClient, dict[str, str], Store],
    change: dict[str, object],
    status: int,
    field: str,
    words: str,
) -> None:
    c, auth, store = api
    c.post("/admin/subscribers", json=IPIP, headers=auth)
    c.post("/admin/subscribers", json=DSLITE, headers=auth)
    another = {**DSLITE, "prefix": "2001:db8:8:200::/56", "id": "ds2", **change}
    added = c.post("/admin/subscribers", json=another, headers=auth)
    patched = c.patch("/admin/subscribers/ds/mechanisms", json=change, headers=auth)
    for reply in (added, patched):
        got = error(reply)
        assert got[:2] == (status, field) and words in got[2], got
    assert store.count_subscribers() == 2
    assert store.subscriber(sub_id="ds").mechanisms.aftr == "aftr.example.net"  # unchanged


def test_patch_changes_only_what_it_names(
    api: tuple[TestClient, dict[str, str], Store],
) -> None:
    c, auth, store = api
    c.post("/admin/subscribers", json=IPIP, headers=auth)
    reply = c.patch("/admin/subscribers/ip/mechanisms", json={"order": ["dslite"]}, headers=auth)
    assert reply.status_code == 200
    doc = reply.json()
    assert doc["order"] == ["dslite"] and doc["ipip_remote"] == "2001:db8:7::1"  # kept
    reply = c.patch("/admin/subscribers/ip/mechanisms", json={
        "ipip_remote": None, "ipip_ipv4": None, "ipip_interface_id": None,
        "update_password": "a-new-password"}, headers=auth)  # fmt: skip
    assert reply.json()["ipip_local"] is None and reply.json()["update_password_set"] is True
    assert store.update_login("alice", "a-new-password") is not None
    reply = c.patch("/admin/subscribers/ip/mechanisms", json={"update_user": None}, headers=auth)
    assert reply.json()["update_user"] is None and reply.json()["update_password_set"] is False
    assert c.patch("/admin/subscribers/nobody/mechanisms", json={"order": ["dslite"]},
                   headers=auth).status_code == 404  # fmt: skip
    not_an_object = c.patch("/admin/subscribers/ip/mechanisms", content=b"[]", headers=auth)
    assert not_an_object.status_code == 400
    audit = c.get("/admin/audit", headers=auth).text
    assert '"field":"update_password","old":"(set)","new":"(new)"' in audit.replace(" ", "")
    assert PASSWORD not in audit and "a-new-password" not in audit and "scrypt" not in audit
    read_only = store.add_token("viewer", "t", ["read"])
    refused = c.patch("/admin/subscribers/ip/mechanisms", json={"order": ["dslite"]},
                      headers={"Authorization": f"Bearer {read_only}"})  # fmt: skip
    assert refused.status_code == 403


def test_csv_import_with_mechanisms(api: tuple[TestClient, dict[str, str], Store]) -> None:
    c, auth, store = api
    text = (
        "prefix,target,rules,order,aftr,ipip_remote,ipip_ipv4,ipip_interface_id,update_user,"
        "update_password\n"
        "2001:db8:8:100::/56,router,,dslite,aftr.example.net,,,,,\n"
        '2001:db8:7:100::/56,router,,"ipip,dslite",aftr.example.net,2001:db8:7::1,'
        f"203.0.113.8/29,::7,alice,{PASSWORD}\n"
        "240b:10:1:100::/56,router,v6plus,map_e dslite,aftr.example.net,,,,,\n"
        "240b:10:2:100::/56,router,v6plus,,,,,,,\n"
    )
    reply = c.post("/admin/subscribers/import", content=text.encode(), headers=auth)
    assert reply.status_code == 201 and reply.json() == {"added": 4}
    orders = {s.prefix_text: s.mechanisms.order for s in store.subscribers()}
    assert orders == {"2001:db8:8:100::/56": ("dslite",), "2001:db8:7:100::/56": ("ipip", "dslite"),
                      "240b:10:1:100::/56": ("map_e", "dslite"),
                      "240b:10:2:100::/56": ("map_e",)}  # fmt: skip
    assert store.update_login("alice", PASSWORD) is not None
    assert store.ipip_tunnels()[0].local == "2001:db8:7:100::7"
    assert PASSWORD not in c.get("/admin/audit", headers=auth).text


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [("2001:db8:9:100::/56,router,,dslite,,,,", "row 2.aftr", "required when order has dslite"),
     ("2001:db8:9:100::/56,router,,,,,,", "row 2.rules", "required when order has map_e"),
     ("2001:db8:9:100::/56,router,,ipip,,2001:db8::1,203.0.113.9/33,::7",
      "row 2.ipip_ipv4", "is not an IPv4 prefix"),
     ("2001:db8:9:100::/56,router,,ipip,,2001:db8::1,,::7", "row 2.ipip_ipv4",
      "required with ipip_remote"),
     ("2001:db8:9:100::/56,router,,map_e,dslite,,,,", "row 2", "9 fields"),
     ("2001:db8:9:100::/56,router,,lw4o6,,,,", "row 2.order.0", "'map_e', 'dslite' or 'ipip'")],
)  # fmt: skip
def test_csv_errors_name_row_and_column(
    api: tuple[TestClient, dict[str, str], Store], row: str, field: str, words: str
) -> None:
    c, auth, store = api
    text = f"prefix,target,rules,order,aftr,ipip_remote,ipip_ipv4,ipip_interface_id\n{row}\n"
    reply = c.post("/admin/subscribers/import", content=text.encode(), headers=auth)
    got = error(reply)
    assert got[:2] == (400, field) and words in got[2], got
    assert store.count_subscribers() == 0


def test_the_openapi_document_describes_mechanisms_and_updates(
    api: tuple[TestClient, dict[str, str], Store],
) -> None:
    doc = api[0].get("/openapi.json").json()
    patch = doc["paths"]["/admin/subscribers/{id}/mechanisms"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("MechanismsIn")
    update = doc["paths"]["/update"]["get"]
    assert {p["name"] for p in update["parameters"]} == {"user", "pass", "address"}
    assert set(update["responses"]) == {"200", "400", "401", "403", "429"}
    schema = doc["components"]["schemas"]["SubscriberIn"]["properties"]
    assert schema["order"]["items"]["enum"] == ["map_e", "dslite", "ipip"]
    assert schema["update_password"]["anyOf"][0]["writeOnly"] is True


# --- the command line ---------------------------------------------------------------------


def mape(capsys: pytest.CaptureFixture[str], store: Store, *argv: str) -> tuple[int, Any]:
    code = main(["server", "--db", store.url, "--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_cli_subscribers_with_mechanisms(
    capsys: pytest.CaptureFixture[str], store: Store, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    code, doc = mape(capsys, store, "subscriber", "add", "--prefix", "2001:db8:7:100::/56",
                     "--target", "router", "--order", "ipip,dslite", "--aftr", "aftr.example.net",
                     "--ipip-remote", "2001:db8:7::1", "--ipip-ipv4", "203.0.113.8/29",
                     "--ipip-interface-id", "::1234:5678:9abc:def0", "--update-user", "alice",
                     "--update-password-file", str(secret), "--id", "ip")  # fmt: skip
    assert code == 0 and doc["order"] == ["ipip", "dslite"] and doc["rule_set_id"] is None
    assert doc["ipip_local"] == "2001:db8:7:100:1234:5678:9abc:def0"
    assert store.update_login("alice", PASSWORD) is not None
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from-standard-input\n")))
    code, doc = mape(capsys, store, "subscriber", "set", "--id", "ip", "--order",
                     "dslite", "--clear", "ipip", "--update-password-file", "-")  # fmt: skip
    assert code == 0 and doc["order"] == ["dslite"] and doc["ipip_remote"] is None
    assert store.update_login("alice", "from-standard-input") is not None
    code, doc = mape(capsys, store, "subscriber", "show", "--id", "ip")
    assert doc["aftr"] == "aftr.example.net" and doc["update_password_set"] is True
    code, doc = mape(capsys, store, "subscriber", "set", "--prefix",
                     "2001:db8:7:100::/56", "--clear", "update")  # fmt: skip
    assert code == 0 and doc["update_user"] is None and doc["update_password_set"] is False
    code, doc = mape(capsys, store, "subscriber", "add", "--prefix", "240b:10:1:100::/56",
                     "--target", "router", "--rule-set", "v6plus")  # fmt: skip
    assert code == 0 and doc["order"] == ["map_e"]  # as before


@pytest.mark.parametrize(
    ("argv", "exit_code", "field", "words"),
    [(["--order", "dslite"], 2, "aftr", "aftr: required when order has dslite"),
     ([], 2, "rule-set", "rule-set: required when the order has map_e"),
     (["--order", "ipip", "--ipip-remote", "2001:db8::1", "--ipip-ipv4", "203.0.113.9/33",
       "--ipip-interface-id", "::7"], 2, "ipip_ipv4", "203.0.113.9/33 is not an IPv4 prefix"),
     (["--order", "dslite,lw4o6", "--aftr", "a.example"], 2, "order.1", "'map_e', 'dslite'"),
     (["--order", "dslite", "--aftr", "a.example", "--update-user", "u"], 2,
      "update_password", "required with update_user"),
     (["--order", "dslite", "--aftr", "a.example", "--update-user", "u",
       "--update-password-file", "/nonexistent/pw"], 6, "update-password-file", "no such file"),
     (["--order", "dslite", "--aftr", "a.example", "--update-user", "u",
       "--update-password-file", "/dev/zero"], 6, "update-password-file", "not a regular file")],
)  # fmt: skip
def test_cli_errors_name_the_field(
    capsys: pytest.CaptureFixture[str], store: Store, argv: list[str], exit_code: int,
    field: str, words: str,
) -> None:  # fmt: skip
    code, doc = mape(capsys, store, "subscriber", "add", "--prefix", "2001:db8:9:100::/56",
                     "--target", "router", *argv)  # fmt: skip
    assert code == exit_code and doc["error"]["field"] == field
    assert words in doc["error"]["message"]
    assert store.count_subscribers() == 0


def test_cli_set_mechanisms_errors(capsys: pytest.CaptureFixture[str], store: Store) -> None:
    store.add_subscribers([DSLITE], "t")
    cases: list[tuple[list[str], str]] = [
        ([], "set"),
        (["--aftr", "x.example", "--clear", "aftr"], "clear"),
        (["--clear", "aftr"], "aftr"),
    ]
    for argv, field in cases:
        code, doc = mape(capsys, store, "subscriber", "set", "--id", "ds", *argv)
        assert code == 2 and doc["error"]["field"] == field, doc
    code, doc = mape(capsys, store, "subscriber", "set", "--id", "nobody",
                     "--aftr", "x.example")  # fmt: skip
    assert code == 5


@pytest.mark.parametrize(("option", "value"), [("--enabler-name", ""), ("--isp-name", "a\x01b"),
                                                ("--service-name", "x" * 300)])  # fmt: skip
def test_serve_checks_the_hb46pp_names(
    capsys: pytest.CaptureFixture[str], store: Store, option: str, value: str
) -> None:
    code, doc = mape(capsys, store, "serve", option, value)
    assert code == 2 and doc["error"]["field"] == option.removeprefix("--")


def test_the_names_reach_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPEKIT_SERVER_ENABLER_NAME", "A VNE")
    monkeypatch.setenv("MAPEKIT_SERVER_SERVICE_NAME", "")
    monkeypatch.setenv("MAPEKIT_SERVER_ISP_NAME", "ISP-A")
    assert config_from_env()[1].names == Hb46ppNames("A VNE", None, "ISP-A")

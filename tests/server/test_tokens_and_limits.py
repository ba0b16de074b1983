"""Admin tokens with scopes, listed and revoked; failed authentication limited; rate
limits per subscriber prefix (and per /64 for unknown clients)."""

from __future__ import annotations

import json
import warnings

import pytest

from mapekit.cli.main import main
from mapekit.server.app import ServerConfig, build_app
from mapekit.server.store import Store
from tests.server.conftest import HGW_CODE

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SUB = "240b:10:3f6c:d400::/56"


def app_client(store: Store, address: str = "::1", **config: object) -> TestClient:
    settings = ServerConfig(**{"rate": 0, "access_log": False, **config})  # type: ignore[arg-type]
    return TestClient(build_app(store, settings), client=(address, 40000))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_scopes(store: Store) -> None:
    reader, writer = store.add_token("ro", "t", ["read"]), store.add_token("rw", "t", ["write"])
    c = app_client(store)
    assert c.get("/admin/vendors", headers=bearer(reader)).status_code == 200
    denied = c.post("/admin/vendors", json={"code": "ab" * 16, "name": "x"},
                    headers=bearer(reader))  # fmt: skip
    assert denied.status_code == 403 and denied.json()["error"]["reason_code"] == "server.forbidden"
    assert c.get("/admin/tokens", headers=bearer(reader)).status_code == 403
    assert c.get("/admin/vendors", headers=bearer(writer)).status_code == 403
    assert c.post("/admin/vendors", json={"code": "ab" * 16, "name": "x"},
                  headers=bearer(writer)).status_code == 201  # fmt: skip


def test_list_and_revoke(store: Store) -> None:
    both = store.add_token("admin", "t")
    victim = store.add_token("leaked", "t", ["read"])
    c = app_client(store)
    listed = c.get("/admin/tokens", headers=bearer(both)).json()["tokens"]
    assert [(t["name"], t["scopes"]) for t in listed] == [
        ("admin", ["read", "write"]),
        ("leaked", ["read"]),
    ]
    assert victim not in json.dumps(listed)
    assert c.delete("/admin/tokens/leaked", headers=bearer(both)).json() == {
        "name": "leaked",
        "revoked": True,
    }
    assert c.get("/admin/vendors", headers=bearer(victim)).status_code == 401
    assert c.delete("/admin/tokens/leaked", headers=bearer(both)).status_code == 404
    audit = c.get("/admin/audit", headers=bearer(both)).json()["audit"]
    assert audit[0]["entity"] == "token" and audit[0]["field"] == "revoked"
    stored = store.engine.connect().exec_driver_sql("SELECT token_hash FROM admin_tokens").all()
    assert all(victim not in row[0] and both not in row[0] for row in stored)  # hashes only


def test_token_commands(capsys: pytest.CaptureFixture[str], store: Store) -> None:
    db = ["server", "--db", store.url, "--json", "token"]
    assert main([*db, "add", "ro", "--scope", "read"]) == 0
    token = json.loads(capsys.readouterr().out)["token"]
    assert store.token_info(token).scopes == ("read",)  # type: ignore[union-attr]
    assert main([*db, "list"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"][0]["scopes"] == ["read"]
    assert main([*db, "revoke", "ro"]) == 0
    assert Store(store.url).token_info(token) is None  # a fresh process's view
    assert store.token_info(token) is not None  # this one's cache: up to 5 s, documented
    store.cache.forget()
    assert store.token_info(token) is None
    capsys.readouterr()
    assert main([*db, "revoke", "ro"]) == 5
    assert main([*db, "add", "a b"]) == 2


def test_failed_authentication_is_limited_per_client(store: Store) -> None:
    good = store.add_token("ops", "t")
    app = build_app(store, ServerConfig(rate=0, access_log=False))
    attacker = TestClient(app, client=("2001:db8:bad::1", 1))
    codes = [attacker.get("/admin/vendors", headers=bearer(f"guess{i}")).status_code
             for i in range(14)]  # fmt: skip
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    limited = attacker.get("/admin/vendors", headers=bearer(good))
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    neighbour = TestClient(app, client=("2001:db8:bad::2", 1))  # the same /64
    assert neighbour.get("/admin/vendors", headers=bearer(good)).status_code == 429
    other = TestClient(app, client=("2001:db8:900d::1", 1))
    assert other.get("/admin/vendors", headers=bearer(good)).status_code == 200


def test_rate_limit_per_subscriber_prefix(store: Store) -> None:
    store.add_subscribers([{"prefix": SUB, "target": "hgw", "rules": "v6plus"}], "t")
    app = build_app(store, ServerConfig(rate=1, burst=3, access_log=False))
    codes = []
    for i in range(8):  # a new address of the subscriber's /56 every time
        rotating = TestClient(app, client=(f"240b:10:3f6c:d4{i:02x}::{i + 1}", 1))
        codes.append(rotating.get(f"/{HGW_CODE}/get_rules").status_code)
    assert codes[:3] == [200] * 3 and set(codes[3:]) == {429}, codes


def test_rate_limit_per_64_for_unknown_clients(store: Store) -> None:
    app = build_app(store, ServerConfig(rate=1, burst=3, access_log=False))
    codes = [TestClient(app, client=(f"2001:db8:1:2::{i + 1}", 1)).get(
        f"/{HGW_CODE}/get_rules").status_code for i in range(8)]  # fmt: skip
    assert codes[:3] == [403] * 3 and set(codes[3:]) == {429}, codes
    elsewhere = TestClient(app, client=("2001:db8:1:3::1", 1))
    assert elsewhere.get(f"/{HGW_CODE}/get_rules").status_code == 403  # another /64

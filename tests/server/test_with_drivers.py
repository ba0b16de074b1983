"""The CE side (``mape provision``) against the real rule server over HTTP, for every
outcome, on SQLite and PostgreSQL. The server runs on [::1], and the CE's prefix is ::/64,
so the request's real source address (::1) lies inside it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mapekit.cli.main import main
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.server.app import ServerConfig, build_app
from mapekit.server.service import RuleDomain, Target
from mapekit.server.store import Store
from tests.provision.servers import serve_app
from tests.server.conftest import HGW_CODE, ROUTER_CODE, insert_subscriber_row

LAB_RULE = MappingRule.from_text(
    "::/40", "198.18.0.0/16", 24, 4, br="2001:db8::64", iid=IidFormat.LEGACY, fmr=True
)
SUB = "d" * 32


@pytest.fixture
def lab(store: Store) -> Iterator[tuple[Store, str, dict[str, str]]]:
    from mapekit.core.ruleset import RuleSet

    store.add_rule_set(RuleDomain("lab", RuleSet([LAB_RULE]), "2001:db8::64"), "t")
    insert_subscriber_row(store, "::/64", "hgw", "lab", SUB)
    token = store.add_token("noc", "t")
    with serve_app(build_app(store, ServerConfig(rate=0, access_log=False)), "::1") as url:
        yield store, url, {"Authorization": f"Bearer {token}"}


def provision(capsys: pytest.CaptureFixture[str], tmp: Path, *argv: str) -> dict[str, object]:
    main(["provision", "--once", "--json", "--no-hgw-check", "--state-dir", str(tmp),
          "--wan-prefix", "::/64", *argv])  # fmt: skip
    return dict(json.loads(capsys.readouterr().out))


def test_jpne_blank_then_switched_then_established(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: tuple[Store, str, dict[str, str]]
) -> None:
    store, url, auth = lab
    args = ("--provider", "jpne", "--url", url, "--vendor-code", ROUTER_CODE, "--report")
    doc = provision(capsys, tmp_path, *args)
    assert (doc["outcome"], doc["reason_code"]) == ("blank", "rules.blank")
    reply = httpx.put(f"{url}/admin/subscribers/{SUB}/target", json={"target": "router"},
                      headers=auth)  # fmt: skip
    assert reply.status_code == 200
    doc = provision(capsys, tmp_path, *args)
    assert doc["outcome"] == "established"
    mapping = doc["mapping"]
    assert isinstance(mapping, dict) and mapping["ipv4"] == "198.18.0.0"
    assert mapping["br"] == "2001:db8::64"
    report = store.reports()[0]
    assert (report["action"], report["reason"], report["subscriber_id"]) == (1, 0, SUB)
    # the server answered with the subscriber id, which the CE sends back next time
    assert store.audit(1)[0].actor == "noc"


def test_jpne_hgw_code_gets_the_rules_while_the_target_is_hgw(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: tuple[Store, str, dict[str, str]]
) -> None:
    _, url, _ = lab
    doc = provision(capsys, tmp_path, "--provider", "jpne", "--url", url, "--vendor-code", HGW_CODE)
    assert doc["outcome"] == "established"


def test_jpne_unknown_code_is_a_server_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: tuple[Store, str, dict[str, str]]
) -> None:
    _, url, _ = lab
    doc = provision(capsys, tmp_path, "--provider", "jpne", "--url", url, "--vendor-code", "1" * 32)
    assert (doc["outcome"], doc["reason_code"]) == ("server_error", "server.error")
    assert "manufacturer code" in doc["last_error"]["message"]  # type: ignore[index]


def test_ocn_and_hb46pp(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: tuple[Store, str, dict[str, str]]
) -> None:
    store, url, _ = lab
    hb = ("--provider", "hb46pp", "--url", f"{url}/config")
    assert provision(capsys, tmp_path / "h1", *hb)["outcome"] == "blank"
    store.set_target(Target.ROUTER, "t", sub_id=SUB)
    assert provision(capsys, tmp_path / "h2", *hb)["outcome"] == "established"
    doc = provision(capsys, tmp_path / "o", "--provider", "ocn", "--url", f"{url}/",
                    "--vendor-code", ROUTER_CODE)  # fmt: skip
    assert doc["outcome"] == "established"
    assert doc["mapping"]["br"] == "2001:db8::64"  # type: ignore[index]


def test_prefix_without_subscriber_is_forbidden(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, lab: tuple[Store, str, dict[str, str]]
) -> None:
    _, url, _ = lab
    main(["provision", "--once", "--json", "--no-hgw-check", "--state-dir", str(tmp_path),
          "--wan-prefix", "0:0:0:1::/64", "--provider", "ocn", "--url", f"{url}/",
          "--vendor-code", ROUTER_CODE])  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert (doc["outcome"], doc["reason_code"]) == ("forbidden", "rules.forbidden")

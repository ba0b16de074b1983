"""Subscribers' mechanisms in the store, on SQLite and PostgreSQL: adding, changing, the
errors that name the field, the audit (never a password), the IPIP endpoint's tunnel list
and change counter, and the migration of a database made before mechanisms existed."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from mapekit.core.errors import MapeError
from mapekit.server import tables as t
from mapekit.server.schemas import MechanismsIn, parse_model
from mapekit.server.softwires import IpipTunnel
from mapekit.server.store import HEAD, Store

PASSWORD = "s3cret-update-pass"
DSLITE = {"prefix": "2001:db8:8:100::/56", "target": "router", "order": ["dslite"],
          "aftr": "aftr.example.net", "id": "ds"}  # fmt: skip
IPIP = {"prefix": "2001:db8:7:100::/56", "target": "router", "order": ["ipip"],
        "ipip_remote": "2001:db8:7::1", "ipip_ipv4": "203.0.113.0/29",
        "ipip_interface_id": "::7", "update_user": "alice", "update_password": PASSWORD,
        "id": "ip"}  # fmt: skip


def error_of(store: Store, entries: list[dict[str, Any]]) -> tuple[str, str]:
    with pytest.raises(MapeError) as info:
        store.add_subscribers(entries, "t")
    return str(info.value.field), info.value.message


def change(store: Store, sub_id: str, **fields: object) -> Any:
    return store.set_mechanisms(parse_model(MechanismsIn, fields), "ops", sub_id=sub_id)


def audit_text(store: Store) -> str:
    return "\n".join(f"{e.actor} {e.entity_id} {e.field} {e.old} {e.new}" for e in store.audit())


def test_subscribers_with_mechanisms(store: Store) -> None:
    assert store.add_subscribers([DSLITE, IPIP], "t") == 2
    ds = store.subscriber(sub_id="ds")
    assert ds.rule_set_id is None and ds.mechanisms.order == ("dslite",)
    assert ds.mechanisms.aftr == "aftr.example.net" and not ds.map_e
    ip = store.subscriber(prefix="2001:db8:7:100::/56")
    m = ip.mechanisms
    assert m.ipip is not None and m.ipip.local(ip.prefix) == "2001:db8:7:100::7"
    assert (m.update_user, m.password_set) == ("alice", True)
    with store.engine.connect() as conn:
        c = t.subscribers.c
        stored = conn.scalar(sa.select(c.update_password_hash).where(c.id == "ip"))
    assert str(stored).startswith("scrypt$") and PASSWORD not in str(stored)
    assert store.update_login("alice", PASSWORD) == ip
    assert store.update_login("alice", PASSWORD + "x") is None
    assert store.update_login("bob", PASSWORD) is None
    assert PASSWORD not in audit_text(store)


def test_existing_behaviour_is_map_e(store: Store) -> None:
    store.add_subscribers([{"prefix": "240b:10:1::/56", "target": "router", "rules": "v6plus",
                            "id": "m"}], "t")  # fmt: skip
    sub = store.subscriber(sub_id="m")
    assert sub.mechanisms.order == ("map_e",) and sub.map_e and sub.rule_set_id is not None


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [({**DSLITE, "aftr": None}, "aftr", "aftr: required when order has dslite"),
     ({**DSLITE, "order": ["map_e"]}, "rules", "rules: required when order has map_e"),
     ({**IPIP, "ipip_ipv4": "203.0.113.9/33"}, "ipip_ipv4",
      "ipip_ipv4: 203.0.113.9/33 is not an IPv4 prefix"),
     ({**IPIP, "ipip_ipv4": None}, "ipip_ipv4", "ipip_ipv4: required with ipip_remote"),
     ({**IPIP, "ipip_interface_id": "1::7"}, "ipip_interface_id", "above the lower 64"),
     ({**IPIP, "ipip_remote": "fe80::1"}, "ipip_remote", "not a unicast address"),
     ({**IPIP, "update_password": None}, "update_password", "required with update_user"),
     ({**IPIP, "update_user": None}, "update_user", "required with update_password"),
     ({**IPIP, "update_password": "short"}, "update_password", "8 to 256 characters"),
     ({**IPIP, "update_user": "a b"}, "update_user", "pattern"),
     ({**DSLITE, "order": ["dslite", "lw4o6"]}, "order.1", "'map_e', 'dslite' or 'ipip'"),
     ({**DSLITE, "order": []}, "order", "at least 1"),
     ({**DSLITE, "order": "dslite"}, "order", "valid list"),
     ({**DSLITE, "aftr": "192.0.2.1"}, "aftr", "IPv4 address"),
     ({**DSLITE, "rules": "v6plus"}, "prefix", "does not fit rule set 'v6plus'")],
)  # fmt: skip
def test_errors_name_the_field_and_reason(
    store: Store, entry: dict[str, Any], field: str, words: str
) -> None:
    got_field, message = error_of(store, [{k: v for k, v in entry.items() if v is not None}])
    assert got_field == field and words in message and message.startswith(f"{field}: ")
    assert PASSWORD not in message
    assert store.count_subscribers() == 0


def test_update_users_are_unique(store: Store) -> None:
    other = {**IPIP, "prefix": "2001:db8:7:200::/56", "id": "ip2"}
    field, message = error_of(store, [IPIP, other])
    assert field == "subscribers[1].update_user" and "repeats subscribers[0]" in message
    store.add_subscribers([IPIP], "t")
    field, message = error_of(store, [other])
    assert field == "update_user" and "belongs to another subscriber" in message
    store.add_subscribers([DSLITE], "t")
    with pytest.raises(MapeError) as info:
        change(store, "ds", update_user="alice", update_password="another-pass")
    assert info.value.reason_code == "server.exists" and info.value.field == "update_user"


def test_changing_mechanisms(store: Store) -> None:
    store.add_subscribers([DSLITE, IPIP], "t")
    version = store.ipip_version()
    sub = change(store, "ds", order=["ipip", "dslite"], ipip_remote="2001:db8:7::1",
                 ipip_ipv4="203.0.113.9", ipip_interface_id="1234:5678:9abc:def0")  # fmt: skip
    assert sub.mechanisms.order == ("ipip", "dslite") and sub.mechanisms.aftr == "aftr.example.net"
    assert sub.mechanisms.ipip.ipv4 == "203.0.113.9/32"
    assert store.ipip_version() > version
    with pytest.raises(MapeError) as info:
        change(store, "ds", aftr=None)  # dslite is still in the order
    assert info.value.message == "aftr: required when order has dslite"
    sub = change(store, "ds", order=["ipip"], aftr=None)
    assert sub.mechanisms.aftr is None
    with pytest.raises(MapeError) as info:
        change(store, "ds", order=["map_e"])  # no rule set
    assert info.value.field == "rules"
    with pytest.raises(MapeError) as info:
        change(store, "ds", ipip_ipv4=None)
    assert info.value.message.startswith("ipip_ipv4: required with ipip_remote")
    with pytest.raises(MapeError) as info:
        change(store, "ds", update_password="only-a-password")
    assert info.value.field == "update_user"
    sub = change(store, "ds", update_user="carol", update_password="carol-password")
    assert store.update_login("carol", "carol-password") == sub
    sub = change(store, "ds", update_password="carol-password-2")  # the user stays
    assert store.update_login("carol", "carol-password") is None
    assert store.update_login("carol", "carol-password-2") == sub
    sub = change(store, "ds", update_user=None)  # clears the credentials
    assert (sub.mechanisms.update_user, sub.mechanisms.password_set) == (None, False)
    assert store.update_login("carol", "carol-password-2") is None
    text = audit_text(store)
    assert "ops ds order dslite ipip,dslite" in text and "ops ds aftr aftr.example.net None" in text
    assert "ops ds update_password None (new)" in text
    assert "ops ds update_password (set) (new)" in text
    assert "carol-password" not in text and "scrypt" not in text


def test_null_is_refused_where_it_means_nothing() -> None:
    for body in ({"order": None}, {"update_password": None}):
        with pytest.raises(MapeError) as info:
            parse_model(MechanismsIn, body)
        assert "cannot be null" in info.value.message


def test_ipip_tunnels_and_the_update_record(store: Store) -> None:
    assert store.ipip_tunnels() == [] and store.ipip_version() == 0
    store.add_subscribers([DSLITE, IPIP], "t")
    first = store.ipip_version()
    assert first == 1
    assert store.ipip_tunnels() == [
        IpipTunnel("203.0.113.0/29", "2001:db8:7:100::7", "2001:db8:7::1", None)
    ]
    assert store.record_ipip_address("ip", "2001:db8:7:1ff::7", "update:alice") is None
    (moved,) = store.ipip_tunnels()
    assert moved.local == "2001:db8:7:1ff::7" and moved.updated_at is not None
    assert moved.updated_at.endswith("+00:00") and store.ipip_version() == first + 1
    same = store.record_ipip_address("ip", "2001:db8:7:1ff::7", "update:alice")
    assert same == "2001:db8:7:1ff::7" and store.ipip_version() == first + 1
    (entry,) = [e for e in store.audit() if e.field == "ipip_local"]
    assert (entry.actor, entry.entity_id, entry.old, entry.new) == (
        "update:alice", "ip", None, "2001:db8:7:1ff::7")  # fmt: skip
    sub = change(store, "ip", ipip_interface_id="::8")  # the old address no longer holds
    assert sub.mechanisms.ipip_current is None
    assert store.ipip_tunnels()[0].local == "2001:db8:7:100::8"
    change(store, "ip", order=["dslite"], aftr="aftr.example.net")  # kept, not offered
    assert store.ipip_tunnels() == []


def _config() -> Config:
    config = Config()
    location = resources.files("mapekit.server").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config


def test_a_database_from_before_mechanisms_upgrades(db_url: str) -> None:
    store = Store(db_url)
    config = _config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    with store.engine.begin() as conn:
        set_id = conn.execute(t.rule_sets.insert().values(
            name="v6plus", dmr="2404:9200:225:100::64", ipv6_fixlen=56, iid="legacy", mesh=True,
            ttl=86400, created_at=0.0)).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO subscribers (id, prefix, prefix_len, prefix_hi, hgw_rental, target, "
            "rule_set_id, token, version, created_at, updated_at) VALUES ('old', "
            "'240b:10:3f6c:d400::/56', 56, 1, false, 'router', :set, :token, 1, 0, 0)"),
            {"set": set_id, "token": "0" * 64})  # fmt: skip
    assert store.migrate() == HEAD == "0003"
    old = store.subscriber(sub_id="old")
    assert old.mechanisms.order == ("map_e",) and old.rule_set_id == set_id and old.map_e
    assert store.ipip_version() == 0
    with store.engine.begin() as conn:  # and back
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    with store.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("subscribers")}
    assert "mechanisms" not in columns and "rule_set_id" in columns

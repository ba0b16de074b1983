"""The store on SQLite and PostgreSQL: migrations, lookups without scans, targets, audit."""

from __future__ import annotations

import ipaddress
import itertools
import threading

import pytest

from mapekit.core.errors import MapeError
from mapekit.server.service import Target
from mapekit.server.store import HEAD, Store, prefix_key


def addr(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


def test_migrations_from_an_empty_database(db_url: str) -> None:
    store = Store(db_url)
    assert store.version() is None
    with pytest.raises(MapeError) as info:
        store.check_ready()
    assert info.value.reason_code == "server.database"
    assert store.migrate() == HEAD
    assert store.migrate() == HEAD  # idempotent
    store.check_ready()


def test_subscriber_lookup_by_any_address_of_the_prefix(store: Store) -> None:
    store.add_subscribers(
        [{"prefix": "240b:10:3f6c:d400::/56", "target": "router", "rules": "v6plus"},
         {"prefix": "240b:10:aaaa:bb00::/64", "target": "router", "rules": "v6plus"}],
        "t",
    )  # fmt: skip
    sub = store.subscriber_by_address(addr("240b:10:3f6c:d4ff:1:2:3:4"))
    assert sub is not None and sub.prefix_text == "240b:10:3f6c:d400::/56"
    sub = store.subscriber_by_address(addr("240b:10:aaaa:bb00::1"))
    assert sub is not None and sub.prefix_len == 64
    assert store.subscriber_by_address(addr("240b:10:3f6c:d500::1")) is None
    assert store.subscriber_by_address(addr("240b:10:aaaa:bb01::1")) is None


def test_prefix_keys_cover_the_whole_upper_half() -> None:
    assert prefix_key(addr("ffff:ffff:ffff:ffff::"), 64) == -1
    assert prefix_key(addr("7fff:ffff:ffff:ff00::"), 56) == 0x7FFF_FFFF_FFFF_FF00


def test_deployment_target_rules(store: Store) -> None:
    store.add_subscribers(
        [{"prefix": "240b:10:1::/56", "target": "hgw", "rules": "v6plus", "id": "a" * 32}], "t"
    )
    sub = store.subscriber(sub_id="a" * 32)
    assert sub.hgw_rental and sub.target is Target.HGW
    sub = store.set_target(Target.ROUTER, "ops", sub_id="a" * 32)
    assert sub.target is Target.ROUTER
    sub = store.set_target(Target.HGW, "ops", prefix="240b:10:1::/56")
    assert sub.target is Target.HGW
    sub = store.set_hgw_rental(False, "ops", sub_id="a" * 32)  # cancelling moves the target
    assert not sub.hgw_rental and sub.target is Target.ROUTER
    with pytest.raises(MapeError) as info:
        store.set_target(Target.HGW, "ops", sub_id="a" * 32)
    assert info.value.reason_code == "server.target_needs_hgw"
    with pytest.raises(MapeError) as info:
        store.add_subscribers(
            [{"prefix": "240b:10:2::/56", "target": "hgw", "rules": "v6plus",
              "hgw_rental": False}], "t",
        )  # fmt: skip
    assert info.value.reason_code == "server.target_needs_hgw"
    changes = [(e.actor, e.field, e.old, e.new) for e in store.audit() if e.entity_id == "a" * 32]
    assert ("ops", "target", "hgw", "router") in changes
    assert ("ops", "hgw_rental", "True", "False") in changes


def test_errors_name_what_is_missing_or_duplicated(store: Store) -> None:
    entry = {"prefix": "240b:10:3::/56", "target": "router", "rules": "v6plus"}
    store.add_subscribers([entry], "t")
    with pytest.raises(MapeError) as info:
        store.add_subscribers([entry], "t")
    assert info.value.reason_code == "server.exists"
    with pytest.raises(MapeError) as info:
        store.add_subscribers([{**entry, "prefix": "240b:10:4::/56", "rules": "nope"}], "t")
    assert (info.value.reason_code, info.value.field) == ("server.not_found", "rules")
    with pytest.raises(MapeError) as info:
        store.subscriber(sub_id="missing")
    assert info.value.reason_code == "server.not_found"
    assert store.count_subscribers() == 1  # a failed import keeps the data as it was


def test_bulk_import_is_all_or_nothing(store: Store) -> None:
    rows = [{"prefix": f"240b:10:{i:x}::/56", "target": "router", "rules": "v6plus"}
            for i in range(300)]  # fmt: skip
    rows.append({"prefix": "not a prefix", "target": "router", "rules": "v6plus"})
    with pytest.raises(MapeError):
        store.add_subscribers(rows, "t")
    assert store.count_subscribers() == 0
    assert store.add_subscribers(rows[:-1], "t") == 300
    assert store.count_subscribers() == 300
    assert store.audit(1)[0].field == "bulk_import"


def test_tokens_are_stored_hashed(store: Store) -> None:
    token = store.add_token("ops", "t")
    assert store.token_name(token) == "ops"
    assert store.token_name(token + "x") is None
    assert store.token_name("") is None
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT token_hash FROM admin_tokens")).scalar()
    assert stored != token and len(stored) == 64


def test_concurrent_target_switches_lose_no_update(store: Store) -> None:
    store.add_subscribers(
        [{"prefix": "240b:10:5::/56", "target": "hgw", "rules": "v6plus", "id": "b" * 32}], "t"
    )
    rounds, errors = 20, []

    def switch(worker: int) -> None:
        try:
            for i in range(rounds):
                target = Target.ROUTER if (i + worker) % 2 else Target.HGW
                store.set_target(target, f"w{worker}", sub_id="b" * 32)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=switch, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT version FROM subscribers WHERE id = :id"), {"id": "b" * 32}
        ).scalar()
    entries = [e for e in store.audit(10_000) if e.entity_id == "b" * 32 and e.field == "target"]
    assert version == 1 + len(entries)  # every effective switch is counted and audited
    # the audit chain is consistent: each change starts where the previous one ended
    chain = list(reversed(entries))
    assert all(a.new == b.old for a, b in itertools.pairwise(chain))
    final = store.subscriber(sub_id="b" * 32).target.value
    assert not chain or chain[-1].new == final

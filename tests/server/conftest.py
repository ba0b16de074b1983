"""Databases for the server tests: SQLite always, PostgreSQL when MAPEKIT_TEST_PG_URL
points at a server (scripts/test.sh starts a private one when it runs as root)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapekit.core.tables import builtin_rules
from mapekit.server.service import Target, Vendor
from mapekit.server.store import Store, rules_domain

PG_URL = os.environ.get("MAPEKIT_TEST_PG_URL")
ROUTER_CODE = "0123456789abcdef0123456789abcdef"
HGW_CODE = "fedcba9876543210fedcba9876543210"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: MAPEKIT_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL tests need MAPEKIT_TEST_PG_URL (scripts/test.sh sets it as root)")
    import psycopg

    name = f"mapekit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # a generated name, not input
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def store(db_url: str) -> Store:
    """A migrated database with the v6plus rules and one router and one HGW code."""
    s = Store(db_url)
    s.migrate()
    s.add_rule_set(rules_domain("v6plus", list(builtin_rules().filter("v6plus")), None, 56), "t")
    s.add_vendor(Vendor(ROUTER_CODE, "router maker", Target.ROUTER), "t")
    s.add_vendor(Vendor(HGW_CODE, "HGW maker", Target.HGW), "t")
    return s


def insert_subscriber_row(store: Store, prefix: str, target: str, rules: str, sub_id: str) -> None:
    """A subscriber written straight into the table, past the admin validation — only for
    the loopback tests, whose prefix (``::/64``, holding the source ``::1``) is one the
    admin layer rightly refuses (not global unicast)."""
    import secrets
    import time

    import sqlalchemy as sa

    from mapekit.core.addr import parse_end_user_prefix
    from mapekit.server import tables as t
    from mapekit.server.store import prefix_key

    value, length = parse_end_user_prefix(prefix)
    now = time.time()
    with store.engine.begin() as conn:
        set_id = conn.scalar(sa.select(t.rule_sets.c.id).where(t.rule_sets.c.name == rules))
        conn.execute(t.subscribers.insert().values(
            id=sub_id, prefix=prefix, prefix_len=length, prefix_hi=prefix_key(value, length),
            hgw_rental=target == "hgw", target=target, rule_set_id=set_id,
            token=secrets.token_hex(32), version=1, created_at=now, updated_at=now,
        ))  # fmt: skip
        if not conn.scalar(
            sa.select(t.prefix_lengths).where(t.prefix_lengths.c.prefix_len == length)
        ):
            conn.execute(t.prefix_lengths.insert().values(prefix_len=length))
    store.cache.forget()

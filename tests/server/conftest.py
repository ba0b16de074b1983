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

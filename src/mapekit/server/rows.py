"""Rows to objects and back, and the database engines (SQLite or PostgreSQL) of the store."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mapekit.core.addr import mask, parse_end_user_prefix
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import rule_from_entry
from mapekit.server.service import RuleDomain, ServerError, Subscriber, Target
from mapekit.server.softwires import DEFAULT_ORDER, IpipParams, Mechanisms


def signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def prefix_key(prefix: int, length: int) -> int:
    """The stored key of a prefix: its upper 64 bits, as a signed BIGINT."""
    return signed64((prefix & mask(128, length)) >> 64)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def subscriber_of(row: Any) -> Subscriber:
    prefix, length = parse_end_user_prefix(row.prefix, "prefix")
    return Subscriber(
        row.id,
        prefix,
        length,
        bool(row.hgw_rental),
        Target(row.target),
        None if row.rule_set_id is None else int(row.rule_set_id),
        row.token,
        mechanisms_of(row),
    )


def mechanisms_of(row: Any) -> Mechanisms:
    """A subscriber row's mechanisms (stored values were checked when written)."""
    ipip = None
    if row.ipip_remote is not None:
        iid = int(ipaddress.IPv6Address(row.ipip_interface_id))
        ipip = IpipParams(row.ipip_remote, row.ipip_ipv4, iid)
    order = tuple(n for n in str(row.mechanisms or "").split(",") if n) or DEFAULT_ORDER
    return Mechanisms(order, row.aftr, ipip, row.update_user,
                      row.update_password_hash is not None, row.ipip_local_current,
                      row.ipip_updated_at)  # fmt: skip


def domain_of(row: Any, rows: Sequence[Any]) -> RuleDomain:
    iid = IidFormat(row.iid)
    rules = [
        rule_from_entry(
            {
                "ipv6_prefix": r.ipv6_prefix,
                "ipv4_prefix": r.ipv4_prefix,
                "ea_len": r.ea_len,
                "psid_offset": r.psid_offset,
                "br": r.br or row.dmr,
                "iid": iid.value,
                "fmr": bool(row.mesh),
            },
            f"rules[{i}]",
        )
        for i, r in enumerate(rows)
    ]
    return RuleDomain(row.name, RuleSet(rules), row.dmr, row.ipv6_fixlen, iid, row.mesh, row.ttl)


def db_error(exc: Exception) -> ServerError:
    text = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return ServerError("server.database", f"db: {text}", field="db")


def make_engine(url: str, echo: bool, autocommit: bool = False, pool_size: int = 8) -> Engine:
    """An engine; ``pool_size`` connections (as many again on overflow)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        # no pre-ping: it would double the round trips of every request
        options: dict[str, Any] = {}
        if autocommit:  # no transaction, so nothing to roll back when a connection returns
            options = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
        return sa.create_engine(
            url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600,
            **options,
        )  # fmt: skip
    engine = sa.create_engine(
        url,
        echo=echo,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _: Any) -> None:
        dbapi_conn.isolation_level = None  # mapekit issues BEGIN itself (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # writers take the lock up front, so concurrent writers queue instead of failing
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

    return engine


def rules_domain(
    name: str, rules: Sequence[MappingRule], dmr: str | None, fixlen: int | None
) -> RuleDomain:
    """A rule domain from imported rules; the BR defaults to the rules' own."""
    brs = {str(r.br) for r in rules if r.br is not None}
    if dmr is None:
        if len(brs) == 0:
            raise ServerError(
                "rules.br_missing", "rules: no BR in the rules; give --dmr", field="dmr"
            )
        dmr = sorted(brs)[0]
    iid = rules[0].iid if rules else IidFormat.LEGACY
    return RuleDomain(name, RuleSet(rules), dmr, fixlen, iid, any(r.fmr for r in rules))

"""The one SQL module: the rule server's data in SQLite (default) or PostgreSQL.

Subscriber lookup by a client address never scans: every delegated-prefix length in use
is listed in the small ``prefix_lengths`` table, and a subscriber row is found by the
unique key (prefix length, upper 64 bits of the prefix) — one index probe per length in
use (usually one: /56). Every change is written to the audit log in the same transaction.
Queries are built with SQLAlchemy expressions, never from strings.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, Engine

from mapekit.core.addr import ipv6_text, mask, parse_end_user_prefix
from mapekit.core.rule import IidFormat, MappingRule
from mapekit.core.ruleset import RuleSet
from mapekit.core.tables import rule_from_entry
from mapekit.server import tables as t
from mapekit.server.service import (
    RuleDomain,
    ServerError,
    Subscriber,
    Target,
    Vendor,
    check_target,
    target_after_rental,
)

HEAD = "0001"
LENGTH_CACHE_SECONDS = 5.0
CACHE_SECONDS = 5.0


def signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def prefix_key(prefix: int, length: int) -> int:
    """The stored key of a prefix: its upper 64 bits, as a signed BIGINT."""
    return signed64((prefix & mask(128, length)) >> 64)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_id() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    entity: str
    entity_id: str
    field: str
    old: str | None
    new: str | None


class Store:
    """Access to the rule server's database (thread-safe; one per process)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = _engine(url, echo)
        # single-statement reads on the hot path need no transaction (saves the BEGIN /
        # ROLLBACK round trips on PostgreSQL); SQLite reads stay as they are
        self.reader = (
            self.engine if url.startswith("sqlite") else _engine(url, echo, autocommit=True)
        )
        self._lengths: tuple[float, tuple[int, ...]] = (0.0, ())
        self._vendors: dict[str, tuple[float, Vendor | None]] = {}
        self._domains: dict[int, tuple[float, RuleDomain]] = {}

    # --- schema ---------------------------------------------------------------------

    def migrate(self) -> str:
        """Bring the schema to the newest version; returns it."""
        config = Config()
        config.set_main_option(
            "script_location", str(resources.files("mapekit.server").joinpath("migrations"))
        )
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        return self.version() or ""

    def version(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def check_ready(self) -> None:
        try:
            current = self.version()
        except sa.exc.SQLAlchemyError as exc:
            raise _db_error(exc) from None
        if current != HEAD:
            raise ServerError(
                "server.database",
                f"db: schema version {current or 'none'}, expected {HEAD}; run mape server init",
                field="db",
            )

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A write transaction (on SQLite it takes the write lock at once)."""
        try:
            with self.engine.connect() as conn:
                conn.info["immediate"] = True
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info.pop("immediate", None)
        except sa.exc.IntegrityError as exc:
            raise ServerError("server.exists", f"already exists ({exc.orig})", field="id") from None
        except sa.exc.OperationalError as exc:
            raise _db_error(exc) from None

    def _audit(
        self, conn: Connection, actor: str, what: tuple[str, str, str], old: object, new: object
    ) -> None:
        """One audit row: ``what`` is (entity, entity id, field)."""
        entity, entity_id, field = what
        conn.execute(
            t.audit_log.insert().values(
                at=time.time(),
                actor=actor,
                entity=entity,
                entity_id=entity_id,
                field=field,
                old=None if old is None else str(old)[:256],
                new=None if new is None else str(new)[:256],
            )
        )

    # --- rule sets ------------------------------------------------------------------

    def add_rule_set(self, domain: RuleDomain, actor: str) -> None:
        with self._tx() as conn:
            result = conn.execute(
                t.rule_sets.insert().values(
                    name=domain.name,
                    dmr=domain.dmr,
                    ipv6_fixlen=domain.fixlen,
                    iid=domain.iid.value,
                    mesh=domain.mesh,
                    ttl=domain.ttl,
                    created_at=time.time(),
                )
            )
            set_id = result.inserted_primary_key[0]  # type: ignore[index]
            conn.execute(
                t.rules.insert(),
                [
                    {
                        "rule_set_id": set_id,
                        "position": i,
                        "ipv6_prefix": str(r.ipv6_prefix),
                        "ipv4_prefix": str(r.ipv4_prefix),
                        "ea_len": r.ea_len,
                        "psid_offset": r.psid_offset,
                        "br": str(r.br) if r.br else None,
                    }
                    for i, r in enumerate(domain.rules)
                ],
            )
            self._audit(conn, actor, ("rule_set", domain.name, "rules"), None, len(domain.rules))

    def rule_set_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.scalars(sa.select(t.rule_sets.c.name).order_by(t.rule_sets.c.name)))

    def _rule_set_id(self, conn: Connection, name: str) -> int:
        found = conn.scalar(sa.select(t.rule_sets.c.id).where(t.rule_sets.c.name == name))
        if found is None:
            raise ServerError(
                "server.not_found", f"rules: no rule set named {name!r}", field="rules", value=name
            )
        return int(found)

    def domain_by_id(self, set_id: int) -> RuleDomain:
        cached = self._domains.get(set_id)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.rule_sets).where(t.rule_sets.c.id == set_id)).one()
            rows = conn.execute(
                sa.select(t.rules)
                .where(t.rules.c.rule_set_id == set_id)
                .order_by(t.rules.c.position)
            ).all()
        domain = _domain(row, rows)
        self._domains[set_id] = (time.monotonic(), domain)
        return domain

    def domain(self, name: str) -> RuleDomain:
        with self.engine.connect() as conn:
            set_id = self._rule_set_id(conn, name)
        return self.domain_by_id(set_id)

    # --- vendor codes ---------------------------------------------------------------

    def add_vendor(self, vendor: Vendor, actor: str) -> None:
        with self._tx() as conn:
            conn.execute(
                t.vendor_codes.insert().values(
                    code=vendor.code,
                    name=vendor.name,
                    kind=vendor.kind.value,
                    enabled=vendor.enabled,
                    created_at=time.time(),
                )
            )
            self._audit(conn, actor, ("vendor", vendor.code, "kind"), None, vendor.kind.value)
        self._vendors.pop(vendor.code, None)

    def set_vendor_enabled(self, code: str, enabled: bool, actor: str) -> None:
        with self._tx() as conn:
            old = conn.scalar(
                sa.select(t.vendor_codes.c.enabled).where(t.vendor_codes.c.code == code)
            )
            if old is None:
                raise ServerError("server.not_found", f"code: no vendor code {code}", field="code")
            conn.execute(
                t.vendor_codes.update().where(t.vendor_codes.c.code == code).values(enabled=enabled)
            )
            self._audit(conn, actor, ("vendor", code, "enabled"), bool(old), enabled)
        self._vendors.pop(code, None)

    def vendor(self, code: str) -> Vendor | None:
        """A vendor code (cached a few seconds: it is read on every request)."""
        code = code.lower()
        cached = self._vendors.get(code)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.vendor_codes).where(t.vendor_codes.c.code == code)
            ).first()
        vendor = None if row is None else Vendor(row.code, row.name, Target(row.kind), row.enabled)
        self._vendors[code] = (time.monotonic(), vendor)
        return vendor

    def vendors(self) -> list[Vendor]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.vendor_codes).order_by(t.vendor_codes.c.code)).all()
        return [Vendor(r.code, r.name, Target(r.kind), r.enabled) for r in rows]

    # --- admin tokens ---------------------------------------------------------------

    def add_token(self, name: str, actor: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._tx() as conn:
            conn.execute(
                t.admin_tokens.insert().values(
                    name=name, token_hash=hash_token(token), created_at=time.time()
                )
            )
            self._audit(conn, actor, ("token", name, "created"), None, "yes")
        return token

    def token_name(self, token: str) -> str | None:
        """The name of a valid admin token (hashes compared in constant time)."""
        digest = hash_token(token)
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.admin_tokens.c.name, t.admin_tokens.c.token_hash).where(
                    t.admin_tokens.c.token_hash == digest
                )
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return str(row.name)

    # --- subscribers ----------------------------------------------------------------

    def add_subscribers(self, entries: Iterable[dict[str, Any]], actor: str) -> int:
        """Add subscribers in one transaction: dicts with prefix, target, rules, id,
        hgw_rental. Returns how many were added."""
        now = time.time()
        rows, lengths, ids = [], set(), {}
        set_ids: dict[str, int] = {}
        with self._tx() as conn:
            for entry in entries:
                prefix, length = parse_end_user_prefix(str(entry["prefix"]), "prefix")
                target = Target(entry.get("target", "router"))
                rental = bool(entry.get("hgw_rental", target is Target.HGW))
                check_target(rental, target)
                name = str(entry["rules"])
                if name not in set_ids:
                    set_ids[name] = self._rule_set_id(conn, name)
                sub_id = str(entry.get("id") or _new_id())
                ids[sub_id] = f"{ipv6_text(prefix)}/{length}"
                lengths.add(length)
                rows.append(
                    {
                        "id": sub_id,
                        "prefix": ids[sub_id],
                        "prefix_len": length,
                        "prefix_hi": prefix_key(prefix, length),
                        "hgw_rental": rental,
                        "target": target.value,
                        "rule_set_id": set_ids[name],
                        "token": secrets.token_hex(32),
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if not rows:
                return 0
            for chunk in _chunks(rows, 5000):
                conn.execute(t.subscribers.insert(), chunk)
            self._add_lengths(conn, lengths)
            if len(rows) <= 100:
                for row in rows:
                    what = ("subscriber", str(row["id"]), "created")
                    self._audit(conn, actor, what, None, f"{row['prefix']} {row['target']}")
            else:
                self._audit(conn, actor, ("subscriber", "*", "bulk_import"), None, len(rows))
        self._lengths = (0.0, ())
        return len(rows)

    def _add_lengths(self, conn: Connection, lengths: set[int]) -> None:
        known = set(conn.scalars(sa.select(t.prefix_lengths.c.prefix_len)))
        for length in sorted(lengths - known):
            conn.execute(t.prefix_lengths.insert().values(prefix_len=length))

    def _prefix_lengths(self) -> tuple[int, ...]:
        stamp, lengths = self._lengths
        if time.monotonic() - stamp < LENGTH_CACHE_SECONDS:
            return lengths
        with self.engine.connect() as conn:
            found = tuple(
                sorted(conn.scalars(sa.select(t.prefix_lengths.c.prefix_len)), reverse=True)
            )
        self._lengths = (time.monotonic(), found)
        return found

    def subscriber_by_address(self, address: int) -> Subscriber | None:
        """The subscriber whose delegated prefix holds ``address`` (no scan)."""
        lengths = self._prefix_lengths()
        if not lengths:
            return None
        query = self._lookup_query(lengths)
        params = {}
        for i, length in enumerate(lengths):
            params[f"l{i}"] = length
            params[f"k{i}"] = prefix_key(address, length)
        with self.reader.connect() as conn:
            rows = conn.execute(query, params).all()
        if not rows:
            return None
        return _subscriber(max(rows, key=lambda r: r.prefix_len))

    @functools.lru_cache(maxsize=8)  # noqa: B019 - a handful of length sets per store
    def _lookup_query(self, lengths: tuple[int, ...]) -> sa.Select[Any]:
        """One statement per set of prefix lengths: built once, then only bound."""
        c = t.subscribers.c
        keys = [
            sa.and_(c.prefix_len == sa.bindparam(f"l{i}"), c.prefix_hi == sa.bindparam(f"k{i}"))
            for i in range(len(lengths))
        ]
        return sa.select(t.subscribers).where(sa.or_(*keys))

    def subscriber(self, *, sub_id: str | None = None, prefix: str | None = None) -> Subscriber:
        with self.engine.connect() as conn:
            row = self._find(conn, sub_id, prefix)
        return _subscriber(row)

    def _find(self, conn: Connection, sub_id: str | None, prefix: str | None) -> Any:
        c = t.subscribers.c
        if sub_id is not None:
            where = c.id == sub_id
        elif prefix is not None:
            value, length = parse_end_user_prefix(prefix, "prefix")
            where = sa.and_(c.prefix_len == length, c.prefix_hi == prefix_key(value, length))
        else:
            raise ServerError("usage.invalid_arguments", "give --id or --prefix", field="id")
        row = conn.execute(sa.select(t.subscribers).where(where).with_for_update()).first()
        if row is None:
            raise ServerError(
                "server.not_found",
                f"no subscriber {sub_id or prefix}",
                field="id",
                value=sub_id or prefix,
            )
        return row

    def subscribers(self, limit: int = 100, offset: int = 0) -> list[Subscriber]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.subscribers).order_by(t.subscribers.c.id).limit(limit).offset(offset)
            ).all()
        return [_subscriber(r) for r in rows]

    def count_subscribers(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(t.subscribers)) or 0)

    def set_target(
        self, target: Target, actor: str, *, sub_id: str | None = None, prefix: str | None = None
    ) -> Subscriber:
        """Switch the deployment target (the operation that ends 'blank rules')."""
        with self._tx() as conn:
            row = self._find(conn, sub_id, prefix)
            check_target(row.hgw_rental, target)
            self._update(conn, row, actor, target=target.value)
            updated = self._find(conn, row.id, None)
        return _subscriber(updated)

    def set_hgw_rental(
        self, rental: bool, actor: str, *, sub_id: str | None = None, prefix: str | None = None
    ) -> Subscriber:
        """Rent or cancel the HGW; cancelling moves the target to router at once."""
        with self._tx() as conn:
            row = self._find(conn, sub_id, prefix)
            target = target_after_rental(rental, Target(row.target))
            self._update(conn, row, actor, hgw_rental=rental, target=target.value)
            updated = self._find(conn, row.id, None)
        return _subscriber(updated)

    def _update(self, conn: Connection, row: Any, actor: str, **values: object) -> None:
        c = t.subscribers.c
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if not changed:
            return
        conn.execute(
            t.subscribers.update()
            .where(c.id == row.id)
            .values(**changed, version=c.version + 1, updated_at=time.time())
        )
        for key, new in changed.items():
            self._audit(conn, actor, ("subscriber", row.id, key), getattr(row, key), new)

    # --- reports and audit ----------------------------------------------------------

    def add_report(
        self, code: str, action: int, reason: int, client: str, subscriber_id: str | None
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                t.reports.insert().values(
                    at=time.time(),
                    code=code,
                    action=action,
                    reason=reason,
                    client=client,
                    subscriber_id=subscriber_id,
                )
            )

    def reports(self, limit: int = 100) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.reports).order_by(t.reports.c.id.desc()).limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows]

    def audit(self, limit: int = 100) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit)
            ).all()
        return [
            AuditEntry(r.at, r.actor, r.entity, r.entity_id, r.field, r.old, r.new) for r in rows
        ]


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _subscriber(row: Any) -> Subscriber:
    prefix, length = parse_end_user_prefix(row.prefix, "prefix")
    return Subscriber(
        row.id,
        prefix,
        length,
        bool(row.hgw_rental),
        Target(row.target),
        int(row.rule_set_id),
        row.token,
    )


def _domain(row: Any, rows: Sequence[Any]) -> RuleDomain:
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


def _db_error(exc: Exception) -> ServerError:
    text = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return ServerError("server.database", f"db: {text}", field="db")


def _engine(url: str, echo: bool, autocommit: bool = False) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not url.startswith("sqlite"):
        # no pre-ping: it would double the round trips of every request
        options: dict[str, Any] = {}
        if autocommit:  # no transaction, so nothing to roll back when a connection returns
            options = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}
        return sa.create_engine(url, echo=echo, pool_size=8, pool_recycle=3600, **options)
    engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30})

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

"""The one SQL module: the rule server's data in SQLite (default) or PostgreSQL.

Subscriber lookup by a client address never scans: every delegated-prefix length in use
is listed in the small ``prefix_lengths`` table, and a subscriber row is found by the
unique key (prefix length, upper 64 bits of the prefix) — one index probe per length in
use (usually one: /56). Every change is written to the audit log in the same transaction.
Queries are built with SQLAlchemy expressions, never from strings.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from mapekit.core.addr import parse_end_user_prefix
from mapekit.server import tables as t
from mapekit.server.cache import TtlCache
from mapekit.server.passwords import hash_password
from mapekit.server.placement import Label, Placement, PlannedRows
from mapekit.server.rows import (
    chunks,
    db_error,
    domain_of,
    make_engine,
    prefix_key,
    rules_domain,
    signed64,
    subscriber_of,
)
from mapekit.server.schemas import SubscriberIn, parse_model
from mapekit.server.service import (
    RuleDomain,
    ServerError,
    Subscriber,
    Target,
    Vendor,
    check_target,
    target_after_rental,
)
from mapekit.server.softwire_store import IPIP_COLUMNS, IpipTunnel, SoftwireStore, bump
from mapekit.server.tokens import TokenInfo, TokenStore

HEAD = "0003"
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000  # vendor codes (known and unknown), rule sets, the length list
READER_POOL = 24  # connections for the hot path's reads (handlers run in a thread pool)

SECRET_COLUMNS = {"update_password_hash": "update_password"}  # audited as changed, never shown
AUDIT_NAMES = {"mechanisms": "order", "ipip_local_current": "ipip_local"}

__all__ = ["IpipTunnel", "Store", "TokenInfo", "prefix_key", "rules_domain", "signed64"]


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    entity: str
    entity_id: str
    field: str
    old: str | None
    new: str | None


class Store(TokenStore, SoftwireStore):
    """Access to the rule server's database (thread-safe; one per process)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo)
        # the hot path reads through its own pool, so writers queued for the write lock
        # never hold every connection; on PostgreSQL without a transaction (no BEGIN /
        # ROLLBACK round trips)
        sqlite = url.startswith("sqlite")
        self.reader = make_engine(url, echo, autocommit=not sqlite, pool_size=READER_POOL)
        self.cache: TtlCache[object] = TtlCache(CACHE_SECONDS, CACHE_ENTRIES)

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
            raise db_error(exc) from None
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
            raise db_error(exc) from None

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
        """A rule set by id (cached: it is read on every request)."""

        def load() -> RuleDomain:
            with self.reader.connect() as conn:
                row = conn.execute(sa.select(t.rule_sets).where(t.rule_sets.c.id == set_id)).one()
                rows = conn.execute(
                    sa.select(t.rules)
                    .where(t.rules.c.rule_set_id == set_id)
                    .order_by(t.rules.c.position)
                ).all()
            return domain_of(row, rows)

        domain = self.cache.get(("domain", set_id), time.monotonic(), load)
        assert isinstance(domain, RuleDomain)
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
        self.cache.forget(("vendor", vendor.code))

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
        self.cache.forget(("vendor", code))

    def vendor(self, code: str) -> Vendor | None:
        """A vendor code (cached, unknown codes too, within the cache's bound)."""
        code = code.lower()

        def load() -> Vendor | None:
            with self.reader.connect() as conn:
                row = conn.execute(
                    sa.select(t.vendor_codes).where(t.vendor_codes.c.code == code)
                ).first()
            return (
                None if row is None else Vendor(row.code, row.name, Target(row.kind), row.enabled)
            )

        vendor = self.cache.get(("vendor", code), time.monotonic(), load)
        assert vendor is None or isinstance(vendor, Vendor)
        return vendor

    def vendors(self) -> list[Vendor]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.vendor_codes).order_by(t.vendor_codes.c.code)).all()
        return [Vendor(r.code, r.name, Target(r.kind), r.enabled) for r in rows]

    # --- subscribers ----------------------------------------------------------------

    def add_subscribers(
        self,
        entries: Sequence[SubscriberIn | dict[str, Any]],
        actor: str,
        label: Label | None = None,
    ) -> int:
        """Add subscribers in one transaction, all or none; returns how many were added.

        Every entry is validated first (:class:`SubscriberIn`); then each prefix must fit
        its rule set (a rule covers it and it is long enough for the rule's EA bits) and
        overlap no other subscriber, in the database or in ``entries``. Errors name the
        entry with ``label(index)`` (``row 7`` for a CSV file; default: nothing for a single
        entry, ``subscribers[i]`` for several).
        """
        if label is None:
            label = _no_label if len(entries) == 1 else _index_label
        checked = [
            entry if isinstance(entry, SubscriberIn) else _parse_entry(entry, label(i))
            for i, entry in enumerate(entries)
        ]
        if not checked:
            return 0
        hashes = [_password_hash(e) for e in checked]  # before the write lock: 0.1 s each
        with self._tx() as conn:
            planned = Placement(conn, self._rule_set_by_name, label).plan(checked, hashes)
            self._insert(conn, planned, actor)
        self.cache.forget(("lengths",))
        return len(planned.rows)

    def _rule_set_by_name(self, conn: Connection, name: str) -> tuple[int, RuleDomain]:
        set_id = self._rule_set_id(conn, name)
        return set_id, self.domain_by_id(set_id)

    def _insert(self, conn: Connection, planned: PlannedRows, actor: str) -> None:
        for chunk in chunks(Placement.strip(planned.rows), 5000):
            conn.execute(t.subscribers.insert(), chunk)
        self._add_lengths(conn, planned.lengths)
        if any("ipip" in row["mechanisms"].split(",") for row in planned.rows):
            bump(conn)
        if len(planned.rows) <= 100:
            for row in planned.rows:
                what = ("subscriber", str(row["id"]), "created")
                self._audit(conn, actor, what, None, f"{row['prefix']} {row['target']}")
        else:
            self._audit(conn, actor, ("subscriber", "*", "bulk_import"), None, len(planned.rows))

    def _add_lengths(self, conn: Connection, lengths: set[int]) -> None:
        known = set(conn.scalars(sa.select(t.prefix_lengths.c.prefix_len)))
        for length in sorted(lengths - known):
            conn.execute(t.prefix_lengths.insert().values(prefix_len=length))

    def _prefix_lengths(self) -> tuple[int, ...]:
        def load() -> tuple[int, ...]:
            with self.reader.connect() as conn:
                found = conn.scalars(sa.select(t.prefix_lengths.c.prefix_len))
                return tuple(sorted(found, reverse=True))

        lengths = self.cache.get(("lengths",), time.monotonic(), load)
        assert isinstance(lengths, tuple)
        return lengths

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
        return subscriber_of(max(rows, key=lambda r: r.prefix_len))

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
        return subscriber_of(row)

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
        return [subscriber_of(r) for r in rows]

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
        return subscriber_of(updated)

    def set_hgw_rental(
        self, rental: bool, actor: str, *, sub_id: str | None = None, prefix: str | None = None
    ) -> Subscriber:
        """Rent or cancel the HGW; cancelling moves the target to router at once."""
        with self._tx() as conn:
            row = self._find(conn, sub_id, prefix)
            target = target_after_rental(rental, Target(row.target))
            self._update(conn, row, actor, hgw_rental=rental, target=target.value)
            updated = self._find(conn, row.id, None)
        return subscriber_of(updated)

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
        for key, value in changed.items():
            name, old, new = AUDIT_NAMES.get(key, key), getattr(row, key), value
            if key in SECRET_COLUMNS:  # that it changed, never the value
                name, old, new = SECRET_COLUMNS[key], old and "(set)", new and "(new)"
            self._audit(conn, actor, ("subscriber", row.id, name), old, new)
        if changed.keys() & IPIP_COLUMNS:
            bump(conn)

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

    def reports(self, limit: int = 100, offset: int = 0) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.reports).order_by(t.reports.c.id.desc()).limit(limit).offset(offset)
            ).all()
        return [dict(r._mapping) for r in rows]

    def audit(self, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.audit_log).order_by(t.audit_log.c.id.desc()).limit(limit).offset(offset)
            ).all()
        return [
            AuditEntry(r.at, r.actor, r.entity, r.entity_id, r.field, r.old, r.new) for r in rows
        ]


def _password_hash(entry: SubscriberIn) -> str | None:
    secret = entry.update_password
    return None if secret is None else hash_password(secret.get_secret_value())


def _parse_entry(entry: object, where: str) -> SubscriberIn:
    return parse_model(SubscriberIn, entry, where)


def _no_label(index: int) -> str:
    return ""


def _index_label(index: int) -> str:
    return f"subscribers[{index}]"

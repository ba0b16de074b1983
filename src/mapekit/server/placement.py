"""Where new subscribers may go: each prefix must fit its rule set and overlap no other
subscriber, in the database or in the same batch. Checked inside the write transaction,
before anything is inserted; errors name the entry (``row 7``) and the field.

Prefixes are global unicast (2000::/3, checked by :mod:`mapekit.server.schemas`), so the
stored key — the upper 64 bits as a signed BIGINT — is positive and ordered like the
prefixes themselves: a range query finds the longer prefixes inside a shorter one.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mapekit.core.addr import ipv6_text, parse_end_user_prefix
from mapekit.core.errors import MapeError
from mapekit.server import tables as t
from mapekit.server.rows import chunks, prefix_key, signed64
from mapekit.server.schemas import SubscriberIn
from mapekit.server.service import RuleDomain, ServerError, Target, check_target
from mapekit.server.softwires import FieldProblem, Mechanisms, check_complete

RuleSetLookup = Callable[[Connection, str], tuple[int, RuleDomain]]
Label = Callable[[int], str]  # entry index → how errors name it ("row 7"), or ""
_IN_CHUNK = 500


@dataclass
class PlannedRows:
    rows: list[dict[str, Any]] = field(default_factory=list)
    lengths: set[int] = field(default_factory=set)


def _upper(prefix: int, length: int) -> tuple[int, int]:
    """The range of stored keys inside prefix/length (length ≤ 64)."""
    high = prefix >> 64
    span = (1 << (64 - length)) - 1
    return signed64(high & ~span), signed64(high | span)


class Placement:
    """Plans the rows of a batch of validated subscribers."""

    def __init__(self, conn: Connection, rule_sets: RuleSetLookup, label: Label) -> None:
        self.conn, self.rule_sets, self.label = conn, rule_sets, label
        self._sets: dict[str, tuple[int, RuleDomain]] = {}

    def _where(self, index: int) -> str:
        return self.label(index)

    def _error(
        self, index: int, name: str, why: str, code: str = "usage.invalid_arguments"
    ) -> ServerError:
        where = self._where(index)
        field_name = f"{where}.{name}" if where else name
        return ServerError(code, f"{field_name}: {why}", field=field_name)

    def plan(
        self, entries: Sequence[SubscriberIn], hashes: Sequence[str | None] = ()
    ) -> PlannedRows:
        """The rows of ``entries``; ``hashes`` are their update passwords' hashes."""
        planned = PlannedRows()
        now = time.time()
        for index, entry in enumerate(entries):
            row = self._row(index, entry, now)
            row["update_password_hash"] = hashes[index] if index < len(hashes) else None
            planned.rows.append(row)
            planned.lengths.add(row["prefix_len"])
        self._unique_in_batch(planned.rows)
        self._free_in_database(planned.rows)
        return planned

    def _row(self, index: int, entry: SubscriberIn, now: float) -> dict[str, Any]:
        mechanisms = self._mechanisms(index, entry)
        prefix, length = parse_end_user_prefix(entry.prefix, "prefix")
        target = Target(entry.target)
        rental = entry.hgw_rental if entry.hgw_rental is not None else target is Target.HGW
        try:
            check_target(rental, target)
        except MapeError as exc:
            raise self._error(
                index, "target", exc.message.split(": ", 1)[-1], exc.reason_code
            ) from None
        set_id = None
        if entry.rules is not None:  # a rule set given must fit, offered or not
            set_id, domain = self._rule_set(index, entry.rules)
            self._fits(index, domain, prefix, length)
        return {
            "id": entry.id or secrets.token_hex(16),
            "prefix": f"{ipv6_text(prefix)}/{length}",
            "prefix_len": length,
            "prefix_hi": prefix_key(prefix, length),
            "hgw_rental": rental,
            "target": target.value,
            "rule_set_id": set_id,
            "token": secrets.token_hex(32),
            "version": 1,
            "created_at": now,
            "updated_at": now,
            **mechanism_columns(mechanisms),
            "_index": index,
            "_value": prefix,
        }

    def _mechanisms(self, index: int, entry: SubscriberIn) -> Mechanisms:
        try:
            mechanisms = entry.mechanisms(password_set=entry.update_password is not None)
            check_complete(mechanisms, has_rules=entry.rules is not None)
        except FieldProblem as exc:
            raise self._error(index, exc.field, exc.why) from None
        return mechanisms

    def _rule_set(self, index: int, name: str) -> tuple[int, RuleDomain]:
        if name not in self._sets:
            try:
                self._sets[name] = self.rule_sets(self.conn, name)
            except ServerError as exc:
                raise self._error(index, "rules", exc.message.split(": ", 1)[-1],
                                  exc.reason_code) from None  # fmt: skip
        return self._sets[name]

    def _fits(self, index: int, domain: RuleDomain, prefix: int, length: int) -> None:
        """A rule of the set covers the prefix, and the prefix holds the rule's EA bits."""
        try:
            domain.rules.map(prefix, length, domain.iid)
        except MapeError as exc:
            why = exc.message.split(": ", 1)[-1]
            raise self._error(
                index, "prefix", f"does not fit rule set {domain.name!r}: {why}"
            ) from None

    def _unique_in_batch(self, rows: list[dict[str, Any]]) -> None:
        for key in ("id", "update_user"):
            seen: dict[str, int] = {}
            for row in rows:
                if row[key] is None:
                    continue
                first = seen.setdefault(row[key], row["_index"])
                if first != row["_index"]:
                    raise self._error(
                        row["_index"],
                        key,
                        f"{row[key]} repeats {self._where(first) or 'an earlier entry'}",
                    )
        ordered = sorted(rows, key=lambda r: (r["_value"], r["prefix_len"]))
        end, holder = -1, None
        for row in ordered:
            if holder is not None and row["_value"] <= end:
                other = self._where(holder["_index"]) or "an earlier entry"
                why = f"{row['prefix']} overlaps {holder['prefix']} ({other})"
                raise self._error(row["_index"], "prefix", why)
            last = row["_value"] | ((1 << (128 - row["prefix_len"])) - 1)
            if last > end:
                end, holder = last, row

    def _free_in_database(self, rows: list[dict[str, Any]]) -> None:
        c = t.subscribers.c
        by_id = {row["id"]: row for row in rows}
        for part in chunks([{"id": k} for k in by_id], _IN_CHUNK):
            found = self.conn.scalar(sa.select(c.id).where(c.id.in_([p["id"] for p in part])))
            if found is not None:
                row = by_id[found]
                raise self._error(
                    row["_index"], "id", f"a subscriber {found} exists", "server.exists"
                )
        self._users_free(rows)
        lengths = set(self.conn.scalars(sa.select(t.prefix_lengths.c.prefix_len)))
        for row in rows:
            for length in sorted(lengths):
                self._probe(row, length)

    def _users_free(self, rows: list[dict[str, Any]]) -> None:
        c = t.subscribers.c
        by_user = {row["update_user"]: row for row in rows if row["update_user"] is not None}
        for part in chunks([{"u": k} for k in by_user], _IN_CHUNK):
            query = sa.select(c.update_user).where(c.update_user.in_([p["u"] for p in part]))
            found = self.conn.scalar(query)
            if found is not None:
                row = by_user[found]
                why = f"{found} belongs to another subscriber"
                raise self._error(row["_index"], "update_user", why, "server.exists")

    def check_free(self, prefix: int, length: int) -> None:
        """One prefix overlaps no subscriber (where a renumbered line moves to)."""
        row = {"_value": prefix, "prefix_len": length, "prefix": f"{ipv6_text(prefix)}/{length}",
               "_index": 0}  # fmt: skip
        for known in sorted(set(self.conn.scalars(sa.select(t.prefix_lengths.c.prefix_len)))):
            self._probe(row, known)

    def _probe(self, row: dict[str, Any], length: int) -> None:
        c = t.subscribers.c
        if length <= row["prefix_len"]:
            where = sa.and_(
                c.prefix_len == length, c.prefix_hi == prefix_key(row["_value"], length)
            )
        else:
            low, high = _upper(row["_value"], row["prefix_len"])
            where = sa.and_(c.prefix_len == length, c.prefix_hi.between(low, high))
        found = self.conn.execute(sa.select(c.id, c.prefix).where(where).limit(1)).first()
        if found is not None:
            same = found.prefix == row["prefix"]
            why = "exists" if same else f"overlaps subscriber {found.id} ({found.prefix})"
            raise self._error(row["_index"], "prefix", f"{row['prefix']} {why}",
                              "server.exists" if same else "usage.invalid_arguments")  # fmt: skip

    @staticmethod
    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


def mechanism_columns(m: Mechanisms) -> dict[str, Any]:
    """The stored columns of a subscriber's mechanisms (not the password)."""
    ipip = m.ipip
    return {
        "mechanisms": ",".join(m.order),
        "aftr": m.aftr,
        "ipip_remote": ipip.remote if ipip else None,
        "ipip_ipv4": ipip.ipv4 if ipip else None,
        "ipip_interface_id": ipip.interface_id_text if ipip else None,
        "update_user": m.update_user,
    }

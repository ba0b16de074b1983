"""Mechanisms in the store: changing a subscriber's, the IPIP update endpoint's login and
record, and the tunnel list the IPIP endpoint polls (:meth:`ipip_tunnels`, with a cheap
change counter, :meth:`ipip_version`). Every change is audited; a password never is (the
audit says that it changed)."""

from __future__ import annotations

import ipaddress
import time
from abc import abstractmethod
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mapekit.core.addr import ipv6_text, mask
from mapekit.core.errors import MapeError
from mapekit.server import tables as t
from mapekit.server.passwords import hash_password, verify_password
from mapekit.server.placement import Placement, RuleSetLookup, mechanism_columns
from mapekit.server.rows import mechanisms_of, prefix_key, subscriber_of
from mapekit.server.schemas import MechanismsIn, check_prefix, invalid
from mapekit.server.service import RuleDomain, ServerError, Subscriber
from mapekit.server.softwires import (
    FieldProblem,
    IpipTunnel,
    Mechanisms,
    check_complete,
    ipip_params,
    tunnel,
)
from mapekit.server.storepart import StorePart

IPIP_COUNTER = "ipip"
IID_MASK = (1 << 64) - 1
IPIP_COLUMNS = frozenset({"mechanisms", "ipip_remote", "ipip_ipv4", "ipip_interface_id",
                          "ipip_local_current"})  # fmt: skip


def bump(conn: Connection, name: str = IPIP_COUNTER) -> None:
    """Count a change (the IPIP endpoint polls the counter)."""
    c = t.change_counters.c
    conn.execute(t.change_counters.update().where(c.name == name).values(value=c.value + 1))


class SoftwireStore(StorePart):
    """The mechanism half of :class:`~mapekit.server.store.Store` (which provides these)."""

    @abstractmethod
    def _find(self, conn: Connection, sub_id: str | None, prefix: str | None) -> Any: ...

    @abstractmethod
    def _update(self, conn: Connection, row: Any, actor: str, **values: object) -> None: ...

    @abstractmethod
    def domain_by_id(self, set_id: int) -> RuleDomain: ...

    _rule_set_by_name: RuleSetLookup

    # --- admin ------------------------------------------------------------------------

    def set_mechanisms(
        self, changes: MechanismsIn, actor: str, *, sub_id: str | None = None,
        prefix: str | None = None,
    ) -> Subscriber:  # fmt: skip
        """Change a subscriber's mechanisms: fields given replace, ``None`` clears, fields
        left out stay; the result must be complete (:func:`check_complete`)."""
        given = changes.model_fields_set
        secret = changes.update_password if "update_password" in given else None
        new_hash = None if secret is None else hash_password(secret.get_secret_value())
        with self._tx() as conn:
            row = self._find(conn, sub_id, prefix)
            merged, password_hash = _merge(row, changes, new_hash)
            try:
                check_complete(merged, has_rules=row.rule_set_id is not None)
            except FieldProblem as exc:
                raise invalid(exc.field, exc.why) from None
            self._user_free(conn, merged.update_user, row.id)
            values = {**mechanism_columns(merged), "update_password_hash": password_hash}
            if merged.ipip is None or values["ipip_interface_id"] != row.ipip_interface_id:
                values.update(ipip_local_current=None, ipip_updated_at=None)
            self._update(conn, row, actor, **values)
            updated = self._find(conn, row.id, None)
        return subscriber_of(updated)

    def _user_free(self, conn: Connection, user: str | None, sub_id: str) -> None:
        c = t.subscribers.c
        if user is None:
            return
        other = conn.scalar(sa.select(c.id).where(c.update_user == user, c.id != sub_id))
        if other is not None:
            raise ServerError("server.exists", f"update_user: {user} belongs to another "
                              "subscriber", field="update_user")  # fmt: skip

    # --- the update endpoint ----------------------------------------------------------

    def update_login(self, user: str, password: str) -> Subscriber | None:
        """The subscriber whose update credentials these are (None otherwise; the check
        costs the same for an unknown user)."""
        c = t.subscribers.c
        with self.reader.connect() as conn:
            row = conn.execute(sa.select(t.subscribers).where(c.update_user == user)).first()
        stored = None if row is None else row.update_password_hash
        if not verify_password(stored, password) or row is None:
            return None
        return subscriber_of(row)

    def record_ipip_address(
        self, sub_id: str, address: str, actor: str, *, move: bool = False
    ) -> str | None:
        """Record the CE's new tunnel address (audited when it changed); the old one.

        An address outside the subscriber's prefix is refused, unless ``move``: then the
        line was renumbered and the prefix moves to the one of the same length around the
        address — if the address ends in the subscriber's interface id (as the CE builds
        its tunnel address), and the prefix is a delegated one, overlaps no other
        subscriber and fits the subscriber's rule set (a ServerError naming ``address``
        otherwise)."""
        c = t.subscribers.c
        now = time.time()
        with self._tx() as conn:
            row = self._find(conn, sub_id, None)
            old = row.ipip_local_current
            values: dict[str, object] = {"ipip_local_current": address, "ipip_updated_at": now}
            moved = self._moved_prefix(conn, row, address, move)
            if moved is not None:
                values.update(prefix=moved[0], prefix_hi=moved[1])
            if old != address or moved is not None:
                values.update(version=c.version + 1, updated_at=now)
            conn.execute(t.subscribers.update().where(c.id == sub_id).values(**values))
            if moved is not None:
                self._audit(conn, actor, ("subscriber", sub_id, "prefix"), row.prefix, moved[0])
            if old != address:
                self._audit(conn, actor, ("subscriber", sub_id, "ipip_local"), old, address)
                bump(conn)
        return str(old) if old is not None else None

    def _moved_prefix(
        self, conn: Connection, row: Any, address: str, move: bool
    ) -> tuple[str, int] | None:
        """None when ``address`` is inside the row's prefix; else where the prefix moves."""
        length = int(row.prefix_len)
        value = int(ipaddress.IPv6Address(address)) & mask(128, length)
        text = f"{ipv6_text(value)}/{length}"
        if text == row.prefix:
            return None
        if not move:
            raise invalid("address", f"{address} is not inside the subscriber's prefix "
                          f"{row.prefix}")  # fmt: skip
        iid = row.ipip_interface_id
        if iid is None or int(ipaddress.IPv6Address(address)) & IID_MASK != _iid(iid):
            why = f"is outside the subscriber's prefix and does not end in its interface id {iid}"
            raise invalid("address", f"{address} {why}, as a renumbered CE's address does")
        try:
            check_prefix(text)
        except ValueError as exc:
            raise invalid("address", f"{address}: {text} is {exc}") from None
        try:
            Placement(conn, self._rule_set_by_name, lambda _: "").check_free(value, length)
        except ServerError:  # never tell a CE whose prefix it is
            raise ServerError("server.exists", f"address: {text} belongs to another "
                              "subscriber", field="address") from None  # fmt: skip
        if row.rule_set_id is not None:
            domain = self.domain_by_id(int(row.rule_set_id))
            try:
                domain.rules.map(value, length, domain.iid)
            except MapeError:
                raise invalid("address", f"{text} does not fit the subscriber's rule set "
                              f"{domain.name!r}") from None  # fmt: skip
        return text, prefix_key(value, length)

    # --- the IPIP endpoint ------------------------------------------------------------

    def ipip_tunnels(self) -> list[IpipTunnel]:
        """Every IPIP subscriber's tunnel (ipip in the order), by subscriber id."""
        c = t.subscribers.c
        query = sa.select(t.subscribers).where(c.ipip_remote.is_not(None)).order_by(c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        subs = (subscriber_of(row) for row in rows)
        found = (tunnel(sub.mechanisms, sub.prefix) for sub in subs)
        return [one for one in found if one is not None]

    def ipip_version(self) -> int:
        """A number that grows whenever :meth:`ipip_tunnels` may have changed."""
        c = t.change_counters.c
        with self.engine.connect() as conn:
            return int(conn.scalar(sa.select(c.value).where(c.name == IPIP_COUNTER)) or 0)


def _merge(row: Any, changes: MechanismsIn, new_hash: str | None) -> tuple[Mechanisms, Any]:
    """The row's mechanisms with ``changes`` applied, and the password hash to store."""
    given = changes.model_fields_set
    current = mechanisms_of(row)

    def pick(name: str, old: object) -> Any:
        return getattr(changes, name) if name in given else old

    iid_text = pick("ipip_interface_id", row.ipip_interface_id)
    try:
        ipip = ipip_params(
            pick("ipip_remote", row.ipip_remote),
            pick("ipip_ipv4", row.ipip_ipv4),
            None if iid_text is None else _iid(iid_text),
        )
    except FieldProblem as exc:
        raise invalid(exc.field, exc.why) from None
    user = pick("update_user", current.update_user)
    password_hash = row.update_password_hash
    if "update_user" in given and user is None:
        password_hash = None  # clearing the user clears the credentials
    if new_hash is not None:
        password_hash = new_hash
    order = tuple(pick("order", current.order))
    merged = Mechanisms(order, pick("aftr", current.aftr), ipip, user, password_hash is not None)
    return merged, password_hash


def _iid(text: str) -> int:
    return int(ipaddress.IPv6Address(text))


__all__ = ["IpipTunnel", "SoftwireStore", "bump"]

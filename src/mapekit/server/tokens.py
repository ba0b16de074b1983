"""Admin tokens in the store: random, shown once, kept as SHA-256 hashes, with scopes
(``read``, ``write``), listed and revoked; every change audited."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mapekit.server import tables as t
from mapekit.server.rows import hash_token
from mapekit.server.schemas import Scope
from mapekit.server.service import ServerError
from mapekit.server.storepart import StorePart


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scopes: tuple[Scope, ...]
    created_at: float


class TokenStore(StorePart):
    """The token half of :class:`~mapekit.server.store.Store` (which provides these)."""

    def add_token(self, name: str, actor: str, scopes: Sequence[Scope] = ("read", "write")) -> str:
        """A new admin token (returned once; only its SHA-256 hash is stored)."""
        token = secrets.token_urlsafe(32)
        granted = ",".join(sorted(set(scopes)))
        with self._tx() as conn:
            conn.execute(
                t.admin_tokens.insert().values(
                    name=name, token_hash=hash_token(token), created_at=time.time(), scopes=granted
                )
            )
            self._audit(conn, actor, ("token", name, "created"), None, granted)
        self.cache.forget(("token", hash_token(token)))
        return token

    def token_info(self, token: str) -> TokenInfo | None:
        """The name and scopes of a valid admin token (hashes compared in constant time).

        Cached a few seconds like the rest (unknown tokens too, within the bound): a
        revocation takes effect at once in this process, within the cache's lifetime in
        other workers."""
        digest = hash_token(token)
        info = self.cache.get(("token", digest), time.monotonic(), lambda: self._token(digest))
        assert info is None or isinstance(info, TokenInfo)
        return info

    def cached_token(self, token: str) -> tuple[bool, TokenInfo | None]:
        """:meth:`token_info` from the cache only: (found, info), no database access."""
        found, info = self.cache.peek(("token", hash_token(token)), time.monotonic())
        assert info is None or isinstance(info, TokenInfo)
        return found, info

    def _token(self, digest: str) -> TokenInfo | None:
        with self.reader.connect() as conn:
            row = conn.execute(
                sa.select(t.admin_tokens).where(t.admin_tokens.c.token_hash == digest)
            ).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        return _token(row)

    def token_name(self, token: str) -> str | None:
        info = self.token_info(token)
        return None if info is None else info.name

    def tokens(self) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.admin_tokens).order_by(t.admin_tokens.c.name)).all()
        return [_token(r) for r in rows]

    def revoke_token(self, name: str, actor: str) -> None:
        with self._tx() as conn:
            gone = conn.execute(
                t.admin_tokens.delete()
                .where(t.admin_tokens.c.name == name)
                .returning(t.admin_tokens.c.token_hash)
            ).first()
            if gone is None:
                raise ServerError(
                    "server.not_found", f"name: no admin token {name!r}", field="name", value=name
                )
            self._audit(conn, actor, ("token", name, "revoked"), None, "yes")
        self.cache.forget(("token", gone.token_hash))


def _token(row: Any) -> TokenInfo:
    scopes = tuple(s for s in str(row.scopes).split(",") if s in ("read", "write"))
    return TokenInfo(row.name, scopes, float(row.created_at))  # type: ignore[arg-type]


__all__ = ["TokenInfo", "TokenStore"]

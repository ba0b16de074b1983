"""What a part of :class:`~mapekit.server.store.Store` (tokens, mechanisms) relies on the
store for: its engines, its cache, a write transaction and the audit log."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

from sqlalchemy.engine import Connection, Engine

from mapekit.server.cache import TtlCache


class StorePart(ABC):
    """Declared here (abstract), provided by :class:`~mapekit.server.store.Store`."""

    engine: Engine
    reader: Engine
    cache: TtlCache[object]

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Connection]: ...

    @abstractmethod
    def _audit(
        self, conn: Connection, actor: str, what: tuple[str, str, str], old: object, new: object
    ) -> None: ...

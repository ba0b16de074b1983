"""Messages of diag (part of the catalogue in ``mapekit.core.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DIAG: Mapping[str, tuple[str, str]] = MappingProxyType({})

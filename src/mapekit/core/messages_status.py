"""Messages of status (part of the catalogue in ``mapekit.core.messages``)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

STATUS: Mapping[str, tuple[str, str]] = MappingProxyType({})

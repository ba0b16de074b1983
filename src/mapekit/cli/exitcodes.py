"""The one table from reason categories to exit statuses (documented in docs/cli.md)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mapekit.core.reasons import Category

OK = 0

EXIT_CODES: Mapping[Category, int] = MappingProxyType(
    {
        Category.USAGE: 2,
        Category.INPUT: 3,
        Category.RULE: 4,
        Category.NOT_FOUND: 5,
        Category.DATA: 6,
        Category.INVALID: 7,
        Category.BLANK: 8,
        Category.HGW_ACTIVE: 9,
        Category.FORBIDDEN: 10,
        Category.REJECTED: 11,
        Category.SERVER_ERROR: 12,
        Category.UNREACHABLE: 13,
        Category.UNSUPPORTED: 14,
        Category.SYSTEM: 15,
        Category.DIAGNOSIS: 16,
        Category.CONFIG: 78,  # EX_CONFIG of sysexits.h; the systemd unit does not restart on it
        Category.INTERNAL: 70,
    }
)


def exit_code(category: Category) -> int:
    return EXIT_CODES[category]

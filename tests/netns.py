"""Namespaces for tests (see mapekit.lab.netns), and the marker for tests that need them."""

from __future__ import annotations

import pytest

from mapekit.lab.netns import Lab, available, sh, wait_for

needs_root = pytest.mark.skipif(
    available() is not None, reason=f"network namespaces: {available()}"
)

__all__ = ["Lab", "needs_root", "sh", "wait_for"]

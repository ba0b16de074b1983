"""Test-wide settings."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

# Timing varies on a shared 2-core machine: no per-example deadlines.
settings.register_profile("default", deadline=None)
settings.register_profile(
    "thorough", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands choose Japanese from the locale (docs/cli.md, "Languages"); tests that
    expect English text must not depend on the machine's locale."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")

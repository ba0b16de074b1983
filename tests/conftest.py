"""Test-wide settings."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Timing varies on a shared 2-core machine: no per-example deadlines.
settings.register_profile("default", deadline=None)
settings.register_profile(
    "thorough", deadline=None, max_examples=2000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

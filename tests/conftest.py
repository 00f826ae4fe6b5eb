"""Shared pytest set-up: the hypothesis profiles.

"ci" (the default) keeps the whole suite to a few minutes on two cores: no
per-example deadline (a slow CI machine is not a bug) and a modest number of
examples. Run `HYPOTHESIS_PROFILE=thorough pytest` to search much harder.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

"""Shared pytest set-up: the hypothesis profiles, a fixture for huge graphs, strict numpy.

"ci" (the default) keeps the whole suite to a few minutes on two cores: no
per-example deadline (a slow CI machine is not a bug) and a modest number of
examples. Run `HYPOTHESIS_PROFILE=thorough pytest` to search much harder.
"""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    max_examples=30,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def collector_paused():
    """Pause the cyclic garbage collector, which would rescan a million live nodes
    many times over (it triples the run time; it is not what these tests measure)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@pytest.fixture
def strict_numpy():
    """Overflow, invalid operations and division by zero raise instead of warning, so a
    stable formula that quietly goes through inf or nan on the way fails."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        yield

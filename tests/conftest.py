"""Shared fixtures.

``small_cohort`` is the simulated cohort most end-to-end tests use: 3 subjects
at fsaverage level 4, built once per test process (pytest-xdist workers each
build their own; it takes 15-30 s on 2 cores).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_cohort():
    from encoding.simulation.cohort import simulate_cohort

    return simulate_cohort(n_subjects=3, n_images=120, n_shared=30, level=4, seed=0, progress=False)

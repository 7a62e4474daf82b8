"""Shared fixtures.

``small_cohort`` is the simulated cohort most end-to-end tests use: 3 subjects
at fsaverage level 4, built once per test process (pytest-xdist workers each
build their own; it takes 15-30 s on 2 cores).
"""

from __future__ import annotations

import os
import sys

import pytest

# pytest-xdist runs one worker per core (`make test`: -n 2): each worker gets its share of the
# cores for its thread pools, or torch's OpenMP threads and the BLAS threads of every worker
# oversubscribe the cores (measured: a test of 11 s alone took 195 s in the 2-worker suite).
if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(_threads))


@pytest.fixture(scope="session")
def small_cohort():
    from encoding.simulation.cohort import simulate_cohort

    return simulate_cohort(n_subjects=3, n_images=120, n_shared=30, level=4, seed=0, progress=False)

"""Shared fixtures.

Every test runs with ``$NEUROKIT_CACHE_DIR`` pointing at a temporary cache of
its own test session, never at the user's ``~/.cache/neurokit``: meshes,
operators and feature caches are built there. The one installed asset, the
photo bank (``make install`` fetches and builds it), is linked in file by file
from the user's cache when it exists, so tests that need photographs find it;
an atomic rewrite (``os.replace``) then replaces the link, never the user's file.

``make_cohort`` builds simulated cohorts once per test process for every file
that asks for the same settings (pytest-xdist workers each build their own);
``small_cohort`` is the one most end-to-end tests use: 3 subjects at fsaverage
level 4 (15-30 s on 2 cores).
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


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Point ``$NEUROKIT_CACHE_DIR`` at a fresh per-session cache (the photo bank linked in)."""
    from neurokit.mesh.cache import cache_root

    user_bank = cache_root() / "photo-bank"
    root = tmp_path_factory.getbasetemp() / "neurokit-cache"
    bank = root / "photo-bank"
    bank.mkdir(parents=True, exist_ok=True)
    if user_bank.is_dir():
        for entry in user_bank.iterdir():
            if not (bank / entry.name).exists():
                (bank / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEUROKIT_CACHE_DIR", str(root))
        yield root


@pytest.fixture(scope="session")
def make_cohort():
    """Memoised :func:`~encoding.simulation.simulate_cohort`, shared by every test file of a process.

    ``make_cohort(**settings)`` returns the same cohort object for the same
    settings (``progress=False`` unless given), so files that need the same
    simulated world build it once per pytest(-xdist) process. Treat the
    cohort as read-only.
    """
    from encoding.simulation.cohort import simulate_cohort

    built: dict[tuple, object] = {}

    def make(**settings):
        settings.setdefault("progress", False)
        key = tuple(sorted(settings.items()))
        if key not in built:
            built[key] = simulate_cohort(**settings)
        return built[key]

    return make


@pytest.fixture(scope="session")
def small_cohort(make_cohort):
    return make_cohort(n_subjects=3, n_images=120, n_shared=30, level=4, seed=0)

"""The plan and solve of a chunked ridge: how many targets one chunk holds, and one chunk's solve.

The design ``X`` is decomposed once (:func:`encoding.ridge.plan_ridge`); each
chunk of targets is then solved with that same decomposition
(:func:`encoding.ridge.solve_ridge`) and scored on held-out data
(:func:`fit_chunk`). Peak memory is set by the budget
(:func:`chunk_size_for_budget`), not by the number of targets.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from encoding.ridge import solve_ridge
from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError
from neurokit.validation import is_integer

#: Memory budget of a fit when neither ``max_memory`` nor ``chunk_size`` is given.
DEFAULT_MAX_MEMORY = 2 * 2**30


def parse_bytes(value: int | str, name: str = "max_memory") -> int:
    """Bytes from an int or a string such as ``"2GB"``, ``"512MiB"``, ``"1.5G"``.

    Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB,
    GiB, TiB, and the bare K, M, G, T) powers of 1024.

    Raises
    ------
    InvalidParameterError
        Not a positive size.
    """
    if is_integer(value):
        if value <= 0:
            raise InvalidParameterError(f"{name} must be a positive number of bytes, got {value!r}")
        return int(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)(i?)([bB]?)\s*", value)
        if m and (m.group(2) or not m.group(3)):
            number, unit, binary, b = m.groups()
            power = " KMGT".index(unit.upper()) if unit else 0
            base = 1024 if (binary or (unit and not b)) else 1000
            size = int(float(number) * base**power)
            if size > 0:
                return size
    raise InvalidParameterError(f"{name} must be a positive number of bytes such as 2000000000 or '2GB', got {value!r}")


def check_features(X: Any, n_rows: int, name: str, where: str) -> np.ndarray:
    """``X`` as a finite numeric array with ``n_rows`` rows (integers as float64); raises otherwise."""
    X = np.asarray(X)
    if X.dtype.kind not in "fiu" or X.ndim != 2:
        raise DataValidationError(f"{where}: {name} must be a numeric array (n_samples, n_features), got "
                                  f"{X.dtype} {X.shape}")
    if X.shape[0] != n_rows:
        raise DataValidationError(f"{where}: {name} has {X.shape[0]} rows but the targets have {n_rows} samples")
    if not np.isfinite(X).all():
        raise NonFiniteDataError(f"{where}: {name} holds NaN or infinite values")
    return X if X.dtype.kind == "f" else X.astype(np.float64)


def chunk_size_for_budget(budget: int | None, targets: Any, plan: Any, n_test: int, n_targets: int, where: str) -> int:
    """Targets per chunk that fit in ``budget`` bytes (default 2 GiB) beside what this process holds now.

    Raises
    ------
    InvalidParameterError
        The budget is below what the process holds plus one target.
    """
    budget = DEFAULT_MAX_MEMORY if budget is None else budget
    per_target = int(targets.bytes_per_target()) + _solver_bytes_per_target(plan, n_test)
    held = _current_rss()
    if budget < held + per_target:
        raise InvalidParameterError(
            f"{where}: max_memory={budget:,} bytes is below what this process already holds "
            f"({held:,} bytes: interpreter, features, decomposition of X) plus one target ({per_target:,} bytes); "
            f"raise it to at least {held + 64 * per_target:,}"
        )
    return int(min(n_targets, (budget - held) // per_target))


def _current_rss() -> int:
    """Resident memory of this process now, bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _solver_bytes_per_target(plan: Any, n_test: int) -> int:
    """Bytes :func:`fit_chunk` holds per target beyond the source's read (see its body)."""
    n, p, r, a = plan.n_samples, plan.n_features, plan.rank, plan.alphas.size
    item = plan.dtype.itemsize
    solve = n * (item + 8) + r * (3 * item + 16) + p * 3 * item + a * 8 * 4
    score = n_test * (item + 3 * 8)
    write = 2 * (p * item + a * 8 + 64)  # the chunk's arrays and their serialised bytes
    return solve + score + write


def fit_chunk(plan: Any, targets: Any, start: int, stop: int, X_test: np.ndarray | None) -> dict[str, np.ndarray]:
    """Read targets ``start:stop``, solve them with the shared plan, score them; the arrays to store."""
    from neurokit.metrics import pearson_r

    chunk = targets.read(start, stop)
    Y = chunk.train
    if Y.shape != (plan.n_samples, stop - start):
        raise DataValidationError(
            f"targets {start}:{stop}: the source returned shape {Y.shape}, expected {(plan.n_samples, stop - start)}"
        )
    sol = solve_ridge(plan, Y, target_batch_size=stop - start)
    del Y, chunk.train
    out = {"coef": sol.coef, "intercept": sol.intercept, "best_alphas": sol.best_alphas,
           "cv_errors": np.ascontiguousarray(sol.cv_errors.T)}
    if X_test is not None and chunk.test is not None:
        pred = np.asarray(X_test, dtype=sol.coef.dtype) @ sol.coef.T
        pred += sol.intercept.astype(pred.dtype)
        out["test_r"] = np.asarray(pearson_r(chunk.test, pred), dtype=np.float64)
        del pred
    for name, values in chunk.extras.items():
        if name in out or np.shape(values) != (stop - start,):
            raise DataValidationError(f"target source extra {name!r} must be a new name with shape ({stop - start},)")
        out[name] = np.asarray(values)
    return out


__all__ = ["DEFAULT_MAX_MEMORY", "parse_bytes", "check_features", "chunk_size_for_budget", "fit_chunk"]

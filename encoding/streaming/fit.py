"""The public entry point of a streamed ridge fit, and the split of its chunks over torchrun ranks.

Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) rank ``r`` of ``W`` fits the
chunks ``i`` with ``i % W == r`` into the same folder; after a barrier rank 0
assembles the result (:func:`encoding.streaming.result.assemble_result`).
"""

from __future__ import annotations

import datetime
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from encoding.ridge import DEFAULT_ALPHAS, check_alphas, plan_ridge
from encoding.streaming.chunks import (
    FORMAT_VERSION,
    MANIFEST,
    ChunkStore,
    CorruptChunkWarning,
    check_same,
    open_manifest,
    read_json,
    sha256_array,
)
from encoding.streaming.plan import check_features, fit_chunk, parse_bytes
from encoding.streaming.result import RESULT, assemble_result
from encoding.streaming.targets import ArrayTargets
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_bool, check_int, is_integer


@dataclass(frozen=True)
class StreamingFitReport:
    """What one process did in :func:`fit_streaming_ridge`.

    Attributes
    ----------
    output : Path
        The result folder.
    n_chunks, chunk_size : int
        Chunking of the targets (the last chunk may be smaller).
    fitted : tuple of int
        Chunks this process fitted in this call.
    reused : tuple of int
        Chunks of this process found finished and intact (not refitted).
    redone : tuple of int
        Chunks whose file was corrupt or truncated and were refitted (also in ``fitted``).
    complete : bool
        Whether the assembled result exists (``result.json``).
    rank, world_size : int
    seconds : float
        Wall time of the call.
    """

    output: Path
    n_chunks: int
    chunk_size: int
    fitted: tuple[int, ...]
    reused: tuple[int, ...]
    redone: tuple[int, ...]
    complete: bool
    rank: int = 0
    world_size: int = 1
    seconds: float = 0.0


# ------------------------------------------------------------------------------------ public API
def fit_streaming_ridge(
    X: Any,
    targets: Any,
    output: str | os.PathLike,
    *,
    X_test: Any = None,
    alphas: Any = DEFAULT_ALPHAS,
    cv: str | int = "gcv",
    fit_intercept: bool = True,
    dtype: str = "float32",
    device: str = "cpu",
    max_memory: int | str | None = None,
    chunk_size: int | None = None,
    resume: bool = False,
    keep_chunks: bool = False,
    progress: bool = True,
    on_chunk: Callable[[int, int, int], None] | None = None,
    distributed: Any = None,
    metadata: dict[str, Any] | None = None,
) -> StreamingFitReport:
    """Fit one ridge regression per target, chunk by chunk of targets, into a result folder.

    Parameters
    ----------
    X : array-like of shape (n_train, n_features)
        Training features (rows match the source's ``train`` rows).
    targets : ArrayTargets, encoding.from_nsd.NSDTargets, or a target source
        Where the responses come from (see :mod:`encoding.streaming`). A plain
        array or ``.npy`` path is wrapped in :class:`ArrayTargets`.
    output : path-like
        Result folder (created). An existing fit there is continued only with ``resume``.
    X_test : array-like of shape (n_test, n_features), optional
        Held-out features; with a source that has ``test`` rows, each target's
        held-out Pearson r is stored as ``test_r``.
    alphas, fit_intercept, dtype, device
        As in :class:`~encoding.ridge.RidgeEncoder` (``device="cuda"`` solves on
        the GPU; under torchrun each rank uses ``cuda:LOCAL_RANK``).
    cv : {"gcv", "loo"} or int
        Criterion for each target's alpha, as in ``RidgeEncoder`` (splitter
        objects are not accepted: the setting is stored as JSON).
    max_memory : int or str, optional
        Memory budget of this process in bytes (``2_000_000_000``, ``"2GB"``,
        ``"1.5GiB"``): the chunk size is what fits next to what the process
        already holds (interpreter, features, the decomposition of ``X``).
        Default 2 GiB when ``chunk_size`` is not given either.
    chunk_size : int, optional
        Targets per chunk, instead of ``max_memory``.
    resume : bool
        Continue the fit in ``output``: intact finished chunks are kept, the
        others (missing, corrupt, truncated) are fitted. The settings must
        match the stored ones; the stored chunk size is reused.
    keep_chunks : bool
        Keep the per-chunk files after the result is assembled.
    progress : bool
        tqdm progress bar over chunks (rank 0 only).
    on_chunk : callable, optional
        ``on_chunk(chunk_index, n_done_by_this_process, n_chunks_of_this_process)``
        after each chunk is written and recorded (an exception raised there
        stops the fit; finished chunks stay done).
    distributed : neurokit.training.distributed.DistributedContext, optional
        Rank and world size; default: from the torchrun environment (a gloo
        group is joined for the final barrier when ``WORLD_SIZE > 1``).
    metadata : dict, optional
        JSON-able information stored in ``result.json``.

    Returns
    -------
    StreamingFitReport

    Raises
    ------
    OutputExistsError
        ``output`` holds a fit (or other files) and ``resume`` is false.
    InvalidParameterError
        Bad settings; ``resume`` with settings that differ from the stored
        ones; a ``max_memory`` too small for one target.
    DataValidationError, NonFiniteDataError
        Shapes that do not match, NaN or infinite values.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from encoding.streaming import load_streaming_ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 5)); Y = X @ rng.standard_normal((5, 30))
    >>> out = tempfile.mkdtemp() + "/fit"
    >>> report = fit_streaming_ridge(X, Y, out, chunk_size=8, progress=False)
    >>> report.n_chunks, load_streaming_ridge(out)[0].coef_.shape
    (4, (30, 5))
    """
    from neurokit.training.distributed import init_distributed, shutdown

    t0 = time.perf_counter()
    where = "fit_streaming_ridge"
    output = Path(output)
    if isinstance(targets, (np.ndarray, str, os.PathLike)):
        targets = ArrayTargets(targets)
    for attr in ("n_targets", "n_train", "n_test", "bytes_per_target", "describe", "read"):
        if not hasattr(targets, attr):
            raise InvalidParameterError(
                f"{where}: targets must be an array, a .npy path, ArrayTargets, NSDTargets or another target "
                f"source with {attr!r}; got {type(targets).__name__}"
            )
    if not ((isinstance(cv, str) and cv in ("gcv", "loo")) or (is_integer(cv) and cv >= 2)):
        raise InvalidParameterError(f"{where}: cv must be 'gcv', 'loo' or an int >= 2, got {cv!r}")
    cv = cv if isinstance(cv, str) else int(cv)
    alphas = check_alphas(alphas)
    for flag, name in ((fit_intercept, "fit_intercept"), (resume, "resume"), (keep_chunks, "keep_chunks"),
                       (progress, "progress")):
        check_bool(flag, f"{where}: {name}")
    if chunk_size is not None and max_memory is not None:
        raise InvalidParameterError(f"{where}: give max_memory or chunk_size, not both")
    chunk_size = check_int(chunk_size, f"{where}: chunk_size", minimum=1, allow_none=True)
    budget = parse_bytes(max_memory, "max_memory") if max_memory is not None else None
    X = check_features(X, targets.n_train, "X", where)
    has_test = X_test is not None and targets.n_test > 0
    if X_test is not None:
        X_test = check_features(X_test, targets.n_test, "X_test", where)
        if X_test.shape[1] != X.shape[1]:
            raise DataValidationError(f"{where}: X has {X.shape[1]} features but X_test has {X_test.shape[1]}")

    ctx = distributed
    owns = False
    if ctx is None:
        ctx = init_distributed("cpu", backend="gloo", timeout=datetime.timedelta(hours=48))
        owns = ctx.owns_group
    try:
        if device == "cuda" and ctx.enabled:
            device = f"cuda:{ctx.local_rank}"
        plan = plan_ridge(X, alphas, cv=cv, fit_intercept=fit_intercept, dtype=dtype, device=device, where=where)
        config = {
            "format_version": FORMAT_VERSION,
            "alphas": alphas.tolist(),
            "cv": cv,
            "fit_intercept": bool(fit_intercept),
            "dtype": str(plan.dtype),
            "n_targets": int(targets.n_targets),
            "n_features": int(X.shape[1]),
            "n_train": int(X.shape[0]),
            "n_test": int(targets.n_test) if has_test else 0,
            "X_sha256": sha256_array(X),
            "X_test_sha256": sha256_array(X_test) if has_test else None,
            "source": targets.describe(),
        }
        if ctx.is_main:
            open_manifest(output, config, resume, chunk_size, budget, targets, plan, has_test, where)
        from neurokit.training.distributed import barrier

        barrier(ctx)
        manifest = read_json(output / MANIFEST)
        if not ctx.is_main:
            check_same(manifest, config, where, output)
        size = int(manifest["chunk_size"])
        n_chunks = int(manifest["n_chunks"])
        store = ChunkStore(output)
        mine = [i for i in range(n_chunks) if i % ctx.world_size == ctx.rank]
        fitted: list[int] = []
        reused: list[int] = []
        redone: list[int] = []
        complete = (output / RESULT).is_file()
        if complete:
            reused = list(mine)
        else:
            todo = []
            for i in mine:
                state = store.state(i)
                if state is None:
                    reused.append(i)
                    continue
                if state != "missing":
                    warnings.warn(f"{output}: chunk {i} {state}; it is fitted again", CorruptChunkWarning, stacklevel=2)
                    store.discard(i)
                    redone.append(i)
                todo.append(i)
            bar = tqdm(todo, desc=f"streaming ridge ({len(reused)}/{len(mine)} chunks done)", unit="chunk",
                       disable=not (progress and ctx.is_main))
            for i in bar:
                start, stop = i * size, min((i + 1) * size, targets.n_targets)
                store.write(i, start, stop, fit_chunk(plan, targets, start, stop, X_test if has_test else None))
                fitted.append(i)
                if on_chunk is not None:
                    on_chunk(i, len(fitted) + len(reused), len(mine))
            barrier(ctx)
            if ctx.is_main:
                assemble_result(store, manifest, targets, plan, metadata, keep_chunks, progress)
            barrier(ctx)
            complete = (output / RESULT).is_file()
        return StreamingFitReport(output, n_chunks, size, tuple(fitted), tuple(reused), tuple(redone), complete,
                                  ctx.rank, ctx.world_size, time.perf_counter() - t0)
    finally:
        if owns:
            shutdown(ctx)


__all__ = ["StreamingFitReport", "fit_streaming_ridge"]

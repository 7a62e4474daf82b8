"""Whole-brain ridge fits in bounded memory: targets streamed in chunks, on one process or many.

:func:`fit_streaming_ridge` fits one ridge regression per target (vertex)
without ever holding all targets: the design ``X`` is decomposed once
(:func:`encoding.ridge.plan_ridge`), then chunk after chunk of targets is read
from a *target source*, solved with that same decomposition
(:func:`encoding.ridge.solve_ridge`), scored on held-out data, and written to
a result folder. Peak memory is set by ``max_memory`` (or ``chunk_size``),
not by the number of vertices.

Target sources
--------------
:class:`ArrayTargets`
    an array, or a ``.npy`` file read column block by column block with plain
    reads (never memory-mapped, so the page cache does not count against the
    process);
:class:`encoding.from_nsd.NSDTargets`
    an NSD subject read vertex chunk by vertex chunk through
    :meth:`neurokit.datasets.NSD.responses` (z-score per session, repeat
    averaging and noise ceiling exactly as the in-memory reader);
anything with ``n_targets``, ``n_train``, ``n_test``, ``bytes_per_target()``,
``describe()`` and ``read(start, stop) -> TargetChunk``.

The result folder
-----------------
``manifest.json``
    the fit's settings and chunking, written first (atomically);
``chunks/chunk-NNNNNN.npz`` and ``chunks/chunk-NNNNNN.json``
    each finished chunk (coefficients, intercepts, penalties, errors, held-out
    r, the source's per-target extras), written atomically, then its
    completion record (byte count and SHA-256). A chunk counts as done only
    when its record exists and its file matches it; a corrupt or truncated
    file is reported (:class:`CorruptChunkWarning`) and refitted, never used;
``coef.npy``, ``intercept.npy``, ``best_alphas.npy``, ``cv_errors.npy`` (one row per target), ``test_r.npy``, extras, ``vertices.npy``
    the assembled result, written once every chunk is done, then
    ``result.json`` (with each file's SHA-256); the chunk files are then deleted.

:func:`load_streaming_ridge` returns the result as a :class:`~encoding.ridge.RidgeEncoder`
(memory-mapped coefficients by default), which :func:`encoding.persistence.save_encoder`
saves like any other.

Several processes
-----------------
Under ``torchrun`` (``RANK``/``WORLD_SIZE`` set) rank ``r`` of ``W`` fits the
chunks ``i`` with ``i % W == r`` into the same folder; after a barrier rank 0
assembles the result. torchrun rather than Dask because the toolkit already
launches its training loop with it (same launcher, same environment on a
cluster, one rank per GPU with ``LOCAL_RANK``), and it adds no dependency. The
command line ``python -m encoding.streaming`` is that entry point; see the README
for a SLURM example.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from encoding.ridge import DEFAULT_ALPHAS, RidgeEncoder, check_alphas, check_targets, plan_ridge, solve_ridge
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    NonFiniteDataError,
    OutputExistsError,
)
from neurokit.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from neurokit.validation import check_bool, check_int, is_integer

#: Version of the result-folder layout.
FORMAT_VERSION = 1

#: Memory budget of a fit when neither ``max_memory`` nor ``chunk_size`` is given.
DEFAULT_MAX_MEMORY = 2 * 2**30

_MANIFEST = "manifest.json"
_RESULT = "result.json"
_CHUNKS = "chunks"
_CORE = ("coef", "intercept", "best_alphas", "cv_errors")


class CorruptChunkWarning(UserWarning):
    """A finished chunk's file does not match its completion record; it is refitted."""


@dataclass
class TargetChunk:
    """One chunk of targets, as a target source's ``read`` returns it.

    Attributes
    ----------
    train : ndarray of shape (n_train, n_chunk)
        Responses of the training samples (rows of ``X``).
    test : ndarray of shape (n_test, n_chunk) or None
        Responses of the held-out samples (rows of ``X_test``), for ``test_r``.
    extras : dict of str to ndarray of shape (n_chunk,)
        Per-target values stored with the result (e.g. the noise ceiling).
    """

    train: np.ndarray
    test: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)


class ArrayTargets:
    """Targets held in an array or a ``.npy`` file, read one block of columns at a time.

    Parameters
    ----------
    Y : ndarray or path-like
        Training responses, shape (n_train, n_targets): an array (or
        ``np.memmap``), or the path of a ``.npy`` file (C or Fortran order),
        which is read with plain file reads, one column block at a time.
    Y_test : ndarray or path-like, optional
        Held-out responses, shape (n_test, n_targets), for the held-out r.

    Examples
    --------
    >>> import numpy as np
    >>> src = ArrayTargets(np.zeros((10, 4), np.float32))
    >>> src.n_targets, src.read(1, 3).train.shape
    (4, (10, 2))
    """

    def __init__(self, Y: Any, Y_test: Any = None) -> None:
        self._train = _ColumnReader(Y, "Y")
        self._test = None if Y_test is None else _ColumnReader(Y_test, "Y_test")
        if self._test is not None and self._test.shape[1] != self._train.shape[1]:
            raise DataValidationError(
                f"Y has {self._train.shape[1]:,} targets but Y_test has {self._test.shape[1]:,}; they must match"
            )

    @property
    def n_targets(self) -> int:
        return int(self._train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self._train.shape[0])

    @property
    def n_test(self) -> int:
        return 0 if self._test is None else int(self._test.shape[0])

    def bytes_per_target(self) -> int:
        """Bytes one :meth:`read` holds per target (float32 copies of the column blocks)."""
        return 4 * 2 * (self.n_train + self.n_test)

    def describe(self) -> dict[str, Any]:
        """What is read, as JSON (stored with a streamed result and checked on resume)."""
        return {"source": "array", "Y": self._train.describe(),
                "Y_test": None if self._test is None else self._test.describe()}

    def read(self, start: int, stop: int) -> TargetChunk:
        """Columns ``start:stop`` as float32 ``(n_train, c)`` and ``(n_test, c)`` arrays."""
        train = self._train.read(start, stop)
        test = None if self._test is None else self._test.read(start, stop)
        return TargetChunk(train, test)


class _ColumnReader:
    """Column blocks of a 2-D array, or of a ``.npy`` file read with ``readinto`` (no memory map)."""

    def __init__(self, Y: Any, name: str) -> None:
        self.name = name
        self.path: Path | None = None
        if isinstance(Y, (str, os.PathLike)):
            self.path = Path(Y)
            if not self.path.is_file():
                raise DataValidationError(f"{name}: file not found: {self.path}")
            try:
                with open(self.path, "rb") as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, self.fortran, self.dtype = reader(fh)
                    self.offset = fh.tell()
            except ValueError as exc:
                raise DataValidationError(f"{name}: {self.path} is not a .npy file ({exc})") from exc
            self.shape = tuple(int(s) for s in shape)
            expected = self.offset + int(np.prod(self.shape)) * self.dtype.itemsize
            if self.path.stat().st_size < expected:
                raise DataValidationError(
                    f"{name}: {self.path} is truncated ({self.path.stat().st_size:,} bytes, header needs {expected:,})"
                )
            if self.dtype.kind != "f" or self.dtype.hasobject:
                raise DataValidationError(f"{name}: {self.path} must hold floats, got dtype {self.dtype}")
            self.array = None
        else:
            self.array = check_targets(Y, None, where="ArrayTargets", name=name) if not isinstance(Y, np.memmap) else Y
            self.shape = tuple(self.array.shape)
            self.dtype = self.array.dtype
        if len(self.shape) != 2 or self.shape[1] == 0:
            raise DataValidationError(f"{name} must have shape (n_samples, n_targets), got {self.shape}")

    def describe(self) -> dict[str, Any]:
        """Shape and dtype, plus the file's size and modification time, or the array's SHA-256."""
        out: dict[str, Any] = {"shape": list(self.shape), "dtype": str(self.dtype)}
        if self.path is not None:
            stat = self.path.stat()
            out.update(path=str(self.path.resolve()), bytes=stat.st_size, mtime_ns=stat.st_mtime_ns)
        else:
            out["sha256"] = _sha256_array(self.array)
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        if self.array is not None:
            block = np.array(self.array[:, start:stop], dtype=np.float32, order="C")
        else:
            n, t = self.shape
            item = self.dtype.itemsize
            raw = np.empty((n, stop - start) if not self.fortran else (stop - start, n), dtype=self.dtype)
            with open(self.path, "rb") as fh:
                if self.fortran:  # columns are contiguous: one read
                    fh.seek(self.offset + start * n * item)
                    _readinto(fh, raw, self.path)
                else:
                    for i in range(n):
                        fh.seek(self.offset + (i * t + start) * item)
                        _readinto(fh, raw[i], self.path)
            block = np.ascontiguousarray(raw.T if self.fortran else raw, dtype=np.float32)
        if not np.isfinite(block).all():
            raise NonFiniteDataError(f"{self.name}: targets {start}:{stop} hold NaN or infinite values")
        return block


def _readinto(fh: Any, out: np.ndarray, path: Path) -> None:
    view = memoryview(out.reshape(-1).view(np.uint8))
    if fh.readinto(view) != view.nbytes:
        raise DataValidationError(f"{path}: unexpected end of file")


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
        Where the responses come from (see the module docstring). A plain
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
    X = _features(X, targets.n_train, "X", where)
    has_test = X_test is not None and targets.n_test > 0
    if X_test is not None:
        X_test = _features(X_test, targets.n_test, "X_test", where)
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
            "X_sha256": _sha256_array(X),
            "X_test_sha256": _sha256_array(X_test) if has_test else None,
            "source": targets.describe(),
        }
        if ctx.is_main:
            _open_manifest(output, config, resume, chunk_size, budget, targets, plan, has_test, where)
        from neurokit.training.distributed import barrier

        barrier(ctx)
        manifest = _read_json(output / _MANIFEST)
        if not ctx.is_main:
            _check_same(manifest, config, where, output)
        size = int(manifest["chunk_size"])
        n_chunks = int(manifest["n_chunks"])
        store = _ChunkStore(output)
        mine = [i for i in range(n_chunks) if i % ctx.world_size == ctx.rank]
        fitted: list[int] = []
        reused: list[int] = []
        redone: list[int] = []
        complete = (output / _RESULT).is_file()
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
                store.write(i, start, stop, _fit_chunk(plan, targets, start, stop, X_test if has_test else None))
                fitted.append(i)
                if on_chunk is not None:
                    on_chunk(i, len(fitted) + len(reused), len(mine))
            barrier(ctx)
            if ctx.is_main:
                store.assemble(manifest, targets, plan, metadata, keep_chunks, progress)
            barrier(ctx)
            complete = (output / _RESULT).is_file()
        return StreamingFitReport(output, n_chunks, size, tuple(fitted), tuple(reused), tuple(redone), complete,
                                  ctx.rank, ctx.world_size, time.perf_counter() - t0)
    finally:
        if owns:
            shutdown(ctx)


def load_streaming_ridge(output: str | os.PathLike, *, mmap: bool = True, verify: bool = True) -> tuple[RidgeEncoder, dict[str, Any]]:
    """Load a streamed fit as a :class:`~encoding.ridge.RidgeEncoder`.

    Parameters
    ----------
    output : path-like
        The result folder of :func:`fit_streaming_ridge`.
    mmap : bool
        Memory-map the arrays (read-only; ``predict`` touches the weights as
        it needs them) instead of reading them into memory.
    verify : bool
        Check every file against the SHA-256 stored in ``result.json`` (reads
        each file once).

    Returns
    -------
    encoder : RidgeEncoder
        ``coef_`` (n_targets, n_features), ``intercept_``, ``best_alphas_``,
        ``cv_errors_`` (n_alphas, n_targets), ``rank_``, ``n_features_in_``.
    info : dict
        ``"test_r"`` and the source's extras (``"noise_ceiling"``, ...) as
        arrays of shape (n_targets,) where they were computed, ``"vertices"``
        for an NSD source, ``"source"`` and ``"metadata"`` from the fit.

    Raises
    ------
    CheckpointError
        No finished result in ``output``, a missing file, or (with ``verify``)
        a file whose checksum does not match.
    """
    output = Path(output)
    path = output / _RESULT
    if not path.is_file():
        reason = "the fit has not finished (rerun it with resume=True)" if (output / _MANIFEST).is_file() else \
            "it is not a streamed ridge result"
        raise CheckpointError(f"{output}: no {_RESULT}; {reason}")
    result = _read_json(path)
    arrays = {}
    for name, entry in result["files"].items():
        file = output / f"{name}.npy"
        if not file.is_file():
            raise CheckpointError(f"{file}: missing file of the streamed result")
        if verify:
            digest = _sha256_file(file)
            if digest != entry["sha256"]:
                raise CheckpointError(f"{file}: checksum mismatch (the file is corrupt or was changed); refit it")
        try:
            arrays[name] = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except ValueError as exc:
            raise CheckpointError(f"{file}: unreadable ({exc})") from exc
    m = result["manifest"]
    enc = RidgeEncoder(alphas=np.asarray(m["alphas"]), cv=m["cv"], fit_intercept=m["fit_intercept"], dtype=m["dtype"])
    enc.coef_ = arrays.pop("coef")
    enc.intercept_ = arrays.pop("intercept")
    enc.best_alphas_ = arrays.pop("best_alphas")
    enc.cv_errors_ = arrays.pop("cv_errors").T
    enc.rank_ = int(result["rank"])
    enc.n_features_in_ = int(m["n_features"])
    info = dict(arrays)
    info["source"] = m["source"]
    info["metadata"] = result.get("metadata", {})
    return enc, info


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


# ------------------------------------------------------------------------------------ internals
def _features(X: Any, n_rows: int, name: str, where: str) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "fiu" or X.ndim != 2:
        raise DataValidationError(f"{where}: {name} must be a numeric array (n_samples, n_features), got "
                                  f"{X.dtype} {X.shape}")
    if X.shape[0] != n_rows:
        raise DataValidationError(f"{where}: {name} has {X.shape[0]} rows but the targets have {n_rows} samples")
    if not np.isfinite(X).all():
        raise NonFiniteDataError(f"{where}: {name} holds NaN or infinite values")
    return X if X.dtype.kind == "f" else X.astype(np.float64)


def _sha256_array(a: np.ndarray) -> str:
    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def _sha256_file(path: Path, block: int = 16 * 2**20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(block):
            h.update(data)
    return h.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from exc


def _current_rss() -> int:
    """Resident memory of this process now, bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _solver_bytes_per_target(plan: Any, n_test: int) -> int:
    """Bytes :func:`_fit_chunk` holds per target beyond the source's read (see its body)."""
    n, p, r, a = plan.n_samples, plan.n_features, plan.rank, plan.alphas.size
    item = plan.dtype.itemsize
    solve = n * (item + 8) + r * (3 * item + 16) + p * 3 * item + a * 8 * 4
    score = n_test * (item + 3 * 8)
    write = 2 * (p * item + a * 8 + 64)  # the chunk's arrays and their serialised bytes
    return solve + score + write


def _open_manifest(output: Path, config: dict, resume: bool, chunk_size: int | None, budget: int | None,
                   targets: Any, plan: Any, has_test: bool, where: str) -> None:
    """On rank 0: write the manifest of a new fit (choosing its chunk size), or check the stored one on resume."""
    manifest_path = output / _MANIFEST
    if manifest_path.is_file():
        if not resume:
            raise OutputExistsError(
                f"{output}: holds a streamed fit already; pass resume=True (--resume) to continue it, "
                "or choose another folder"
            )
        manifest = _read_json(manifest_path)
        _check_same(manifest, config, where, output)
        if chunk_size is not None and int(chunk_size) != int(manifest["chunk_size"]):
            raise InvalidParameterError(
                f"{where}: chunk_size={chunk_size} but the fit in {output} uses chunk_size="
                f"{manifest['chunk_size']}; resume with the stored one (omit chunk_size)"
            )
        return
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise OutputExistsError(f"{output}: exists and is not an empty folder or a streamed fit; choose another folder")
    n_targets = int(config["n_targets"])
    if chunk_size is not None:
        size = int(min(chunk_size, n_targets))
    else:
        budget = DEFAULT_MAX_MEMORY if budget is None else budget
        per_target = int(targets.bytes_per_target()) + _solver_bytes_per_target(plan, targets.n_test if has_test else 0)
        held = _current_rss()
        if budget < held + per_target:
            raise InvalidParameterError(
                f"{where}: max_memory={budget:,} bytes is below what this process already holds "
                f"({held:,} bytes: interpreter, features, decomposition of X) plus one target ({per_target:,} bytes); "
                f"raise it to at least {held + 64 * per_target:,}"
            )
        size = int(min(n_targets, (budget - held) // per_target))
    manifest = dict(config, chunk_size=size, n_chunks=math.ceil(n_targets / size))
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(manifest_path, json.dumps(manifest, indent=1))


def _check_same(manifest: dict, config: dict, where: str, output: Path) -> None:
    differ = [k for k, v in config.items() if json.loads(json.dumps(v)) != manifest.get(k)]
    if differ:
        raise InvalidParameterError(
            f"{where}: cannot resume the fit in {output}: {', '.join(differ)} differ from the stored settings "
            f"(stored {', '.join(f'{k}={manifest.get(k)!r}' for k in differ)}); use another folder for a new fit"
        )


def _fit_chunk(plan: Any, targets: Any, start: int, stop: int, X_test: np.ndarray | None) -> dict[str, np.ndarray]:
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


class _ChunkStore:
    """The chunk files of a result folder: write, check, discard, assemble."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.dir = output / _CHUNKS

    def data(self, i: int) -> Path:
        return self.dir / f"chunk-{i:06d}.npz"

    def record(self, i: int) -> Path:
        return self.dir / f"chunk-{i:06d}.json"

    def write(self, i: int, start: int, stop: int, arrays: dict[str, np.ndarray]) -> None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
        del buf
        atomic_write_bytes(self.data(i), data)
        rec = {"chunk": i, "start": start, "stop": stop, "file": self.data(i).name, "bytes": len(data),
               "sha256": hashlib.sha256(data).hexdigest()}
        atomic_write_text(self.record(i), json.dumps(rec))

    def state(self, i: int) -> str | None:
        """None when chunk ``i`` is done and intact, else why not ("missing" when never finished)."""
        if not self.record(i).is_file():
            return "missing"
        try:
            rec = json.loads(self.record(i).read_text(encoding="utf-8"))
            expected, size = rec["sha256"], int(rec["bytes"])
        except (OSError, ValueError, KeyError, TypeError):
            return f"has an unreadable completion record {self.record(i)}"
        path = self.data(i)
        if not path.is_file():
            return f"has a completion record but its file {path} is missing"
        actual = path.stat().st_size
        if actual != size:
            return f"is truncated or corrupt: {path} has {actual:,} bytes, its record says {size:,}"
        if _sha256_file(path) != expected:
            return f"is corrupt: the checksum of {path} does not match its record"
        return None

    def discard(self, i: int) -> None:
        for path in (self.record(i), self.data(i)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def load(self, i: int) -> dict[str, np.ndarray]:
        """Chunk ``i``'s arrays, checked against its record (raises if it does not match)."""
        state = self.state(i)
        if state is not None:
            raise CheckpointError(f"{self.output}: chunk {i} {state}; rerun the fit with resume=True to refit it")
        with np.load(self.data(i), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def assemble(
        self, manifest: dict, targets: Any, plan: Any, metadata: dict | None, keep_chunks: bool, progress: bool
    ) -> None:
        """Concatenate the chunks into one ``.npy`` per array (sequential writes, hashed on the fly)."""
        n_chunks, n_targets = int(manifest["n_chunks"]), int(manifest["n_targets"])
        first = self.load(0)
        digests: dict[str, Any] = {}
        vertices = getattr(targets, "vertices", None)
        with contextlib.ExitStack() as stack:
            files = {}
            for name, arr in first.items():
                tmp = stack.enter_context(atomic_path(self.output / f"{name}.npy"))
                fh = stack.enter_context(open(tmp, "wb"))
                header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
                          "shape": (n_targets, *arr.shape[1:])}
                head = io.BytesIO()
                np.lib.format.write_array_header_1_0(head, header)
                files[name] = (fh, hashlib.sha256(), arr.dtype, arr.shape[1:])
                files[name][0].write(head.getvalue())
                files[name][1].update(head.getvalue())
            for i in tqdm(range(n_chunks), desc="assembling the result", unit="chunk", disable=not progress or n_chunks < 2):
                arrays = first if i == 0 else self.load(i)
                if set(arrays) != set(files):
                    raise CheckpointError(f"{self.data(i)}: holds {sorted(arrays)}, chunk 0 holds {sorted(files)}")
                for name, (fh, h, dt, tail) in files.items():
                    a = np.ascontiguousarray(arrays[name], dtype=dt)
                    if a.shape[1:] != tail:
                        raise CheckpointError(f"{self.data(i)}: {name} has shape {a.shape}, expected (n, *{tail})")
                    fh.write(a.data)
                    h.update(a.data)
                del arrays
            for name, (fh, h, _, _) in files.items():
                fh.flush()
                os.fsync(fh.fileno())
                digests[name] = {"sha256": h.hexdigest()}
        if vertices is not None:
            vpath = self.output / "vertices.npy"
            with atomic_path(vpath) as tmp:
                np.save(tmp, np.asarray(vertices, dtype=np.int64))
            digests["vertices"] = {"sha256": _sha256_file(vpath)}
        result = {"complete": True, "manifest": manifest, "rank": plan.rank, "files": digests,
                  "metadata": dict(metadata or {})}
        atomic_write_text(self.output / _RESULT, json.dumps(result, indent=1))
        if not keep_chunks:
            shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------------------------------ command line
def _load_npy(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataValidationError(f"{what}: cannot read {path} as a .npy array ({exc})") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m encoding.streaming``: a streamed whole-brain fit, also under ``torchrun``."""
    parser = argparse.ArgumentParser(
        prog="python -m encoding.streaming",
        description="Whole-brain ridge fit streamed over chunks of vertices (run under torchrun for several ranks).",
    )
    parser.add_argument("--output", required=True, help="result folder")
    parser.add_argument("--nsd-root", help="NSD root (with --subject)")
    parser.add_argument("--subject", type=int, help="1-based NSD subject")
    parser.add_argument("--level", type=int, default=None, help="fsaverage level to read (default: the files')")
    parser.add_argument("--rois", nargs="*", default=None, help="fit only these ROIs (e.g. nsdgeneral)")
    parser.add_argument("--sessions", type=int, nargs="*", default=None, help="1-based sessions (default: all)")
    parser.add_argument("--features", required=True,
                        help=".npy features: with --nsd-root, row k = NSD id k (or --feature-ids); else the "
                             "training features of --targets")
    parser.add_argument("--feature-ids", default=None, help=".npy of the 0-based NSD id of each --features row")
    parser.add_argument("--targets", default=None, help=".npy training responses (n_train, n_targets), without NSD")
    parser.add_argument("--test-features", default=None, help=".npy held-out features (with --targets)")
    parser.add_argument("--test-targets", default=None, help=".npy held-out responses (with --targets)")
    parser.add_argument("--alphas", type=float, nargs="*", default=None, help="ridge penalties (default 1e-2..1e6)")
    parser.add_argument("--cv", default="gcv", help="gcv, loo or a number of folds")
    parser.add_argument("--max-memory", default=None, help="memory budget per process, e.g. 2GB (default 2 GiB)")
    parser.add_argument("--chunk-size", type=int, default=None, help="targets per chunk instead of --max-memory")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (each rank on cuda:LOCAL_RANK)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--resume", action="store_true", help="continue the fit in --output")
    parser.add_argument("--keep-chunks", action="store_true", help="keep the per-chunk files")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    cv: str | int = args.cv if args.cv in ("gcv", "loo") else int(args.cv) if args.cv.isdigit() else args.cv
    X_test = None
    if args.nsd_root is not None:
        from encoding.from_nsd import NSDTargets

        if args.subject is None or args.targets is not None:
            parser.error("--nsd-root needs --subject and no --targets")
        X = _load_npy(args.features, "--features")
        ids = np.arange(X.shape[0]) if args.feature_ids is None else _load_npy(args.feature_ids, "--feature-ids")
        source = NSDTargets(args.nsd_root, args.subject, (ids, X), level=args.level, rois=args.rois,
                            sessions=args.sessions)
        X, X_test = source.X_train, source.X_test
    elif args.targets is not None:
        source = ArrayTargets(args.targets, args.test_targets)
        X = _load_npy(args.features, "--features")
        if args.test_features is not None:
            X_test = _load_npy(args.test_features, "--test-features")
    else:
        parser.error("give --nsd-root and --subject, or --targets")
    report = fit_streaming_ridge(
        X, source, args.output, X_test=X_test, alphas=DEFAULT_ALPHAS if args.alphas is None else args.alphas, cv=cv,
        dtype=args.dtype, device=args.device, max_memory=args.max_memory, chunk_size=args.chunk_size,
        resume=args.resume, keep_chunks=args.keep_chunks, progress=not args.no_progress,
    )
    if report.rank == 0:
        print(f"{args.output}: {report.n_chunks} chunks of {report.chunk_size} targets; this run fitted "
              f"{len(report.fitted)} on rank 0 ({len(report.redone)} redone), kept {len(report.reused)}; "
              f"{'complete' if report.complete else 'incomplete'} in {report.seconds:.1f} s", flush=True)
    return 0


__all__ = [
    "fit_streaming_ridge",
    "load_streaming_ridge",
    "ArrayTargets",
    "TargetChunk",
    "StreamingFitReport",
    "CorruptChunkWarning",
    "parse_bytes",
    "DEFAULT_MAX_MEMORY",
    "FORMAT_VERSION",
]

if __name__ == "__main__":
    sys.exit(main())

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

Modules
-------
:mod:`~encoding.streaming.targets`
    target sources (:class:`ArrayTargets`, :class:`TargetChunk`);
:mod:`~encoding.streaming.plan`
    the memory budget, chunk size and one chunk's solve;
:mod:`~encoding.streaming.chunks`
    the manifest, the chunk files and their completion records (resume);
:mod:`~encoding.streaming.result`
    the assembled result and :func:`load_streaming_ridge`;
:mod:`~encoding.streaming.fit`
    :func:`fit_streaming_ridge` and the split of chunks over torchrun ranks;
:mod:`~encoding.streaming.cli`
    ``python -m encoding.streaming``.
"""

from encoding.streaming.chunks import FORMAT_VERSION, CorruptChunkWarning
from encoding.streaming.cli import main
from encoding.streaming.fit import StreamingFitReport, fit_streaming_ridge
from encoding.streaming.plan import DEFAULT_MAX_MEMORY, parse_bytes
from encoding.streaming.result import load_streaming_ridge
from encoding.streaming.targets import ArrayTargets, TargetChunk

__all__ = [
    "fit_streaming_ridge",
    "load_streaming_ridge",
    "ArrayTargets",
    "TargetChunk",
    "StreamingFitReport",
    "CorruptChunkWarning",
    "parse_bytes",
    "main",
    "DEFAULT_MAX_MEMORY",
    "FORMAT_VERSION",
]

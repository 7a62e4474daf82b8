"""The result of a streamed ridge fit: its chunks assembled into one file per array, and loaded back.

Once every chunk is done, :func:`assemble_result` writes ``coef.npy``,
``intercept.npy``, ``best_alphas.npy``, ``cv_errors.npy`` (one row per target),
``test_r.npy``, the source's extras and ``vertices.npy``, then ``result.json``
(with each file's SHA-256); the chunk files are then deleted.
:func:`load_streaming_ridge` returns the result as a
:class:`~encoding.ridge.RidgeEncoder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from encoding.ridge import RidgeEncoder
from encoding.streaming.chunks import MANIFEST, ChunkStore, read_json, sha256_file
from neurokit.exceptions import CheckpointError
from neurokit.io.atomic import atomic_path, atomic_write_text

#: The assembled result's record (settings, rank, each file's SHA-256), in the result folder.
RESULT = "result.json"


def assemble_result(store: ChunkStore, manifest: dict, targets: Any, plan: Any, metadata: dict | None,
                    keep_chunks: bool, progress: bool) -> None:
    """Concatenate the chunks of ``store`` into one ``.npy`` per array (sequential writes, hashed on the fly)."""
    n_chunks, n_targets = int(manifest["n_chunks"]), int(manifest["n_targets"])
    first = store.load(0)
    digests: dict[str, Any] = {}
    vertices = getattr(targets, "vertices", None)
    with contextlib.ExitStack() as stack:
        files = {}
        for name, arr in first.items():
            tmp = stack.enter_context(atomic_path(store.output / f"{name}.npy"))
            fh = stack.enter_context(open(tmp, "wb"))
            header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
                      "shape": (n_targets, *arr.shape[1:])}
            head = io.BytesIO()
            np.lib.format.write_array_header_1_0(head, header)
            files[name] = (fh, hashlib.sha256(), arr.dtype, arr.shape[1:])
            files[name][0].write(head.getvalue())
            files[name][1].update(head.getvalue())
        for i in tqdm(range(n_chunks), desc="assembling the result", unit="chunk", disable=not progress or n_chunks < 2):
            arrays = first if i == 0 else store.load(i)
            if set(arrays) != set(files):
                raise CheckpointError(f"{store.data(i)}: holds {sorted(arrays)}, chunk 0 holds {sorted(files)}")
            for name, (fh, h, dt, tail) in files.items():
                a = np.ascontiguousarray(arrays[name], dtype=dt)
                if a.shape[1:] != tail:
                    raise CheckpointError(f"{store.data(i)}: {name} has shape {a.shape}, expected (n, *{tail})")
                fh.write(a.data)
                h.update(a.data)
            del arrays
        for name, (fh, h, _, _) in files.items():
            fh.flush()
            os.fsync(fh.fileno())
            digests[name] = {"sha256": h.hexdigest()}
    if vertices is not None:
        vpath = store.output / "vertices.npy"
        with atomic_path(vpath) as tmp:
            np.save(tmp, np.asarray(vertices, dtype=np.int64))
        digests["vertices"] = {"sha256": sha256_file(vpath)}
    result = {"complete": True, "manifest": manifest, "rank": plan.rank, "files": digests,
              "metadata": dict(metadata or {})}
    atomic_write_text(store.output / RESULT, json.dumps(result, indent=1))
    if not keep_chunks:
        shutil.rmtree(store.dir, ignore_errors=True)


def load_streaming_ridge(output: str | os.PathLike, *, mmap: bool = True, verify: bool = True) -> tuple[RidgeEncoder, dict[str, Any]]:
    """Load a streamed fit as a :class:`~encoding.ridge.RidgeEncoder`.

    Parameters
    ----------
    output : path-like
        The result folder of :func:`encoding.streaming.fit_streaming_ridge`.
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
    path = output / RESULT
    if not path.is_file():
        reason = "the fit has not finished (rerun it with resume=True)" if (output / MANIFEST).is_file() else \
            "it is not a streamed ridge result"
        raise CheckpointError(f"{output}: no {RESULT}; {reason}")
    result = read_json(path)
    arrays = {}
    for name, entry in result["files"].items():
        file = output / f"{name}.npy"
        if not file.is_file():
            raise CheckpointError(f"{file}: missing file of the streamed result")
        if verify:
            digest = sha256_file(file)
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


__all__ = ["RESULT", "assemble_result", "load_streaming_ridge"]

"""The on-disk records of a streamed ridge fit: its manifest, its chunk files, and resume.

``manifest.json``
    the fit's settings and chunking, written first (atomically) by
    :func:`open_manifest`, which on resume checks the stored settings instead;
``chunks/chunk-NNNNNN.npz`` and ``chunks/chunk-NNNNNN.json``
    each finished chunk (coefficients, intercepts, penalties, errors, held-out
    r, the source's per-target extras), written atomically, then its
    completion record (byte count and SHA-256) (:class:`ChunkStore`). A chunk
    counts as done only when its record exists and its file matches it; a
    corrupt or truncated file is reported (:class:`CorruptChunkWarning`) and
    refitted, never used.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from encoding.streaming.plan import chunk_size_for_budget
from neurokit.exceptions import CheckpointError, InvalidParameterError, OutputExistsError
from neurokit.io.atomic import atomic_write_bytes, atomic_write_text

#: Version of the result-folder layout.
FORMAT_VERSION = 1

#: The fit's settings and chunking, in the result folder.
MANIFEST = "manifest.json"
#: Folder of the per-chunk files, in the result folder.
CHUNKS = "chunks"


class CorruptChunkWarning(UserWarning):
    """A finished chunk's file does not match its completion record; it is refitted."""


def sha256_array(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes (C order), as hex."""
    h = hashlib.sha256(str((a.dtype.str, a.shape)).encode())
    h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def sha256_file(path: Path, block: int = 16 * 2**20) -> str:
    """SHA-256 of a file's bytes, read in blocks of ``block`` bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(block):
            h.update(data)
    return h.hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file of the result folder; :class:`CheckpointError` when unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc})") from exc


def open_manifest(output: Path, config: dict, resume: bool, chunk_size: int | None, budget: int | None,
                  targets: Any, plan: Any, has_test: bool, where: str) -> None:
    """On rank 0: write the manifest of a new fit (choosing its chunk size), or check the stored one on resume."""
    manifest_path = output / MANIFEST
    if manifest_path.is_file():
        if not resume:
            raise OutputExistsError(
                f"{output}: holds a streamed fit already; pass resume=True (--resume) to continue it, "
                "or choose another folder"
            )
        manifest = read_json(manifest_path)
        check_same(manifest, config, where, output)
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
        size = chunk_size_for_budget(budget, targets, plan, targets.n_test if has_test else 0, n_targets, where)
    manifest = dict(config, chunk_size=size, n_chunks=math.ceil(n_targets / size))
    output.mkdir(parents=True, exist_ok=True)
    atomic_write_text(manifest_path, json.dumps(manifest, indent=1))


def check_same(manifest: dict, config: dict, where: str, output: Path) -> None:
    """Raise :class:`InvalidParameterError` naming the settings of ``config`` that differ from the stored ``manifest``."""
    differ = [k for k, v in config.items() if json.loads(json.dumps(v)) != manifest.get(k)]
    if differ:
        raise InvalidParameterError(
            f"{where}: cannot resume the fit in {output}: {', '.join(differ)} differ from the stored settings "
            f"(stored {', '.join(f'{k}={manifest.get(k)!r}' for k in differ)}); use another folder for a new fit"
        )


class ChunkStore:
    """The chunk files of a result folder: write, check, discard, load."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.dir = output / CHUNKS

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
        if sha256_file(path) != expected:
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


__all__ = ["FORMAT_VERSION", "MANIFEST", "CHUNKS", "CorruptChunkWarning", "ChunkStore", "open_manifest",
           "check_same", "read_json", "sha256_array", "sha256_file"]

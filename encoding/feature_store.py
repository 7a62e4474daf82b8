"""A feature store: image features computed once per (extractor, settings, stimuli), resumable, verified.

Extracting features of NSD's 73,000 stimuli is the slow step a user repeats
(every encoder, every feature setting, every re-run of a notebook).
:class:`FeatureStore` computes the pooled features of a stimulus set once, in
chunks, and serves them from a memory-mapped file afterwards:

- one entry per key, a fingerprint of the extractor's weights and settings
  (:func:`extractor_fingerprint`), the feature settings (layers, pooling, grid
  size, image size) and the stimulus set (:meth:`StimulusSource.fingerprint`);
  a changed weight, setting or stimulus file gives another key, never stale
  features;
- each entry is ``<folder>/<key>/`` with ``meta.json`` (what was computed, from
  what), ``features.npy`` (float32 ``(n_stimuli, n_features)``, memory-mapped)
  and ``chunks.json``, the record of finished chunks with a SHA-256 of each
  chunk's bytes, rewritten atomically after every chunk;
- an interrupted extraction (Ctrl-C, ``kill -9``, a lost node) resumes at the
  first unfinished chunk and gives features identical to an uninterrupted run;
- every chunk is checked against its checksum when an entry is opened: a
  damaged entry raises :class:`~neurokit.exceptions.FeatureStoreError`
  (:meth:`FeatureStore.open`) or has its damaged chunks recomputed, with a
  warning (:meth:`FeatureStore.features`); wrong features are never returned.

The store holds *pooled, not PCA-reduced* features (a PCA is fitted and applied
afterwards, see :func:`encoding.from_nsd.nsd_image_features`), so one entry
serves every PCA setting.

Examples
--------
>>> store = FeatureStore("features/")                           # doctest: +SKIP
>>> source = NSDStimuli(NSD("/data/nsd"), image_size=224)        # doctest: +SKIP
>>> X = store.features(source, ids, extractor, {"layers": ["pool"]})   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from encoding.features.base import FeatureExtractor
from encoding.image_encoder import check_extract_kwargs
from neurokit.exceptions import DataValidationError, FeatureStoreError, InvalidParameterError
from neurokit.io.atomic import atomic_write_text, publish_folder, remove_stale_temporaries, temporary_name
from neurokit.mesh.hierarchy import cache_root
from neurokit.validation import check_int

__all__ = [
    "FeatureStore",
    "StoredFeatures",
    "StimulusSource",
    "ArrayStimuli",
    "NSDStimuli",
    "extractor_fingerprint",
    "DEFAULT_STORE_CHUNK",
]

#: Stimuli per chunk (the unit of resume and of verification).
DEFAULT_STORE_CHUNK = 1024

_FORMAT = 1


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def extractor_fingerprint(extractor: FeatureExtractor) -> str:
    """BLAKE2b hash of what an extractor's features depend on: its class, preprocessing and every weight.

    Parameters
    ----------
    extractor : FeatureExtractor

    Returns
    -------
    str
        64 hex digits. Any changed weight, input size or normalisation
        changes it; the fitted PCA does not (the store keeps un-reduced features).
    """
    if not isinstance(extractor, FeatureExtractor):
        raise InvalidParameterError(
            f"extractor must be an encoding.features.FeatureExtractor, got {type(extractor).__name__}"
        )
    h = hashlib.blake2b(digest_size=32)  # ~2x sha256's speed on CPUs without SHA instructions
    described = {
        "class": f"{type(extractor).__module__}.{type(extractor).__qualname__}",
        "input_size": getattr(extractor, "input_size", None),
        "mean": list(getattr(extractor, "mean", ()) or ()),
        "std": list(getattr(extractor, "std", ()) or ()),
    }
    h.update(json.dumps(described, sort_keys=True).encode())
    for name, tensor in extractor.module.state_dict().items():
        t = tensor.detach().to("cpu").reshape(-1).contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(tensor.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class StimulusSource:
    """Where the store reads stimuli: ``images(ids)`` plus a fingerprint of the stimulus set."""

    n_stimuli: int

    def images(self, ids: np.ndarray) -> np.ndarray:
        """Images ``(len(ids), H, W, 3)`` float32 in [0, 1] for 0-based ``ids`` (increasing)."""
        raise NotImplementedError

    def fingerprint(self) -> str:
        """A string that changes when the stimuli (or how they are read) change."""
        raise NotImplementedError


class ArrayStimuli(StimulusSource):
    """Stimuli held in memory: an array ``(n, H, W, 3)`` in [0, 1] (its bytes are the fingerprint)."""

    def __init__(self, images: np.ndarray) -> None:
        arr = np.asarray(images)
        if arr.ndim != 4 or arr.shape[-1] != 3:
            raise DataValidationError(f"images: expected an array of shape (n, H, W, 3), got {arr.shape}")
        self._images = arr
        self.n_stimuli = int(arr.shape[0])
        self._fingerprint = _sha(f"{arr.dtype}{arr.shape}".encode() + np.ascontiguousarray(arr).tobytes())

    def images(self, ids: np.ndarray) -> np.ndarray:
        return self._images[ids]

    def fingerprint(self) -> str:
        return f"array:{self._fingerprint}"


class NSDStimuli(StimulusSource):
    """NSD's stimulus file (``nsd_stimuli.hdf5``) read through :meth:`neurokit.datasets.NSD.images`.

    Parameters
    ----------
    nsd : neurokit.datasets.NSD
    image_size : int, optional
        Side the stimuli are resized to when read (default: as stored).

    Notes
    -----
    The fingerprint holds the file's size, the image brick's shape and dtype,
    the image size, and a hash of the first, middle and last stimuli's pixels,
    so it is cheap (three images read) and changes when the file is replaced.
    """

    def __init__(self, nsd: Any, image_size: int | None = None) -> None:
        import h5py

        from neurokit.datasets.nsd import STIMULI_DATASET

        self.nsd = nsd
        self.image_size = None if image_size is None else int(image_size)
        path = Path(nsd.layout.stimuli)
        with h5py.File(path, "r") as f:
            brick = f[STIMULI_DATASET]
            self.n_stimuli = int(brick.shape[0])
            probe = sorted({0, self.n_stimuli // 2, self.n_stimuli - 1})
            sample = np.ascontiguousarray(brick[probe])
            desc = f"{path.stat().st_size}:{brick.shape}:{brick.dtype}:{self.image_size}"
        self._fingerprint = _sha(desc.encode() + sample.tobytes())

    def images(self, ids: np.ndarray) -> np.ndarray:
        return self.nsd.images(ids, size=self.image_size)

    def fingerprint(self) -> str:
        return f"nsd-stimuli:{self._fingerprint}"


@dataclass(frozen=True)
class StoredFeatures:
    """An opened, verified store entry.

    Attributes
    ----------
    path : pathlib.Path
        The entry's folder.
    ids : ndarray of int64, shape (n,)
        Stimulus ids of the rows, increasing.
    data : ndarray (memory-mapped, read-only) of float32, shape (n, n_features)
        The layers' pooled features side by side.
    layers : dict
        ``{layer: (start, stop)}`` column range of each layer in ``data``.
    meta : dict
        What was computed, from what.
    """

    path: Path
    ids: np.ndarray
    data: np.ndarray
    layers: dict[str, tuple[int, int]]
    meta: dict[str, Any]

    def rows(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row indices of ``ids`` (any order, repeats allowed) in :attr:`data`."""
        ids = np.asarray(ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        ok = (pos < self.ids.size) & (self.ids[np.minimum(pos, self.ids.size - 1)] == ids)
        if not ok.all():
            raise DataValidationError(f"{self.path}: stimulus id {int(ids[~ok][0])} is not in this store entry")
        return pos

    def layer_features(self, ids: Sequence[int] | np.ndarray) -> dict[str, np.ndarray]:
        """``{layer: (len(ids), width)}`` float32 arrays (copies) for ``ids``."""
        rows = self.rows(ids)
        block = np.asarray(self.data[rows])
        return {layer: block[:, a:b] for layer, (a, b) in self.layers.items()}


class FeatureStore:
    """Features of stimulus sets, computed once per key, in resumable, checksummed chunks.

    Parameters
    ----------
    folder : path-like, optional
        Where entries live (default: ``<cache>/features``, the toolkit's
        cache directory, ``$NEUROKIT_CACHE_DIR``).
    chunk_size : int, default 1024
        Stimuli per chunk (the unit of resume and of verification).
    """

    def __init__(self, folder: str | os.PathLike | None = None, *, chunk_size: int = DEFAULT_STORE_CHUNK) -> None:
        self.chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        self.folder = Path(folder) if folder is not None else cache_root() / "features"

    def __repr__(self) -> str:
        return f"FeatureStore({str(self.folder)!r}, chunk_size={self.chunk_size})"

    # keys -----------------------------------------------------------------------------
    def key(self, source: StimulusSource, ids: Sequence[int] | np.ndarray, extractor: FeatureExtractor,
            extract_kwargs: Mapping[str, Any] | None = None) -> str:
        """The entry name for these stimuli, extractor and settings (``<settings hash>-<ids hash>``)."""
        kw = check_extract_kwargs(extractor, extract_kwargs)
        uniq = self._ids(ids, source)
        return self._key(source, uniq, extractor_fingerprint(extractor), kw)

    @staticmethod
    def _key(source: StimulusSource, uniq: np.ndarray, fingerprint: str, kw: Mapping[str, Any]) -> str:
        settings = {
            "format": _FORMAT,
            "extractor": fingerprint,
            "layers": list(kw["layers"]),
            "pooling": kw["pooling"],
            "grid_size": kw["grid_size"] if kw["pooling"] == "grid" else None,
            "stimuli": source.fingerprint(),
        }
        return f"{_sha(json.dumps(settings, sort_keys=True))[:16]}-{_sha(uniq.tobytes())[:12]}"

    def _covering_entry(self, prefix: str, uniq: np.ndarray) -> str | None:
        """A finished entry of the same settings whose stimuli include ``uniq`` (e.g. all 73,000 NSD images)."""
        for entry in sorted(self.folder.glob(f"{prefix}-*")):
            status = self.status(entry.name)
            if status is None or status[0] != status[1]:
                continue
            try:
                held = np.load(entry / "ids.npy")
            except (OSError, ValueError):
                continue
            if held.size >= uniq.size and np.isin(uniq, held, assume_unique=True).all():
                return entry.name
        return None

    @staticmethod
    def _ids(ids: Sequence[int] | np.ndarray, source: StimulusSource) -> np.ndarray:
        arr = np.asarray(ids)
        if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
            raise DataValidationError(f"ids must be a non-empty 1-D integer array, got {arr.dtype} {arr.shape}")
        uniq = np.unique(arr.astype(np.int64))
        if uniq[0] < 0 or uniq[-1] >= source.n_stimuli:
            raise DataValidationError(
                f"ids must be 0-based stimulus ids in 0..{source.n_stimuli - 1}, got [{uniq[0]}, {uniq[-1]}]"
            )
        return uniq

    def status(self, key: str) -> tuple[int, int] | None:
        """``(finished chunks, chunks)`` of an entry as recorded (not verified), or None if there is none."""
        entry = self.folder / key
        try:
            meta = json.loads((entry / "meta.json").read_text())
            record = json.loads((entry / "chunks.json").read_text()) if (entry / "chunks.json").is_file() else {}
            return len(record.get("done", {})), len(meta["chunks"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    # reading --------------------------------------------------------------------------
    def open(self, key: str) -> StoredFeatures:
        """Open a complete entry, verifying every chunk; raise if it is missing, incomplete or damaged.

        Raises
        ------
        FeatureStoreError
            The entry does not exist, is unfinished, or a chunk's bytes do not
            match the checksum recorded when it was written.
        """
        entry = self.folder / key
        meta, record, data = self._read_entry(entry)
        n_chunks = len(meta["chunks"])
        done = record.get("done", {})
        missing = [c for c in range(n_chunks) if str(c) not in done]
        if missing:
            raise FeatureStoreError(
                f"{entry}: unfinished ({n_chunks - len(missing)} of {n_chunks} chunks); run the extraction "
                "again (FeatureStore.features) to finish it"
            )
        bad = self._damaged(meta, done, data)
        if bad:
            raise FeatureStoreError(
                f"{entry / 'features.npy'}: chunk(s) {bad} do not match their recorded checksums (a damaged "
                "file); delete the entry or run the extraction again to recompute them"
            )
        return self._stored(entry, meta, data)

    def _read_entry(self, entry: Path) -> tuple[dict[str, Any], dict[str, Any], np.ndarray]:
        if not (entry / "meta.json").is_file():
            raise FeatureStoreError(f"{entry}: no feature store entry here (meta.json missing)")
        try:
            meta = json.loads((entry / "meta.json").read_text())
            record = json.loads((entry / "chunks.json").read_text()) if (entry / "chunks.json").is_file() else {}
        except (OSError, ValueError) as exc:
            raise FeatureStoreError(f"{entry}: unreadable store metadata ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT or not isinstance(record, dict):
            raise FeatureStoreError(f"{entry}: not a feature store entry of format {_FORMAT}")
        shape = (int(meta["n_stimuli"]), int(meta["n_features"]))
        path = entry / "features.npy"
        try:
            data = np.load(path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise FeatureStoreError(f"{path}: unreadable ({exc})") from exc
        if data.shape != shape or data.dtype != np.float32:
            raise FeatureStoreError(f"{path}: expected float32 {shape}, found {data.dtype} {data.shape}")
        return meta, record, data

    @staticmethod
    def _damaged(meta: dict[str, Any], done: Mapping[str, str], data: np.ndarray) -> list[int]:
        bad = []
        for c, (a, b) in enumerate(meta["chunks"]):
            digest = done.get(str(c))
            if digest is not None and _sha(np.ascontiguousarray(data[a:b]).tobytes()) != digest:
                bad.append(c)
        return bad

    def _stored(self, entry: Path, meta: dict[str, Any], data: np.ndarray) -> StoredFeatures:
        ids = np.load(entry / "ids.npy")
        layers = {name: (int(a), int(b)) for name, (a, b) in meta["layers"].items()}
        return StoredFeatures(entry, ids, data, layers, meta)

    # computing ------------------------------------------------------------------------
    def features(
        self,
        source: StimulusSource,
        ids: Sequence[int] | np.ndarray,
        extractor: FeatureExtractor,
        extract_kwargs: Mapping[str, Any] | None = None,
        *,
        batch_size: int = 32,
        progress: bool = True,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> StoredFeatures:
        """The entry for ``ids``: opened if complete, else computed (or finished) first.

        Parameters
        ----------
        source : StimulusSource
            Where the stimuli are read (:class:`NSDStimuli`, :class:`ArrayStimuli`).
        ids : sequence of int, shape (n,)
            Stimulus ids (any order, repeats allowed; the entry holds each once,
            in increasing order).
        extractor : FeatureExtractor
        extract_kwargs : mapping, optional
            ``layers``, ``pooling``, ``grid_size`` (``pca`` is ignored here:
            the store keeps un-reduced features).
        batch_size : int
            Images per forward pass.
        progress : bool
            Progress bar over chunks.
        on_chunk : callable, optional
            ``on_chunk(done, total)`` after each chunk is recorded.

        Returns
        -------
        StoredFeatures
            The entry for exactly these stimuli, or a finished entry of the
            same extractor and settings whose stimuli include them (extract
            all of NSD once; every subset is then served from it).
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        kw = check_extract_kwargs(extractor, extract_kwargs)
        uniq = self._ids(ids, source)
        fingerprint = extractor_fingerprint(extractor)  # hashes every weight: once per call
        key = self._key(source, uniq, fingerprint, kw)
        entry = self.folder / key
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.folder)
        if not (entry / "meta.json").is_file():
            covering = self._covering_entry(key.split("-")[0], uniq)
            if covering is not None:
                try:
                    return self.open(covering)
                except FeatureStoreError as exc:
                    warnings.warn(f"{exc}; computing the requested stimuli on their own", RuntimeWarning,
                                  stacklevel=2)
        if not (entry / "meta.json").is_file():
            self._create(entry, source, uniq, extractor, kw, fingerprint)
        try:
            meta, record, data = self._read_entry(entry)
        except FeatureStoreError as exc:  # a damaged header: the entry is ours to rebuild
            warnings.warn(f"{exc}; recomputing the entry", RuntimeWarning, stacklevel=2)
            shutil.rmtree(entry)
            self._create(entry, source, uniq, extractor, kw, fingerprint)
            meta, record, data = self._read_entry(entry)
        done = dict(record.get("done", {}))
        bad = self._damaged(meta, done, data)
        if bad:
            warnings.warn(f"{entry / 'features.npy'}: chunk(s) {bad} do not match their checksums; recomputing them",
                          RuntimeWarning, stacklevel=2)
            for c in bad:
                done.pop(str(c))
        todo = [c for c in range(len(meta["chunks"])) if str(c) not in done]
        if todo:
            del data
            writable = np.load(entry / "features.npy", mmap_mode="r+")
            bar = tqdm(total=len(meta["chunks"]), initial=len(meta["chunks"]) - len(todo), unit="chunk",
                       desc=f"features -> {key}", disable=not progress)
            try:
                for c in todo:
                    a, b = meta["chunks"][c]
                    block = self._compute(source, uniq[a:b], extractor, kw, batch_size)
                    writable[a:b] = block
                    writable.flush()
                    done[str(c)] = _sha(np.ascontiguousarray(block).tobytes())
                    atomic_write_text(entry / "chunks.json", json.dumps({"done": done}, sort_keys=True))
                    bar.update(1)
                    if on_chunk is not None:
                        on_chunk(len(done), len(meta["chunks"]))
            finally:
                bar.close()
                del writable
        return self.open(key)

    def _create(self, entry: Path, source: StimulusSource, uniq: np.ndarray, extractor: FeatureExtractor,
                kw: Mapping[str, Any], fingerprint: str) -> None:
        """Allocate an entry (meta, ids, an empty feature file) under a temporary name, then rename it."""
        widths = self._widths(source, uniq, extractor, kw)
        layers, start = {}, 0
        for layer in kw["layers"]:
            layers[layer] = (start, start + widths[layer])
            start += widths[layer]
        chunks = [(a, min(a + self.chunk_size, uniq.size)) for a in range(0, uniq.size, self.chunk_size)]
        meta = {
            "format": _FORMAT,
            "n_stimuli": int(uniq.size),
            "n_features": int(start),
            "layers": layers,
            "chunks": chunks,
            "extractor": {"class": type(extractor).__name__, "fingerprint": fingerprint,
                          "repr": repr(extractor)},
            "settings": {"layers": list(kw["layers"]), "pooling": kw["pooling"], "grid_size": kw["grid_size"]},
            "stimuli": source.fingerprint(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        tmp = entry.with_name(temporary_name(entry.name))
        tmp.mkdir(parents=True)
        try:
            np.save(tmp / "ids.npy", uniq)
            mm = np.lib.format.open_memmap(tmp / "features.npy", mode="w+", dtype=np.float32,
                                           shape=(int(uniq.size), int(start)))
            del mm
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2))
            publish_folder(tmp, entry)  # another process may have created it meanwhile: theirs stays
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def _widths(source: StimulusSource, uniq: np.ndarray, extractor: FeatureExtractor,
                kw: Mapping[str, Any]) -> dict[str, int]:
        probe = FeatureStore._compute_layers(source, uniq[:1], extractor, kw, 1)
        return {layer: int(v.shape[1]) for layer, v in probe.items()}

    @staticmethod
    def _compute_layers(source: StimulusSource, ids: np.ndarray, extractor: FeatureExtractor,
                        kw: Mapping[str, Any], batch_size: int) -> dict[str, np.ndarray]:
        return extractor.extract(source.images(ids), layers=kw["layers"], pooling=kw["pooling"],
                                 grid_size=kw["grid_size"], batch_size=batch_size, progress=False)

    @staticmethod
    def _compute(source: StimulusSource, ids: np.ndarray, extractor: FeatureExtractor, kw: Mapping[str, Any],
                 batch_size: int) -> np.ndarray:
        feats = FeatureStore._compute_layers(source, ids, extractor, kw, batch_size)
        return np.concatenate([feats[layer] for layer in kw["layers"]], axis=1).astype(np.float32, copy=False)

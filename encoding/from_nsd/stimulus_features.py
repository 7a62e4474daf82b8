"""Image features of NSD stimuli: streamed from the stimulus file, or served by a feature store, or looked up.

:func:`nsd_image_features` reads the stimuli in chunks (never all 425 x 425
images in memory at once) through a :class:`~encoding.features.FeatureExtractor`,
giving exactly the design matrix of :func:`encoding.image_encoder.image_features`;
:func:`lookup_features` takes the rows of precomputed features by NSD id.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from encoding.features.base import FeatureExtractor
from encoding.image_encoder import check_extract_kwargs
from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError
from neurokit.validation import check_int

#: Images read from the stimulus file and resized at a time.
DEFAULT_CHUNK_SIZE = 256


def as_nsd(nsd_or_root: Any):
    """``nsd_or_root`` as a :class:`neurokit.datasets.NSD` (a path is opened); raises otherwise."""
    from neurokit.datasets.nsd import NSD

    if isinstance(nsd_or_root, NSD):
        return nsd_or_root
    if isinstance(nsd_or_root, (str, os.PathLike)):
        return NSD(nsd_or_root)
    raise InvalidParameterError(
        f"nsd_or_root must be a neurokit.datasets.NSD or the path of an NSD root, got {type(nsd_or_root).__name__}"
    )


def check_ids(ids: Any, name: str) -> np.ndarray:
    """``ids`` as a 1-D int64 array of 0-based NSD ids; raises naming ``name`` otherwise."""
    arr = np.asarray(ids)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise DataValidationError(
            f"{name} must be a 1-D array of 0-based NSD ids (integers), got {arr.dtype} {arr.shape}"
        )
    return arr.astype(np.int64)


def _stream_raw_features(
    nsd: Any,
    nsd_ids: np.ndarray,
    extractor: FeatureExtractor,
    kw: Mapping[str, Any],
    *,
    image_size: int,
    batch_size: int,
    chunk_size: int,
    progress: bool,
) -> dict[str, np.ndarray]:
    """Pooled (not PCA-reduced) features per layer of the stimuli ``nsd_ids``, read chunk by chunk."""
    layers = kw["layers"]
    parts: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    starts = range(0, nsd_ids.size, chunk_size)
    for start in tqdm(starts, desc="NSD image features", unit="chunk", disable=not progress):
        images = nsd.images(nsd_ids[start : start + chunk_size], size=image_size)
        feats = extractor.extract(images, layers=layers, pooling=kw["pooling"], grid_size=kw["grid_size"],
                                  batch_size=batch_size, progress=False)
        for layer in layers:
            parts[layer].append(feats[layer])
    return {layer: np.concatenate(parts[layer], axis=0) for layer in layers}


def raw_features(nsd: Any, nsd_ids: np.ndarray, extractor: FeatureExtractor, kw: Mapping[str, Any], *,
                 image_size: int, batch_size: int, chunk_size: int, progress: bool,
                 store: Any) -> dict[str, np.ndarray]:
    """Pooled features per layer of ``nsd_ids``: from a feature store when one is given, else streamed."""
    if store is None:
        return _stream_raw_features(nsd, nsd_ids, extractor, kw, image_size=image_size, batch_size=batch_size,
                                    chunk_size=chunk_size, progress=progress)
    from encoding.feature_store import FeatureStore, NSDStimuli

    if not isinstance(store, FeatureStore):
        store = FeatureStore(store, chunk_size=chunk_size)
    stored = store.features(NSDStimuli(nsd, image_size=image_size), nsd_ids, extractor, kw,
                            batch_size=batch_size, progress=progress)
    return stored.layer_features(nsd_ids)


def design_matrix(extractor: FeatureExtractor, raw: Mapping[str, np.ndarray], kw: Mapping[str, Any]) -> np.ndarray:
    """Layers side by side (PCA-reduced with the extractor's stored PCA when ``kw['pca']``)."""
    feats = extractor.transform_pca(raw) if kw["pca"] is not None else raw
    return np.concatenate([feats[layer] for layer in kw["layers"]], axis=1).astype(np.float32, copy=False)


def fit_missing_pca(extractor: FeatureExtractor, raw: Mapping[str, np.ndarray], kw: Mapping[str, Any]) -> None:
    """Fit the extractor's PCA of every layer in ``kw['layers']`` that has none yet, on ``raw`` (with ``kw['pca']``)."""
    if kw["pca"] is None:
        return
    missing = [layer for layer in kw["layers"] if layer not in extractor.pca_]
    if missing:
        extractor.fit_pca({layer: raw[layer] for layer in missing}, kw["pca"])


def lookup_features(features: Any, nsd_ids: np.ndarray) -> np.ndarray:
    """Rows of precomputed ``(ids, X)`` for ``nsd_ids``."""
    if not (isinstance(features, tuple) and len(features) == 2):
        raise InvalidParameterError("features must be a pair (nsd_ids, X) of precomputed image features")
    ids = check_ids(features[0], "features[0] (nsd_ids)")
    X = np.asarray(features[1])
    if X.ndim != 2 or X.shape[0] != ids.size:
        raise DataValidationError(
            f"features[1] must have shape (len(nsd_ids), n_features) = ({ids.size}, n_features), got {X.shape}"
        )
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    if sorted_ids.size > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
        raise DataValidationError("features[0] (nsd_ids) must not repeat an id")
    pos = np.searchsorted(sorted_ids, nsd_ids)
    found = (pos < sorted_ids.size) & (sorted_ids[np.minimum(pos, sorted_ids.size - 1)] == nsd_ids)
    if not found.all():
        missing = nsd_ids[~found]
        raise DataValidationError(
            f"features: {missing.size} of the {nsd_ids.size} NSD ids needed have no precomputed features "
            f"(e.g. {missing[:5].tolist()})"
        )
    out = np.asarray(X[order[pos]], dtype=np.float32)
    if not np.isfinite(out).all():
        raise NonFiniteDataError("features: the precomputed features contain NaN or infinite values")
    return out


def nsd_image_features(
    nsd_or_root: Any,
    nsd_ids: Sequence[int] | np.ndarray,
    extractor: FeatureExtractor,
    extract_kwargs: Mapping[str, Any] | None = None,
    *,
    image_size: int | None = None,
    batch_size: int = 32,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: bool = False,
    store: Any = None,
) -> np.ndarray:
    """Design matrix of NSD stimuli, streamed from the stimulus file.

    Equal to ``image_features(extractor, nsd.images(nsd_ids, image_size), extract_kwargs)``
    (:func:`encoding.image_encoder.image_features`), but only ``chunk_size``
    images are held in memory at a time.

    Parameters
    ----------
    nsd_or_root : neurokit.datasets.NSD or path-like
        The dataset, or its root folder.
    nsd_ids : sequence of int, shape (n,)
        0-based NSD ids (rows of ``imgBrick``), any order.
    extractor : FeatureExtractor
        E.g. :class:`encoding.features.EfficientNetLite0Extractor`.
    extract_kwargs : mapping, optional
        ``layers``, ``pooling``, ``grid_size``, ``pca`` (see
        :func:`encoding.image_encoder.image_features`). With ``pca`` and no
        PCA stored in the extractor for a layer, it is fitted on these images
        (as :meth:`FeatureExtractor.extract` does on its first call).
    image_size : int, optional
        Side in pixels the stimuli are resized to when read (anti-aliased);
        default ``extractor.input_size``.
    batch_size : int
        Images per forward pass.
    chunk_size : int
        Images read from disk at a time.
    progress : bool
        Show a progress bar over chunks.
    store : encoding.feature_store.FeatureStore or path-like, optional
        Read the pooled features from this feature store, computing (or
        finishing) its entry first if needed: the slow extraction happens once
        per extractor, setting and stimulus set, resumes after an interruption,
        and is verified against its checksums on every read. A path names the
        store's folder. ``chunk_size`` is then the store's chunk size when the
        entry is created.

    Returns
    -------
    ndarray of float32, shape (n, n_features)
    """
    nsd = as_nsd(nsd_or_root)
    kw = check_extract_kwargs(extractor, extract_kwargs)
    ids = check_ids(nsd_ids, "nsd_ids")
    if ids.size == 0:
        raise DataValidationError("nsd_ids is empty")
    size = extractor.input_size if image_size is None else check_int(image_size, "image_size", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    raw = raw_features(nsd, ids, extractor, kw, image_size=size, batch_size=batch_size, chunk_size=chunk_size,
                        progress=progress, store=store)
    fit_missing_pca(extractor, raw, kw)
    return design_matrix(extractor, raw, kw)


__all__ = ["DEFAULT_CHUNK_SIZE", "nsd_image_features", "lookup_features", "raw_features", "design_matrix",
           "fit_missing_pca", "as_nsd", "check_ids"]

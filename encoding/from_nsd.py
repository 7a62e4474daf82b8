"""Fit one subject's encoding model straight from an NSD tree, scored on the shared1000.

:func:`fit_subject_encoder_from_nsd` is the NSD-facing convenience around
:class:`encoding.ridge.RidgeEncoder` and :class:`encoding.image_encoder.ImageEncoder`:

1. responses: the subject's betas through :class:`neurokit.datasets.NSD`,
   z-scored per vertex within each session and averaged over the repeats of
   each image (the standard preparation, REFERENCE section 1);
2. images -> features: the stimuli are streamed from ``nsd_stimuli.hdf5`` in
   chunks (never all 425 x 425 images in memory at once) through a
   :class:`~encoding.features.FeatureExtractor`, giving exactly the design
   matrix of :func:`encoding.image_encoder.image_features`; or precomputed
   features are looked up by NSD id;
3. a ridge regression (one alpha per vertex) on the training images (by
   default every image outside the shared1000);
4. held-out accuracy on the shared1000 images the subject saw: Pearson r per
   vertex and the noise-normalised accuracy ``100 r^2 / NC`` against the
   noise ceiling of those (repeat-averaged) test responses.

:func:`nsd_image_features` is step 2 on its own, for extracting features once
and fitting several subjects on them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from encoding.features.base import FeatureExtractor
from encoding.image_encoder import ImageEncoder, check_extract_kwargs
from encoding.ridge import DEFAULT_ALPHAS, RidgeEncoder
from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError
from neurokit.validation import check_int

#: Images read from the stimulus file and resized at a time.
DEFAULT_CHUNK_SIZE = 256


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class NSDEncoderInfo:
    """What :func:`fit_subject_encoder_from_nsd` fitted on and how well it predicts held-out images.

    Columns of the per-vertex arrays follow ``vertices`` (the encoder's outputs).

    Attributes
    ----------
    subject : int
        1-based NSD subject.
    level : int
        fsaverage level of ``vertices``.
    vertices : ndarray of int, shape (n_targets,)
        Column indices into the left-first ``2 * n_vertices(level)`` vertex space.
    train_ids, test_ids : ndarray of int
        0-based NSD ids of the training images and of the held-out shared1000
        images, sorted.
    n_features : int
        Columns of the design matrix.
    extract_kwargs : dict
        The feature definition (``layers``, ``pooling``, ``grid_size``, ``pca``);
        empty when precomputed features were used.
    image_size : int or None
        Side in pixels the stimuli were read at (None with precomputed features).
    test_r : ndarray of float64, shape (n_targets,)
        Pearson r between predicted and measured repeat-averaged test responses.
    noise_ceiling : ndarray of float32, shape (n_targets,)
        Noise ceiling of the test responses in percent of variance (NSD's
        formula with each test image's number of repeats; NaN where no image
        was repeated).
    noise_normalized : ndarray of float64, shape (n_targets,)
        ``100 * max(r, 0)^2 / NC`` in percent of the noise ceiling (NaN where
        the ceiling is 0 or unknown), see :func:`neurokit.metrics.noise_normalized_accuracy`.
    nan_vertices : ndarray of bool, shape (n_targets,)
        Vertices with NaN betas or zero variance in some session; their
        responses were set to 0 (the z-scored mean) before fitting, so the
        encoder predicts about 0 there and their ``test_r`` is 0.
    """

    subject: int
    level: int
    vertices: np.ndarray
    train_ids: np.ndarray
    test_ids: np.ndarray
    n_features: int
    extract_kwargs: dict[str, Any]
    image_size: int | None
    test_r: np.ndarray
    noise_ceiling: np.ndarray
    noise_normalized: np.ndarray
    nan_vertices: np.ndarray = field(repr=False)

    def summary(self, mask: np.ndarray | None = None) -> dict[str, float | int]:
        """Medians over vertices (all, or those in ``mask``), for reports and JSON.

        Parameters
        ----------
        mask : ndarray of bool, shape (n_targets,), optional
            Vertices to summarise (e.g. the visual ROIs, in the column order of
            :attr:`vertices`). Vertices in :attr:`nan_vertices` are always left out.

        Returns
        -------
        dict
            ``median_r``, ``median_noise_normalized`` (percent of the noise
            ceiling), ``median_noise_ceiling`` (percent), ``n_vertices``,
            ``n_train``, ``n_test``.
        """
        keep = ~self.nan_vertices
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != self.test_r.shape:
                raise DataValidationError(
                    f"mask must be a boolean array of shape {self.test_r.shape} (one entry per encoder output), "
                    f"got {mask.dtype} {mask.shape}"
                )
            keep = keep & mask
        if not keep.any():
            raise DataValidationError("summary: no vertex left (mask empty or all vertices NaN)")

        def med(a: np.ndarray) -> float:
            a = a[keep]
            return float(np.nanmedian(a)) if np.isfinite(a).any() else float("nan")

        return {
            "median_r": med(self.test_r),
            "median_noise_normalized": med(self.noise_normalized),
            "median_noise_ceiling": med(self.noise_ceiling.astype(np.float64)),
            "n_vertices": int(keep.sum()),
            "n_train": int(self.train_ids.size),
            "n_test": int(self.test_ids.size),
        }


# ------------------------------------------------------------------------------------ helpers
def _as_nsd(nsd_or_root: Any):
    from neurokit.datasets.nsd import NSD

    if isinstance(nsd_or_root, NSD):
        return nsd_or_root
    if isinstance(nsd_or_root, (str, os.PathLike)):
        return NSD(nsd_or_root)
    raise InvalidParameterError(
        f"nsd_or_root must be a neurokit.datasets.NSD or the path of an NSD root, got {type(nsd_or_root).__name__}"
    )


def _check_ids(ids: Any, name: str) -> np.ndarray:
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


def _raw_features(nsd: Any, nsd_ids: np.ndarray, extractor: FeatureExtractor, kw: Mapping[str, Any], *,
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


def _design_matrix(extractor: FeatureExtractor, raw: Mapping[str, np.ndarray], kw: Mapping[str, Any]) -> np.ndarray:
    """Layers side by side (PCA-reduced with the extractor's stored PCA when ``kw['pca']``)."""
    feats = extractor.transform_pca(raw) if kw["pca"] is not None else raw
    return np.concatenate([feats[layer] for layer in kw["layers"]], axis=1).astype(np.float32, copy=False)


def _fit_missing_pca(extractor: FeatureExtractor, raw: Mapping[str, np.ndarray], kw: Mapping[str, Any]) -> None:
    if kw["pca"] is None:
        return
    missing = [layer for layer in kw["layers"] if layer not in extractor.pca_]
    if missing:
        extractor.fit_pca({layer: raw[layer] for layer in missing}, kw["pca"])


def _lookup_features(features: Any, nsd_ids: np.ndarray) -> np.ndarray:
    """Rows of precomputed ``(ids, X)`` for ``nsd_ids``."""
    if not (isinstance(features, tuple) and len(features) == 2):
        raise InvalidParameterError("features must be a pair (nsd_ids, X) of precomputed image features")
    ids = _check_ids(features[0], "features[0] (nsd_ids)")
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


def _train_test_rows(
    nsd_ids: np.ndarray, shared: np.ndarray, train: Any, subject: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (of the sorted, repeat-averaged responses) used for training and for the held-out test."""
    test_rows = np.flatnonzero(shared)
    if isinstance(train, str):
        if train != "non-shared":
            raise InvalidParameterError(f"train must be 'non-shared' or a sequence of NSD ids, got {train!r}")
        train_rows = np.flatnonzero(~shared)
    else:
        ids = np.unique(_check_ids(train, "train"))
        pos = np.searchsorted(nsd_ids, ids)
        seen = (pos < nsd_ids.size) & (nsd_ids[np.minimum(pos, nsd_ids.size - 1)] == ids)
        if not seen.all():
            raise DataValidationError(
                f"train: subject {subject} did not see {int((~seen).sum())} of these NSD ids "
                f"(e.g. {ids[~seen][:5].tolist()}) in the sessions read"
            )
        if shared[pos].any():
            raise DataValidationError(
                f"train: {int(shared[pos].sum())} ids are shared1000 images, which are the held-out test set"
            )
        train_rows = pos
    for rows, what in ((train_rows, "training"), (test_rows, "held-out shared1000")):
        if rows.size < 2:
            raise DataValidationError(
                f"subject {subject}: {rows.size} {what} image(s) in the sessions read; at least 2 are needed"
            )
    return train_rows, test_rows


def _fit_ready(resp: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(Y, nan_vertices)``: the responses with NaN vertices set to 0 (the z-scored mean), in place."""
    Y = resp.data
    nan_vertices = resp.nan_vertices | ~np.isfinite(Y).all(axis=0)
    if nan_vertices.any():
        Y[:, nan_vertices] = 0.0  # reported in info.nan_vertices
    return Y, nan_vertices


def noise_normalized(r: np.ndarray, noise_ceiling: np.ndarray) -> np.ndarray:
    """Held-out accuracy in percent of the noise ceiling, NaN where the ceiling is unknown.

    Parameters
    ----------
    r : ndarray of shape (n_targets,)
        Pearson r per vertex on the held-out images.
    noise_ceiling : ndarray of shape (n_targets,)
        Noise ceiling in percent of variance (NaN where no image was repeated).

    Returns
    -------
    ndarray of float64, shape (n_targets,)
        ``100 * max(r, 0)^2 / NC`` (see :func:`neurokit.metrics.noise_normalized_accuracy`).
    """
    from neurokit.metrics import noise_normalized_accuracy

    nc = np.asarray(noise_ceiling)
    nna = np.asarray(noise_normalized_accuracy(r, np.where(np.isfinite(nc), nc, 0.0)), dtype=np.float64)
    nna[~np.isfinite(nc)] = np.nan
    return nna


class NSDTargets:
    """One NSD subject's responses as a target source that reads a chunk of vertices at a time.

    For :func:`encoding.streaming.fit_streaming_ridge`: every chunk goes
    through :meth:`neurokit.datasets.NSD.responses` (z-score per vertex within
    each session, average the repeats, noise ceiling from the repeats), with
    ``mask`` set to the chunk, so a streamed fit sees exactly the data of
    :func:`fit_subject_encoder_from_nsd`, split into training images and the
    held-out shared1000 the same way.

    Parameters
    ----------
    nsd_or_root : neurokit.datasets.NSD or path-like
    subject : int
        1-based subject.
    features : (nsd_ids, X)
        Precomputed features covering every image of the subject's sessions.
    level, rois, mask, sessions, train
        As in :func:`fit_subject_encoder_from_nsd` (``mask``: as in ``NSD.responses``).

    Attributes
    ----------
    X_train : ndarray of float32, shape (n_train, n_features)
    X_test : ndarray of float32, shape (n_test, n_features)
        Features of the training images and of the held-out shared1000 images.
    train_ids, test_ids : ndarray of int
        Their 0-based NSD ids.
    level : int
    vertices : ndarray of int, shape (n_targets,)
        The vertices fitted (columns of the result), left-first.
    n_targets : int
    n_train, n_test : int
        Rows of the chunks' ``train`` and ``test`` arrays.

    Notes
    -----
    Memory of one :meth:`read` of ``c`` vertices: about
    :meth:`bytes_per_target` ``* c`` bytes (one session of the chunk, the
    repeat-averaged chunk and its training/test copies), plus the span of
    vertices between the chunk's first and last (scattered ROI selections read
    the whole span of a session).
    """

    def __init__(
        self,
        nsd_or_root: Any,
        subject: int,
        features: tuple[np.ndarray, np.ndarray],
        *,
        level: int | None = None,
        rois: str | Sequence[str] | None = None,
        mask: np.ndarray | None = None,
        sessions: Sequence[int] | None = None,
        train: str | Sequence[int] | np.ndarray = "non-shared",
    ) -> None:
        self.nsd = _as_nsd(nsd_or_root)
        self.subject = check_int(subject, "subject", minimum=1)
        self.level, self.vertices = self.nsd.vertex_selection(self.subject, level=level, mask=mask, rois=rois)
        self.sessions = sorted({int(s) for s in (self.nsd.sessions(self.subject) if sessions is None else sessions)})
        info = self.nsd.trials(self.subject, self.sessions)
        self.nsd_ids, self._counts = np.unique(info["nsd_id"], return_counts=True)
        self.trials_per_session = info["trial"].size // len(self.sessions)
        shared = np.isin(self.nsd_ids, self.nsd.shared1000)
        self.train_rows, self.test_rows = _train_test_rows(self.nsd_ids, shared, train, self.subject)
        self.train_ids = self.nsd_ids[np.sort(self.train_rows)]
        self.test_ids = self.nsd_ids[self.test_rows]
        self.X_train = _lookup_features(features, self.nsd_ids[self.train_rows])
        self.X_test = _lookup_features(features, self.test_ids)

    @property
    def n_targets(self) -> int:
        return int(self.vertices.size)

    @property
    def n_train(self) -> int:
        return int(self.train_rows.size)

    @property
    def n_test(self) -> int:
        return int(self.test_rows.size)

    def bytes_per_target(self) -> int:
        """Bytes a :meth:`read` holds per vertex of the chunk (float32 data and float64 temporaries)."""
        per_session = self.trials_per_session * (4 + 4 + 8 + 4 + 1)  # betas, squares, float64 squares, sums, mask
        return per_session + self.nsd_ids.size * 4 + (self.n_train + self.n_test) * 4

    def describe(self) -> dict[str, Any]:
        """What is read, as JSON (stored with a streamed result and checked on resume)."""
        return {
            "source": "NSD",
            "root": str(self.nsd.root.resolve()),
            "subject": self.subject,
            "level": int(self.level),
            "sessions": self.sessions,
            "n_targets": self.n_targets,
            "n_train": self.n_train,
            "n_test": self.n_test,
        }

    def read(self, start: int, stop: int):
        """Targets ``start:stop`` (positions in :attr:`vertices`), prepared as in the in-memory fit.

        Returns
        -------
        encoding.streaming.TargetChunk
            ``train`` (n_train, c) and ``test`` (n_test, c) float32 responses
            (NaN vertices set to 0), and per-vertex ``noise_ceiling`` (percent,
            of the test responses), ``ncsnr`` and ``nan_vertices``.
        """
        from neurokit.metrics import ncsnr_to_noise_ceiling
        from neurokit.mesh.levels import n_vertices

        from encoding.streaming import TargetChunk

        mask = np.zeros(2 * n_vertices(self.level), dtype=bool)
        mask[self.vertices[start:stop]] = True
        resp = self.nsd.responses(self.subject, level=self.level, mask=mask, sessions=self.sessions)
        if not np.array_equal(resp.nsd_ids, self.nsd_ids):
            raise DataValidationError(f"subject {self.subject}: the images read changed while streaming")
        Y, nan_vertices = _fit_ready(resp)
        extras = {
            "noise_ceiling": ncsnr_to_noise_ceiling(resp.ncsnr, resp.n_repeats[self.test_rows]).astype(np.float32),
            "ncsnr": resp.ncsnr,
            "nan_vertices": nan_vertices,
        }
        return TargetChunk(Y[self.train_rows], Y[self.test_rows], extras)


# ------------------------------------------------------------------------------------ public API
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
    nsd = _as_nsd(nsd_or_root)
    kw = check_extract_kwargs(extractor, extract_kwargs)
    ids = _check_ids(nsd_ids, "nsd_ids")
    if ids.size == 0:
        raise DataValidationError("nsd_ids is empty")
    size = extractor.input_size if image_size is None else check_int(image_size, "image_size", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    raw = _raw_features(nsd, ids, extractor, kw, image_size=size, batch_size=batch_size, chunk_size=chunk_size,
                        progress=progress, store=store)
    _fit_missing_pca(extractor, raw, kw)
    return _design_matrix(extractor, raw, kw)


def fit_subject_encoder_from_nsd(
    nsd_or_root: Any,
    subject: int,
    *,
    extractor: FeatureExtractor | None = None,
    extract_kwargs: Mapping[str, Any] | None = None,
    features: tuple[np.ndarray, np.ndarray] | None = None,
    level: int | None = None,
    rois: str | Sequence[str] | None = None,
    sessions: Sequence[int] | None = None,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    train: str | Sequence[int] | np.ndarray = "non-shared",
    image_size: int | None = None,
    as_module: bool = False,
    batch_size: int = 32,
    device: str = "cpu",
    progress: bool = True,
    store: Any = None,
) -> tuple[RidgeEncoder | ImageEncoder, NSDEncoderInfo]:
    """Fit a subject's ridge encoder on its NSD images and score it on the shared1000.

    Parameters
    ----------
    nsd_or_root : neurokit.datasets.NSD or path-like
        The dataset (a real NSD copy, or a simulated cohort written with
        :meth:`encoding.simulation.Cohort.write`), or its root folder.
    subject : int
        1-based subject number.
    extractor : FeatureExtractor, optional
        Image features; default ``EfficientNetLite0Extractor(input_size=image_size or 224)``
        on ``device``. With ``extract_kwargs["pca"]`` and no stored PCA, the
        extractor's per-layer PCA is fitted on the *training* images only.
    extract_kwargs : mapping, optional
        ``layers``, ``pooling``, ``grid_size``, ``pca`` (see
        :func:`encoding.image_encoder.image_features`); for a simulated cohort
        ``cohort.features.extract_kwargs`` is the feature space of its ground truth.
    features : (nsd_ids, X), optional
        Precomputed features: ``nsd_ids`` of shape (m,) and ``X`` of shape
        (m, n_features) covering every image used. The stimuli are then not
        read, and ``extractor``/``extract_kwargs`` only serve ``as_module``.
    level : int, optional
        fsaverage level to read (default: the files' level).
    rois : str or sequence of str, optional
        Fit only the vertices of these ROIs (e.g. ``"nsdgeneral"``).
    sessions : sequence of int, optional
        1-based sessions to read (default: all).
    alphas : sequence of float
        Candidate ridge penalties; each vertex gets its own by generalised
        cross-validation on the training images.
    train : 'non-shared' or sequence of int
        Training images: every image of the subject outside the shared1000
        (default), or these 0-based NSD ids (a subset of the subject's
        non-shared images, e.g. to study how accuracy grows with data).
    image_size : int, optional
        Side in pixels the stimuli are read at; default the extractor's input size.
    as_module : bool
        Return the differentiable :class:`ImageEncoder` (pixels -> responses,
        for NeuroGen) instead of the :class:`RidgeEncoder` (features -> responses).
    batch_size : int
        Images per forward pass of the extractor.
    device : str
        Torch device of the ridge solver and of the default extractor (e.g.
        ``"cuda"``); a given ``extractor`` stays where it is.
    progress : bool
        Show progress bars (reading, features, ridge).
    store : encoding.feature_store.FeatureStore or path-like, optional
        Take the image features from this feature store (computed once,
        resumable; see :func:`nsd_image_features`).

    Returns
    -------
    encoder : RidgeEncoder or ImageEncoder
        Outputs ``(n, n_targets)``: z-scored responses on ``info.vertices``.
    info : NSDEncoderInfo
        Images used, per-vertex held-out r, noise ceiling and noise-normalised accuracy.

    Raises
    ------
    DatasetNotFoundError, FileFormatError
        Missing or unreadable NSD files.
    DataValidationError
        ``train`` ids the subject did not see, or that are in the shared1000;
        fewer than 2 training or test images; precomputed features missing ids.
    InvalidParameterError
        Bad ``train``, ``extract_kwargs``, ``image_size`` or ``batch_size``.

    Examples
    --------
    >>> enc, info = fit_subject_encoder_from_nsd("/data/nsd", 1, level=5, rois="nsdgeneral")  # doctest: +SKIP
    >>> info.summary()["median_noise_normalized"]                                            # doctest: +SKIP
    """
    from neurokit.metrics import ncsnr_to_noise_ceiling, pearson_r

    nsd = _as_nsd(nsd_or_root)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if image_size is not None:
        image_size = check_int(image_size, "image_size", minimum=1)
    if as_module and features is not None and extractor is None:
        raise InvalidParameterError(
            "as_module=True with precomputed features needs the extractor (and extract_kwargs) they were computed with"
        )
    if extractor is None and (features is None or as_module):
        from encoding.features.efficientnet import EfficientNetLite0Extractor

        extractor = EfficientNetLite0Extractor(input_size=image_size or 224, device=device)
    kw = check_extract_kwargs(extractor, extract_kwargs) if extractor is not None else {}

    # responses: z-scored per session, averaged over repeats
    resp = nsd.responses(subject, level=level, rois=rois, sessions=sessions, progress=progress)
    train_rows, test_rows = _train_test_rows(resp.nsd_ids, resp.shared, train, subject)
    Y, nan_vertices = _fit_ready(resp)

    # features (training rows first, so a PCA is fitted on training images only)
    rows = np.concatenate([train_rows, test_rows])
    ids = resp.nsd_ids[rows]
    if features is not None:
        X = _lookup_features(features, ids)
        size = None
    else:
        size = extractor.input_size if image_size is None else image_size
        raw = _raw_features(nsd, ids, extractor, kw, image_size=size, batch_size=batch_size,
                            chunk_size=DEFAULT_CHUNK_SIZE, progress=progress, store=store)
        _fit_missing_pca(extractor, {k: v[: train_rows.size] for k, v in raw.items()}, kw)
        X = _design_matrix(extractor, raw, kw)
        del raw
    X_train, X_test = X[: train_rows.size], X[train_rows.size :]

    ridge = RidgeEncoder(alphas=alphas, device=device, verbose=progress).fit(X_train, Y[train_rows])
    pred = ridge.predict(X_test)
    r = pearson_r(Y[test_rows], pred)
    nc = ncsnr_to_noise_ceiling(resp.ncsnr, resp.n_repeats[test_rows]).astype(np.float32)
    nna = noise_normalized(r, nc)
    info = NSDEncoderInfo(
        subject=int(subject),
        level=int(resp.level),
        vertices=resp.vertices,
        train_ids=resp.nsd_ids[np.sort(train_rows)],
        test_ids=resp.nsd_ids[test_rows],
        n_features=int(X.shape[1]),
        extract_kwargs=dict(kw, layers=list(kw["layers"])) if kw and features is None else {},
        image_size=size,
        test_r=np.asarray(r, dtype=np.float64),
        noise_ceiling=nc,
        noise_normalized=np.asarray(nna, dtype=np.float64),
        nan_vertices=nan_vertices,
    )
    encoder: RidgeEncoder | ImageEncoder = ImageEncoder(extractor, kw, ridge) if as_module else ridge
    return encoder, info


__all__ = [
    "fit_subject_encoder_from_nsd",
    "nsd_image_features",
    "NSDEncoderInfo",
    "NSDTargets",
    "noise_normalized",
    "DEFAULT_CHUNK_SIZE",
]

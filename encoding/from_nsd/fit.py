"""Fit one subject's ridge encoder straight from an NSD tree, scored on the shared1000.

See :mod:`encoding.from_nsd` for the steps; :class:`NSDEncoderInfo` is what
the fit reports per vertex (held-out r, noise ceiling, noise-normalised accuracy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from encoding.features.base import FeatureExtractor
from encoding.from_nsd.responses import fit_ready, train_test_rows
from encoding.from_nsd.stimulus_features import (
    DEFAULT_CHUNK_SIZE,
    as_nsd,
    design_matrix,
    fit_missing_pca,
    lookup_features,
    raw_features,
)
from encoding.image_encoder import ImageEncoder, check_extract_kwargs
from encoding.ridge import DEFAULT_ALPHAS, RidgeEncoder
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_int


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

    nsd = as_nsd(nsd_or_root)
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
    train_rows, test_rows = train_test_rows(resp.nsd_ids, resp.shared, train, subject)
    Y, nan_vertices = fit_ready(resp)

    # features (training rows first, so a PCA is fitted on training images only)
    rows = np.concatenate([train_rows, test_rows])
    ids = resp.nsd_ids[rows]
    if features is not None:
        X = lookup_features(features, ids)
        size = None
    else:
        size = extractor.input_size if image_size is None else image_size
        raw = raw_features(nsd, ids, extractor, kw, image_size=size, batch_size=batch_size,
                            chunk_size=DEFAULT_CHUNK_SIZE, progress=progress, store=store)
        fit_missing_pca(extractor, {k: v[: train_rows.size] for k, v in raw.items()}, kw)
        X = design_matrix(extractor, raw, kw)
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


__all__ = ["NSDEncoderInfo", "fit_subject_encoder_from_nsd", "noise_normalized"]

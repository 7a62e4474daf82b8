"""Scores of encoding and decoding models: correlation, R², noise ceilings, identification.

Every function works per target (vertex, feature) on arrays shaped
``(n_samples, n_targets)`` and is vectorised. :func:`pearson_r` and
:func:`r2_score` also accept torch tensors and then return a (differentiable)
tensor, so they can serve as training losses; numpy inputs give float64
numpy results.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np

from neurokit.exceptions import DataValidationError
from neurokit.validation import check_option

__all__ = [
    "pearson_r",
    "r2_score",
    "NoiseCeiling",
    "noise_ceiling",
    "ncsnr_to_noise_ceiling",
    "noise_normalized_accuracy",
    "TwoWayIdentification",
    "two_way_identification",
]


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _pair(y_true: Any, y_pred: Any, name: str) -> tuple[Any, Any, bool]:
    torch_in = _is_torch(y_true) or _is_torch(y_pred)
    if torch_in:
        import torch

        ref = y_true if _is_torch(y_true) else y_pred
        y_true = torch.as_tensor(y_true, device=ref.device)
        y_pred = torch.as_tensor(y_pred, device=ref.device)
        if not y_true.is_floating_point():
            y_true = y_true.float()
        y_pred = y_pred.to(y_true.dtype)
    else:
        y_true = np.asarray(y_true, dtype=np.float64)
        y_pred = np.asarray(y_pred, dtype=np.float64)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise DataValidationError(
            f"{name}: y_true and y_pred must have the same shape, got {tuple(y_true.shape)} and {tuple(y_pred.shape)}"
        )
    if y_true.ndim == 1:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    if y_true.ndim != 2:
        raise DataValidationError(f"{name}: expected (n_samples, n_targets) arrays, got shape {tuple(y_true.shape)}")
    if y_true.shape[0] < 2:
        raise DataValidationError(f"{name}: needs at least 2 samples, got {y_true.shape[0]}")
    return y_true, y_pred, torch_in


def _squeeze(result: Any, was_1d: bool) -> Any:
    return result[0] if was_1d else result


def pearson_r(
    y_true: Any, y_pred: Any, *, zero_variance: Literal["zero", "nan"] = "zero"
) -> Any:
    """Pearson correlation between true and predicted values, per target.

    Parameters
    ----------
    y_true, y_pred : array-like or torch.Tensor of shape (n_samples, n_targets) or (n_samples,)
        Measured and predicted responses (any units; the score is unitless).
    zero_variance : {'zero', 'nan'}, default 'zero'
        Value for targets where either column is constant (the correlation is
        undefined). ``'zero'`` (the default) treats them as carrying no linear
        relation, so averages over vertices are not poisoned by NaN; ``'nan'``
        matches :func:`scipy.stats.pearsonr`.

    Returns
    -------
    ndarray of shape (n_targets,) (float64) or torch.Tensor, or a scalar for 1-D input
        Correlation in [-1, 1].

    Notes
    -----
    Computed from centred columns as ``sum(a b) / sqrt(sum(a²) sum(b²))``;
    NaN in the inputs propagate to the targets they occur in.
    """
    was_1d = np.ndim(y_true) == 1 if not _is_torch(y_true) else y_true.ndim == 1
    check_option(zero_variance, "zero_variance", ("zero", "nan"))
    a, b, torch_in = _pair(y_true, y_pred, "pearson_r")
    a = a - a.mean(0)
    b = b - b.mean(0)
    if torch_in:
        num, ss_a, ss_b = (a * b).sum(0), (a * a).sum(0), (b * b).sum(0)
    else:
        num = np.einsum("ij,ij->j", a, b)
        ss_a, ss_b = np.einsum("ij,ij->j", a, a), np.einsum("ij,ij->j", b, b)
    fill = 0.0 if zero_variance == "zero" else float("nan")
    if torch_in:
        import torch

        scale = torch.finfo(a.dtype).eps * a.shape[0]
        const = (ss_a <= scale * a.abs().amax(0) ** 2) | (ss_b <= scale * b.abs().amax(0) ** 2)
        denom = torch.sqrt(torch.where(const, torch.ones_like(ss_a), ss_a * ss_b))
        r = torch.where(const, torch.full_like(num, fill), num / denom)
        return _squeeze(r.clamp(-1.0, 1.0), was_1d)
    scale = np.finfo(np.float64).eps * a.shape[0]
    with np.errstate(invalid="ignore"):
        const = (ss_a <= scale * np.abs(a).max(0) ** 2) | (ss_b <= scale * np.abs(b).max(0) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(const, fill, num / np.sqrt(np.where(const, 1.0, ss_a * ss_b)))
    return _squeeze(np.clip(r, -1.0, 1.0), was_1d)


def r2_score(y_true: Any, y_pred: Any) -> Any:
    """Coefficient of determination per target, ``1 - SS_res / SS_tot``.

    Parameters
    ----------
    y_true, y_pred : array-like or torch.Tensor of shape (n_samples, n_targets) or (n_samples,)

    Returns
    -------
    ndarray of shape (n_targets,) (float64) or torch.Tensor, or a scalar for 1-D input
        At most 1; negative when the prediction is worse than the mean.
        Targets whose ``y_true`` is constant score 1.0 if predicted exactly and
        0.0 otherwise (scikit-learn's ``force_finite`` convention).
    """
    was_1d = np.ndim(y_true) == 1 if not _is_torch(y_true) else y_true.ndim == 1
    a, b, torch_in = _pair(y_true, y_pred, "r2_score")
    ss_res = ((a - b) ** 2).sum(0)
    ss_tot = ((a - a.mean(0)) ** 2).sum(0)
    if torch_in:
        import torch

        const = ss_tot == 0
        r2 = 1.0 - ss_res / torch.where(const, torch.ones_like(ss_tot), ss_tot)
        r2 = torch.where(const, (ss_res == 0).to(r2.dtype), r2)
        return _squeeze(r2, was_1d)
    const = ss_tot == 0
    r2 = 1.0 - ss_res / np.where(const, 1.0, ss_tot)
    r2 = np.where(const, (ss_res == 0).astype(np.float64), r2)
    return _squeeze(r2, was_1d)


class NoiseCeiling(NamedTuple):
    """Result of :func:`noise_ceiling`.

    Attributes
    ----------
    ncsnr : ndarray of shape (n_targets,)
        Noise-ceiling signal-to-noise ratio (signal sd / noise sd).
    percent : ndarray of shape (n_targets,)
        Noise ceiling in percent of explainable variance (0..100) for
        responses averaged over ``n_average`` repeats.
    """

    ncsnr: np.ndarray
    percent: np.ndarray


def ncsnr_to_noise_ceiling(ncsnr: Any, n_average: float | Any = 3) -> np.ndarray:
    """Noise ceiling in percent from the noise-ceiling SNR (NSD's formula).

    ``NC = 100 * ncsnr² / (ncsnr² + 1 / n)``, where ``1 / n`` is the mean of
    ``1 / n_i`` over test images when they are averaged over different numbers
    of repeats ``n_i`` (NSD: ``(A/3 + B/2 + C/1) / (A + B + C)``).

    Parameters
    ----------
    ncsnr : array-like of shape (n_targets,)
        Non-negative SNR, e.g. from :func:`noise_ceiling` or NSD's ``ncsnr.mgh``.
    n_average : float or array-like of shape (n_images,), default 3
        Repeats averaged per test response: one number for all images, or the
        count per image.

    Returns
    -------
    ndarray of float64, shape (n_targets,)
        Percent of variance explainable, in [0, 100]: 100 where ``ncsnr`` is
        infinite (noise-free repeats), NaN where it is NaN (no repeats).

    Raises
    ------
    DataValidationError
        If ``ncsnr`` is negative or ``n_average`` is not a count >= 1 (or a
        non-empty 1-D array of such counts).

    Notes
    -----
    This is the one implementation of the formula: NSD's reader
    (:meth:`neurokit.datasets.NSD.responses`) and :func:`noise_ceiling` use it.
    """
    ncsnr = np.asarray(ncsnr, dtype=np.float64)
    if np.any(ncsnr < 0):
        raise DataValidationError("ncsnr: must be non-negative")
    counts = np.atleast_1d(np.asarray(n_average, dtype=np.float64))
    if counts.ndim != 1 or counts.size == 0 or np.any(~np.isfinite(counts)) or np.any(counts < 1):
        raise DataValidationError(f"n_average: expected a count >= 1 or a 1-D array of counts, got {n_average!r}")
    inv_n = float(np.mean(1.0 / counts))
    s2 = ncsnr**2
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(s2), 100.0, 100.0 * s2 / (s2 + inv_n))


def noise_ceiling(
    betas: Any, *, n_average: float | Any | None = None, standardize: bool = True
) -> NoiseCeiling:
    """Noise ceiling from repeated presentations (NSD's ncsnr method).

    Per target, with betas z-scored, the noise variance is the mean over
    images of the variance across repeats of one image (``ddof=1``), and

    ``ncsnr = sqrt(max(0, 1 - var_noise)) / sqrt(var_noise)``,
    ``NC = 100 * ncsnr² / (ncsnr² + 1/n)`` percent.

    Parameters
    ----------
    betas : array-like of shape (n_images, n_repeats, n_targets)
        Single-trial responses grouped by image; NaN marks a missing repeat
        (images seen fewer times). Images with fewer than two repeats do not
        enter the noise estimate.
    n_average : float or array-like of shape (n_images,), optional
        Repeats averaged per response in the data the ceiling is for. By
        default the number of non-NaN repeats of each image in ``betas``
        (the ceiling for trial-averaged responses of these same images); use
        ``1`` for single-trial data.
    standardize : bool, default True
        z-score each target over all its trials first. NSD recommends z-scoring
        within each session *before* grouping by image; do that yourself and
        the extra global z-scoring here is harmless. With ``False`` the betas
        must already have unit variance for the formula to hold.

    Returns
    -------
    NoiseCeiling
        ``(ncsnr, percent)``, each of shape (n_targets,).

    Raises
    ------
    DataValidationError
        If the shape is wrong or no image has two repeats for some target.
    """
    x = np.asarray(betas, dtype=np.float64)
    if x.ndim != 3:
        raise DataValidationError(f"betas: expected shape (n_images, n_repeats, n_targets), got {x.shape}")
    if x.shape[1] < 2:
        raise DataValidationError(f"betas: need at least 2 repeats per image, got n_repeats={x.shape[1]}")
    if np.isinf(x).any():
        raise DataValidationError("betas: contains infinite values; use NaN for missing repeats")
    present = ~np.isnan(x)
    x0 = np.where(present, x, 0.0)
    if standardize:
        count = present.sum((0, 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = x0.sum((0, 1)) / count
            x0 -= mean
            x0 *= present
            sd = np.sqrt(np.einsum("irt,irt->t", x0, x0) / count)
            x0 /= np.where(sd > 0, sd, np.nan)
        x0 = np.where(present, x0, 0.0)
    n_rep = present.sum(1)  # (n_images, n_targets)
    usable = n_rep >= 2
    if not usable.any(0).all():
        bad = int(np.flatnonzero(~usable.any(0))[0])
        raise DataValidationError(f"betas: target {bad} has no image with two or more non-NaN repeats")
    with np.errstate(invalid="ignore", divide="ignore"):
        image_mean = x0.sum(1) / np.maximum(n_rep, 1)
        resid = (x0 - image_mean[:, None, :]) * present
        var_within = np.einsum("irt,irt->it", resid, resid) / np.maximum(n_rep - 1, 1)
        noise_var = np.where(usable, var_within, 0.0).sum(0) / usable.sum(0)
        ncsnr = np.sqrt(np.maximum(0.0, 1.0 - noise_var)) / np.sqrt(noise_var)
    ncsnr = np.where(np.isfinite(ncsnr), ncsnr, 0.0)
    if n_average is None:
        counts = n_rep.max(1)  # repeats shown per image (max over targets: NaN betas are per vertex)
        counts = counts[counts >= 1]
        n_average = counts if counts.size else 1
    return NoiseCeiling(ncsnr=ncsnr, percent=ncsnr_to_noise_ceiling(ncsnr, n_average))


def noise_normalized_accuracy(r: Any, noise_ceiling: Any, *, ceiling_in_percent: bool = True) -> np.ndarray:
    """Algonauts 2023 score: explained variance as a percentage of the noise ceiling.

    ``100 * max(r, 0)² / NC`` with ``NC`` as a fraction, per target.

    Parameters
    ----------
    r : array-like of shape (n_targets,)
        Pearson correlation per target (e.g. from :func:`pearson_r`).
    noise_ceiling : array-like of shape (n_targets,)
        Noise ceiling per target, in percent (as :func:`noise_ceiling`
        returns) or as a fraction with ``ceiling_in_percent=False``.
    ceiling_in_percent : bool, default True
        Units of ``noise_ceiling``.

    Returns
    -------
    ndarray of shape (n_targets,)
        Percent of the noise ceiling explained (can exceed 100 where the
        ceiling is underestimated). Targets with a zero ceiling give NaN, so
        take ``np.nanmedian``/``np.nanmean`` over targets (Algonauts reports
        the median over vertices).
    """
    r = np.asarray(r, dtype=np.float64) if not _is_torch(r) else r.detach().cpu().double().numpy()
    nc = np.asarray(noise_ceiling, dtype=np.float64)
    if r.shape != nc.shape:
        raise DataValidationError(f"r and noise_ceiling must have the same shape, got {r.shape} and {nc.shape}")
    if np.any(nc < 0) or np.any(nc > (100.0 if ceiling_in_percent else 1.0)):
        unit = "percent (0..100)" if ceiling_in_percent else "a fraction (0..1)"
        raise DataValidationError(f"noise_ceiling: values must be {unit}; set ceiling_in_percent accordingly")
    fraction = nc / 100.0 if ceiling_in_percent else nc
    explained = np.clip(r, 0.0, None) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(fraction > 0, 100.0 * explained / np.where(fraction > 0, fraction, 1.0), np.nan)


class TwoWayIdentification(NamedTuple):
    """Result of :func:`two_way_identification`.

    Attributes
    ----------
    per_sample : ndarray of shape (n_samples,)
        For each sample, the fraction of the other samples' true features that
        are less similar to its prediction than its own true features.
    mean : float
        Mean of ``per_sample`` (0.5 is chance, 1.0 perfect).
    """

    per_sample: np.ndarray
    mean: float


def _similarity(pred: np.ndarray, true: np.ndarray, metric: str) -> np.ndarray:
    if metric == "correlation":
        pred = pred - pred.mean(1, keepdims=True)
        true = true - true.mean(1, keepdims=True)
    if metric in ("correlation", "cosine"):
        pn = np.linalg.norm(pred, axis=1, keepdims=True)
        tn = np.linalg.norm(true, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (pred / pn) @ (true / tn).T
    # euclidean: similarity is minus the distance
    sq = (pred**2).sum(1)[:, None] + (true**2).sum(1)[None, :] - 2.0 * pred @ true.T
    return -np.sqrt(np.maximum(sq, 0.0))


def two_way_identification(
    pred_features: Any, true_features: Any, metric: Literal["correlation", "cosine", "euclidean"] = "correlation"
) -> TwoWayIdentification:
    """Two-way identification accuracy of predicted features (MindEye / Brain-Diffuser convention).

    For sample ``i``, every other sample ``j`` is a two-way trial: it is
    correct when ``sim(pred_i, true_i) > sim(pred_i, true_j)`` (ties count as
    wrong). The per-sample score is the fraction of the ``n - 1`` trials that
    are correct.

    Parameters
    ----------
    pred_features, true_features : array-like or torch.Tensor of shape (n_samples, ...)
        Features of reconstructions and of the seen images (e.g. network
        activations); trailing dimensions are flattened.
    metric : {'correlation', 'cosine', 'euclidean'}, default 'correlation'
        Similarity: Pearson correlation across features (the convention of
        the papers), cosine similarity, or minus the Euclidean distance.

    Returns
    -------
    TwoWayIdentification
        ``(per_sample, mean)``.
    """
    check_option(metric, "metric", ("correlation", "cosine", "euclidean"))

    def as_np(x: Any, name: str) -> np.ndarray:
        x = x.detach().cpu().double().numpy() if _is_torch(x) else np.asarray(x, dtype=np.float64)
        if x.ndim < 2:
            raise DataValidationError(f"{name}: expected shape (n_samples, n_features, ...), got {x.shape}")
        return x.reshape(x.shape[0], -1)

    pred = as_np(pred_features, "pred_features")
    true = as_np(true_features, "true_features")
    if pred.shape != true.shape:
        raise DataValidationError(
            f"pred_features and true_features must have the same shape, got {pred.shape} and {true.shape}"
        )
    n = pred.shape[0]
    if n < 2:
        raise DataValidationError(f"two_way_identification: needs at least 2 samples, got {n}")
    sim = _similarity(pred, true, metric)
    if not np.isfinite(sim).all():
        raise DataValidationError(
            "two_way_identification: similarities are not finite (constant or zero feature vectors, or NaN input)"
        )
    own = np.diag(sim)[:, None]
    correct = (sim < own).sum(1)  # the diagonal is never < itself
    per_sample = correct / (n - 1)
    return TwoWayIdentification(per_sample=per_sample, mean=float(per_sample.mean()))

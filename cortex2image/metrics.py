"""Reconstruction metrics as the field computes them (Brain-Diffuser / MindEye code).

All functions take images as float arrays ``(n, H, W, 3)`` in [0, 1] (or
``(n, H, W)`` grayscale) and return one value per image, so callers can
average, bootstrap or compare against a shuffled-pairs baseline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from skimage.color import rgb2gray
from skimage.metrics import structural_similarity
from skimage.transform import resize

from cortex2image.baselines import derangement
from neurokit.exceptions import DataValidationError, ImageShapeError
from neurokit.metrics import pearson_r, two_way_identification


def _check_pair(true_images: np.ndarray, recon_images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    true_images = np.asarray(true_images, dtype=np.float64)
    recon_images = np.asarray(recon_images, dtype=np.float64)
    for name, arr in (("true_images", true_images), ("recon_images", recon_images)):
        if arr.ndim not in (3, 4) or (arr.ndim == 4 and arr.shape[-1] != 3):
            raise ImageShapeError(f"{name}: expected (n, H, W, 3) or (n, H, W), got shape {arr.shape}")
        if not np.isfinite(arr).all():
            raise DataValidationError(f"{name}: contains NaN or infinite pixel values")
    if true_images.ndim != recon_images.ndim:
        raise ImageShapeError(
            f"true_images {true_images.shape} and recon_images {recon_images.shape}: both must be colour "
            "(n, H, W, 3) or both grayscale (n, H, W)"
        )
    if len(true_images) != len(recon_images):
        raise ImageShapeError(
            f"true_images has {len(true_images)} images but recon_images has {len(recon_images)}"
        )
    if len(true_images) == 0:
        raise ImageShapeError("true_images is empty")
    return true_images, recon_images


def _to_gray(images: np.ndarray) -> np.ndarray:
    return rgb2gray(images) if images.ndim == 4 else images


def _match_size(images: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if images.shape[1:3] == shape:
        return images
    out_shape = (images.shape[0], *shape, *images.shape[3:])
    return resize(images, out_shape, order=1, anti_aliasing=True, preserve_range=True)


def pixcorr(true_images: np.ndarray, recon_images: np.ndarray) -> np.ndarray:
    """Pixel-wise Pearson correlation between each true image and its reconstruction.

    Reconstructions are resized (bilinear) to the true images' size; all
    colour channels are flattened together, as in Brain-Diffuser's code.

    Parameters
    ----------
    true_images, recon_images : ndarray of shape (n, H, W, 3) or (n, H, W)
        Seen images and reconstructions, values in [0, 1].

    Returns
    -------
    ndarray of shape (n,)
        Pearson r per image pair.
    """
    true_images, recon_images = _check_pair(true_images, recon_images)
    recon_images = _match_size(recon_images, true_images.shape[1:3])
    flat_true = true_images.reshape(len(true_images), -1).T
    flat_recon = recon_images.reshape(len(recon_images), -1).T
    return pearson_r(flat_true, flat_recon)


def ssim(true_images: np.ndarray, recon_images: np.ndarray) -> np.ndarray:
    """Structural similarity on grayscale images with Gaussian weights (sigma 1.5).

    Matches the field's convention: ``rgb2gray`` then
    ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=1.0)``.

    Parameters
    ----------
    true_images, recon_images : ndarray of shape (n, H, W, 3) or (n, H, W)
        Seen images and reconstructions, values in [0, 1].

    Returns
    -------
    ndarray of shape (n,)
        SSIM per image pair (1 for identical images).
    """
    true_images, recon_images = _check_pair(true_images, recon_images)
    recon_images = _match_size(recon_images, true_images.shape[1:3])
    gray_true, gray_recon = _to_gray(true_images), _to_gray(recon_images)
    return np.array(
        [
            structural_similarity(
                t, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
            )
            for t, r in zip(gray_true, gray_recon)
        ]
    )


def feature_identification(
    true_features: np.ndarray, recon_features: np.ndarray
) -> np.ndarray:
    """Two-way identification in a feature space, per reconstruction.

    The fraction of distractor images whose features correlate less with the
    reconstruction's features than the true image's features do (chance 0.5).

    Parameters
    ----------
    true_features, recon_features : ndarray of shape (n, n_features)
        Features of the seen images and of their reconstructions (row ``i``
        of each belongs to test image ``i``).

    Returns
    -------
    ndarray of shape (n,)
        Per-reconstruction fraction of correct two-way trials, in [0, 1].

    Notes
    -----
    A reconstruction whose features are constant (a network that does not
    respond to a nearly flat image gives all-zero pooled features) correlates
    with no image: every one of its trials is a tie, and ties count as wrong
    (:func:`neurokit.metrics.two_way_identification`), so it scores 0.
    """
    true_features = np.asarray(true_features, dtype=np.float64)
    recon_features = np.asarray(recon_features, dtype=np.float64)
    if true_features.ndim < 2 or recon_features.shape != true_features.shape:
        raise DataValidationError(
            f"true_features and recon_features must be (n, n_features) of one shape, got shapes "
            f"{true_features.shape} and {recon_features.shape}"
        )
    rows = recon_features.reshape(len(recon_features), -1)
    flat = np.ptp(rows, axis=1) == 0
    if flat.all():
        return np.zeros(len(rows))
    # a flat row's score is set below; any informative row stands in so the others' similarities are defined
    rows = np.where(flat[:, None], rows[np.flatnonzero(~flat)[0]], rows)
    per_sample = np.asarray(two_way_identification(rows, true_features).per_sample, dtype=np.float64)
    per_sample[flat] = 0.0
    return per_sample


def feature_distance(true_features: np.ndarray, recon_features: np.ndarray) -> np.ndarray:
    """Correlation distance between each reconstruction's features and its seen image's (lower is better).

    ``1 - pearson r`` across features, per pair, as the field reports EfficientNet-B1
    and SwAV distances (``scipy.spatial.distance.correlation``).

    Parameters
    ----------
    true_features, recon_features : ndarray of shape (n, n_features)

    Returns
    -------
    ndarray of shape (n,), values in [0, 2]
    """
    true_features = np.asarray(true_features, dtype=np.float64)
    recon_features = np.asarray(recon_features, dtype=np.float64)
    if true_features.ndim != 2 or true_features.shape != recon_features.shape:
        raise DataValidationError(
            f"true_features and recon_features must both be (n, n_features), got {true_features.shape} "
            f"and {recon_features.shape}"
        )
    return 1.0 - pearson_r(true_features.T, recon_features.T)


def brain_correlation(
    encoder: Callable[[np.ndarray], np.ndarray], recon_images: np.ndarray, measured: np.ndarray
) -> np.ndarray:
    """Correlation between an encoder's predicted response to each reconstruction and the measured one.

    Parameters
    ----------
    encoder : callable
        Maps images ``(n, H, W, 3)`` in [0, 1] to responses ``(n, n_vertices)``.
    recon_images : ndarray of shape (n, H, W, 3)
    measured : ndarray of shape (n, n_vertices)
        The responses the reconstructions were decoded from.

    Returns
    -------
    ndarray of shape (n,)
    """
    predicted = np.asarray(encoder(recon_images), dtype=np.float64)
    measured = np.asarray(measured, dtype=np.float64)
    if predicted.shape != measured.shape:
        raise DataValidationError(
            f"encoder predicted shape {predicted.shape} but measured responses have shape {measured.shape}"
        )
    return pearson_r(measured.T, predicted.T)


@dataclass
class ReconstructionScores:
    """One table of reconstruction metrics with a shuffled-pairs baseline.

    ``scores[name]`` is the mean over test images of each metric and
    ``baseline[name]`` the same metric with the pairs shuffled (a derangement
    of the reconstructions), computed in the same run.
    """

    n_images: int
    scores: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)
    per_image: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"n_images": self.n_images, "scores": dict(self.scores), "shuffled_baseline": dict(self.baseline)}

    def table(self) -> str:
        """A plain-text table: metric, score, shuffled baseline."""
        lines = [f"{'metric':<28}{'score':>10}{'shuffled':>10}   (n = {self.n_images} test images)"]
        for name, value in self.scores.items():
            base = self.baseline.get(name, float("nan"))
            lines.append(f"{name:<28}{value:>10.3f}{base:>10.3f}")
        return "\n".join(lines)


def score_reconstructions(
    true_images: np.ndarray,
    recon_images: np.ndarray,
    *,
    feature_spaces: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    distance_spaces: dict[str, Callable[[np.ndarray], np.ndarray]] | None = None,
    encoder: Callable[[np.ndarray], np.ndarray] | None = None,
    measured: np.ndarray | None = None,
    seed: int = 0,
) -> ReconstructionScores:
    """Score reconstructions against the seen images, with a shuffled-pairs baseline.

    Parameters
    ----------
    true_images, recon_images : ndarray of shape (n, H, W, 3), values in [0, 1]
    feature_spaces : dict of name -> callable, optional
        Each maps images to features ``(n, n_features)``; gives a two-way
        identification score ``"<name> 2-way"`` per space (e.g. EfficientNet-Lite0
        offline; CLIP, AlexNet or Inception when available: see
        :mod:`cortex2image.metric_networks`).
    distance_spaces : dict of name -> callable, optional
        Each maps images to features; gives the mean correlation distance
        ``"<name> distance"`` (lower is better; EfficientNet-B1 and SwAV in the field's table).
    encoder, measured : optional
        An image -> response encoder and the measured responses; gives
        ``"brain correlation"``.
    seed : int
        Seed of the shuffled pairing.
    """
    true_images, recon_images = _check_pair(true_images, recon_images)
    n = len(true_images)
    perm = derangement(n, np.random.default_rng(seed))
    result = ReconstructionScores(n_images=n)

    def add(name: str, real: np.ndarray, shuffled: np.ndarray) -> None:
        result.per_image[name] = real
        result.scores[name] = float(np.mean(real))
        result.baseline[name] = float(np.mean(shuffled))

    add("PixCorr", pixcorr(true_images, recon_images), pixcorr(true_images, recon_images[perm]))
    add("SSIM", ssim(true_images, recon_images), ssim(true_images, recon_images[perm]))
    for name, extract in (feature_spaces or {}).items():
        true_f, recon_f = np.asarray(extract(true_images)), np.asarray(extract(recon_images))
        add(
            f"{name} 2-way",
            feature_identification(true_f, recon_f),
            feature_identification(true_f, recon_f[perm]),
        )
    for name, extract in (distance_spaces or {}).items():
        true_f, recon_f = np.asarray(extract(true_images)), np.asarray(extract(recon_images))
        add(f"{name} distance", feature_distance(true_f, recon_f), feature_distance(true_f, recon_f[perm]))
    if encoder is not None:
        if measured is None:
            raise DataValidationError("brain correlation needs the measured responses (measured=...)")
        predicted_from = brain_correlation(encoder, recon_images, measured)
        shuffled = brain_correlation(encoder, recon_images[perm], measured)
        add("brain correlation", predicted_from, shuffled)
    return result

"""Reconstructions scored beside their baselines, with bootstrap intervals and claims.

The metrics are those of :mod:`cortex2image.metrics` (PixCorr, SSIM, two-way
identification, correlation distance, brain correlation); this module applies
them to the reconstruction *and* to every baseline of
:mod:`cortex2image.baselines` on the same test images, and turns the
per-image scores into paired bootstrap distributions
(:mod:`neurokit.statistics`) and claims (:class:`neurokit.claims.Claim`).

Metrics (per test image; the name is the key of every table):

``EfficientNet-Lite2 2-way``
    Image-level two-way identification in EfficientNet-Lite2's pooled
    ('pool') features, at the seen images' size. Lite2 is the simulated
    brain's own network and not the decoder's semantic space (Lite0 offline,
    CLIP with real data), so a decoder cannot score well by matching its own
    training target. Chance 0.5.
``<network> 2-way`` / ``<network> distance``
    The field's metric networks (:data:`cortex2image.metric_networks.METRIC_NETWORKS`)
    whose local weight files the caller names; none by default.
``PixCorr``, ``SSIM``
    :func:`cortex2image.metrics.pixcorr` and :func:`~cortex2image.metrics.ssim`.
``brain correlation (ground truth)``
    Where a ground-truth brain is known (the simulated cohort): Pearson r,
    across vertices, between the brain's noise-free response to the image and
    its noise-free response to the seen image, both centred by the mean
    response to the seen test images (so the response every image evokes does
    not count) and on the vertices whose response varies over them.
``brain correlation (encoder)``
    Where the caller gives an encoder: :func:`cortex2image.metrics.brain_correlation`
    (its prediction for the image vs the measured test response).

Intervals resample the *test images* (the same resamples for every method,
so the differences reconstruction minus baseline are paired). A two-way
identification score of one image depends on the other test images (its
distractors); resampling per-image scores treats the distractor set as fixed,
the usual approximation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cortex2image.baselines import (mean_image_baseline, nearest_neighbour_baseline, ridge_pixels_baseline,
                                    shuffled_baseline)
from cortex2image.metrics import brain_correlation, feature_distance, feature_identification, pixcorr, ssim
from neurokit.claims import Claim
from neurokit.exceptions import DataValidationError, FileFormatError, ImageShapeError
from neurokit.statistics import BootstrapDistribution, bootstrap_distribution, combine_seeds

__all__ = ["BASELINES", "IDENTIFICATION", "METHODS", "METHOD_LABELS", "REQUIRED_IDENTIFICATION",
           "ReconstructionEvaluation", "baseline_images", "baseline_verdict", "evaluate_from_nsd",
           "evaluate_reconstruction", "evaluate_reconstruction_folder", "lite2_features", "metric_table",
           "read_reconstruction_folder", "reconstruction_claims", "score_methods"]

#: Every method scored, the reconstruction first.
METHODS = ("reconstruction", "mean_image", "nearest_neighbour", "ridge_pixels", "shuffled")
BASELINES = METHODS[1:]
#: How reports name the methods.
METHOD_LABELS = {"reconstruction": "reconstruction", "mean_image": "mean training image",
                 "nearest_neighbour": "nearest-neighbour retrieval", "ridge_pixels": "ridge to pixels",
                 "shuffled": "shuffled pairs"}
#: The identification metric of the claims, and the level it must reach.
LITE2 = "EfficientNet-Lite2"
IDENTIFICATION = f"{LITE2} 2-way"
REQUIRED_IDENTIFICATION = 0.80
#: Claim id -> metric.
CLAIM_METRICS = {"reconstruction_identification": IDENTIFICATION, "reconstruction_pixcorr": "PixCorr",
                 "reconstruction_ssim": "SSIM"}


def lite2_features(size: int) -> Callable[[np.ndarray], np.ndarray]:
    """Images ``(n, H, W, 3)`` -> EfficientNet-Lite2 pooled features ``(n, 1280)`` (ImageNet weights, offline).

    Every image is resized to ``size`` pixels (the network's input side; the
    evaluation uses the seen images' side, as the simulated brain reads them),
    so reconstructions of another size land in the same feature space.
    """
    from encoding.features.efficientnet import EfficientNetLite2Extractor

    extractor = EfficientNetLite2Extractor(input_size=max(32, int(size)))

    def extract(images: np.ndarray) -> np.ndarray:
        return extractor.extract(np.asarray(images, np.float32), layers=["pool"], progress=False)["pool"]

    return extract


def baseline_images(train_responses: np.ndarray, train_images: np.ndarray, test_responses: np.ndarray,
                    reconstructions: np.ndarray, *, seed: int = 0,
                    ridge_size: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, list[int]]]:
    """Every method's images for the test responses: the reconstruction and the four baselines.

    Parameters
    ----------
    train_responses : ndarray of shape (n_train, n_vertices)
    train_images : ndarray of shape (n_train, H, W, 3)
    test_responses : ndarray of shape (n_test, n_vertices)
    reconstructions : ndarray of shape (n_test, h, w, 3)
        The decoder's images (the shuffled baseline deranges them).
    seed : int
        Seed of the derangement.
    ridge_size : int, optional
        Side of the ridge-decoded images (default: the training images' side).

    Returns
    -------
    images : dict of str to ndarray
        Keyed by :data:`METHODS`.
    details : dict
        ``nearest_neighbour_index`` (row of the training set retrieved per
        test image) and ``shuffled_permutation``.
    """
    recon = np.asarray(reconstructions, dtype=np.float32)
    if recon.ndim != 4 or len(recon) != len(test_responses):
        raise ImageShapeError(f"reconstructions: expected (n_test={len(test_responses)}, H, W, 3), got {recon.shape}")
    nn_images, nn_index = nearest_neighbour_baseline(train_responses, train_images, test_responses)
    shuffled, perm = shuffled_baseline(recon, seed)
    images = {
        "reconstruction": recon,
        "mean_image": mean_image_baseline(train_images, len(recon)),
        "nearest_neighbour": nn_images,
        "ridge_pixels": ridge_pixels_baseline(train_responses, train_images, test_responses, size=ridge_size),
        "shuffled": shuffled,
    }
    return images, {"nearest_neighbour_index": nn_index.tolist(), "shuffled_permutation": perm.tolist()}


@dataclass
class ReconstructionEvaluation:
    """Per-image scores of the reconstruction and of every baseline on the same test images.

    Attributes
    ----------
    nsd_ids : ndarray of int, shape (n,)
        The test images.
    per_image : dict of str to dict of str to ndarray
        ``per_image[metric][method]``: shape (n,), one score per test image.
    higher_is_better : dict of str to bool
        Per metric (False for correlation distances).
    details : dict
        What the baselines chose (:func:`baseline_images`).
    """

    nsd_ids: np.ndarray
    per_image: dict[str, dict[str, np.ndarray]]
    higher_is_better: dict[str, bool]
    details: dict[str, Any] = field(default_factory=dict)

    def distributions(self, n_boot: int = 1000, seed: int = 0) -> dict[str, dict[str, BootstrapDistribution]]:
        """``[metric][method]``: bootstrap distribution of the mean over test images (same resamples for all)."""
        return {metric: {method: bootstrap_distribution(np.mean, scores, n_boot=n_boot, seed=seed)
                         for method, scores in by_method.items()}
                for metric, by_method in self.per_image.items()}

    def to_dict(self, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
        """JSON-able: per-image scores, means, the bootstrap ``distributions`` and ``details``."""
        dists = self.distributions(n_boot, seed)
        return {
            "nsd_ids": np.asarray(self.nsd_ids).tolist(),
            "higher_is_better": dict(self.higher_is_better),
            "mean": {m: {k: float(np.mean(v)) for k, v in by.items()} for m, by in self.per_image.items()},
            "per_image": {m: {k: np.asarray(v, float).tolist() for k, v in by.items()}
                          for m, by in self.per_image.items()},
            "distributions": {m: {k: d.to_dict() for k, d in by.items()} for m, by in dists.items()},
            "details": dict(self.details),
        }


def score_methods(seen: np.ndarray, images: Mapping[str, np.ndarray], *,
                  identification_spaces: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                  distance_spaces: Mapping[str, Callable[[np.ndarray], np.ndarray]] | None = None,
                  brain: Callable[[np.ndarray], np.ndarray] | None = None,
                  encoder: Callable[[np.ndarray], np.ndarray] | None = None,
                  measured: np.ndarray | None = None) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, bool]]:
    """Per-image scores ``[metric][method]`` of every method's images against the seen images.

    Parameters
    ----------
    seen : ndarray of shape (n, H, W, 3)
    images : mapping of method name to ndarray of shape (n, h, w, 3)
    identification_spaces, distance_spaces : mapping of name to callable, optional
        Images -> features; give ``"<name> 2-way"`` and ``"<name> distance"``.
    brain : callable, optional
        Images -> noise-free ground-truth responses ``(n, V)``; gives
        ``"brain correlation (ground truth)"`` (see the module docstring).
    encoder, measured : optional
        Images -> predicted responses, and the measured test responses ``(n, V)``;
        give ``"brain correlation (encoder)"``.

    Returns
    -------
    per_image : dict
    higher_is_better : dict
    """
    seen = np.asarray(seen, dtype=np.float32)
    for method, imgs in {"seen": seen, **images}.items():
        if np.shape(imgs)[0] != len(seen) or not np.isfinite(imgs).all():
            raise DataValidationError(f"images[{method!r}]: expected {len(seen)} finite images, got shape "
                                      f"{np.shape(imgs)} with {int(np.size(imgs) - np.isfinite(imgs).sum())} "
                                      "non-finite values")
    scores: dict[str, dict[str, np.ndarray]] = {}
    better: dict[str, bool] = {}

    def features(name: str, extract: Callable, method: str, imgs: np.ndarray) -> np.ndarray:
        out = np.asarray(extract(imgs), dtype=np.float64)
        if not np.isfinite(out).all():
            raise DataValidationError(f"{name}: the features of {method!r} images are not finite")
        return out

    def feature_metric(name: str, extract: Callable, score: Callable, higher: bool) -> None:
        true_f = features(name, extract, "seen", seen)
        scores[name] = {m: score(true_f, features(name, extract, m, imgs)) for m, imgs in images.items()}
        better[name] = higher

    for name, extract in (identification_spaces or {}).items():
        feature_metric(f"{name} 2-way", extract, feature_identification, True)
    for name, extract in (distance_spaces or {}).items():
        feature_metric(f"{name} distance", extract, feature_distance, False)
    scores["PixCorr"] = {m: pixcorr(seen, imgs) for m, imgs in images.items()}
    scores["SSIM"] = {m: ssim(seen, imgs) for m, imgs in images.items()}
    better.update({"PixCorr": True, "SSIM": True})
    if brain is not None:
        truth = np.asarray(brain(seen), dtype=np.float64)
        varying = truth.std(0) > 1e-8 * max(float(np.abs(truth).max()), 1e-30)
        if not varying.any():
            raise DataValidationError("brain: its response to the seen images is constant at every vertex")
        centre = truth[:, varying].mean(0)

        def centred(imgs: np.ndarray) -> np.ndarray:
            return np.asarray(brain(imgs), dtype=np.float64)[:, varying] - centre

        target = truth[:, varying] - centre
        scores["brain correlation (ground truth)"] = {m: brain_correlation(centred, imgs, target)
                                                      for m, imgs in images.items()}
        better["brain correlation (ground truth)"] = True
    if encoder is not None:
        if measured is None:
            raise DataValidationError("brain correlation (encoder) needs the measured responses (measured=...)")
        scores["brain correlation (encoder)"] = {m: brain_correlation(encoder, imgs, measured)
                                                 for m, imgs in images.items()}
        better["brain correlation (encoder)"] = True
    return scores, better


def _metric_network_spaces(metric_networks: Mapping[str, str | os.PathLike] | None,
                           device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not metric_networks:
        return {}, {}
    from cortex2image.metric_networks import MetricNetwork, distance_spaces, identification_spaces

    nets = {name: MetricNetwork(name, path, device=device) for name, path in metric_networks.items()}
    return identification_spaces(nets), distance_spaces(nets)


def evaluate_reconstruction(seen: np.ndarray, reconstructions: np.ndarray, *, nsd_ids: np.ndarray,
                            train_responses: np.ndarray, train_images: np.ndarray, test_responses: np.ndarray,
                            brain: Callable[[np.ndarray], np.ndarray] | None = None,
                            encoder: Callable[[np.ndarray], np.ndarray] | None = None,
                            measured: np.ndarray | None = None,
                            metric_networks: Mapping[str, str | os.PathLike] | None = None,
                            identification: Callable[[np.ndarray], np.ndarray] | None = None,
                            seed: int = 0, device: str = "cpu",
                            ) -> tuple[ReconstructionEvaluation, dict[str, np.ndarray]]:
    """Score the reconstructions and every baseline (:func:`baseline_images`) on the same test images.

    Parameters
    ----------
    seen : ndarray of shape (n, H, W, 3)
        The test images, values in [0, 1].
    reconstructions : ndarray of shape (n, h, w, 3)
    nsd_ids : ndarray of int, shape (n,)
    train_responses, train_images, test_responses
        What the baselines use (see :mod:`cortex2image.baselines`).
    brain : callable, optional
        Ground-truth noise-free responses (the simulated subject's ``clean_response``).
    encoder : callable, optional
        An image -> response encoder, scored against ``measured``.
    measured : ndarray of shape (n, V), optional
        The measured test responses on the encoder's vertices (default: ``test_responses``).
    metric_networks : mapping of name to path, optional
        Local weight files of networks in :data:`cortex2image.metric_networks.METRIC_NETWORKS`.
    identification : callable, optional
        The identification network (default :func:`lite2_features` at the seen images' side).
    seed : int
        Seed of the shuffled pairing.
    device : str
        Torch device of the metric networks.

    Returns
    -------
    evaluation : ReconstructionEvaluation
    images : dict of method to ndarray
    """
    ids = np.asarray(nsd_ids, dtype=np.int64)
    if ids.shape != (len(seen),) or len(reconstructions) != len(seen):
        raise DataValidationError(f"seen ({len(seen)} images), reconstructions ({len(reconstructions)}) and nsd_ids "
                                  f"({ids.shape}) must describe the same test images")
    images, details = baseline_images(train_responses, train_images, test_responses, reconstructions, seed=seed)
    ident, dist = _metric_network_spaces(metric_networks, device)
    per_image, better = score_methods(
        seen, images, identification_spaces={LITE2: identification or lite2_features(np.shape(seen)[1]), **ident},
        distance_spaces=dist, brain=brain, encoder=encoder,
        measured=(test_responses if measured is None else measured) if encoder is not None else None)
    return ReconstructionEvaluation(ids, per_image, better, details), images


def evaluate_from_nsd(reconstructions: np.ndarray, nsd_ids: np.ndarray, nsd: Any, subject: int, *,
                      image_size: int | None = None, baseline_rois: str | Sequence[str] | None = "nsdgeneral",
                      ground_truth: bool = True,
                      **kwargs: Any) -> tuple[ReconstructionEvaluation, dict[str, np.ndarray]]:
    """:func:`evaluate_reconstruction` with everything else read from an NSD-layout dataset.

    The subject's responses as :func:`cortex2image.training.train_reconstructor`
    reads them (z-scored per session, averaged over repeats, missing vertices
    0); its non-shared images are the baselines' training set, and the
    baselines read the vertices of ``baseline_rois`` (NSD's ``nsdgeneral``
    visual-cortex mask by default, as the field's decoders do: outside it the
    responses are noise that only dilutes retrieval); the seen and
    training images are read at ``image_size`` (default: as stored; the
    metrics resize reconstructions of another size to it); the ground truth
    (``<root>/ground_truth``, written by the simulated cohort) is used when
    present and ``ground_truth`` is true.

    Parameters
    ----------
    reconstructions : ndarray of shape (n, h, w, 3)
    nsd_ids : ndarray of int, shape (n,)
        The test image of each reconstruction.
    nsd : path-like or neurokit.datasets.NSD
    subject : int
    image_size : int, optional
    baseline_rois : str or sequence of str or None
        ROI name(s) (or family) whose union the baselines use; None: every vertex.
    ground_truth : bool
    **kwargs
        Passed to :func:`evaluate_reconstruction` (``encoder``, ``metric_networks``, ``seed``, ...).
    """
    from neurokit.datasets import NSD

    reader = nsd if isinstance(nsd, NSD) else NSD(nsd)
    resp = reader.responses(subject)
    data = resp.to_surface(fill=0.0).data
    ids = np.asarray(nsd_ids, dtype=np.int64)
    rows = {int(k): i for i, k in enumerate(resp.nsd_ids)}
    missing = [int(k) for k in ids if int(k) not in rows]
    if missing:
        raise DataValidationError(f"nsd_ids: subject {subject} did not see {missing[:5]} ({len(missing)} in all)")
    test_rows = np.array([rows[int(k)] for k in ids])
    columns = (np.ones(data.shape[1], bool) if baseline_rois is None
               else reader.roi_mask(subject, baseline_rois, reader.file_level(subject)))
    train = ~resp.shared & ~np.isin(resp.nsd_ids, ids)
    seen = reader.images(ids, size=image_size)
    train_images = reader.images(resp.nsd_ids[train], size=image_size)
    brain = None
    if ground_truth and (Path(reader.root) / "ground_truth.json").is_file():
        from encoding.simulation import load_ground_truth

        truth = load_ground_truth(Path(reader.root) / "ground_truth")[1][subject - 1]
        brain = truth.clean_response
    return evaluate_reconstruction(seen, reconstructions, nsd_ids=ids, train_responses=data[train][:, columns],
                                   train_images=train_images, test_responses=data[test_rows][:, columns],
                                   measured=data[test_rows], brain=brain, **kwargs)


def read_reconstruction_folder(folder: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The images and NSD ids of a folder written by :func:`cortex2image.cli.write_reconstruction`.

    Returns
    -------
    images : ndarray of shape (n, H, W, 3), float32 in [0, 1]
    nsd_ids : ndarray of int, shape (n,)
    record : dict
        The folder's ``reconstruction.json``.

    Raises
    ------
    FileFormatError
        If the index is missing, unreadable, has no NSD ids, or names a missing image.
    """
    from PIL import Image

    folder = Path(folder)
    index = folder / "reconstruction.json"
    try:
        record = json.loads(index.read_text(encoding="utf-8"))
        files = record["files"]
        ids = record["nsd_ids"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise FileFormatError(f"{index}: not a reconstruction index with 'files' and 'nsd_ids' ({err})") from err
    if not isinstance(files, list) or not isinstance(ids, list) or len(files) != len(ids) or not files:
        raise FileFormatError(f"{index}: 'files' and 'nsd_ids' must be non-empty lists of one length, got "
                              f"{files!r:.80} and {ids!r:.80}")
    images = []
    for name in files:
        path = folder / str(name)
        if Path(str(name)).is_absolute() or ".." in Path(str(name)).parts or not path.is_file():
            raise FileFormatError(f"{index}: names {name!r}, which is not an image file in {folder}")
        with Image.open(path) as im:
            images.append(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0)
    return np.stack(images), np.asarray(ids, dtype=np.int64), record


def evaluate_reconstruction_folder(folder: str | os.PathLike, nsd_root: Any, *, subject: int | None = None,
                                   **kwargs: Any) -> tuple[ReconstructionEvaluation, dict[str, np.ndarray]]:
    """Recompute every metric of a reconstruction folder from the folder and the NSD root alone.

    Parameters
    ----------
    folder : path-like
        Written by :func:`cortex2image.cli.write_reconstruction` with the test
        images' NSD ids (and the subject) in its index.
    nsd_root : path-like or neurokit.datasets.NSD
    subject : int, optional
        Default: the index's ``subject``.
    **kwargs
        Passed to :func:`evaluate_from_nsd`; ``seed`` (of the shuffled pairs)
        defaults to the index's ``shuffle_seed``, else 0.
    """
    images, ids, record = read_reconstruction_folder(folder)
    subject = record.get("subject") if subject is None else subject
    if not isinstance(subject, int):
        raise DataValidationError(f"{folder}: the index names no subject; pass subject=...")
    kwargs.setdefault("seed", int(record.get("shuffle_seed", 0)))
    return evaluate_from_nsd(images, ids, nsd_root, subject, **kwargs)


# distributions over world seeds -> table, verdicts, claims ---------------------------------------------------------
Distributions = Mapping[str, Mapping[str, Any]]  # [metric][method] -> BootstrapDistribution or its dict


def _as_distribution(d: Any) -> BootstrapDistribution:
    return d if isinstance(d, BootstrapDistribution) else BootstrapDistribution.from_dict(d)


def _per_world(worlds: Sequence[Distributions], metric: str, method: str) -> list[BootstrapDistribution]:
    return [_as_distribution(w[metric][method]) for w in worlds]


def _combined(worlds: Sequence[Distributions], metric: str, method: str,
              minus: str | None = None) -> BootstrapDistribution:
    dists = _per_world(worlds, metric, method)
    if minus is not None:
        dists = [a - b for a, b in zip(dists, _per_world(worlds, metric, minus))]
    return combine_seeds(dists)


def _common_metrics(worlds: Sequence[Distributions]) -> list[str]:
    """The metrics every world measured, in the first world's order."""
    return [m for m in worlds[0] if all(m in w for w in worlds)]


def metric_table(worlds: Sequence[Distributions], confidence: float = 0.95, *,
                 differences: bool = False) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per metric, ``value [low, high]`` per method (mean over world seeds).

    With ``differences``, the columns are the paired differences reconstruction
    minus each baseline instead (positive: the reconstruction scores higher).
    Only the metrics every world measured are shown.
    """
    if differences:
        header = ["metric", *(f"reconstruction - {METHOD_LABELS[m]}" for m in BASELINES)]
        cells = [("reconstruction", m) for m in BASELINES]
    else:
        header = ["metric", *(METHOD_LABELS[m] for m in METHODS)]
        cells = [(m, None) for m in METHODS]
    rows = []
    for metric in _common_metrics(worlds):
        row = [metric]
        for method, minus in cells:
            value, low, high = _combined(worlds, metric, method, minus=minus).ci(confidence)
            row.append(f"{value:+.3f} [{low:+.3f}, {high:+.3f}]" if differences else
                       f"{value:.3f} [{low:.3f}, {high:.3f}]")
        rows.append(row)
    return header, rows


def baseline_verdict(worlds: Sequence[Distributions], higher_is_better: Mapping[str, bool],
                     confidence: float = 0.95) -> str:
    """One sentence: which baselines beat the reconstruction on which metrics (paired-difference intervals).

    A baseline *beats* the reconstruction on a metric when the interval of
    the paired difference (reconstruction minus baseline, better direction
    positive) lies entirely on the baseline's side of 0.
    """
    wins: dict[str, list[str]] = {}
    for metric in _common_metrics(worlds):
        for method in BASELINES:
            _, low, high = _combined(worlds, metric, "reconstruction", minus=method).ci(confidence)
            if (high < 0) if higher_is_better.get(metric, True) else (low > 0):
                wins.setdefault(method, []).append(metric)
    level = f"{100 * confidence:g} %"
    if not wins:
        return f"No baseline beats the reconstruction on any metric ({level} paired intervals)."

    def listing(items: list[str]) -> str:
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

    parts = [f"{METHOD_LABELS[m]} beats the reconstruction on {listing(metrics)}" for m, metrics in wins.items()]
    sentence = "; ".join(parts)
    return f"{sentence[0].upper()}{sentence[1:]} ({level} interval of the paired difference beyond 0)."


def reconstruction_claims(worlds: Sequence[Distributions], world_seeds: Sequence[int], *,
                          subject: int, n_test: int, confidence: float = 0.95) -> list[Claim]:
    """The claims ``reconstruction_identification``, ``reconstruction_pixcorr`` and ``reconstruction_ssim``.

    Each holds iff the reconstruction's mean score beats every baseline
    (``mean_image``, ``nearest_neighbour``, ``ridge_pixels``, ``shuffled``):
    the interval of the paired difference reconstruction minus baseline lies
    above 0. Identification must also reach :data:`REQUIRED_IDENTIFICATION`:
    a fixed baseline ``required`` whose paired difference is the claim minus
    0.80, so its interval must lie above 0.80.

    Parameters
    ----------
    worlds : sequence of mapping
        Per world seed, ``[metric][method]`` bootstrap distributions
        (:meth:`ReconstructionEvaluation.distributions` or their dicts); the
        same number of test images and resamples within a world.
    world_seeds : sequence of int
        For the note.
    subject, n_test : int
        For the statements.
    """
    if not worlds:
        raise DataValidationError("worlds: need the distributions of at least one world seed")
    note = (f"{len(worlds)} world seed(s) ({', '.join(map(str, world_seeds))}): the value is their mean; intervals "
            f"resample the {n_test} test images (paired across methods).")
    what = {"reconstruction_identification": "two-way identification in EfficientNet-Lite2 features (the simulated "
                                             "brain's network, not the decoder's), and reaches "
                                             f"{REQUIRED_IDENTIFICATION}",
            "reconstruction_pixcorr": "pixel correlation (PixCorr)",
            "reconstruction_ssim": "structural similarity (SSIM)"}
    claims = []
    for claim_id, metric in CLAIM_METRICS.items():
        baselines: dict[str, Any] = {m: _per_world(worlds, metric, m) for m in BASELINES}
        if metric == IDENTIFICATION:
            baselines["required"] = REQUIRED_IDENTIFICATION
        claims.append(Claim.greater_than(
            claim_id,
            f"Subject {subject}'s test images reconstructed from its fMRI beat the mean training image, "
            f"nearest-neighbour retrieval, ridge to pixels and shuffled pairs on {what[claim_id]}.",
            _per_world(worlds, metric, "reconstruction"), baselines, confidence=confidence, note=note))
    return claims

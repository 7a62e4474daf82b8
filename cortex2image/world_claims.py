"""The claims of the simulated world, measured on one world seed, and combined over seeds into claims.

One world seed gives one :class:`WorldData`: prepared responses of every
subject, their ROIs, the ground truth and the stimuli. The main world of
``neurokit demo`` is read from its NSD files; the replicate worlds
(:meth:`encoding.simulation.Cohort.replicate`: new subjects and noise on the
same stimuli) come from memory. Every world is measured by the same functions:

- :func:`measure_encoding` -- the new subject's ridge encoder on the default
  features against the oracle (its noise-free ground-truth response) and
  against ridge on mismatched features (a randomly initialised
  EfficientNet-Lite0); its personalized ensemble against full-data ridge,
  ridge on the same few images and the cohort average (intercept and scale
  refit only); and how much of the subject's own deviation from the cohort
  each of them recovers;
- :func:`measure_neurogen` -- the synthetic image's true ROI response against
  the best natural image's (by the truth) and the natural image the encoder
  ranks best.

Each measurement is a :class:`neurokit.statistics.BootstrapDistribution`
(stored as a dict), drawn with the same resamples for every model of a world,
so comparisons are paired; :func:`build_claims` combines the world seeds into
:class:`neurokit.claims.Claim` objects whose ``holds`` follows from the
intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurokit.claims import Claim
from neurokit.statistics import BootstrapDistribution, PearsonStatistic, bootstrap_distribution

#: ROI families whose union is "visual cortex" in the claims.
VISUAL_FAMILIES = ("prf-visualrois", "floc-faces", "floc-bodies", "floc-places")
#: Equivalence margin of ``ensemble_vs_full``: median r over visual vertices.
EQUIVALENCE_MARGIN = 0.02
RIDGE_ALPHAS = np.logspace(-1, 5, 13)
#: Images of the new subject (at most) on which the share of its response outside the others' span is measured.
N_SPAN_IMAGES = 300


@dataclass
class WorldData:
    """What one world's claims need, from files or memory.

    Attributes
    ----------
    seed : int
        World seed.
    subjects : list of int
        1-based subject numbers; the last is the "new" subject.
    responses : callable
        ``responses(subject) -> neurokit.datasets.NSDResponses`` (prepared, per image).
    roi_masks : callable
        ``roi_masks(subject) -> {roi name: bool mask (V,)}`` (every ROI of the subject).
    truth : list
        Ground-truth subjects (``clean_response(images)``), ``truth[k - 1]`` for subject ``k``.
    clean : callable
        ``clean(subject, nsd_ids) -> (n, V)`` noise-free responses to stimuli (from cached
        ground-truth features: :meth:`encoding.simulation.Cohort.clean_responses`).
    images : callable
        ``images(nsd_ids) -> (n, H, W, 3)`` float stimuli.
    shared_ids : ndarray of int
        The shared (test) images.
    """

    seed: int
    subjects: list[int]
    responses: Callable[[int], Any]
    roi_masks: Callable[[int], dict[str, np.ndarray]]
    truth: list
    clean: Callable[[int, np.ndarray], np.ndarray]
    images: Callable[[np.ndarray], np.ndarray]
    shared_ids: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def target(self) -> int:
        return self.subjects[-1]

    def cached_responses(self, subject: int):
        if ("resp", subject) not in self._cache:
            self._cache[("resp", subject)] = self.responses(subject)
        return self._cache[("resp", subject)]

    def visual_mask(self, subject: int) -> np.ndarray:
        """Union of the early visual, face, body and place ROIs of ``subject``."""
        from encoding.simulation.rois import ROI_FAMILY_NAMES

        masks = self.roi_masks(subject)
        names = [n for fam in VISUAL_FAMILIES for n in ROI_FAMILY_NAMES[fam]]
        return np.any([masks[n] for n in names if n in masks], axis=0)

    @classmethod
    def from_cohort(cls, cohort: Any) -> "WorldData":
        """A world held in memory (a replicate cohort)."""
        return cls(
            seed=int(cohort.params.seed), subjects=list(range(1, len(cohort.subjects) + 1)),
            responses=cohort.responses, roi_masks=cohort.roi_masks, truth=list(cohort.subjects),
            clean=cohort.clean_responses, images=lambda ids: cohort.images[np.asarray(ids)],
            shared_ids=np.asarray(cohort.shared_ids),
        )


def fit_encoders(world: WorldData, features_of: Callable[[np.ndarray], np.ndarray], *,
                 progress: bool = False) -> dict[int, Any]:
    """A :class:`encoding.ridge.RidgeEncoder` per subject on its own (non-shared) images."""
    from tqdm.auto import tqdm

    from encoding.ridge import RidgeEncoder

    encoders = {}
    for k in tqdm(world.subjects, desc=f"ridge encoders (world {world.seed})", disable=not progress):
        resp = world.cached_responses(k)
        train = ~np.isin(resp.nsd_ids, world.shared_ids)
        encoders[k] = RidgeEncoder(alphas=RIDGE_ALPHAS).fit(features_of(resp.nsd_ids[train]), resp.data[train])
    return encoders


def _distribution(statistic, *arrays, n_boot: int) -> dict[str, Any]:
    return bootstrap_distribution(statistic, *arrays, n_boot=n_boot, seed=0).to_dict()


def measure_encoding(world: WorldData, features_of: Callable[[np.ndarray], np.ndarray],
                     mismatched_of: Callable[[np.ndarray], np.ndarray], encoders: dict[int, Any], *,
                     n_few: int, n_boot: int = 1000, report_rois: Sequence[str] = ()) -> dict[str, Any]:
    """Encoder, ensemble and private-tuning measurements of ``world``'s new subject.

    Every statistic is the median, over the subject's visual vertices, of the
    per-vertex Pearson r over the shared test images, bootstrapped over those
    images (the same resamples for every model).

    Parameters
    ----------
    world : WorldData
    features_of, mismatched_of : callable
        ``nsd_ids -> (n, D)`` default and mismatched features.
    encoders : dict of int to RidgeEncoder
        Every subject's full-data encoder (:func:`fit_encoders`).
    n_few : int
        Images of the new subject the ensemble (and the few-image ridge) may use.
    n_boot : int
        Bootstrap resamples.
    report_rois : sequence of str
        ROIs whose ROI-mean response correlation is summarised per model.

    Returns
    -------
    dict
        ``distributions`` (name -> BootstrapDistribution dict: ``encoder.default``,
        ``encoder.mismatched``, ``encoder.oracle``, ``ensemble.<model>``,
        ``deviation.<model>``), ``summary`` (plain numbers for the report) and
        ``n_few``/``n_full``/``n_test``.
    """
    from encoding.ensemble import PersonalizedEnsembleEncoder
    from encoding.ridge import RidgeEncoder
    from neurokit.metrics import noise_normalized_accuracy, pearson_r

    target = world.target
    resp = world.cached_responses(target)
    test = np.isin(resp.nsd_ids, world.shared_ids)
    train_idx = np.flatnonzero(~test)
    few = np.sort(np.random.default_rng(world.seed).choice(train_idx, min(n_few, train_idx.size), replace=False))
    visual = world.visual_mask(target) & np.isfinite(resp.data).all(0)
    X = features_of(resp.nsd_ids)
    y_test = resp.data[test][:, visual]
    test_ids = resp.nsd_ids[test]

    mismatched = RidgeEncoder(alphas=RIDGE_ALPHAS).fit(mismatched_of(resp.nsd_ids[~test]), resp.data[~test])
    sources = [encoders[k] for k in world.subjects if k != target]
    source_test = np.stack([e.predict(X[test]) for e in sources])  # (S, n_test, V)
    source_few = np.stack([e.predict(X[few]) for e in sources])
    ensemble = PersonalizedEnsembleEncoder(sources).fit(X[few], resp.data[few])
    cohort_average = PersonalizedEnsembleEncoder(None).fit(source_few.mean(0), resp.data[few])
    few_ridge = RidgeEncoder(alphas=RIDGE_ALPHAS).fit(X[few], resp.data[few])
    preds = {
        "ensemble": ensemble.predict(X[test]),
        "full_data": encoders[target].predict(X[test]),
        "same_few_images": few_ridge.predict(X[test]),
        "cohort_average": cohort_average.predict(source_test.mean(0)),
    }
    encoder_preds = {"default": preds["full_data"], "mismatched": mismatched.predict(mismatched_of(test_ids)),
                     "oracle": world.clean(target, test_ids)}
    names = list(encoder_preds)
    arrays = [y_test] + [encoder_preds[n][:, visual] for n in names]
    dists = {f"encoder.{n}": _distribution(PearsonStatistic(pred=i + 1), *arrays, n_boot=n_boot)
             for i, n in enumerate(names)}
    models = list(preds)
    arrays = [y_test] + [preds[n][:, visual] for n in models]
    dists.update({f"ensemble.{n}": _distribution(PearsonStatistic(pred=i + 1), *arrays, n_boot=n_boot)
                  for i, n in enumerate(models)})
    # the subject's own deviation from the cohort: truth vs each model's, relative to the cohort's encoders
    others = [world.clean(k, test_ids)[:, visual] for k in world.subjects if k != target]
    true_dev = encoder_preds["oracle"][:, visual] - np.mean(others, axis=0)
    cohort_pred = source_test.mean(0)[:, visual]
    arrays = [true_dev] + [preds[n][:, visual] - cohort_pred for n in models]
    dists.update({f"deviation.{n}": _distribution(PearsonStatistic(pred=i + 1), *arrays, n_boot=n_boot)
                  for i, n in enumerate(models)})
    # how much of the subject's true response lies outside the span of the others' (on its own images)
    sample = resp.nsd_ids[np.random.default_rng(world.seed).permutation(resp.nsd_ids.size)[:N_SPAN_IMAGES]]
    own = world.clean(target, sample)[:, visual]
    basis = np.stack([world.clean(k, sample)[:, visual] for k in world.subjects if k != target], axis=-1)
    private = _unexplained_fraction(own, basis)
    nc = resp.noise_ceiling[visual]
    masks = world.roi_masks(target)
    roi_mean_r = {name: {roi: float(pearson_r(resp.data[test][:, masks[roi]].mean(1)[:, None],
                                              p[:, masks[roi]].mean(1)[:, None])[0]) for roi in report_rois}
                  for name, p in {**preds, "oracle": encoder_preds["oracle"]}.items()}
    vertex_r = {n: pearson_r(y_test, p[:, visual]) for n, p in {**encoder_preds, **preds}.items()}
    summary = {
        "roi_mean_r": roi_mean_r,
        "median_r": {**{f"encoder.{n}": float(np.median(vertex_r[n])) for n in encoder_preds},
                     **{f"ensemble.{n}": float(np.median(vertex_r[n])) for n in preds}},
        "median_noise_normalized": {n: float(np.nanmedian(noise_normalized_accuracy(r, nc)))
                                    for n, r in vertex_r.items()},
        "private_variance_fraction": float(np.median(private)),
        "n_visual_vertices": int(visual.sum()),
    }
    return {"distributions": dists, "summary": summary, "n_few": int(few.size), "n_full": int(train_idx.size),
            "n_test": int(test.sum()), "few_index": few.tolist()}


def _unexplained_fraction(y: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Per column of ``y`` (n, V), the variance fraction a least-squares fit on ``basis`` (n, V, S) + 1 leaves."""
    yc = (y - y.mean(0)).astype(np.float64)
    bc = (basis - basis.mean(0)).astype(np.float64)
    gram = np.einsum("nvs,nvt->vst", bc, bc) + 1e-9 * np.eye(bc.shape[2])
    cross = np.einsum("nvs,nv->vs", bc, yc)
    coef = np.linalg.solve(gram, cross[..., None])[..., 0]
    resid = yc - np.einsum("nvs,vs->nv", bc, coef)
    return (resid**2).sum(0) / np.maximum((yc**2).sum(0), 1e-12)


def neurogen_distributions(synthetic_true: float, natural_predicted: np.ndarray, natural_true: np.ndarray, *,
                           n_boot: int = 1000) -> dict[str, dict[str, Any]]:
    """One ROI's NeuroGen measurements, bootstrapped over the natural images.

    ``synthetic`` (the synthetic image's true response, constant over
    resamples), ``natural_max_true`` (the largest true response among the
    resampled natural images) and ``natural_best_predicted_true`` (the true
    response of the resampled image the encoder ranks best): the same
    resamples, so the differences are paired.
    """
    arrays = (np.asarray(natural_predicted, float), np.asarray(natural_true, float))
    return {
        "synthetic": _distribution(lambda p, t: float(synthetic_true), *arrays, n_boot=n_boot),
        "natural_max_true": _distribution(lambda p, t: float(t.max()), *arrays, n_boot=n_boot),
        "natural_best_predicted_true": _distribution(lambda p, t: float(t[np.argmax(p)]), *arrays, n_boot=n_boot),
    }


def measure_neurogen(world: WorldData, features_of: Callable[[np.ndarray], np.ndarray],
                     image_encoder: Callable[[Any], Any], *, rois: Sequence[str], n_few: int, steps: int,
                     n_seeds: int, n_boot: int = 1000, progress: bool = False) -> dict[str, Any]:
    """Region-maximising images for ``world``'s new subject, scored by its ground truth.

    As in NeuroGen and the original personalized ensemble, the encoder is
    ROI-level: each source subject's ridge encoder predicts its own ROI
    means, the new subject's personalized ensemble combines them (fitted on
    ``n_few`` of its images), and ``image_encoder(readout)`` makes that a
    differentiable images -> ROI responses model. Face ROIs are optimised
    through the packaged DCGAN face generator, the others through a Fourier
    image parameterisation.

    Returns
    -------
    dict
        ``per_roi`` (numbers), ``distributions`` (roi -> :func:`neurogen_distributions`),
        and, not JSON-serialisable, ``runs`` (``(label, result, roi indices)``),
        ``natural`` images, ``ranking`` and ``nsd_ids``, for figures.
    """
    import torch

    from encoding.ensemble import PersonalizedEnsembleEncoder
    from encoding.ridge import RidgeEncoder
    from neurogen import DCGANFaceGenerator, FourierImage, RandomAffine, ROIActivation, rank_images, synthesize

    rois = tuple(rois)
    torch.manual_seed(world.seed)

    def roi_means(subject):
        resp = world.cached_responses(subject)
        masks = world.roi_masks(subject)
        return resp.nsd_ids, np.stack([np.nanmean(resp.data[:, masks[r]], axis=1) for r in rois], axis=1)

    sources = []
    for k in world.subjects[:-1]:
        ids, y = roi_means(k)
        train = ~np.isin(ids, world.shared_ids)
        sources.append(RidgeEncoder(alphas=RIDGE_ALPHAS).fit(features_of(ids[train]), y[train]))
    ids, y = roi_means(world.target)
    train_idx = np.flatnonzero(~np.isin(ids, world.shared_ids))
    few = np.sort(np.random.default_rng(world.seed).choice(train_idx, min(n_few, train_idx.size), replace=False))
    encoder = image_encoder(PersonalizedEnsembleEncoder(sources).fit(features_of(ids[few]), y[few]))
    natural = world.images(ids)  # every image the subject saw
    objectives = [ROIActivation(k, name=roi) for k, roi in enumerate(rois)]
    ranking = rank_images(encoder, natural, objectives, batch_size=64)
    truth = world.truth[world.target - 1]
    masks = world.roi_masks(world.target)
    natural_truth = world.clean(world.target, ids)
    natural_truth_roi = np.stack([natural_truth[:, masks[r]].mean(1) for r in rois], axis=1)
    face = [k for k, r in enumerate(rois) if r in ("OFA", "FFA-1", "FFA-2")]
    other = [k for k in range(len(rois)) if k not in face]
    # small random shifts, scalings and rotations at every step keep the images from exploiting
    # pixel-exact quirks of the encoder
    common = dict(steps=steps, n_seeds=n_seeds, lr=0.08, augment=RandomAffine(), progress=progress)
    runs = []
    if face:
        runs.append(("DCGAN faces", synthesize(DCGANFaceGenerator.from_pretrained(), encoder,
                                               [objectives[k] for k in face], **common), face))
    if other:
        runs.append(("Fourier images", synthesize(FourierImage(64), encoder, [objectives[k] for k in other],
                                                  **common), other))
    per_roi, distributions = {}, {}
    for label, result, index in runs:
        for k in index:
            roi = rois[k]
            best = result.best(roi)
            synthetic_true = float(truth.clean_response(result.images[best : best + 1])[0, masks[roi]].mean())
            nat_best = int(ranking.order[k, 0])
            per_roi[roi] = {
                "generator": label,
                "synthetic_predicted": float(result.predictions["encoder"][best, k]),
                "synthetic_ground_truth": synthetic_true,
                "best_natural_predicted": float(ranking.scores[k, nat_best]),
                "best_natural_ground_truth": float(natural_truth_roi[nat_best, k]),
                "natural_mean_ground_truth": float(natural_truth_roi[:, k].mean()),
                "natural_max_ground_truth": float(natural_truth_roi[:, k].max()),
                "best_natural_nsd_id": int(ids[nat_best]),
            }
            distributions[roi] = neurogen_distributions(synthetic_true, ranking.scores[k], natural_truth_roi[:, k],
                                                        n_boot=n_boot)
    return {"rois": list(rois), "subject": world.target, "per_roi": per_roi, "distributions": distributions,
            "runs": runs, "natural": natural, "ranking": ranking, "nsd_ids": ids}


def _seeds(worlds: Sequence[dict[str, Any]], name: str) -> list[BootstrapDistribution]:
    return [BootstrapDistribution.from_dict(w[name]) for w in worlds]


def build_claims(encoding_worlds: Sequence[dict[str, Any]], neurogen_worlds: Sequence[dict[str, dict]],
                 rois: Sequence[str], *, n_few: int, n_full: int) -> list[Claim]:
    """The demo's claims from per-world measurements (one entry per world seed).

    Parameters
    ----------
    encoding_worlds : sequence of dict
        :func:`measure_encoding`'s ``distributions`` per world.
    neurogen_worlds : sequence of dict
        Per world, ``{roi: neurogen_distributions(...)}``.
    rois : sequence of str
    n_few, n_full : int
        Images of the new subject for the ensemble and for full-data ridge (for the statements).
    """
    n = len(encoding_worlds)
    note = f"{n} world seed(s): the value is their mean; intervals resample the test images (paired across models)."
    claims = [
        Claim.greater_than(
            "encoder_accuracy",
            "Ridge on the default EfficientNet-Lite0 features predicts the new subject's held-out responses better "
            "than ridge on mismatched (randomly initialised) features (median r over visual vertices); the oracle "
            "is the subject's noise-free response.",
            _seeds(encoding_worlds, "encoder.default"),
            {"oracle": _seeds(encoding_worlds, "encoder.oracle"),
             "mismatched_features": _seeds(encoding_worlds, "encoder.mismatched")},
            against=["mismatched_features"], note=note),
        Claim.equivalent(
            "ensemble_vs_full",
            f"The personalized ensemble from {n_few} images is as accurate as ridge on all {n_full} of the subject's "
            f"images (median r over visual vertices, equivalence margin +/-{EQUIVALENCE_MARGIN}).",
            _seeds(encoding_worlds, "ensemble.ensemble"),
            {"full_data": _seeds(encoding_worlds, "ensemble.full_data"),
             "same_few_images": _seeds(encoding_worlds, "ensemble.same_few_images"),
             "cohort_average": _seeds(encoding_worlds, "ensemble.cohort_average")},
            margin=EQUIVALENCE_MARGIN, against=["full_data"], note=note),
        Claim.greater_than(
            "ensemble_private_tuning",
            "The ensemble recovers the new subject's own deviation from the cohort better than the cohort average "
            "does (median over visual vertices of r between predicted and true deviation).",
            _seeds(encoding_worlds, "deviation.ensemble"),
            {"full_data": _seeds(encoding_worlds, "deviation.full_data"),
             "same_few_images": _seeds(encoding_worlds, "deviation.same_few_images"),
             "cohort_average": _seeds(encoding_worlds, "deviation.cohort_average")},
            against=["cohort_average"], note=note),
    ]
    ng_note = (f"{len(neurogen_worlds)} world seed(s); intervals resample the natural images; the synthetic value "
               "is the true response of the image the optimiser kept (best predicted trajectory).")
    for roi in rois:
        worlds = [w[roi] for w in neurogen_worlds if roi in w]
        if not worlds:
            continue
        claims.append(Claim.greater_than(
            f"neurogen_{roi}",
            f"The synthetic image drives the new subject's true {roi} response above every natural image it saw "
            "(ground truth, not the encoder).",
            _seeds(worlds, "synthetic"),
            {"natural_max_true": _seeds(worlds, "natural_max_true"),
             "natural_best_predicted_true": _seeds(worlds, "natural_best_predicted_true")},
            against=["natural_max_true"], note=ng_note))
    return claims


__all__ = ["EQUIVALENCE_MARGIN", "WorldData", "build_claims", "fit_encoders", "measure_encoding", "measure_neurogen",
           "neurogen_distributions"]

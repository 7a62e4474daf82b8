"""Acceptance tests of the encoding pipeline on a simulated NSD-like cohort (issue 9).

The cohort (8 subjects on fsaverage level 4, 520 images each of which 100 are
shared, 3 repeats) is written as an NSD tree and everything after that goes
through the real pipeline: :class:`neurokit.datasets.NSD` (z-score per session,
average repeats, NSD's noise ceiling), EfficientNet-Lite0 features in the
ground truth's layers (kept from the simulation's own pass over the stimuli,
checked against :func:`encoding.nsd_image_features` on the stimulus file),
one ridge encoder per subject
(:func:`encoding.fit_subject_encoder_from_nsd`, 420 training images) and a
personalized ensemble for subject 8 from subjects 1-7 and 300 of its images.

Targets and what was measured when they were set (seed 0):

(a) ridge, median noise-normalised accuracy over visual-ROI vertices:
    81-85 % of the noise ceiling per subject (target >= 80 %);
(b) ROI means (Pearson r of ROI-mean predicted vs measured, averaged over 15
    ROIs): ensemble 0.912, ridge on all 420 images 0.907, ridge on the same
    300 images 0.901, and a perfect model (the ground truth) 0.948. ROI means
    average the vertex noise away, so every model is within 0.05 of that
    ceiling and ROI means cannot separate them by much; per vertex the gap is
    clear: median noise-normalised accuracy 87 % (ensemble) vs 80 % (ridge on
    300) vs 83 % (ridge on 420). The test asks for a 3-point margin per vertex
    and any margin on ROI means;
(c) the ensemble's predicted subject-8-minus-subject-k difference of ROI means
    over the test images correlates 0.72-0.81 with the ground-truth difference
    (every k; target >= 0.6), and tracks it better than the group average of
    the 7 source encoders does (per-ROI r 0.66 vs 0.58 on average over k;
    target: a 0.03 margin).

Cost: about 100 s of CPU time (170 s wall on a 2-core machine shared with
other jobs); most of it is the simulation's EfficientNet pass over the 3,460
stimuli, which the (a) target needs (420 training images per subject).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from encoding import (
    FeatureExtractor,
    PersonalizedEnsembleEncoder,
    RidgeEncoder,
    fit_subject_encoder_from_nsd,
    nsd_image_features,
    simulate_cohort,
)
from neurokit.datasets import NSD
from neurokit.metrics import noise_normalized_accuracy, pearson_r

pytestmark = pytest.mark.slow  # one module-scoped cohort, ~100 s of CPU time

COHORT = dict(n_subjects=8, n_images=520, n_shared=100, level=4, image_size=64, seed=0, progress=False)
ALPHAS = np.logspace(-1, 5, 13)
TARGET = 8
N_FEW = 300
VISUAL_FAMILIES = ("prf-visualrois", "floc-faces", "floc-bodies", "floc-places")
MIN_ROI_VERTICES = 5


@dataclass
class Study:
    cohort: object
    nsd: NSD
    features: tuple[np.ndarray, np.ndarray]
    fits: dict


def _simulate_keeping_features(**kwargs):
    """``simulate_cohort`` plus the raw features it extracted from every stimulus.

    The simulation runs EfficientNet-Lite0 over all stimuli once (its ground
    truth is linear in those features); keeping that result spares the test
    a second pass, the most expensive step (the cohort exposes no public
    accessor for them). Falls back to ``None`` if the simulation did not make
    exactly one such call.
    """
    calls = []
    original = FeatureExtractor.extract

    def extract(self, images, *args, **kw):
        out = original(self, images, *args, **kw)
        calls.append((len(images), out))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(FeatureExtractor, "extract", extract)
        cohort = simulate_cohort(**kwargs)
    layers = cohort.features.extract_kwargs["layers"]
    if len(calls) != 1 or calls[0][0] != len(cohort.images) or set(calls[0][1]) != set(layers):
        return cohort, None
    return cohort, np.concatenate([calls[0][1][layer] for layer in layers], axis=1)


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Study:
    cohort, X = _simulate_keeping_features(**COHORT)
    nsd = NSD(cohort.write(tmp_path_factory.mktemp("cohort") / "nsd", progress=False))
    ids = np.arange(len(cohort.images))
    # the features of the stimuli as stored in the NSD file (uint8), streamed through the extractor
    ext, kw = cohort.features.extractor, cohort.features.extract_kwargs
    check = np.random.default_rng(1).choice(ids, 24, replace=False)
    from_file = nsd_image_features(nsd, check if X is not None else ids, ext, kw, image_size=COHORT["image_size"])
    if X is None:
        X = from_file
    else:  # the captured features are those of the float stimuli: equal up to uint8 rounding
        assert pearson_r(X[check].T, from_file.T).min() > 0.99
    fits = {k: fit_subject_encoder_from_nsd(nsd, k, features=(ids, X), alphas=ALPHAS, progress=False)
            for k in nsd.subjects}
    return Study(cohort, nsd, (ids, X), fits)


def _visual_mask(nsd: NSD, subject: int) -> np.ndarray:
    return nsd.roi_mask(subject, list(VISUAL_FAMILIES), COHORT["level"])


def _roi_masks(nsd: NSD, subject: int) -> dict[str, np.ndarray]:
    """Every visual ROI of ``subject`` (read from its label files) with enough vertices at this level."""
    masks = {}
    for family in VISUAL_FAMILIES:
        _, table = nsd.roi_labels(subject, family)
        for name in table.values():
            m = nsd.roi_mask(subject, f"{family}/{name}", COHORT["level"])
            if m.sum() >= MIN_ROI_VERTICES:
                masks[name] = m
    return masks


def _roi_means(data: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {name: data[:, m].mean(1) for name, m in masks.items()}


@pytest.fixture(scope="module")
def target(study: Study) -> dict:
    """Subject 8: measured test responses and the test predictions of four models."""
    ids, X = study.features
    resp = study.nsd.responses(TARGET)
    test = resp.shared
    train = np.flatnonzero(~test)
    few = np.sort(np.random.default_rng(0).choice(train, N_FEW, replace=False))
    Xs = X[resp.nsd_ids]
    sources = [study.fits[k][0] for k in study.nsd.subjects if k != TARGET]
    ensemble = PersonalizedEnsembleEncoder(sources).fit(Xs[few], resp.data[few])
    ridge_few = RidgeEncoder(alphas=ALPHAS).fit(Xs[few], resp.data[few])
    predictions = {
        "ensemble": ensemble.predict(Xs[test]),
        "ridge_all": study.fits[TARGET][0].predict(Xs[test]),
        "ridge_few": ridge_few.predict(Xs[test]),
        "group_average": np.mean([s.predict(Xs[test]) for s in sources], axis=0),
    }
    return {"resp": resp, "test": test, "n_train": train.size, "X_test": Xs[test], "predictions": predictions,
            "measured": resp.data[test], "noise_ceiling": study.fits[TARGET][1].noise_ceiling,
            "masks": _roi_masks(study.nsd, TARGET), "visual": _visual_mask(study.nsd, TARGET)}


def test_ridge_reaches_80_percent_of_the_noise_ceiling_in_visual_rois(study: Study):
    per_subject = {}
    for k, (_, info) in study.fits.items():
        assert info.train_ids.size == 420 and info.test_ids.size == 100
        visual = _visual_mask(study.nsd, k)
        per_subject[k] = info.summary(visual)["median_noise_normalized"]
        # and the ceiling itself is NSD-like: tens of percent in visual cortex, ~0 outside nsdgeneral
        outside = ~study.nsd.roi_mask(k, "nsdgeneral", COHORT["level"])
        assert 30 < np.median(info.noise_ceiling[visual]) < 80
        assert np.nanmedian(info.noise_ceiling[outside]) < 5
    assert min(per_subject.values()) >= 80.0, per_subject


def test_personalized_ensemble_on_300_images_matches_full_ridge(target: dict):
    measured, preds, masks = target["measured"], target["predictions"], target["masks"]
    assert len(masks) >= 10 and target["n_train"] > N_FEW
    truth = _roi_means(measured, masks)
    roi_r = {name: float(np.mean([pearson_r(truth[r], m) for r, m in _roi_means(p, masks).items()]))
             for name, p in preds.items()}
    vertex = {name: float(np.nanmedian(noise_normalized_accuracy(pearson_r(measured, p),
                                                                  target["noise_ceiling"])[target["visual"]]))
              for name, p in preds.items()}
    # ROI means: at least 95 % of the full-data ridge encoder, and better than ridge on the same images
    assert roi_r["ensemble"] >= 0.95 * roi_r["ridge_all"], roi_r
    assert roi_r["ensemble"] > roi_r["ridge_few"], roi_r
    # per vertex: clearly better than ridge on the same 300 images, as good as ridge on all of them
    assert vertex["ensemble"] >= vertex["ridge_few"] + 3.0, vertex
    assert vertex["ensemble"] >= 0.95 * vertex["ridge_all"], vertex


def _difference_tracking(study: Study, target: dict) -> dict[str, dict[int, float]]:
    """How well predicted subject-8-minus-subject-k differences of ROI means follow the ground truth.

    Returns, per other subject ``k``: ``pooled`` (r over all ROIs x test
    images, ensemble), ``per_roi`` (r per ROI averaged over ROIs, ensemble)
    and ``per_roi_group`` (the same for the group average of the sources).
    """
    cohort, nsd = study.cohort, study.nsd
    test_ids = target["resp"].nsd_ids[target["test"]]
    masks8 = target["masks"]

    def truth_in_data_units(subject: int) -> np.ndarray:
        # the data are z-scored per session: signal variance snr^2 plus unit noise variance
        snr = cohort.subject(subject).snr
        return cohort.clean_responses(subject, test_ids) / np.sqrt(snr**2 + 1.0)

    true8 = truth_in_data_units(TARGET)
    out: dict[str, dict[int, float]] = {"pooled": {}, "per_roi": {}, "per_roi_group": {}}
    for other in (k for k in nsd.subjects if k != TARGET):
        masks_o = _roi_masks(nsd, other)
        names = [n for n in masks8 if n in masks_o]
        pred_o = study.fits[other][0].predict(target["X_test"])
        true_o = truth_in_data_units(other)
        diffs: dict[str, list[np.ndarray]] = {key: [] for key in ("ensemble", "group_average", "truth")}
        for n in names:
            other_pred = pred_o[:, masks_o[n]].mean(1)
            for key in ("ensemble", "group_average"):
                diffs[key].append(target["predictions"][key][:, masks8[n]].mean(1) - other_pred)
            diffs["truth"].append(true8[:, masks8[n]].mean(1) - true_o[:, masks_o[n]].mean(1))
        out["pooled"][other] = float(np.corrcoef(np.ravel(diffs["ensemble"]), np.ravel(diffs["truth"]))[0, 1])
        for key, model in (("per_roi", "ensemble"), ("per_roi_group", "group_average")):
            out[key][other] = float(np.mean([np.corrcoef(p, t)[0, 1] for p, t in zip(diffs[model], diffs["truth"])]))
    return out


def test_ensemble_keeps_individual_differences(study: Study, target: dict):
    res = _difference_tracking(study, target)
    assert min(res["pooled"].values()) >= 0.6, res["pooled"]
    assert min(res["per_roi"].values()) >= 0.4, res["per_roi"]
    # personalisation: the ensemble's differences follow the truth better than the group average's
    ens, group = np.mean(list(res["per_roi"].values())), np.mean(list(res["per_roi_group"].values()))
    assert ens >= group + 0.03, res

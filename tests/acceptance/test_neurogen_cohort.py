"""NeuroGen acceptance tests on the simulated cohort (REFERENCE section 4).

The *fitted* encoder that drove the optimisation is the reference here:
synthetic images must go beyond the best (or below the worst) natural image of
the stimulus set under it (the ``rank_images`` baseline), minimising reverses
maximising, and a subject contrast separates two subjects' predicted responses
in the requested direction. The subject's *true* response (the ``soc-lite2``
ground truth, which the encoder's features do not share) is printed, not
asserted: measured (seed 0, 12 Fourier steps) it stays near or below the natural
mean for V1v, OPA, EBA and FFA-1 and above it for PPA, far below the natural
maximum everywhere; the demo's ``neurogen_<ROI>`` claims test it against the
natural maximum with intervals over 3 world seeds.

Budget: a few optimisation steps on 64-pixel images with the 3-subject
level-4 ``small_cohort`` fixture (the encoder runs EfficientNet-Lite0 at the
cohort's 96-pixel input, forward and backward, at every step).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from encoding import RidgeEncoder
from encoding.features import DEFAULT_FEATURES, default_extractor
from encoding.image_encoder import ImageEncoder, image_features
from neurogen import DCGANFaceGenerator, FourierImage, ROIActivation, SubjectContrast, rank_images, synthesize

pytestmark = pytest.mark.slow

HAS_DCGAN = importlib.util.find_spec("gan_face_generate") is not None

#: ROIs driven up with the Fourier parameterisation, and the ones also driven down.
FOURIER_MAX = ("V1v", "OPA", "PPA", "EBA", "FFA-1")
FOURIER_MIN = ("V1v", "PPA", "FFA-1")
FACE_ROIS = ("FFA-1", "OFA")
STEPS, LR = 12, 0.08  # Fourier: Adam on the spectrum


def _mean_over_repeats(cohort, subject: int) -> tuple[np.ndarray, np.ndarray]:
    """The subject's image ids (in ``image_ids`` order) and its trial-averaged betas, (n, V)."""
    ids = cohort.image_ids(subject)
    trial_ids = cohort.design.trial_nsd_ids(subject)
    betas = cohort.trials(subject)
    return ids, np.stack([betas[trial_ids == i].mean(axis=0) for i in ids])


@pytest.fixture(scope="module")
def setup(small_cohort):
    cohort = small_cohort
    ext, kw = default_extractor(cohort.params.image_size), DEFAULT_FEATURES  # the toolkit's, not the brain's
    ids = {s: cohort.image_ids(s) for s in (1, 2)}
    union = np.union1d(ids[1], ids[2])
    features = dict(zip(union.tolist(), image_features(ext, cohort.images[union], kw, batch_size=64)))
    encoders, ridges = {}, {}
    for s in (1, 2):
        own, Y = _mean_over_repeats(cohort, s)
        X = np.stack([features[i] for i in own.tolist()])
        ridges[s] = RidgeEncoder().fit(X, Y)
        encoders[f"subj0{s}"] = ImageEncoder(ext, kw, ridges[s])
    masks = {s: cohort.roi_masks(s) for s in (1, 2)}
    natural = cohort.images[ids[1]]
    rois = sorted(set(FOURIER_MAX) | set(FOURIER_MIN) | set(FACE_ROIS))
    objectives = [ROIActivation(masks[1][r], name=r) for r in rois]
    ranking = rank_images(encoders["subj01"], natural, objectives, batch_size=64)
    X1 = np.stack([features[i] for i in ids[1].tolist()])
    return {
        "cohort": cohort,
        "encoders": encoders,
        "masks": masks,
        "ranking": ranking,
        "ridge_predictions": ridges[1].predict(X1),
        "rois": rois,
        "natural_truth": cohort.clean_responses(1),  # (n_natural, V), same order as ``natural``
    }


def _roi_mean(responses: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return responses[:, mask].mean(axis=1)


def _check(setup, result, truth, name: str, roi: str, maximize: bool) -> None:
    """Predicted and true ROI response of one synthetic image against the natural images."""
    mask = setup["masks"][1][roi]
    i = int(result.select(name)[0])
    predicted = float(_roi_mean(result.predictions["encoder"][i : i + 1], mask)[0])
    true = float(truth[i, mask].mean())
    natural_pred = setup["ranking"].scores[setup["rois"].index(roi)]
    natural_true = _roi_mean(setup["natural_truth"], mask)
    # the optimiser's job, under the encoder it followed: beyond every natural image
    if maximize:
        best = natural_pred.max()
        assert predicted > best, f"{roi}: predicted {predicted:.3f} <= best natural {best:.3f}"
    else:
        worst = natural_pred.min()
        assert predicted < worst, f"{roi}: predicted {predicted:.3f} >= worst natural {worst:.3f}"
    # the ground truth is a finding, not an assertion (the demo's neurogen_<ROI> claims test it against
    # the natural maximum with intervals over 3 world seeds)
    print(f"{roi} ({'max' if maximize else 'min'}): true {true:.3f}, natural mean {natural_true.mean():.3f}, "
          f"natural max {natural_true.max():.3f}")


def test_baseline_ranks_by_the_same_predictions_as_the_fitted_ridge(setup):
    ranking, rois, masks = setup["ranking"], setup["rois"], setup["masks"][1]
    np.testing.assert_allclose(ranking.predictions["encoder"], setup["ridge_predictions"], rtol=1e-3, atol=1e-3)
    for k, roi in enumerate(rois):
        np.testing.assert_allclose(ranking.scores[k], _roi_mean(setup["ridge_predictions"], masks[roi]),
                                   rtol=1e-3, atol=1e-3)
        # the encoder generalises: predicted and true ROI responses to the natural images agree
        # (measured on the soc-lite2 world: 0.72-0.9; the encoder's features are not the brain's)
        r = np.corrcoef(ranking.scores[k], _roi_mean(setup["natural_truth"], masks[roi]))[0, 1]
        assert r > 0.6, f"{roi}: r = {r:.2f}"


def test_fourier_images_drive_rois_above_and_below_natural_images(setup):
    masks = setup["masks"][1]
    objectives = [ROIActivation(masks[r], name=f"max {r}") for r in FOURIER_MAX]
    objectives += [ROIActivation(masks[r], maximize=False, name=f"min {r}") for r in FOURIER_MIN]
    result = synthesize(FourierImage(64), setup["encoders"]["subj01"], objectives, steps=STEPS, lr=LR,
                        n_seeds=1, progress=False)
    assert result.images.shape == (len(objectives), 64, 64, 3)
    truth = setup["cohort"].subject(1).clean_response(result.images)
    for roi in FOURIER_MAX:
        _check(setup, result, truth, f"max {roi}", roi, maximize=True)
    for roi in FOURIER_MIN:
        _check(setup, result, truth, f"min {roi}", roi, maximize=False)
        up, down = result.select(f"max {roi}")[0], result.select(f"min {roi}")[0]
        assert result.predictions["encoder"][up, masks[roi]].mean() > result.predictions["encoder"][down,
                                                                                                   masks[roi]].mean()


@pytest.mark.skipif(not HAS_DCGAN, reason="gan-face-generate not installed")
def test_dcgan_faces_drive_face_areas(setup):
    masks, cohort = setup["masks"][1], setup["cohort"]
    generator = DCGANFaceGenerator.from_pretrained()
    objectives = [ROIActivation(masks[r], name=r) for r in FACE_ROIS]
    result = synthesize(generator, setup["encoders"]["subj01"], objectives, steps=20, lr=0.3, n_seeds=1,
                        progress=False)
    truth = cohort.subject(1).clean_response(result.images)
    is_face = np.asarray(cohort.labels["is_face"], dtype=bool)[cohort.image_ids(1)]
    for roi in FACE_ROIS:
        i = int(result.select(roi)[0])
        assert result.best_value[i] > result.history[i, 0] + 0.2  # optimisation raised it
        natural_pred = setup["ranking"].scores[setup["rois"].index(roi)]
        natural_true = _roi_mean(setup["natural_truth"], masks[roi])
        # a generated face beats the natural images' mean under the encoder; on the soc-lite2 world it does
        # not beat the best natural non-face image in 20 steps (measured 1.20 vs 1.71), a finding
        assert result.best_value[i] > natural_pred.mean()
        print(f"{roi}: predicted {result.best_value[i]:.3f} (best natural non-face {natural_pred[~is_face].max():.3f}),"
              f" true {truth[i, masks[roi]].mean():.3f} (natural mean {natural_true.mean():.3f}, max "
              f"{natural_true.max():.3f})")


@pytest.mark.parametrize("roi", ["PPA"])
def test_subject_contrast_separates_two_subjects_predictions(setup, roi):
    m1, m2 = setup["masks"][1][roi], setup["masks"][2][roi]
    objectives = [SubjectContrast(m1, "subj01", "subj02", roi_b=m2, name="1 > 2"),
                  SubjectContrast(m2, "subj02", "subj01", roi_b=m1, name="2 > 1")]
    result = synthesize(FourierImage(64), setup["encoders"], objectives, steps=STEPS, lr=LR, n_seeds=1,
                        progress=False)
    diff = _roi_mean(result.predictions["subj01"], m1) - _roi_mean(result.predictions["subj02"], m2)
    up, down = result.select("1 > 2")[0], result.select("2 > 1")[0]
    assert diff[up] > 0.1 and diff[down] < -0.1
    assert np.allclose(result.best_value[up], diff[up], atol=1e-3)

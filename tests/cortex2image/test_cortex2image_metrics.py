"""Reconstruction metrics: PixCorr, SSIM, two-way identification, brain correlation, score table."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from cortex2image.metrics import (
    brain_correlation,
    feature_identification,
    pixcorr,
    score_reconstructions,
    ssim,
)
from neurokit.exceptions import DataValidationError, ImageShapeError


def _images(n=6, size=24, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    out = []
    for _ in range(n):
        a, b, c = rng.uniform(0, 2 * np.pi, 3)
        base = 0.5 + 0.4 * np.sin(2 * np.pi * (xx * np.cos(a) + yy * np.sin(a)) * 2 + b)
        out.append(np.stack([base, np.roll(base, 3, 0), 1 - base * c / 7], -1))
    return np.clip(np.array(out), 0, 1)


def test_pixcorr_identity_and_known_value():
    imgs = _images()
    assert np.allclose(pixcorr(imgs, imgs), 1.0)
    assert np.allclose(pixcorr(imgs, 1 - imgs), -1.0)
    manual = np.corrcoef(imgs[0].ravel(), imgs[1].ravel())[0, 1]
    assert pixcorr(imgs[:1], imgs[1:2])[0] == pytest.approx(manual)


def test_pixcorr_resizes_reconstructions():
    imgs = _images(size=32)
    small = imgs[:, ::2, ::2]
    r = pixcorr(imgs, small)
    assert r.shape == (6,) and (r > 0.9).all()


def test_ssim_matches_skimage_convention():
    imgs = _images()
    noisy = np.clip(imgs + np.random.default_rng(1).normal(0, 0.1, imgs.shape), 0, 1)
    got = ssim(imgs, noisy)
    from skimage.color import rgb2gray

    want = structural_similarity(rgb2gray(imgs[2]), rgb2gray(noisy[2]), gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=1.0)
    assert got[2] == pytest.approx(want)
    assert np.allclose(ssim(imgs, imgs), 1.0)
    assert (got < 1).all()


def test_feature_identification_perfect_and_chance():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(20, 50))
    assert np.allclose(feature_identification(feats, feats + 0.01 * rng.normal(size=feats.shape)), 1.0)
    random = feature_identification(feats, rng.normal(size=feats.shape))
    assert 0.3 < random.mean() < 0.7
    with pytest.raises(DataValidationError):
        feature_identification(feats[:, 0], feats[:, 0])
    with pytest.raises(DataValidationError, match="one shape"):
        feature_identification(feats, feats[:5])


def test_a_reconstruction_with_constant_features_identifies_nothing():
    """All-zero features (a network silent on a flat image) tie every trial: score 0, the others unchanged."""
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(20, 50))
    recon = feats + 0.5 * rng.normal(size=feats.shape)
    expected = feature_identification(feats, recon)
    recon[[3, 7]] = 0.0
    scores = feature_identification(feats, recon)
    assert scores[3] == 0.0 and scores[7] == 0.0
    keep = np.setdiff1d(np.arange(20), [3, 7])
    np.testing.assert_array_equal(scores[keep], expected[keep])
    np.testing.assert_array_equal(feature_identification(feats, np.ones_like(feats)), np.zeros(20))


def test_brain_correlation_and_shape_errors():
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(24 * 24 * 3, 30))
    encoder = lambda x: x.reshape(len(x), -1) @ weights  # noqa: E731
    imgs = _images()
    measured = encoder(imgs) + 0.1 * rng.normal(size=(6, 30))
    r = brain_correlation(encoder, imgs, measured)
    assert r.shape == (6,) and (r > 0.9).all()
    with pytest.raises(DataValidationError):
        brain_correlation(encoder, imgs, measured[:, :5])


def test_score_reconstructions_table_and_baseline():
    imgs = _images(8)
    recon = np.clip(imgs + np.random.default_rng(2).normal(0, 0.05, imgs.shape), 0, 1)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(24 * 24 * 3, 30))
    encoder = lambda x: x.reshape(len(x), -1) @ weights  # noqa: E731
    scores = score_reconstructions(imgs, recon, feature_spaces={"pixels": lambda x: x.reshape(len(x), -1)},
                                   encoder=encoder, measured=encoder(imgs))
    assert scores.n_images == 8
    for name in ("PixCorr", "SSIM", "pixels 2-way", "brain correlation"):
        assert scores.scores[name] > scores.baseline[name], name
        assert scores.per_image[name].shape == (8,)
    text = scores.table()
    assert "n = 8 test images" in text and "PixCorr" in text
    assert scores.to_dict()["n_images"] == 8


def test_input_validation():
    imgs = _images()
    with pytest.raises(ImageShapeError):
        pixcorr(imgs, imgs[:3])
    with pytest.raises(ImageShapeError):
        ssim(imgs, imgs[..., 0])
    bad = imgs.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(DataValidationError):
        pixcorr(imgs, bad)
    with pytest.raises(DataValidationError):
        score_reconstructions(imgs[:1], imgs[:1])
    with pytest.raises(DataValidationError):
        score_reconstructions(imgs, imgs, encoder=lambda x: x)

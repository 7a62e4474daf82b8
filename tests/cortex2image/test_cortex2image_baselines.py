"""Reconstruction baselines: each one's contract, and the cases where it must fail."""

from __future__ import annotations

import numpy as np
import pytest

from cortex2image.baselines import (
    derangement,
    mean_image_baseline,
    nearest_neighbour_baseline,
    ridge_pixels_baseline,
    shuffled_baseline,
)
from cortex2image.metrics import feature_identification, pixcorr
from neurokit.exceptions import DataValidationError, ImageShapeError, InvalidParameterError

SIDE = 12


def _images(n: int, rng: np.random.Generator, k: int = 6) -> np.ndarray:
    """Images that are random mixtures of ``k`` smooth basis images (so 100-odd images determine the span)."""
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    basis = np.stack([np.sin(np.pi * (a * xx + b * yy))[..., None] * rng.uniform(0.2, 1, size=3)
                      for a, b in rng.integers(1, 4, size=(k, 2))])  # (k, S, S, 3)
    mix = rng.normal(size=(n, k))
    imgs = np.tensordot(mix, basis, axes=1)
    return ((imgs - imgs.min()) / (imgs.max() - imgs.min())).astype(np.float32)


@pytest.fixture(scope="module")
def world():
    """Training and test images with responses linear in their pixels (plus noise), and noise-only responses."""
    rng = np.random.default_rng(0)
    n_train, n_test, n_vertices = 150, 40, 300
    images = _images(n_train + n_test, rng)
    weights = rng.normal(size=(SIDE * SIDE * 3, n_vertices)) / SIDE
    responses = images.reshape(len(images), -1) @ weights + 0.3 * rng.normal(size=(len(images), n_vertices))
    noise = rng.normal(size=responses.shape)  # carries no image information
    split = slice(0, n_train), slice(n_train, None)
    return {"train_images": images[split[0]], "test_images": images[split[1]],
            "train": responses[split[0]], "test": responses[split[1]],
            "noise_train": noise[split[0]], "noise_test": noise[split[1]]}


def test_mean_image_is_the_training_mean_for_every_test_image(world):
    out = mean_image_baseline(world["train_images"], 5)
    assert out.shape == (5, SIDE, SIDE, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.broadcast_to(world["train_images"].mean(0), out.shape), atol=1e-6)
    with pytest.raises(InvalidParameterError, match="n must be"):
        mean_image_baseline(world["train_images"], 0)
    with pytest.raises(ImageShapeError, match="train_images"):
        mean_image_baseline(world["train_images"][..., 0], 3)


def test_nearest_neighbour_finds_a_repeated_response_and_ignores_a_shared_offset(world):
    rng = np.random.default_rng(1)
    pick = rng.choice(len(world["train"]), 10, replace=False)
    repeats = world["train"][pick] + 0.05 * rng.normal(size=(10, world["train"].shape[1]))
    images, index = nearest_neighbour_baseline(world["train"], world["train_images"], repeats)
    np.testing.assert_array_equal(index, pick)
    np.testing.assert_array_equal(images, world["train_images"][pick])
    # a response every image evokes (large, shared) is removed by the training-mean centring
    offset = 50.0 * rng.normal(size=world["train"].shape[1])
    _, shifted = nearest_neighbour_baseline(world["train"] + offset, world["train_images"], world["test"] + offset)
    _, plain = nearest_neighbour_baseline(world["train"], world["train_images"], world["test"])
    np.testing.assert_array_equal(shifted, plain)


def test_nearest_neighbour_is_at_chance_on_responses_without_image_information(world):
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    informative, _ = nearest_neighbour_baseline(world["train"], world["train_images"], world["test"])
    noise, _ = nearest_neighbour_baseline(world["noise_train"], world["train_images"], world["noise_test"])
    good = feature_identification(flat(world["test_images"]), flat(informative)).mean()
    chance = feature_identification(flat(world["test_images"]), flat(noise)).mean()
    assert good > 0.85
    assert abs(chance - 0.5) < 0.12


def test_nearest_neighbour_validates_and_drops_missing_vertices(world):
    train, test = world["train"].copy(), world["test"].copy()
    train[:, :5] = np.nan  # NSD's NaN vertices
    _, with_nan = nearest_neighbour_baseline(train, world["train_images"], test)
    _, without = nearest_neighbour_baseline(world["train"][:, 5:], world["train_images"], world["test"][:, 5:])
    np.testing.assert_array_equal(with_nan, without)
    with pytest.raises(DataValidationError, match="same vertices"):
        nearest_neighbour_baseline(world["train"], world["train_images"], world["test"][:, :10])
    with pytest.raises(DataValidationError, match="one response per training image"):
        nearest_neighbour_baseline(world["train"][:-1], world["train_images"], world["test"])
    with pytest.raises(DataValidationError, match="no vertex is finite"):
        nearest_neighbour_baseline(np.full_like(train, np.nan), world["train_images"], test)


def test_ridge_recovers_pixels_from_responses_linear_in_them_and_not_from_noise(world):
    decoded = ridge_pixels_baseline(world["train"], world["train_images"], world["test"])
    assert decoded.shape == world["test_images"].shape and decoded.min() >= 0.0 and decoded.max() <= 1.0
    assert pixcorr(world["test_images"], decoded).mean() > 0.9
    from_noise = ridge_pixels_baseline(world["noise_train"], world["train_images"], world["noise_test"])
    assert pixcorr(world["test_images"], from_noise).mean() < 0.5
    small = ridge_pixels_baseline(world["train"], world["train_images"], world["test"][:3], size=6)
    assert small.shape == (3, 6, 6, 3)
    with pytest.raises(InvalidParameterError, match="size"):
        ridge_pixels_baseline(world["train"], world["train_images"], world["test"], size=1)


def test_shuffled_pairs_are_a_derangement(world):
    images = world["test_images"]
    for seed in range(20):
        shuffled, perm = shuffled_baseline(images, seed)
        assert not np.any(perm == np.arange(len(images)))
        np.testing.assert_array_equal(np.sort(perm), np.arange(len(images)))
        np.testing.assert_array_equal(shuffled, images[perm])
    np.testing.assert_array_equal(shuffled_baseline(images, 3)[1], shuffled_baseline(images, 3)[1])
    assert not np.array_equal(shuffled_baseline(images, 3)[1], shuffled_baseline(images, 4)[1])
    assert not np.any(derangement(2, 0) == np.arange(2))
    with pytest.raises(DataValidationError, match="at least 2"):
        shuffled_baseline(images[:1], 0)

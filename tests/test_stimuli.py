"""Embedded stimuli cut from the photographs installed packages ship."""

from __future__ import annotations

import numpy as np
import pytest

from neurokit.datasets import CATEGORIES, LABEL_DTYPE, load_embedded_stimuli
from neurokit.exceptions import DataValidationError


@pytest.fixture(scope="module")
def stimuli():
    return load_embedded_stimuli(40, size=32, seed=3)


def test_shapes_range_and_labels(stimuli):
    images, labels = stimuli
    assert images.shape == (40, 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == LABEL_DTYPE and labels.shape == (40,)
    # balanced over categories, is_face consistent with category
    counts = {c: int((labels["category"] == c).sum()) for c in CATEGORIES}
    assert set(counts.values()) == {8}
    np.testing.assert_array_equal(labels["is_face"], labels["category"] == "face")
    assert (labels["box"][:, 2] > 0).all() and (labels["box"][:, 2] == labels["box"][:, 3]).all()


def test_distinct_and_deterministic(stimuli):
    images, labels = stimuli
    flat = images.reshape(len(images), -1)
    dists = np.abs(flat[:, None, :] - flat[None, :, :]).max(-1)
    assert (dists[~np.eye(len(images), dtype=bool)] > 0).all()
    again, labels2 = load_embedded_stimuli(40, size=32, seed=3)
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(labels2, labels)
    other, _ = load_embedded_stimuli(40, size=32, seed=4)
    assert not np.array_equal(other, images)


def test_crop_matches_source_photo():
    """A non-lfw crop equals the resized box of its source (checks the recorded box and flip)."""
    from skimage.transform import resize

    from neurokit.datasets.stimuli import _photo

    images, labels = load_embedded_stimuli(10, size=16, seed=0, categories=("object",))
    for img, lab in zip(images, labels):
        r, c, h, w = lab["box"]
        crop = _photo(str(lab["source"]))[r : r + h, c : c + w]
        if lab["flipped"]:
            crop = crop[:, ::-1]
        np.testing.assert_allclose(img, np.clip(resize(crop, (16, 16), order=1, anti_aliasing=True), 0, 1), atol=1e-6)


def test_category_subset_and_faces_are_rgb():
    images, labels = load_embedded_stimuli(12, size=24, seed=1, categories=("face",))
    assert (labels["category"] == "face").all()
    lfw = np.char.startswith(labels["source"].astype(str), "lfw_faces/")
    assert lfw.any()  # the lfw faces are used, upsampled to 3 equal channels
    np.testing.assert_array_equal(images[lfw][..., 0], images[lfw][..., 2])


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"n": 3, "size": -1}, {"n": 3, "categories": ("cars",)}])
def test_invalid_arguments(kwargs):
    with pytest.raises(DataValidationError):
        load_embedded_stimuli(**kwargs)

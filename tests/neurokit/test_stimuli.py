"""Embedded stimuli: labelled crops drawn from the photo bank, balanced over categories."""

from __future__ import annotations

import numpy as np
import pytest

from neurokit.datasets import CATEGORIES, LABEL_DTYPE, load_embedded_stimuli, load_photo_bank
from neurokit.exceptions import DataValidationError, InvalidParameterError


@pytest.fixture(scope="module")
def stimuli():
    return load_embedded_stimuli(42, size=32, seed=3)


def test_shapes_range_and_labels(stimuli):
    images, labels = stimuli
    assert images.shape == (42, 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == LABEL_DTYPE and labels.shape == (42,)
    # balanced over the bank's categories, is_face consistent with category
    bank = load_photo_bank()
    assert set(bank.categories) <= set(CATEGORIES) and len(bank.categories) == 7
    counts = {c: int((labels["category"] == c).sum()) for c in bank.categories}
    assert set(counts.values()) == {6}
    np.testing.assert_array_equal(labels["is_face"], labels["category"] == "face")
    np.testing.assert_array_equal(labels["category"], bank.category[labels["photo"]])
    assert (labels["box"][:, 2] > 0).all() and (labels["box"][:, 2] == labels["box"][:, 3]).all()


def test_distinct_and_deterministic(stimuli):
    images, labels = stimuli
    flat = images.reshape(len(images), -1)
    dists = np.abs(flat[:, None, :] - flat[None, :, :]).max(-1)
    assert (dists[~np.eye(len(images), dtype=bool)] > 0).all()
    again, labels2 = load_embedded_stimuli(42, size=32, seed=3)
    np.testing.assert_array_equal(again, images)
    np.testing.assert_array_equal(labels2, labels)
    other, _ = load_embedded_stimuli(42, size=32, seed=4)
    assert not np.array_equal(other, images)


def test_category_subset_draws_many_photos():
    images, labels = load_embedded_stimuli(12, size=24, seed=1, categories=("face",))
    assert (labels["category"] == "face").all()
    assert len(set(labels["photo"])) == 12  # crops cycle through the face photographs
    assert (labels["source"] == "lfw").any()


def test_large_size_uses_the_larger_bank():
    images, labels = load_embedded_stimuli(3, size=160, seed=0, categories=("place",))
    assert images.shape == (3, 160, 160, 3)
    assert labels["box"][:, 2].max() > 128  # boxes in the 256-pixel bank's pixels


@pytest.mark.parametrize("kwargs, error", [({"n": 0}, InvalidParameterError), ({"n": 3, "size": -1}, InvalidParameterError),
                                           ({"n": 3, "categories": ("cars",)}, DataValidationError)])
def test_invalid_arguments(kwargs, error):
    with pytest.raises(error):
        load_embedded_stimuli(**kwargs)

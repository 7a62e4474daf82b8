"""Embedded stimuli: labelled natural-image crops drawn from the photo bank.

The crops come from :mod:`neurokit.datasets.photo_bank` (several hundred
distinct photographs once ``neurokit photo-bank fetch`` has run, else the
photographs scikit-image, scikit-learn and matplotlib install). Each label
carries the bank id of its photograph (``photo``), so sets of stimuli can be
kept photo-disjoint with :func:`~neurokit.datasets.photo_bank.photo_disjoint_split`.
"""

from __future__ import annotations

import numpy as np

from neurokit.datasets.photo_bank import LABEL_DTYPE, PHOTO_CATEGORIES, load_photo_bank, sample_crops
from neurokit.exceptions import DataValidationError
from neurokit.validation import check_int

CATEGORIES: tuple[str, ...] = PHOTO_CATEGORIES
"""Stimulus categories (those of the photo bank)."""


def load_embedded_stimuli(
    n: int, size: int = 224, seed: int = 0, categories: tuple[str, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` natural-image crops from the photo bank, balanced over categories.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Side of the square output images, in pixels. Crops are cut from the
        128-pixel bank for ``size <= 128``, else from the 256-pixel bank.
    seed : int
        Seed: the same ``(n, size, seed, categories)`` always gives the same
        images (for the same bank).
    categories : tuple of str, optional
        Categories to draw from (default: every category in the bank). Images
        cycle through them so each gets ``n / len(categories)`` (rounded);
        within a category, crops cycle through its photographs
        (:func:`~neurokit.datasets.photo_bank.sample_crops`).

    Returns
    -------
    images : ndarray of float32, shape (n, size, size, 3)
        Values in [0, 1].
    labels : structured ndarray of shape (n,), dtype :data:`LABEL_DTYPE`
        ``photo`` (bank id), ``source``, ``category``, ``is_face``, ``box``
        (row, col, height, width in the bank image's pixels) and ``flipped``.

    Raises
    ------
    InvalidParameterError
        If ``n`` or ``size`` is not a positive integer or ``seed`` not a
        non-negative one.
    DataValidationError
        If a category is unknown or absent from the bank.
    """
    check_int(n, "n", minimum=1)
    check_int(size, "size", minimum=1)
    check_int(seed, "seed", minimum=0)
    bank = load_photo_bank(128 if size <= 128 else 256)
    cats = bank.categories if categories is None else tuple(categories)
    unknown = [c for c in cats if c not in bank.categories]
    if unknown or not cats:
        raise DataValidationError(
            f"categories must be a non-empty subset of the bank's categories {bank.categories}, got {categories!r}"
        )
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(cats))
    per_image = np.array([cats[order[i % len(cats)]] for i in range(int(n))])
    images = np.empty((int(n), int(size), int(size), 3), dtype=np.float32)
    labels = np.zeros(int(n), dtype=LABEL_DTYPE)
    for cat in cats:
        where = np.flatnonzero(per_image == cat)
        sub_seed = int(rng.integers(2**31))
        if len(where):
            images[where], labels[where] = sample_crops(bank, np.flatnonzero(bank.category == cat), len(where),
                                                        int(size), sub_seed)
    return images, labels


__all__ = ["CATEGORIES", "LABEL_DTYPE", "load_embedded_stimuli"]

"""Photo-disjoint splits of the bank and augmented crops of one split's photographs.

:func:`photo_disjoint_split` splits the bank by photograph; :func:`sample_crops`
multiplies the images of one split (random crops, flips and colour jitter)
without ever mixing photographs. Each crop's label (:data:`LABEL_DTYPE`)
names its photograph, so disjointness can be checked downstream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurokit.datasets.photo_bank.bank import PhotoBank
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_bool, check_int, check_real

__all__ = ["LABEL_DTYPE", "photo_disjoint_split", "sample_crops"]

LABEL_DTYPE = np.dtype(
    [
        ("photo", "i4"),
        ("source", "U16"),
        ("category", "U8"),
        ("is_face", "?"),
        ("box", "i4", (4,)),
        ("flipped", "?"),
    ]
)
"""Fields of a crop's label: bank id of its photograph, the photograph's
source (registry name) and category, whether it is a face, the crop box
``(row, col, height, width)`` in the bank image's pixels, horizontal flip."""


def photo_disjoint_split(
    bank: PhotoBank, test_fraction: float = 0.2, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Split the bank's photographs into training and test photographs.

    Parameters
    ----------
    bank : PhotoBank
    test_fraction : float
        Fraction of photographs in the test set, in (0, 1).
    seed : int
    stratify : bool
        Split each category separately (``round(test_fraction * n_c)`` test
        photographs, at least one of each side when the category has two or more).

    Returns
    -------
    train_photo_ids, test_photo_ids : ndarray of int
        Sorted, disjoint, together every photograph id.

    Raises
    ------
    InvalidParameterError
        If ``test_fraction`` is not in (0, 1), or ``seed`` is not a non-negative integer.
    """
    check_real(test_fraction, "test_fraction", minimum=0.0, maximum=1.0, include_minimum=False,
               include_maximum=False)
    check_int(seed, "seed", minimum=0)
    check_bool(stratify, "stratify")
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(bank.category == c) for c in bank.categories] if stratify else [bank.ids]
    test = []
    for ids in groups:
        n_test = int(round(test_fraction * len(ids)))
        if len(ids) >= 2:
            n_test = min(max(n_test, 1), len(ids) - 1)
        test.append(rng.permutation(ids)[:n_test])
    test_ids = np.sort(np.concatenate(test)).astype(int)
    return np.setdiff1d(bank.ids, test_ids), test_ids


def sample_crops(
    bank: PhotoBank,
    photo_ids: Sequence[int] | np.ndarray,
    n: int,
    size: int,
    seed: int = 0,
    *,
    scale: tuple[float, float] = (0.6, 1.0),
    jitter: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` augmented crops of the given photographs (crops multiply images, never photographs).

    Photographs are cycled in a random order, so each gets ``n / len(photo_ids)``
    crops (rounded). A crop is a random square of ``scale`` times the bank
    image's side at a random position, flipped horizontally with probability
    1/2, with mild colour jitter (brightness and per-channel gains uniform in
    ``1 +- jitter``), resized to ``size x size``.

    Parameters
    ----------
    bank : PhotoBank
    photo_ids : sequence of int
        Bank ids to draw from (e.g. one side of :func:`photo_disjoint_split`).
    n : int
        Number of crops.
    size : int
        Side of the output images, in pixels.
    seed : int
        The same arguments always give the same crops.
    scale : (float, float)
        Range of the crop side as a fraction of the bank image's side, in (0, 1].
    jitter : float
        Colour jitter amplitude, in [0, 0.5].

    Returns
    -------
    images : ndarray of float32, shape (n, size, size, 3)
        Values in [0, 1].
    labels : structured ndarray of shape (n,), dtype :data:`LABEL_DTYPE`

    Raises
    ------
    InvalidParameterError
        If ``n``, ``size``, ``seed``, ``scale`` or ``jitter`` is invalid.
    DataValidationError
        If ``photo_ids`` is empty or names ids that are not in the bank.
    """
    from skimage.transform import resize

    n = check_int(n, "n", minimum=1)
    size = check_int(size, "size", minimum=1)
    check_int(seed, "seed", minimum=0)
    try:
        lo, hi = (check_real(v, "scale") for v in scale)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"scale must be a pair (low, high) with 0 < low <= high <= 1, got {scale!r}") from None
    if not 0.0 < lo <= hi <= 1.0:
        raise InvalidParameterError(f"scale must satisfy 0 < low <= high <= 1, got {scale!r}")
    check_real(jitter, "jitter", minimum=0.0, maximum=0.5)
    ids = np.asarray(photo_ids)
    if ids.ndim != 1 or len(ids) == 0 or not np.issubdtype(ids.dtype, np.integer):
        raise DataValidationError(f"photo_ids must be a non-empty 1-D sequence of integer ids, got {photo_ids!r}")
    unknown = ids[(ids < 0) | (ids >= len(bank))]
    if len(unknown):
        raise DataValidationError(f"photo_ids: {unknown[:5].tolist()} are not ids of the bank (0..{len(bank) - 1})")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(ids) for _ in range(-(-n // len(ids)))])[:n]
    side_px = bank.size
    images = np.empty((n, size, size, 3), dtype=np.float32)
    labels = np.zeros(n, dtype=LABEL_DTYPE)
    for i, photo in enumerate(order):
        side = max(2, int(round(rng.uniform(lo, hi) * side_px)))
        top, left = int(rng.integers(side_px - side + 1)), int(rng.integers(side_px - side + 1))
        flip = bool(rng.integers(2))
        gain = rng.uniform(1 - jitter, 1 + jitter) * rng.uniform(1 - jitter / 2, 1 + jitter / 2, size=3)
        crop = np.asarray(bank.images[photo, top : top + side, left : left + side], dtype=np.float32) / 255.0
        if flip:
            crop = crop[:, ::-1]
        out = resize(crop, (size, size), order=1, anti_aliasing=side > size)
        images[i] = np.clip(out * gain.astype(np.float32), 0.0, 1.0)
        category = str(bank.category[photo])
        labels[i] = (int(photo), str(bank.source[photo]), category, category == "face", (top, left, side, side), flip)
    return images, labels

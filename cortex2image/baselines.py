"""Reconstruction baselines: what a reconstruction must beat to show that it decodes the image.

A reviewer of an image-reconstruction paper asks for four (the controls of
MindEye and Brain-Diffuser); each is a plain function of the training set and the test
responses, scored by the same metrics as the reconstruction
(:mod:`cortex2image.evaluation`):

- :func:`mean_image_baseline` -- the mean training image for every test
  response (no information about the test image at all);
- :func:`nearest_neighbour_baseline` -- the training image whose measured
  response correlates best with the test response (retrieval, not
  generation: a strong baseline when the training set resembles the test set);
- :func:`ridge_pixels_baseline` -- a linear (ridge) map from responses to
  pixels (what a linear decoder gets without any generator);
- :func:`shuffled_baseline` -- the images paired with the wrong test images (a
  derangement, :func:`derangement`): the chance level of every metric with
  the reconstructions' own image statistics.

Images are float arrays ``(n, H, W, 3)`` in [0, 1]; responses are
``(n, n_vertices)`` (any vertex set, the same columns for training and test).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError, ImageShapeError
from neurokit.validation import check_int

__all__ = ["RIDGE_PIXEL_ALPHAS", "derangement", "mean_image_baseline", "nearest_neighbour_baseline",
           "ridge_pixels_baseline", "shuffled_baseline"]

#: Candidate ridge penalties of :func:`ridge_pixels_baseline` (one chosen per pixel by GCV).
RIDGE_PIXEL_ALPHAS = np.logspace(-1, 7, 17)


def _check_images(images: Any, name: str) -> np.ndarray:
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] == 0:
        raise ImageShapeError(f"{name}: expected images of shape (n, H, W, 3) with n >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataValidationError(f"{name}: contains NaN or infinite pixel values")
    return arr


def _check_responses(train_responses: Any, test_responses: Any, n_train_images: int) -> tuple[np.ndarray, np.ndarray]:
    """The two response matrices on the vertices finite in every row (NSD's NaN vertices dropped)."""
    train = np.asarray(train_responses, dtype=np.float64)
    test = np.asarray(test_responses, dtype=np.float64)
    for name, arr in (("train_responses", train), ("test_responses", test)):
        if arr.ndim != 2 or arr.shape[0] == 0:
            raise DataValidationError(f"{name}: expected (n_images, n_vertices) with n_images >= 1, got {arr.shape}")
    if train.shape[1] != test.shape[1]:
        raise DataValidationError(f"train_responses has {train.shape[1]} vertices but test_responses has "
                                  f"{test.shape[1]}; both must be on the same vertices")
    if train.shape[0] != n_train_images:
        raise DataValidationError(f"train_responses has {train.shape[0]} rows but train_images has "
                                  f"{n_train_images} images; one response per training image is needed")
    keep = np.isfinite(train).all(0) & np.isfinite(test).all(0)
    if not keep.any():
        raise DataValidationError("train_responses/test_responses: no vertex is finite in every response")
    return train[:, keep], test[:, keep]


def derangement(n: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """A random permutation of ``range(n)`` with no fixed point (rejection sampling).

    Parameters
    ----------
    n : int
        At least 2.
    seed : int or numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n,)
        ``perm[i] != i`` for every ``i``.
    """
    if check_int(n, "n") < 2:
        raise DataValidationError(f"a derangement (shuffled pairs) needs at least 2 images, got n={n!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    while True:  # about e tries on average
        perm = rng.permutation(int(n))
        if not np.any(perm == np.arange(n)):
            return perm


def mean_image_baseline(train_images: np.ndarray, n: int) -> np.ndarray:
    """The mean training image, once per test response.

    Parameters
    ----------
    train_images : ndarray of shape (n_train, H, W, 3)
        Values in [0, 1].
    n : int
        Number of test responses (>= 1).

    Returns
    -------
    ndarray of shape (n, H, W, 3), float32
        ``n`` copies of the pixel-wise mean of ``train_images``.
    """
    train = _check_images(train_images, "train_images")
    n = check_int(n, "n", minimum=1)
    return np.repeat(train.mean(0, keepdims=True), n, axis=0).astype(np.float32)


def nearest_neighbour_baseline(train_responses: np.ndarray, train_images: np.ndarray,
                               test_responses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Retrieval: for each test response, the training image whose measured response correlates best with it.

    Both response sets are centred by the *training* mean response per vertex
    (so the response every image evokes does not dominate the match), then
    each test response is compared with each training response by the
    Pearson correlation across vertices; the best-correlated training image
    is returned. Vertices that are not finite in every response (NSD's NaN
    vertices) are left out.

    Parameters
    ----------
    train_responses : ndarray of shape (n_train, n_vertices)
        Measured responses to the training images (one row per image).
    train_images : ndarray of shape (n_train, H, W, 3)
    test_responses : ndarray of shape (n_test, n_vertices)

    Returns
    -------
    images : ndarray of shape (n_test, H, W, 3), float32
        The retrieved training images.
    index : ndarray of int, shape (n_test,)
        Row of ``train_images`` retrieved for each test response.
    """
    images = _check_images(train_images, "train_images")
    train, test = _check_responses(train_responses, test_responses, len(images))
    mean = train.mean(0)

    def standardised_rows(x: np.ndarray) -> np.ndarray:
        x = x - mean
        x = x - x.mean(1, keepdims=True)
        norm = np.linalg.norm(x, axis=1, keepdims=True)
        return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)  # a constant row correlates 0

    corr = standardised_rows(test) @ standardised_rows(train).T  # (n_test, n_train) Pearson r across vertices
    index = np.argmax(corr, axis=1)
    return images[index].astype(np.float32), index.astype(np.int64)


def ridge_pixels_baseline(train_responses: np.ndarray, train_images: np.ndarray, test_responses: np.ndarray,
                          size: int | None = None, *, alphas: Any = RIDGE_PIXEL_ALPHAS) -> np.ndarray:
    """A linear decoder: ridge regression from responses to pixels, clipped to [0, 1].

    One :class:`encoding.ridge.RidgeEncoder` with the responses as features
    and every pixel value (and colour channel) as a target; each pixel gets
    its own penalty from ``alphas`` by generalised cross-validation on the
    training images. Vertices that are not finite in every response are left out.

    Parameters
    ----------
    train_responses : ndarray of shape (n_train, n_vertices)
    train_images : ndarray of shape (n_train, H, W, 3)
        Values in [0, 1].
    test_responses : ndarray of shape (n_test, n_vertices)
    size : int, optional
        Side in pixels of the decoded images (the training images are resized,
        bilinear with anti-aliasing, before fitting: fewer targets, a smoother
        map). Default: the training images' size.
    alphas : sequence of float
        Candidate penalties.

    Returns
    -------
    ndarray of shape (n_test, size, size, 3) (or (n_test, H, W, 3)), float32
        Decoded images clipped to [0, 1].
    """
    from skimage.transform import resize

    from encoding.ridge import RidgeEncoder

    images = _check_images(train_images, "train_images")
    train, test = _check_responses(train_responses, test_responses, len(images))
    if size is not None:
        size = check_int(size, "size (pixels)", minimum=2, allow_none=True)
        images = resize(images, (len(images), int(size), int(size), 3), order=1, anti_aliasing=True,
                        preserve_range=True)
    shape = images.shape[1:]
    ridge = RidgeEncoder(alphas=alphas).fit(train.astype(np.float32), images.reshape(len(images), -1))
    decoded = ridge.predict(test.astype(np.float32)).reshape(len(test), *shape)
    return np.clip(decoded, 0.0, 1.0).astype(np.float32)


def shuffled_baseline(images: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The images paired with the wrong test images: ``images[perm]`` for a derangement ``perm``.

    Parameters
    ----------
    images : ndarray of shape (n, H, W, 3)
        Usually the reconstructions themselves, so the baseline keeps their
        image statistics and loses only the pairing (n >= 2).
    seed : int

    Returns
    -------
    shuffled : ndarray of shape (n, H, W, 3)
    perm : ndarray of int, shape (n,)
        ``shuffled[i] = images[perm[i]]``, ``perm[i] != i``.
    """
    arr = _check_images(images, "images")
    perm = derangement(len(arr), seed)
    return np.asarray(images)[perm], perm

"""Embedded stimuli: natural-image crops cut from the photographs installed packages ship.

Nothing is downloaded. The photographs come from scikit-image (``astronaut``,
``camera``, ``chelsea``, ``coffee``, ``rocket``, the left view of
``stereo_motorcycle`` and the
100 face images of ``lfw_subset``), scikit-learn (``china.jpg``,
``flower.jpg``) and matplotlib's sample data (``grace_hopper.jpg``). Each
photograph is divided into labelled regions (a face, a body, a scene, an
object, an animal); a stimulus is a square crop of random size (50-100 % of the
region's shorter side), random position inside the region and random
horizontal flip, resized to ``size x size``.

Categories (for the category tuning of simulated subjects):

``face``   the faces of ``astronaut``, ``grace_hopper`` and the lfw faces
``body``   the torsos of ``astronaut``, ``grace_hopper`` and ``camera`` (the cameraman)
``place``  scenes: ``china`` (a temple in its landscape), ``rocket`` (a launch site)
``object`` ``coffee``, ``motorcycle_left``, ``flower``
``animal`` ``chelsea`` (a cat)

The lfw faces are 25 x 25 grayscale images: they are upsampled (bicubic) to
``size`` and repeated over 3 channels, so they are blurrier than the other
crops; ``camera`` is grayscale too. Crop boxes of the face regions were placed
around the detections of scikit-image's LBP frontal-face cascade.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from neurokit.exceptions import DataValidationError, DatasetNotFoundError

CATEGORIES: tuple[str, ...] = ("face", "body", "place", "object", "animal")
"""Stimulus categories, in the order stimuli are balanced over."""

LABEL_DTYPE = np.dtype(
    [("source", "U24"), ("category", "U8"), ("is_face", "?"), ("box", "i4", (4,)), ("flipped", "?")]
)
"""Fields of the label table: source photograph, category, whether it is a face,
crop box ``(row, col, height, width)`` in the source's pixels, horizontal flip."""


@dataclass(frozen=True)
class _Region:
    source: str
    category: str
    box: tuple[int, int, int, int]  # row, col, height, width; (0, 0, 0, 0) = whole image


_REGIONS: tuple[_Region, ...] = (
    _Region("astronaut", "face", (35, 140, 165, 165)),
    _Region("astronaut", "body", (230, 40, 282, 400)),
    _Region("grace_hopper", "face", (100, 145, 245, 245)),
    _Region("grace_hopper", "body", (340, 0, 260, 512)),
    _Region("camera", "body", (40, 130, 420, 260)),
    _Region("china", "place", (0, 0, 0, 0)),
    _Region("rocket", "place", (0, 0, 0, 0)),
    _Region("coffee", "object", (0, 0, 0, 0)),
    _Region("motorcycle_left", "object", (0, 0, 0, 0)),
    _Region("flower", "object", (0, 0, 0, 0)),
    _Region("chelsea", "animal", (0, 0, 0, 0)),
    _Region("lfw_faces", "face", (0, 0, 0, 0)),
)
_N_LFW_FACES = 100  # lfw_subset: the first 100 of its 200 images are faces, the rest are not


@lru_cache(maxsize=None)
def _photo(source: str) -> np.ndarray:
    """A source photograph as float32 (H, W, 3) in [0, 1], or (100, 25, 25) for the lfw faces."""
    import skimage.data

    try:
        if source == "lfw_faces":
            return skimage.data.lfw_subset()[:_N_LFW_FACES].astype(np.float32)
        if source in ("china", "flower"):
            from sklearn.datasets import load_sample_image

            img = load_sample_image(f"{source}.jpg")
        elif source == "grace_hopper":
            import matplotlib
            import matplotlib.image

            img = matplotlib.image.imread(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
        elif source == "motorcycle_left":
            img = skimage.data.stereo_motorcycle()[0]
        else:
            img = getattr(skimage.data, source)()
    except (OSError, ValueError, AttributeError) as exc:
        raise DatasetNotFoundError(
            f"embedded photograph {source!r} is not available in the installed packages ({exc})"
        ) from exc
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3]
    return (img.astype(np.float32) / 255.0) if img.dtype == np.uint8 else img.astype(np.float32)


def load_embedded_stimuli(
    n: int, size: int = 224, seed: int = 0, categories: tuple[str, ...] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct natural-image crops from the photographs installed packages carry.

    Parameters
    ----------
    n : int
        Number of images.
    size : int
        Side of the square output images, in pixels.
    seed : int
        Seed: the same ``(n, size, seed)`` always gives the same images.
    categories : tuple of str, optional
        Categories to draw from (default: all of :data:`CATEGORIES`). Images
        cycle through them so each gets ``n / len(categories)`` (rounded).

    Returns
    -------
    images : ndarray of float32, shape (n, size, size, 3)
        Values in [0, 1].
    labels : structured ndarray of shape (n,), dtype :data:`LABEL_DTYPE`
        ``source``, ``category``, ``is_face``, ``box`` (row, col, height, width
        in the source image's pixels; for the lfw faces the box is within the
        25 x 25 face and ``source`` is ``lfw_faces/<index>``) and ``flipped``.

    Raises
    ------
    DataValidationError
        If ``n`` or ``size`` is not a positive integer or a category is unknown.
    """
    from skimage.transform import resize

    for value, name in ((n, "n"), (size, "size")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise DataValidationError(f"{name} must be a positive integer, got {value!r}")
    cats = CATEGORIES if categories is None else tuple(categories)
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown or not cats:
        raise DataValidationError(f"categories must be a non-empty subset of {CATEGORIES}, got {categories!r}")
    rng = np.random.default_rng(seed)
    by_cat = {c: [r for r in _REGIONS if r.category == c] for c in cats}
    images = np.empty((int(n), int(size), int(size), 3), dtype=np.float32)
    labels = np.zeros(int(n), dtype=LABEL_DTYPE)
    seen: set[tuple] = set()
    order = rng.permutation(len(cats))
    for i in range(int(n)):
        cat = cats[order[i % len(cats)]]
        for _attempt in range(1000):
            region = by_cat[cat][rng.integers(len(by_cat[cat]))]
            photo = _photo(region.source)
            source = region.source
            if region.source == "lfw_faces":
                k = int(rng.integers(photo.shape[0]))
                img = photo[k]
                source = f"lfw_faces/{k}"
                r0, c0, h, w = 0, 0, img.shape[0], img.shape[1]
                scale = rng.uniform(0.8, 1.0)
            else:
                img = photo
                r0, c0, h, w = region.box if region.box[2] else (0, 0, img.shape[0], img.shape[1])
                scale = rng.uniform(0.5, 1.0)
            side = max(8 if region.source != "lfw_faces" else 16, int(round(scale * min(h, w))))
            side = min(side, h, w)
            top = r0 + int(rng.integers(h - side + 1))
            left = c0 + int(rng.integers(w - side + 1))
            flip = bool(rng.integers(2))
            key = (source, top, left, side, flip)
            if key not in seen:
                seen.add(key)
                break
        else:  # pragma: no cover - needs far more images than the regions allow
            raise DataValidationError(f"cannot cut {n} distinct crops of category {cat!r}")
        crop = img[top : top + side, left : left + side]
        if flip:
            crop = crop[:, ::-1]
        out = resize(crop, (size, size), order=3 if crop.ndim == 2 else 1, anti_aliasing=side > size)
        if out.ndim == 2:
            out = np.repeat(out[..., None], 3, axis=2)
        images[i] = np.clip(out, 0.0, 1.0)
        labels[i] = (source, cat, cat == "face", (top, left, side, side), flip)
    return images, labels


__all__ = ["CATEGORIES", "LABEL_DTYPE", "load_embedded_stimuli"]

"""The stimuli of a simulated cohort: photo-disjoint photo-bank crops and their face/body/place labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError

#: The categories :func:`category_labels` marks.
CATEGORY_LABELS = ("face", "body", "place")


def default_stimuli(n_test: int, n_train: int, size: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Photo-disjoint stimuli from the photo bank: ``n_test`` crops of test photos, then ``n_train`` of the others.

    The bank's photographs are split by :func:`neurokit.datasets.photo_disjoint_split` (20 % of each
    category's photos for test); crops multiply images, never photos, so no test image shares a source
    photograph with a training image. ``labels['split']`` says which side each image is on.
    """
    from neurokit.datasets.photo_bank import load_photo_bank, photo_disjoint_split, sample_crops

    bank = load_photo_bank(size=128 if size <= 128 else 256)
    train, test = photo_disjoint_split(bank, test_fraction=0.2, seed=seed)
    parts = [sample_crops(bank, photos, n, size, seed + k) for k, (photos, n) in enumerate(((test, n_test),
                                                                                             (train, n_train))) if n]
    labels = {name: np.concatenate([p[1][name] for p in parts]) for name in parts[0][1].dtype.names}
    labels["split"] = np.array(["test"] * n_test + ["train"] * n_train)
    return np.concatenate([p[0] for p in parts]), labels


def category_labels(labels: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    """Boolean face/body/place indicators from stimulus labels.

    Uses ``is_face``/``is_body``/``is_place`` if present, else a ``category``
    array of strings (``'face'``; ``'body'``/``'person'``; ``'place'``/``'scene'``/
    ``'landscape'``/``'building'``). Missing categories are all False.
    """
    cats = np.asarray(labels["category"]).astype(str) if "category" in labels else None
    synonyms = {"face": ("face", "faces"), "body": ("body", "bodies", "person", "people"),
                "place": ("place", "places", "scene", "scenes", "landscape", "building", "indoor", "outdoor")}
    out = {}
    for cat in CATEGORY_LABELS:
        key = f"is_{cat}"
        if key in labels:
            v = np.asarray(labels[key], dtype=bool)
        elif cats is not None:
            v = np.isin(np.char.lower(cats), synonyms[cat])
        else:
            v = np.zeros(n, dtype=bool)
        if v.shape != (n,):
            raise DataValidationError(f"labels[{key!r}] must have one entry per image ({n}), got shape {v.shape}")
        out[cat] = v
    return out


__all__ = ["CATEGORY_LABELS", "default_stimuli", "category_labels"]

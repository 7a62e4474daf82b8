"""The photo bank as stored in the cache: its images and metadata (:class:`PhotoBank`) and its fingerprint."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.datasets.photo_bank.cache import FETCH_COMMAND
from neurokit.datasets.photo_bank.sources import PHOTO_CATEGORIES, PHOTO_SOURCES, selection_tables
from neurokit.exceptions import FileFormatError

__all__ = ["BANK_FORMAT", "DEFAULT_MIN_SIDE", "PhotoBank", "read_bank", "bank_fingerprint"]

BANK_FORMAT = 1
"""Version of the bank's file layout; part of the fingerprint (with the selection tables)."""

DEFAULT_MIN_SIDE = 24
"""Default ``min_side``: keeps the 25 x 25 LFW faces (most of the bank's faces)
and the 32 x 32 CIFAR samples; their ``original_size`` says how small they are."""


@dataclass(frozen=True, eq=False)
class PhotoBank:
    """The photo bank: images and per-photograph metadata (row ``i`` is photograph id ``i``)."""

    images: np.ndarray
    """uint8, shape (N, size, size, 3); a read-only memory map."""
    source: np.ndarray
    """str, shape (N,): registry name of each photograph's source."""
    package: np.ndarray
    package_version: np.ndarray
    licence: np.ndarray
    file: np.ndarray
    """str, shape (N,): path inside the package."""
    label: np.ndarray
    category: np.ndarray
    """str, shape (N,): one of :data:`PHOTO_CATEGORIES`."""
    original_size: np.ndarray
    """int, shape (N, 2): height and width before resizing, in pixels."""
    size: int
    path: Path
    """The ``.npy`` file."""
    duplicates_dropped: int
    missing: tuple[str, ...]
    """Sources that were not available when the bank was loaded."""

    def __len__(self) -> int:
        return len(self.images)

    @property
    def ids(self) -> np.ndarray:
        """Photograph ids, ``0 .. N-1``."""
        return np.arange(len(self))

    @property
    def categories(self) -> tuple[str, ...]:
        """Categories present, in :data:`PHOTO_CATEGORIES` order."""
        return tuple(c for c in PHOTO_CATEGORIES if (self.category == c).any())

    @property
    def sources(self) -> tuple[str, ...]:
        """Sources present, in :data:`PHOTO_SOURCES` order."""
        return tuple(s.name for s in PHOTO_SOURCES if (self.source == s.name).any())

    def summary(self) -> str:
        """A table of photograph counts per source (rows) and category (columns)."""
        cats = self.categories
        rows = [["source", *cats, "total"]]
        for s in self.sources:
            sel = self.source == s
            rows.append([s, *(str(int((sel & (self.category == c)).sum())) for c in cats), str(int(sel.sum()))])
        rows.append(["total", *(str(int((self.category == c).sum())) for c in cats), str(len(self))])
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(r)) for r in rows]
        lines.append(f"{len(self)} distinct photographs of {self.size} x {self.size} px, "
                     f"{self.duplicates_dropped} near-duplicates dropped; {self.path}")
        if self.missing:
            lines.append(f"missing sources: {', '.join(self.missing)} (run `{FETCH_COMMAND}`)")
        return "\n".join(lines)


def read_bank(folder: Path, size: int, *, missing: tuple[str, ...]) -> PhotoBank:
    """The bank of ``size`` stored in ``folder`` (``photos-<size>.npy`` memory-mapped, and its JSON).

    Raises
    ------
    FileFormatError
        If the images do not match their metadata.
    """
    header = json.loads((folder / f"photos-{size}.json").read_text())
    photos = header["photos"]
    images = np.load(folder / f"photos-{size}.npy", mmap_mode="r")
    if images.shape != (len(photos), size, size, 3):
        raise FileFormatError(f"{folder / f'photos-{size}.npy'}: shape {images.shape} does not match its "
                              f"metadata ({len(photos)} photographs of {size} px); delete it to rebuild")

    def column(key: str) -> np.ndarray:
        return np.array([p[key] for p in photos], dtype=str)

    return PhotoBank(images=images, source=column("source"), package=column("package"),
                     package_version=column("package_version"), licence=column("licence"), file=column("file"),
                     label=column("label"), category=column("category"),
                     original_size=np.array([p["original_size"] for p in photos], dtype=int).reshape(-1, 2),
                     size=size, path=folder / f"photos-{size}.npy",
                     duplicates_dropped=len(header["duplicates_dropped"]), missing=missing)


def bank_fingerprint(records: dict[str, dict[str, Any]], size: int, min_side: int) -> str:
    """What a bank of ``size`` and ``min_side`` built from these source records holds, as a short hash.

    It covers the file layout (:data:`BANK_FORMAT`), the selection tables
    (:func:`~neurokit.datasets.photo_bank.sources.selection_tables`) and each
    source's version and file count; :func:`~neurokit.datasets.photo_bank.load_photo_bank`
    rebuilds a cached bank whose fingerprint differs.
    """
    tables = selection_tables()
    key = {"format": BANK_FORMAT, "size": size, "min_side": min_side, "tables": tables,
           "sources": {n: [r["version"], r.get("files")] for n, r in sorted(records.items())}}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

"""Where the photo bank lives in the toolkit cache, and which of its sources are there."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from neurokit.datasets.photo_bank.sources import PHOTO_SOURCES, PhotoSource

__all__ = ["FETCH_COMMAND", "bank_dir", "source_dir", "source_record", "available_sources"]

FETCH_COMMAND = "neurokit photo-bank fetch"
"""The command that downloads the sources into the cache."""


def bank_dir(cache_dir: str | os.PathLike | None) -> Path:
    """``<cache>/photo-bank``: the bank's files and, under ``sources/``, the fetched sources."""
    from neurokit.mesh.hierarchy import cache_root

    return cache_root(cache_dir) / "photo-bank"


def source_dir(cache_dir: str | os.PathLike | None, name: str) -> Path:
    """``<cache>/photo-bank/sources/<name>``: a fetched source's ``source.json`` and ``files/``."""
    return bank_dir(cache_dir) / "sources" / name


def source_record(cache_dir: str | os.PathLike | None, source: PhotoSource) -> dict[str, Any] | None:
    """``{'version': ..., 'files': ...}`` of a source present in the cache (or installed), else None."""
    if source.origin == "installed":
        try:
            return {"version": source.version(Path()) if source.version else "", "root": ""}
        except ImportError:
            return None
    manifest = source_dir(cache_dir, source.name) / "source.json"
    if not manifest.is_file():
        return None
    record = json.loads(manifest.read_text())
    record["root"] = str(manifest.parent / "files")
    return record


def available_sources(cache_dir: str | os.PathLike | None) -> tuple[dict[str, dict[str, Any]], list[PhotoSource]]:
    """The sources present (their records, by name, in :data:`PHOTO_SOURCES` order) and those missing."""
    records: dict[str, dict[str, Any]] = {}
    missing = []
    for source in PHOTO_SOURCES:
        record = source_record(cache_dir, source)
        if record is None:
            missing.append(source)
        else:
            records[source.name] = record
    return records, missing

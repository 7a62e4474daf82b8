"""The toolkit's on-disk cache: where it lives, and its ``.npz`` files (written atomically, read without pickle).

Built meshes (``mesh/``), MeshConv operators (``operators/``) and other
packages' caches live under :func:`cache_root`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

#: Version of the on-disk cache layout; bump it when the arrays change meaning.
CACHE_VERSION = 1


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Directory of the toolkit's on-disk cache.

    ``cache_dir`` if given, else ``$NEUROKIT_CACHE_DIR``, else
    ``~/.cache/neurokit``. Created on first write, not here.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("NEUROKIT_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "neurokit"


def atomic_save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """Write ``arrays`` to ``path`` (.npz) atomically (see :func:`neurokit.io.atomic.atomic_path`)."""
    # imported here: neurokit.io imports neurokit.surface_data, which imports this package
    from neurokit.io.atomic import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """Arrays of a cache file, or ``None`` if it is missing or unreadable (never unpickles)."""
    if not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception:  # a corrupt or partial cache file is rebuilt, not fatal
        return None


def mesh_cache_path(level: int, hemi: str, source_key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the cached mesh of (level, hemi, source) lives."""
    return cache_root(cache_dir) / "mesh" / f"fsaverage-v{CACHE_VERSION}-{source_key}-{hemi}-level{level}.npz"


__all__ = ["CACHE_VERSION", "atomic_save_npz", "cache_root", "load_npz", "mesh_cache_path"]

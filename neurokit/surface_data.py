"""The validated container every reader returns: responses on a known mesh level."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurokit.exceptions import (
    DataValidationError,
    HemisphereMismatchError,
    NonFiniteDataError,
)
from neurokit.mesh.levels import check_level, level_from_n_vertices, n_vertices


@dataclass(frozen=True)
class SurfaceData:
    """Samples of data on both fsaverage hemispheres at one mesh level.

    Parameters
    ----------
    data : ndarray of shape (n_samples, 2 * n_vertices(level))
        float32 values, left hemisphere first, then right.
    level : int
        fsaverage icosahedron level (0..7); inferred from the vertex count
        by :meth:`from_hemispheres` and :meth:`from_array`.
    source : str
        Where the data came from (file names), for messages and provenance.
    meta : dict
        Free-form metadata (e.g. the original file's header fields).

    Notes
    -----
    Going to a coarser level is slicing (the hierarchy is nested), see
    :meth:`to_level`.
    """

    data: np.ndarray
    level: int
    source: str = "<array>"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        level = check_level(self.level)
        data = np.asarray(self.data)
        if data.ndim == 1:
            data = data[None, :]
        if data.ndim != 2:
            raise DataValidationError(
                f"{self.source}: expected a 2-D array (n_samples, n_vertices), got shape {data.shape}"
            )
        expected = 2 * n_vertices(level)
        if data.shape[1] != expected:
            raise DataValidationError(
                f"{self.source}: level {level} needs {expected:,} vertices (both hemispheres), "
                f"got {data.shape[1]:,}"
            )
        object.__setattr__(self, "data", np.ascontiguousarray(data, dtype=np.float32))
        object.__setattr__(self, "level", level)

    # construction -----------------------------------------------------------------
    @classmethod
    def from_hemispheres(
        cls,
        left: np.ndarray,
        right: np.ndarray,
        *,
        source: str = "<array>",
        allow_nan: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> "SurfaceData":
        """Join left and right hemisphere arrays of shape (n_samples, n_vertices) or (n_vertices,)."""
        left = _as_samples(left, f"{source} (left)")
        right = _as_samples(right, f"{source} (right)")
        lvl_l = level_from_n_vertices(left.shape[1], what=f"{source} (left hemisphere)")
        lvl_r = level_from_n_vertices(right.shape[1], what=f"{source} (right hemisphere)")
        if lvl_l != lvl_r:
            raise HemisphereMismatchError(
                f"{source}: left hemisphere has {left.shape[1]:,} vertices (level {lvl_l}) but right has "
                f"{right.shape[1]:,} (level {lvl_r})"
            )
        if left.shape[0] != right.shape[0]:
            raise HemisphereMismatchError(
                f"{source}: left hemisphere has {left.shape[0]} samples but right has {right.shape[0]}"
            )
        data = np.concatenate([left, right], axis=1)
        if not allow_nan:
            check_finite(data, source)
        return cls(data, lvl_l, source, dict(meta or {}))

    @classmethod
    def from_array(
        cls, data: np.ndarray, *, source: str = "<array>", allow_nan: bool = False
    ) -> "SurfaceData":
        """Wrap an array of shape (n_samples, 2 * n_vertices) whose level is inferred."""
        data = _as_samples(data, source)
        level = level_from_n_vertices(data.shape[1], both_hemispheres=True, what=source)
        if not allow_nan:
            check_finite(data, source)
        return cls(data, level, source)

    # views --------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_vertices_per_hemisphere(self) -> int:
        return n_vertices(self.level)

    @property
    def left(self) -> np.ndarray:
        """Left hemisphere, shape (n_samples, n_vertices(level))."""
        return self.data[:, : self.n_vertices_per_hemisphere]

    @property
    def right(self) -> np.ndarray:
        """Right hemisphere, shape (n_samples, n_vertices(level))."""
        return self.data[:, self.n_vertices_per_hemisphere :]

    def to_level(self, level: int) -> "SurfaceData":
        """The same data at a coarser (or equal) level, by keeping the first vertices."""
        level = check_level(level)
        if level > self.level:
            raise DataValidationError(
                f"{self.source}: cannot go from level {self.level} to the finer level {level} by slicing; "
                "use neurokit.mesh upsampling instead"
            )
        n = n_vertices(level)
        data = np.concatenate([self.left[:, :n], self.right[:, :n]], axis=1)
        return SurfaceData(data, level, self.source, dict(self.meta))

    def __len__(self) -> int:
        return self.n_samples


def _as_samples(array: np.ndarray, source: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "fiub":
        raise DataValidationError(f"{source}: expected numeric data, got dtype {array.dtype}")
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise DataValidationError(
            f"{source}: expected shape (n_samples, n_vertices) or (n_vertices,), got {array.shape}"
        )
    return array.astype(np.float32, copy=False)


def check_finite(data: np.ndarray, source: str) -> None:
    """Raise :class:`NonFiniteDataError` naming ``source`` if ``data`` holds NaN or inf."""
    finite = np.isfinite(data)
    if not finite.all():
        bad = np.argwhere(~finite)
        n_bad = int(bad.shape[0])
        first = tuple(int(i) for i in bad[0])
        raise NonFiniteDataError(
            f"{source}: {n_bad:,} NaN or infinite values (first at index {first}); "
            "mask or impute them before use, or pass allow_nan=True where supported"
        )

"""One hemisphere of the fsaverage sphere at one level: the :class:`HemisphereMesh` container.

The container holds the vertex positions, the faces, the 1-ring neighbours
(CSR) and the parent edges of one hemisphere; :func:`check_hemi` turns a
hemisphere name ('left', 'lh', ...) into ``'left'`` or ``'right'``. Meshes
are built by :func:`neurokit.mesh.loader.fsaverage_hemisphere`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurokit.exceptions import DataValidationError, VertexCountError
from neurokit.mesh.levels import HEMISPHERES, check_level, n_vertices

_HEMI_ALIASES = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right", "r": "right"}


@dataclass(frozen=True, eq=False)
class HemisphereMesh:
    """One hemisphere of the fsaverage sphere at one icosahedron level.

    Attributes
    ----------
    level : int
        Icosahedron level, 0..7 (5 is fsaverage5, 7 is fsaverage).
    hemi : {'left', 'right'}
        Hemisphere.
    vertices : ndarray of shape (n_vertices, 3), float64
        Vertex positions on the unit sphere (FreeSurfer's ``?h.sphere`` divided
        by its 100 mm radius and renormalised), in FreeSurfer's vertex order.
    faces : ndarray of shape (n_faces, 3), int64
        Triangles, counter-clockwise seen from outside (normals point outward),
        in FreeSurfer's face order. ``n_faces = 20 * 4**level``.
    indptr, indices : ndarray of int64
        The 1-ring neighbours in compressed sparse row form: the neighbours of
        vertex ``v`` are ``indices[indptr[v]:indptr[v + 1]]`` (sorted).
    parent_edges : ndarray of shape (n_vertices(level) - n_vertices(level - 1), 2), int64, or None
        For every vertex beyond the coarser level (in order), the two
        coarser-level vertices of the edge it splits (smaller index first).
        ``None`` at level 0.
    source : str
        Where the positions came from: ``'nilearn'`` (the bundled fsaverage5),
        ``'subdivision'`` (generated levels 6 and 7) or ``'freesurfer'``.

    Notes
    -----
    The arrays are read-only because meshes are shared through a cache.
    """

    level: int
    hemi: str
    vertices: np.ndarray
    faces: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    parent_edges: np.ndarray | None
    source: str = "nilearn"

    def __post_init__(self) -> None:
        level = check_level(self.level)
        hemi = check_hemi(self.hemi)
        nv = n_vertices(level)
        vertices = np.asarray(self.vertices, dtype=np.float64)
        faces = np.asarray(self.faces, dtype=np.int64)
        if vertices.shape != (nv, 3):
            raise VertexCountError(f"HemisphereMesh level {level}: vertices must have shape ({nv}, 3), got {vertices.shape}")
        if faces.shape != (20 * 4**level, 3):
            raise DataValidationError(
                f"HemisphereMesh level {level}: faces must have shape ({20 * 4**level}, 3), got {faces.shape}"
            )
        if faces.min() < 0 or faces.max() >= nv:
            raise DataValidationError(f"HemisphereMesh level {level}: face indices must lie in 0..{nv - 1}")
        parents = self.parent_edges
        if level == 0:
            if parents is not None:
                raise DataValidationError("HemisphereMesh level 0 has no parent edges; pass parent_edges=None")
        else:
            parents = np.asarray(parents, dtype=np.int64)
            expected = (nv - n_vertices(level - 1), 2)
            if parents.shape != expected:
                raise DataValidationError(
                    f"HemisphereMesh level {level}: parent_edges must have shape {expected}, got {parents.shape}"
                )
        arrays = {
            "vertices": vertices,
            "faces": faces,
            "indptr": np.asarray(self.indptr, dtype=np.int64),
            "indices": np.asarray(self.indices, dtype=np.int64),
            "parent_edges": parents,
        }
        for name, array in arrays.items():
            if array is not None:
                array = np.array(array, copy=True) if array.flags.writeable else array
                array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "hemi", hemi)

    @property
    def n_vertices(self) -> int:
        """Number of vertices, ``10 * 4**level + 2``."""
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        """Number of triangles, ``20 * 4**level``."""
        return int(self.faces.shape[0])

    @property
    def edges(self) -> np.ndarray:
        """Unique undirected edges, shape (n_edges, 2), smaller index first, sorted."""
        rows = np.repeat(np.arange(self.n_vertices), np.diff(self.indptr))
        keep = rows < self.indices
        return np.stack([rows[keep], self.indices[keep]], axis=1)

    def adjacency(self) -> sp.csr_matrix:
        """Vertex adjacency as a symmetric scipy CSR matrix of ones, shape (n_vertices, n_vertices)."""
        data = np.ones(self.indices.shape[0], dtype=np.float64)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.n_vertices, self.n_vertices))

    def neighbour_lists(self) -> list[np.ndarray]:
        """1-ring neighbours of every vertex as a list of sorted int64 arrays (5 or 6 each)."""
        return np.split(np.asarray(self.indices), self.indptr[1:-1])

    def __repr__(self) -> str:
        return (
            f"HemisphereMesh(level={self.level}, hemi={self.hemi!r}, n_vertices={self.n_vertices:,}, "
            f"n_faces={self.n_faces:,}, source={self.source!r})"
        )


def check_hemi(hemi: str, name: str = "hemi") -> str:
    """Return ``'left'`` or ``'right'`` for a hemisphere name (also accepts 'lh'/'rh').

    Raises
    ------
    DataValidationError
        If ``hemi`` names no hemisphere.
    """
    if isinstance(hemi, str) and hemi.lower() in _HEMI_ALIASES:
        return _HEMI_ALIASES[hemi.lower()]
    raise DataValidationError(f"{name} must be one of {HEMISPHERES} (or 'lh'/'rh'), got {hemi!r}")


__all__ = ["HemisphereMesh", "check_hemi"]

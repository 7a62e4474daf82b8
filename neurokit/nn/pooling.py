"""Pooling and unpooling between nested fsaverage levels.

Level ``k`` is the first ``n_vertices(k)`` vertices of level ``k + 1``, and
every vertex of level ``k + 1`` beyond them is the midpoint of an edge of level
``k`` (its two "parents"). So:

- pooling ``k + 1 -> k`` keeps the first ``n_vertices(k)`` vertices and takes
  the max or the mean over each one's 1-ring at level ``k + 1`` (itself and its
  5 or 6 neighbours);
- unpooling ``k -> k + 1`` puts the coarse values on their own vertices and
  fills every new vertex with the mean of its two parents (linear
  interpolation along the parent edge). Follow it with a :class:`MeshConv`
  (as :class:`neurokit.nn.blocks.UpBlock` does).

Both are gathers with precomputed index tensors (non-persistent buffers), so
they run on any device and batch all channels at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from neurokit.exceptions import DataValidationError, InvalidParameterError, MeshUnavailableError
from neurokit.mesh.levels import check_level, n_vertices
from neurokit.nn._layout import check_input, resolve_hemispheres
from neurokit.nn._sparse import csr_pair, sparse_apply
from neurokit.validation import check_option

POOL_MODES = ("max", "mean")


def _load_faces(level: int, hemispheres: tuple[str, ...]) -> list[np.ndarray]:
    try:
        from neurokit.mesh.loader import fsaverage_hemisphere
    except ImportError as err:  # pragma: no cover - depends on the install
        raise MeshUnavailableError(
            "mesh pooling needs neurokit.mesh.loader.fsaverage_hemisphere; pass faces=... explicitly"
        ) from err
    return [np.asarray(fsaverage_hemisphere(level, hemi).faces) for hemi in hemispheres]


def _check_faces(faces: np.ndarray, level: int, what: str) -> np.ndarray:
    faces = np.asarray(faces)
    n = n_vertices(level)
    n_faces = 2 * n - 4  # Euler: closed triangulated sphere
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise DataValidationError(f"{what}: expected an integer (n_faces, 3) array, got {faces.dtype} {faces.shape}")
    if faces.shape[0] != n_faces or faces.min() < 0 or faces.max() >= n:
        raise DataValidationError(
            f"{what}: level {level} needs {n_faces:,} faces indexing {n:,} vertices, "
            f"got {faces.shape[0]:,} faces with indices in [{faces.min()}, {faces.max()}]"
        )
    return faces.astype(np.int64)


def _edges(faces: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2), smaller index first."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e.sort(axis=1)
    return np.unique(e, axis=0)


def pooling_neighbourhoods(fine_faces: np.ndarray, fine_level: int) -> np.ndarray:
    """1-rings at level ``fine_level`` of the vertices of level ``fine_level - 1``.

    Parameters
    ----------
    fine_faces : ndarray of shape (n_faces, 3), int
        Triangles of the finer level.
    fine_level : int
        Level of ``fine_faces`` (1..7).

    Returns
    -------
    ndarray of shape (n_vertices(fine_level - 1), 7), int64
        Row ``i`` holds vertex ``i`` itself first, then its neighbours at the
        fine level; rows of degree-5 vertices are padded with ``-1``.
    """
    fine_level = check_level(fine_level, "fine_level")
    if fine_level < 1:
        raise InvalidParameterError("fine_level must be at least 1 to pool to a coarser level")
    faces = _check_faces(fine_faces, fine_level, "fine_faces")
    n_coarse = n_vertices(fine_level - 1)
    edges = _edges(faces)
    both = np.concatenate([edges, edges[:, ::-1]])
    both = both[both[:, 0] < n_coarse]
    order = np.lexsort((both[:, 1], both[:, 0]))
    both = both[order]
    degree = np.bincount(both[:, 0], minlength=n_coarse)
    if degree.max() > 6 or degree.min() < 3:
        raise DataValidationError(f"fine_faces: vertex degrees {degree.min()}..{degree.max()} are not an icosphere's")
    out = np.full((n_coarse, 7), -1, dtype=np.int64)
    out[:, 0] = np.arange(n_coarse)
    starts = np.concatenate([[0], np.cumsum(degree)[:-1]])
    slot = np.arange(both.shape[0]) - np.repeat(starts, degree)
    out[both[:, 0], 1 + slot] = both[:, 1]
    return out


def interpolation_parents(fine_faces: np.ndarray, fine_level: int) -> np.ndarray:
    """The two parents of every vertex of level ``fine_level``, found from its faces (the unpooling table).

    Unlike :func:`neurokit.mesh.parent_edges` (the new vertices' parent edges
    of the fsaverage topology, by level), this reads the parents off any
    nested triangulation given as faces, and gives every old vertex the pair
    ``(i, i)``, the row layout :func:`interpolation_matrix` takes.

    Parameters
    ----------
    fine_faces : ndarray of shape (n_faces, 3), int
        Triangles of the finer level.
    fine_level : int
        Level of ``fine_faces`` (1..7).

    Returns
    -------
    ndarray of shape (n_vertices(fine_level), 2), int64
        For a vertex that already exists at the coarser level, ``(i, i)``;
        for a new (edge-midpoint) vertex, the endpoints of the coarse edge it
        splits, i.e. its only two fine-level neighbours among the coarse
        vertices.
    """
    fine_level = check_level(fine_level, "fine_level")
    if fine_level < 1:
        raise InvalidParameterError("fine_level must be at least 1 to have parent edges")
    faces = _check_faces(fine_faces, fine_level, "fine_faces")
    n_coarse, n_fine = n_vertices(fine_level - 1), n_vertices(fine_level)
    edges = _edges(faces)
    # edges from a new vertex to a coarse vertex: (coarse, new) since coarse < new
    link = edges[(edges[:, 0] < n_coarse) & (edges[:, 1] >= n_coarse)]
    count = np.bincount(link[:, 1], minlength=n_fine)[n_coarse:]
    if not np.all(count == 2):
        raise MeshUnavailableError(
            f"fine_faces: level {fine_level} is not nested on level {fine_level - 1} "
            f"(new vertices must each touch exactly 2 coarse vertices; found {count.min()}..{count.max()})"
        )
    link = link[np.argsort(link[:, 1], kind="stable")]
    out = np.repeat(np.arange(n_fine)[:, None], 2, axis=1)
    out[n_coarse:] = link[:, 0].reshape(-1, 2)
    return out


def interpolation_matrix(parents: torch.Tensor | np.ndarray, n_coarse: int) -> torch.Tensor:
    """Sparse unpooling operator from the parent table of the fine vertices.

    Parameters
    ----------
    parents : array of shape (n_fine, 2), int
        Parents of every fine vertex (``(i, i)`` for a vertex that exists at
        the coarse level), as :func:`interpolation_parents` returns (offset per
        hemisphere when hemispheres are concatenated).
    n_coarse : int
        Number of coarse vertices (columns).

    Returns
    -------
    torch.Tensor
        Coalesced float32 sparse COO matrix of shape (n_fine, n_coarse) with
        two entries of 0.5 per row (one entry of 1.0 for an old vertex).
    """
    parents = torch.as_tensor(np.asarray(parents), dtype=torch.int64)
    if parents.ndim != 2 or parents.shape[1] != 2:
        raise DataValidationError(f"parents: expected an (n_fine, 2) integer array, got {tuple(parents.shape)}")
    if parents.numel() and (int(parents.min()) < 0 or int(parents.max()) >= n_coarse):
        raise DataValidationError(f"parents: indices must lie in 0..{n_coarse - 1}")
    n_fine = parents.shape[0]
    rows = torch.arange(n_fine).repeat_interleave(2)
    values = torch.full((2 * n_fine,), 0.5, dtype=torch.float32)
    return torch.sparse_coo_tensor(
        torch.stack([rows, parents.reshape(-1)]), values, (n_fine, n_coarse), check_invariants=False  # checked above
    ).coalesce()


def _faces_for(level: int, hemis: tuple[str, ...], faces: Sequence[np.ndarray] | None) -> list[np.ndarray]:
    if faces is None:
        return _load_faces(level, hemis)
    if len(faces) != len(hemis):
        raise DataValidationError(f"faces: got {len(faces)} face arrays for hemispheres {hemis}")
    return [np.asarray(f) for f in faces]


class MeshPool(nn.Module):
    """Pool from fsaverage level ``level`` to ``level - 1`` (max or mean over 1-rings).

    Parameters
    ----------
    level : int
        Level of the input (1..7); the output is at ``level - 1``.
    mode : {"max", "mean"}
        Reduction over each coarse vertex's fine 1-ring (7 or 6 vertices).
    hemispheres : {"both", "left", "right"} or sequence of str
        Hemispheres concatenated along the vertex axis, left first.
    faces : sequence of ndarray, optional
        Triangles of level ``level``, one array per hemisphere; default from
        :func:`neurokit.mesh.loader.fsaverage_hemisphere`.

    Notes
    -----
    Input ``(batch, channels, H * n_vertices(level))``, output
    ``(batch, channels, H * n_vertices(level - 1))``.
    """

    def __init__(
        self,
        level: int,
        mode: str = "max",
        hemispheres: str | Sequence[str] = "both",
        faces: Sequence[np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.level = check_level(level)
        if self.level < 1:
            raise InvalidParameterError("MeshPool: level must be 1..7 (the output is level - 1)")
        self.mode = check_option(mode, "MeshPool: mode", POOL_MODES)
        self.hemispheres = resolve_hemispheres(hemispheres)
        n_fine, n_coarse = n_vertices(self.level), n_vertices(self.level - 1)
        rings, valid = [], []
        for h, f in enumerate(_faces_for(self.level, self.hemispheres, faces)):
            ring = pooling_neighbourhoods(f, self.level)
            valid.append(ring >= 0)
            rings.append(np.where(ring < 0, ring[:, :1], ring) + h * n_fine)  # pad with the vertex itself
        index = torch.from_numpy(np.concatenate(rings))
        mask = torch.from_numpy(np.concatenate(valid)).float()
        weight = mask / mask.sum(1, keepdim=True)
        self.n_in, self.n_out = len(self.hemispheres) * n_fine, len(self.hemispheres) * n_coarse
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("mean_weight", weight, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool ``x`` of shape (batch, channels, n_in) to (batch, channels, n_out)."""
        check_input(x, None, self.n_in, "MeshPool")
        ring = x[:, :, self.index]  # (B, C, n_out, 7)
        if self.mode == "max":
            return ring.amax(dim=-1)
        return (ring * self.mean_weight.to(ring.dtype)).sum(dim=-1)

    def extra_repr(self) -> str:
        return f"level={self.level}->{self.level - 1}, mode={self.mode!r}, hemispheres={self.hemispheres}"


class MeshUnpool(nn.Module):
    """Unpool from fsaverage level ``level`` to ``level + 1`` by parent-edge interpolation.

    Parameters
    ----------
    level : int
        Level of the input (0..6); the output is at ``level + 1``.
    hemispheres : {"both", "left", "right"} or sequence of str
        Hemispheres concatenated along the vertex axis, left first.
    faces : sequence of ndarray, optional
        Triangles of level ``level + 1``, one array per hemisphere; default
        from :func:`neurokit.mesh.loader.fsaverage_hemisphere`.

    Notes
    -----
    Input ``(batch, channels, H * n_vertices(level))``, output
    ``(batch, channels, H * n_vertices(level + 1))``. Old vertices keep their
    values exactly; new vertices get the mean of their two parents. This is
    linear, so a field that is linear along each coarse edge is restored
    exactly and a smooth field up to O(h^2).
    """

    def __init__(
        self,
        level: int,
        hemispheres: str | Sequence[str] = "both",
        faces: Sequence[np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.level = check_level(level)
        if self.level >= 7:
            raise InvalidParameterError("MeshUnpool: level must be 0..6 (the output is level + 1)")
        self.hemispheres = resolve_hemispheres(hemispheres)
        n_fine, n_coarse = n_vertices(self.level + 1), n_vertices(self.level)
        parents = []
        for h, f in enumerate(_faces_for(self.level + 1, self.hemispheres, faces)):
            parents.append(interpolation_parents(f, self.level + 1) + h * n_coarse)
        self.n_in, self.n_out = len(self.hemispheres) * n_coarse, len(self.hemispheres) * n_fine
        parents_t = torch.from_numpy(np.concatenate(parents))
        self.register_buffer("parents", parents_t, persistent=False)
        matrix, matrix_t = csr_pair(interpolation_matrix(parents_t, self.n_in))
        self.register_buffer("matrix", matrix, persistent=False)
        self.register_buffer("matrix_t", matrix_t, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Unpool ``x`` of shape (batch, channels, n_in) to (batch, channels, n_out).

        Computed as one sparse product on the vertex-major ``(n_in, batch * channels)``
        view of ``x`` (free for a :class:`MeshConv` output); the result is a
        ``(batch, channels, n_out)`` view of a vertex-major array, which a
        following :class:`MeshConv` reads without a copy.
        """
        check_input(x, None, self.n_in, "MeshUnpool")
        b, c, n = x.shape
        cols = x.permute(2, 0, 1).reshape(n, b * c)
        out = sparse_apply(self.matrix, self.matrix_t, cols).to(x.dtype)
        return out.view(self.n_out, b, c).permute(1, 2, 0)

    def extra_repr(self) -> str:
        return f"level={self.level}->{self.level + 1}, hemispheres={self.hemispheres}"


class MeshUpsample(nn.Module):
    """Interpolate from fsaverage level ``level`` to a finer ``target_level`` (repeated unpooling, no weights).

    Parameters
    ----------
    level, target_level : int
        Levels of the input and of the output (``level <= target_level``).
    hemispheres : {"both", "left", "right"} or sequence of str
        Hemispheres concatenated along the vertex axis, left first.

    Notes
    -----
    Equivalent to ``target_level - level`` chained :class:`MeshUnpool` layers,
    composed into one sparse matrix (at most ``2 ** (target_level - level)``
    entries per row) applied in a single product on the vertex-major layout.
    Input ``(batch, channels, H * n_vertices(level))``, output
    ``(batch, channels, H * n_vertices(target_level))``, a view of a
    vertex-major array.
    """

    def __init__(self, level: int, target_level: int, hemispheres: str | Sequence[str] = "both") -> None:
        super().__init__()
        self.level, self.target_level = check_level(level), check_level(target_level, "target_level")
        if self.level > self.target_level:
            raise InvalidParameterError(f"MeshUpsample: level ({level}) must not exceed target_level ({target_level})")
        self.hemispheres = resolve_hemispheres(hemispheres)
        n_hemi = len(self.hemispheres)
        self.n_in, self.n_out = n_hemi * n_vertices(self.level), n_hemi * n_vertices(self.target_level)
        mat = sp.identity(self.n_in, format="csr", dtype=np.float32)
        for lev in range(self.level, self.target_level):
            up = MeshUnpool(lev, self.hemispheres).matrix
            step = sp.csr_matrix((up.values().numpy(), up.col_indices().numpy(), up.crow_indices().numpy()),
                                 shape=tuple(up.shape))
            mat = step @ mat
        mat = sp.coo_matrix(mat)
        idx = torch.from_numpy(np.stack([mat.row, mat.col]).astype(np.int64))
        coo = torch.sparse_coo_tensor(
            idx, torch.from_numpy(mat.data.astype(np.float32)), mat.shape, check_invariants=False  # from scipy
        ).coalesce()
        matrix, matrix_t = csr_pair(coo)
        self.register_buffer("matrix", matrix, persistent=False)
        self.register_buffer("matrix_t", matrix_t, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Interpolate ``x`` of shape (batch, channels, n_in) to (batch, channels, n_out)."""
        check_input(x, None, self.n_in, "MeshUpsample")
        b, c, n = x.shape
        cols = x.permute(2, 0, 1).reshape(n, b * c)
        out = sparse_apply(self.matrix, self.matrix_t, cols).to(x.dtype)
        return out.view(self.n_out, b, c).permute(1, 2, 0)

    def extra_repr(self) -> str:
        return f"level={self.level}->{self.target_level}, hemispheres={self.hemispheres}"

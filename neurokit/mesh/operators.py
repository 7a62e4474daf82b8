"""MeshConv's differential operators on the fsaverage sphere, as cached sparse tensors.

A MeshConv filter (Jiang et al., "Spherical CNNs on unstructured grids",
ICLR 2019) mixes four operators applied to every channel: the identity, the
cotangent Laplacian ``L``, and the east-west and north-south derivatives
``D_EW = F2V (e_EW . G)`` and ``D_NS = F2V (e_NS . G)``. Everything here is
computed once per (level, hemisphere) on the unit sphere with scipy in
float64, stored on disk, and handed out as coalesced float32 torch sparse
tensors, so a convolution needs only four sparse products, or one with
:meth:`MeshOperators.stacked_operator`.

Units: the sphere has radius 1, so areas are in steradians (they sum to
``4 pi``), gradients and derivatives are per radian, and the Laplace-Beltrami
operator ``M^-1 L`` has the spherical-harmonic eigenvalues ``-l (l + 1)``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from neurokit.exceptions import DataValidationError
from neurokit.mesh.cache import atomic_save_npz, cache_root, load_npz
from neurokit.mesh.freesurfer import resolve_freesurfer_dir
from neurokit.mesh.hemisphere import HemisphereMesh, check_hemi
from neurokit.mesh.loader import fsaverage_hemisphere
from neurokit.mesh.levels import check_level

#: Version of the operator cache layout; bump when the operators change.
OPERATOR_CACHE_VERSION = 1

_SPARSE = ("laplacian", "laplace_beltrami", "gradient", "face_to_vertex", "ew_derivative", "ns_derivative")
_DENSE = ("mass", "face_areas", "ns", "ew", "face_normals")


# ----------------------------------------------------------------------------------
# the operators, in scipy / numpy
# ----------------------------------------------------------------------------------
def _check_mesh_arrays(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise DataValidationError(f"vertices must have shape (n_vertices, 3), got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3 or not np.issubdtype(faces.dtype, np.integer):
        raise DataValidationError(f"faces must be an integer array of shape (n_faces, 3), got {faces.dtype} {faces.shape}")
    if faces.size == 0 or faces.min() < 0 or faces.max() >= vertices.shape[0]:
        raise DataValidationError(f"faces must index the {vertices.shape[0]} vertices")
    if not np.isfinite(vertices).all():
        raise DataValidationError("vertices contain NaN or infinite coordinates")
    return vertices, faces.astype(np.int64)


def face_geometry(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Areas and unit normals of triangles.

    Parameters
    ----------
    vertices : ndarray of shape (V, 3)
    faces : ndarray of shape (F, 3), int
        Counter-clockwise seen from the side the normal points to.

    Returns
    -------
    areas : ndarray of shape (F,)
        In squared units of ``vertices``.
    normals : ndarray of shape (F, 3)
        Unit normals.

    Raises
    ------
    DataValidationError
        If a face is degenerate (zero area).
    """
    vertices, faces = _check_mesh_arrays(vertices, faces)
    p0, p1, p2 = (vertices[faces[:, i]] for i in range(3))
    cross = np.cross(p1 - p0, p2 - p0)
    double_area = np.linalg.norm(cross, axis=1)
    if np.any(double_area <= 0):
        raise DataValidationError(f"{int((double_area <= 0).sum())} faces have zero area")
    return 0.5 * double_area, cross / double_area[:, None]


def gradient_matrix(vertices: np.ndarray, faces: np.ndarray) -> sp.csr_matrix:
    """Per-face gradient of piecewise-linear vertex functions.

    Parameters
    ----------
    vertices : ndarray of shape (V, 3)
    faces : ndarray of shape (F, 3), int

    Returns
    -------
    scipy.sparse.csr_matrix of shape (3 F, V)
        Component-major: row ``c * F + f`` is component ``c`` (x, y, z) of the
        gradient on face ``f``, a vector in the face's plane. For ``f(x) =
        a . x`` sampled at the vertices it gives the projection of ``a`` on
        each face plane. Units: 1 / (units of ``vertices``).
    """
    vertices, faces = _check_mesh_arrays(vertices, faces)
    areas, normals = face_geometry(vertices, faces)
    n_faces = faces.shape[0]
    rows, cols, vals = [], [], []
    for i in range(3):
        # edge opposite vertex i, counter-clockwise: from vertex i+1 to vertex i+2
        edge = vertices[faces[:, (i + 2) % 3]] - vertices[faces[:, (i + 1) % 3]]
        weight = np.cross(normals, edge) / (2 * areas[:, None])  # (F, 3)
        for c in range(3):
            rows.append(c * n_faces + np.arange(n_faces))
            cols.append(faces[:, i])
            vals.append(weight[:, c])
    grad = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(3 * n_faces, vertices.shape[0])
    )
    grad.sum_duplicates()
    return grad


def cotangent_laplacian(vertices: np.ndarray, faces: np.ndarray) -> sp.csr_matrix:
    """The cotangent Laplacian (stiffness matrix), negative semidefinite.

    Parameters
    ----------
    vertices : ndarray of shape (V, 3)
    faces : ndarray of shape (F, 3), int

    Returns
    -------
    scipy.sparse.csr_matrix of shape (V, V)
        ``L[i, j] = (cot a_ij + cot b_ij) / 2`` for each edge ``(i, j)``
        (``a``, ``b`` the angles opposite the edge) and ``L[i, i] = -sum_j
        L[i, j]``: symmetric, rows sum to zero, ``f^T L f = -integral of
        |grad f|^2``. Dimensionless on a surface; the Laplace-Beltrami
        operator is ``M^-1 L`` with ``M`` the lumped mass.
    """
    vertices, faces = _check_mesh_arrays(vertices, faces)
    n = vertices.shape[0]
    rows, cols, vals = [], [], []
    for i in range(3):
        j, k = (i + 1) % 3, (i + 2) % 3
        u = vertices[faces[:, j]] - vertices[faces[:, i]]
        v = vertices[faces[:, k]] - vertices[faces[:, i]]
        cot = (u * v).sum(axis=1) / np.linalg.norm(np.cross(u, v), axis=1)
        rows += [faces[:, j], faces[:, k]]
        cols += [faces[:, k], faces[:, j]]
        vals += [0.5 * cot, 0.5 * cot]
    off = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    off.sum_duplicates()
    lap = (off - sp.diags(np.asarray(off.sum(axis=1)).ravel())).tocsr()
    lap.sort_indices()
    return lap


def lumped_mass(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Barycentric vertex areas: a third of the area of every incident face, shape (V,)."""
    vertices, faces = _check_mesh_arrays(vertices, faces)
    areas, _ = face_geometry(vertices, faces)
    return np.bincount(faces.ravel(), weights=np.repeat(areas / 3, 3), minlength=vertices.shape[0])


def face_to_vertex_matrix(vertices: np.ndarray, faces: np.ndarray) -> sp.csr_matrix:
    """Area-weighted average from faces to vertices, shape (V, F); rows sum to one."""
    vertices, faces = _check_mesh_arrays(vertices, faces)
    areas, _ = face_geometry(vertices, faces)
    n = vertices.shape[0]
    f2v = sp.csr_matrix(
        (np.repeat(areas, 3), (faces.ravel(), np.repeat(np.arange(faces.shape[0]), 3))), shape=(n, faces.shape[0])
    )
    total = np.asarray(f2v.sum(axis=1)).ravel()
    if np.any(total <= 0):
        raise DataValidationError(f"{int((total <= 0).sum())} vertices belong to no face")
    return (sp.diags(1.0 / total) @ f2v).tocsr()


def direction_fields(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit north-south and east-west directions in every face's plane.

    Parameters
    ----------
    vertices : ndarray of shape (V, 3)
        A sphere-like surface centred on the origin, north pole on +z.
    faces : ndarray of shape (F, 3), int
        Outward oriented.

    Returns
    -------
    ns : ndarray of shape (F, 3)
        The direction of increasing latitude (``+z`` projected on the face
        plane, normalised): points north.
    ew : ndarray of shape (F, 3)
        ``ns x normal``: points east (increasing longitude).

    Notes
    -----
    Where ``+z`` is (nearly) normal to a face, i.e. a face centred on a pole,
    latitude has no direction; the projection of ``+x`` is used there instead
    so the fields stay unit and tangent. fsaverage's poles are vertices, so no
    fsaverage face needs it.
    """
    vertices, faces = _check_mesh_arrays(vertices, faces)
    _, normals = face_geometry(vertices, faces)
    z = np.array([0.0, 0.0, 1.0])
    ns = z[None, :] - normals[:, 2:3] * normals
    norm = np.linalg.norm(ns, axis=1)
    polar = norm < 1e-6
    if polar.any():
        x = np.array([1.0, 0.0, 0.0])
        ns[polar] = x[None, :] - normals[polar, 0:1] * normals[polar]
        norm[polar] = np.linalg.norm(ns[polar], axis=1)
    ns /= norm[:, None]
    ew = np.cross(ns, normals)
    return ns, ew


def directional_derivative(gradient: sp.csr_matrix, direction: np.ndarray, face_to_vertex: sp.csr_matrix) -> sp.csr_matrix:
    """``F2V (direction . G)``: a vertex-to-vertex derivative along a face field, shape (V, V).

    Parameters
    ----------
    gradient : sparse (3 F, V)
        Component-major per-face gradient, see :func:`gradient_matrix`.
    direction : ndarray of shape (F, 3)
        Unit direction per face.
    face_to_vertex : sparse (V, F)
    """
    n_faces = direction.shape[0]
    if gradient.shape[0] != 3 * n_faces or face_to_vertex.shape[1] != n_faces:
        raise DataValidationError(
            f"gradient {gradient.shape}, direction {direction.shape} and face_to_vertex {face_to_vertex.shape} disagree"
        )
    along = sp.hstack([sp.diags(direction[:, c]) for c in range(3)]).tocsr() @ gradient
    out = (face_to_vertex @ along).tocsr()
    out.sum_duplicates()
    out.sort_indices()
    return out


def build_operator_arrays(vertices: np.ndarray, faces: np.ndarray) -> dict[str, np.ndarray | sp.csr_matrix]:
    """All MeshConv operators of a triangle mesh, in float64 scipy/numpy form.

    Returns
    -------
    dict
        ``laplacian`` (V, V), ``laplace_beltrami`` (V, V) = ``M^-1 L``,
        ``gradient`` (3F, V), ``face_to_vertex`` (V, F), ``ew_derivative`` and
        ``ns_derivative`` (V, V) as CSR matrices; ``mass`` (V,),
        ``face_areas`` (F,), ``ns``, ``ew``, ``face_normals`` (F, 3) arrays.
    """
    vertices, faces = _check_mesh_arrays(vertices, faces)
    areas, normals = face_geometry(vertices, faces)
    grad = gradient_matrix(vertices, faces)
    lap = cotangent_laplacian(vertices, faces)
    mass = lumped_mass(vertices, faces)
    f2v = face_to_vertex_matrix(vertices, faces)
    ns, ew = direction_fields(vertices, faces)
    lb = (sp.diags(1.0 / mass) @ lap).tocsr()
    return {
        "laplacian": lap,
        "laplace_beltrami": lb,
        "gradient": grad,
        "face_to_vertex": f2v,
        "ew_derivative": directional_derivative(grad, ew, f2v),
        "ns_derivative": directional_derivative(grad, ns, f2v),
        "mass": mass,
        "face_areas": areas,
        "ns": ns,
        "ew": ew,
        "face_normals": normals,
    }


# ----------------------------------------------------------------------------------
# torch container
# ----------------------------------------------------------------------------------
def _to_torch_sparse(matrix: sp.spmatrix, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A coalesced torch COO tensor from a scipy matrix.

    A canonical CSR matrix (sorted, duplicate-free indices) lists its entries
    in row-major order, which is exactly a coalesced COO layout, so the
    tensor is marked coalesced instead of being sorted again by torch.
    """
    csr = sp.csr_matrix(matrix, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    coo = csr.tocoo()
    indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
    values = torch.from_numpy(coo.data.astype(np.float64)).to(dtype)
    return torch.sparse_coo_tensor(indices, values, size=coo.shape, check_invariants=False, is_coalesced=True)


@dataclass(frozen=True, eq=False)
class MeshOperators:
    """MeshConv operators of one hemisphere at one level, as torch tensors.

    Sparse tensors are coalesced float32 COO; dense ones float32.

    Attributes
    ----------
    level : int
    hemi : {'left', 'right'}
    laplacian : sparse tensor (V, V)
        Cotangent Laplacian (stiffness), symmetric, negative semidefinite,
        ``laplacian @ ones = 0``. Dimensionless.
    laplace_beltrami : sparse tensor (V, V)
        ``diag(mass)^-1 @ laplacian``: eigenvalues ``-l (l + 1)`` on the unit
        sphere. Units 1/sr.
    mass : tensor (V,)
        Lumped (barycentric) vertex areas in sr; sum ``4 pi``.
    gradient : sparse tensor (3 F, V)
        Per-face gradient, component-major (row ``c * F + f``), per radian.
    ns, ew : tensor (F, 3)
        Unit north-south (towards +z) and east-west (``ns x normal``) face directions.
    face_to_vertex : sparse tensor (V, F)
        Area-weighted average from faces to vertices (rows sum to 1).
    ew_derivative, ns_derivative : sparse tensor (V, V)
        ``F2V (e_EW . G)`` and ``F2V (e_NS . G)``: derivatives east and north
        at the vertices, per radian. Rows sum to zero.
    face_areas : tensor (F,)
        Triangle areas in sr.
    face_normals : tensor (F, 3)
        Outward unit normals.
    """

    level: int
    hemi: str
    laplacian: torch.Tensor
    laplace_beltrami: torch.Tensor
    mass: torch.Tensor
    gradient: torch.Tensor
    ns: torch.Tensor
    ew: torch.Tensor
    face_to_vertex: torch.Tensor
    ew_derivative: torch.Tensor
    ns_derivative: torch.Tensor
    face_areas: torch.Tensor
    face_normals: torch.Tensor

    @property
    def n_vertices(self) -> int:
        return int(self.mass.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.face_areas.shape[0])

    @property
    def device(self) -> torch.device:
        return self.mass.device

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "MeshOperators":
        """A copy on ``device`` (and floating ``dtype``, e.g. ``torch.float64``)."""
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, torch.Tensor):
                changes[f.name] = value.to(device=device, dtype=dtype)
        return replace(self, **changes)

    def identity(self) -> torch.Tensor:
        """The sparse (V, V) identity on this object's device and dtype."""
        n = self.n_vertices
        idx = torch.arange(n, device=self.device).repeat(2, 1)
        values = torch.ones(n, dtype=self.mass.dtype, device=self.device)
        return torch.sparse_coo_tensor(idx, values, (n, n), check_invariants=False, is_coalesced=True)

    def operator_list(self, laplacian: str = "stiffness") -> list[torch.Tensor]:
        """The four MeshConv operators ``[I, L, D_EW, D_NS]``, each sparse (V, V).

        Parameters
        ----------
        laplacian : {'stiffness', 'beltrami'}
            Which Laplacian: the symmetric cotangent matrix :attr:`laplacian`
            (default, as MeshConv uses it) or :attr:`laplace_beltrami`.
        """
        if laplacian == "stiffness":
            lap = self.laplacian
        elif laplacian == "beltrami":
            lap = self.laplace_beltrami
        else:
            raise DataValidationError(f"laplacian must be 'stiffness' or 'beltrami', got {laplacian!r}")
        return [self.identity(), lap, self.ew_derivative, self.ns_derivative]

    def stacked_operator(self, laplacian: str = "stiffness") -> torch.Tensor:
        """``[I; L; D_EW; D_NS]`` stacked into one sparse (4 V, V) coalesced tensor.

        ``(stacked @ x).view(4, V, ...)`` applies all four operators to
        ``x`` of shape (V, ...) in one sparse product.
        """
        ops = self.operator_list(laplacian)
        n = self.n_vertices
        indices, values = [], []
        for k, op in enumerate(ops):
            idx = op.indices().clone()
            idx[0] += k * n
            indices.append(idx)
            values.append(op.values())
        # every block is coalesced and the blocks are stacked by row, so the result is coalesced too
        return torch.sparse_coo_tensor(
            torch.cat(indices, 1), torch.cat(values), (4 * n, n), check_invariants=False, is_coalesced=True
        )

    def __repr__(self) -> str:
        return (
            f"MeshOperators(level={self.level}, hemi={self.hemi!r}, n_vertices={self.n_vertices:,}, "
            f"n_faces={self.n_faces:,}, device={self.device}, dtype={self.mass.dtype})"
        )


def operators_from_mesh(mesh: HemisphereMesh) -> MeshOperators:
    """Build (uncached) the :class:`MeshOperators` of a :class:`HemisphereMesh`."""
    arrays = build_operator_arrays(mesh.vertices, mesh.faces)
    return _from_arrays(mesh.level, mesh.hemi, arrays)


def _from_arrays(level: int, hemi: str, arrays: dict) -> MeshOperators:
    kwargs = {}
    for name in _SPARSE:
        kwargs[name] = _to_torch_sparse(arrays[name])
    for name in _DENSE:
        kwargs[name] = torch.from_numpy(np.ascontiguousarray(arrays[name], dtype=np.float32))
    return MeshOperators(level=level, hemi=hemi, **kwargs)


# ----------------------------------------------------------------------------------
# cached loader
# ----------------------------------------------------------------------------------
def _mesh_digest(mesh: HemisphereMesh) -> str:
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(mesh.vertices).tobytes())
    h.update(np.ascontiguousarray(mesh.faces).tobytes())
    return h.hexdigest()[:16]


def operators_cache_path(mesh: HemisphereMesh, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the operators of ``mesh`` are cached (keyed by level, hemisphere and geometry)."""
    name = f"meshconv-v{OPERATOR_CACHE_VERSION}-{mesh.hemi}-level{mesh.level}-{_mesh_digest(mesh)}.npz"
    return cache_root(cache_dir) / "operators" / name


def _save(path: Path, arrays: dict) -> None:
    flat = {}
    for name in _SPARSE:
        m = arrays[name].tocsr()
        flat[f"{name}__data"] = m.data
        flat[f"{name}__indices"] = m.indices
        flat[f"{name}__indptr"] = m.indptr
        flat[f"{name}__shape"] = np.asarray(m.shape, dtype=np.int64)
    for name in _DENSE:
        flat[name] = np.asarray(arrays[name])
    atomic_save_npz(path, **flat)


def _load(path: Path) -> dict | None:
    flat = load_npz(path)
    if flat is None:
        return None
    try:
        arrays: dict = {}
        for name in _SPARSE:
            shape = tuple(int(s) for s in flat[f"{name}__shape"])
            arrays[name] = sp.csr_matrix(
                (flat[f"{name}__data"], flat[f"{name}__indices"], flat[f"{name}__indptr"]), shape=shape
            )
        for name in _DENSE:
            arrays[name] = flat[name]
        return arrays
    except (KeyError, ValueError):
        return None


def mesh_operators(
    level: int,
    hemi: str = "left",
    *,
    freesurfer_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    device: torch.device | str | None = None,
) -> MeshOperators:
    """MeshConv operators of one fsaverage hemisphere, cached in process and on disk.

    Parameters
    ----------
    level : int
        Icosahedron level 0..7.
    hemi : {'left', 'right'}
    freesurfer_dir, cache_dir : path-like, optional
        As for :func:`neurokit.mesh.loader.fsaverage_hemisphere`. The
        operators are stored under ``<cache>/operators/``, keyed by level,
        hemisphere and a digest of the mesh geometry.
    device : torch device, optional
        Where to put the tensors (default CPU).

    Returns
    -------
    MeshOperators

    Raises
    ------
    VertexCountError, DataValidationError, MeshUnavailableError
        For a bad level, hemisphere, or an unavailable mesh.

    Examples
    --------
    >>> ops = mesh_operators(3)
    >>> ops.laplacian.shape, ops.gradient.shape
    (torch.Size([642, 642]), torch.Size([3840, 642]))
    """
    level = check_level(level)
    hemi = check_hemi(hemi)
    subject = resolve_freesurfer_dir(freesurfer_dir) if level > 5 else None
    ops = _cached_operators(level, hemi, None if subject is None else str(subject), str(cache_root(cache_dir)))
    return ops if device is None else ops.to(device)


@functools.lru_cache(maxsize=16)
def _cached_operators(level: int, hemi: str, subject_dir: str | None, root: str) -> MeshOperators:
    mesh = fsaverage_hemisphere(level, hemi, freesurfer_dir=subject_dir, cache_dir=root)
    path = operators_cache_path(mesh, root)
    arrays = _load(path)
    if arrays is None:
        arrays = build_operator_arrays(mesh.vertices, mesh.faces)
        try:
            _save(path, arrays)
        except OSError as exc:
            warnings.warn(f"could not write the operator cache {path}: {exc}", RuntimeWarning, stacklevel=3)
    return _from_arrays(level, hemi, arrays)


def clear_cache() -> None:
    """Forget the operators cached in this process (the disk cache is left alone)."""
    _cached_operators.cache_clear()


__all__ = [
    "MeshOperators",
    "build_operator_arrays",
    "clear_cache",
    "cotangent_laplacian",
    "direction_fields",
    "directional_derivative",
    "face_geometry",
    "face_to_vertex_matrix",
    "gradient_matrix",
    "lumped_mass",
    "mesh_operators",
    "operators_from_mesh",
]

"""The fsaverage icosahedron hierarchy, one hemisphere and one level at a time.

fsaverage is built by repeated 4-way subdivision of an icosahedron, and
FreeSurfer numbers the vertices so that the levels are nested: the first
``n_vertices(k)`` vertices of level ``k + 1`` *are* level ``k``. This module
rebuilds that hierarchy from what nilearn ships (the fsaverage5 sphere, level
5) and, for the finer levels 6 and 7, either reads a FreeSurfer ``fsaverage``
subject directory or regenerates them by subdivision in FreeSurfer's own
vertex order.

FreeSurfer's subdivision order
------------------------------
Reading nilearn's fsaverage5 sphere shows the rule by which FreeSurfer's
``ic<k>.tri`` files were made. For each coarse face ``i`` = ``(A, B, C)``
(outward oriented), in face order:

* the new vertices are created on the edges ``(A, C)``, ``(C, B)``,
  ``(B, A)``, in that order, each the first time its edge is met;
* fine face ``i`` is the corner face ``(A, m_AB, m_CA)``, and the faces
  ``n_faces + 3 i + (0, 1, 2)`` are ``(m_CA, m_BC, C)``, ``(m_AB, m_BC, m_CA)``
  and ``(m_AB, B, m_BC)``.

Coarsening nilearn's level-5 faces by this rule down to the 20 faces of the
icosahedron and subdividing back reproduces every face (as an ordered triple)
and the order of every vertex at levels 1 to 5 exactly. Every build checks
this again (it costs milliseconds), so levels 6 and 7 are only generated when
the rule still holds for the installed data. The positions FreeSurfer stores
are the normalised edge midpoints of an exact icosahedron, rounded to 4
decimals on the unit sphere; the generated vertices are rounded the same way,
and agree with nilearn's to within one unit of that rounding (5e-5 typically,
1e-4 at exact rounding ties).
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurokit.exceptions import DataValidationError, MeshUnavailableError, VertexCountError
from neurokit.mesh.levels import HEMISPHERES, MAX_LEVEL, check_level, n_vertices

#: Finest level nilearn ships offline (fsaverage5).
BUNDLED_LEVEL = 5
#: Version of the on-disk cache layout; bump it when the arrays change meaning.
CACHE_VERSION = 1
#: Decimals FreeSurfer keeps for the unit-sphere icosahedron coordinates.
_FREESURFER_DECIMALS = 4
#: Largest angle (radians) allowed between a FreeSurfer sphere vertex and the
#: generated vertex of the same index before the file is rejected.
_FREESURFER_TOLERANCE = 1e-3

_HEMI_ALIASES = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right", "r": "right"}


# ----------------------------------------------------------------------------------
# the mesh container
# ----------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------
# subdivision in FreeSurfer order
# ----------------------------------------------------------------------------------
def subdivide(faces: np.ndarray, n_coarse_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """One 4-way subdivision of a triangle mesh in FreeSurfer's ``ic<k>.tri`` order.

    Parameters
    ----------
    faces : ndarray of shape (n_faces, 3), int
        Outward-oriented coarse faces, in FreeSurfer's order.
    n_coarse_vertices : int
        Number of coarse vertices; the new vertices are numbered from here.

    Returns
    -------
    fine_faces : ndarray of shape (4 * n_faces, 3), int64
        Outward-oriented fine faces in FreeSurfer's order.
    parent_edges : ndarray of shape (n_new_vertices, 2), int64
        The coarse edge each new vertex splits, smaller index first, in the
        order the new vertices are numbered.

    Notes
    -----
    See the module docstring for the rule; it reproduces nilearn's fsaverage5
    faces and vertex order exactly from the icosahedron.
    """
    faces = np.asarray(faces, dtype=np.int64)
    nf = faces.shape[0]
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    # edges in creation order: for face i, (A, C), (C, B), (B, A)
    first = np.stack([a, c, b], axis=1).reshape(-1)
    second = np.stack([c, b, a], axis=1).reshape(-1)
    lo, hi = np.minimum(first, second), np.maximum(first, second)
    key = lo * np.int64(n_coarse_vertices) + hi
    unique_keys, first_seen, inverse = np.unique(key, return_index=True, return_inverse=True)
    creation_rank = np.empty(unique_keys.shape[0], dtype=np.int64)
    creation_rank[np.argsort(first_seen, kind="stable")] = np.arange(unique_keys.shape[0])
    new_index = (n_coarse_vertices + creation_rank[inverse]).reshape(nf, 3)
    m_ca, m_bc, m_ab = new_index[:, 0], new_index[:, 1], new_index[:, 2]
    order = np.argsort(creation_rank)
    parent_edges = np.stack([unique_keys[order] // n_coarse_vertices, unique_keys[order] % n_coarse_vertices], axis=1)
    fine = np.empty((4 * nf, 3), dtype=np.int64)
    fine[:nf] = np.stack([a, m_ab, m_ca], axis=1)
    rest = np.stack(
        [
            np.stack([m_ca, m_bc, c], axis=1),
            np.stack([m_ab, m_bc, m_ca], axis=1),
            np.stack([m_ab, b, m_bc], axis=1),
        ],
        axis=1,
    )
    fine[nf:] = rest.reshape(3 * nf, 3)
    return fine, parent_edges


def _coarsen(faces: np.ndarray, n_coarse_vertices: int, what: str) -> np.ndarray:
    """Invert :func:`subdivide` on the faces (without checking the vertex order)."""
    nf = faces.shape[0] // 4
    if faces.shape[0] != 4 * nf or nf == 0:
        raise MeshUnavailableError(f"{what}: {faces.shape[0]} faces cannot come from a 4-way subdivision")
    coarse = np.stack([faces[:nf, 0], faces[nf + 2 :: 3, 1], faces[nf::3, 2]], axis=1)
    if coarse.max() >= n_coarse_vertices:
        raise MeshUnavailableError(
            f"{what}: the faces are not in FreeSurfer's icosahedron order (corner faces do not "
            "start at coarse vertices), so the coarser levels cannot be rebuilt"
        )
    return coarse


# ----------------------------------------------------------------------------------
# what nilearn ships
# ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _bundled_sphere(hemi: str) -> tuple[np.ndarray, np.ndarray]:
    """nilearn's fsaverage5 sphere: unit-sphere float64 vertices (10242, 3) and int64 faces."""
    import nibabel as nib
    from nilearn import datasets

    try:
        fsavg = datasets.fetch_surf_fsaverage("fsaverage5")
        path = fsavg[f"sphere_{hemi}"]
        gii = nib.load(path)
        coords = np.asarray(gii.darrays[0].data, dtype=np.float64)
        faces = np.asarray(gii.darrays[1].data, dtype=np.int64)
    except Exception as exc:  # pragma: no cover - depends on the installed nilearn
        raise MeshUnavailableError(
            f"could not read nilearn's bundled fsaverage5 {hemi} sphere ({exc}); "
            "the installed nilearn should ship it inside its wheel"
        ) from exc
    n5 = n_vertices(BUNDLED_LEVEL)
    if coords.shape != (n5, 3) or faces.shape != (20 * 4**BUNDLED_LEVEL, 3):
        raise MeshUnavailableError(
            f"nilearn's fsaverage5 {hemi} sphere ({path}) has {coords.shape[0]} vertices and "
            f"{faces.shape[0]} faces; expected {n5} and {20 * 4**BUNDLED_LEVEL}"
        )
    return _unit(coords), faces


@functools.lru_cache(maxsize=1)
def _topology() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray | None, ...]]:
    """Faces and parent edges of levels 0..7, checked against nilearn's fsaverage5.

    The topology (face triples, vertex numbering) is the same for both
    hemispheres; it is derived from the left sphere and checked on the right.
    """
    _, faces5 = _bundled_sphere("left")
    _, faces5_right = _bundled_sphere("right")
    if not np.array_equal(faces5, faces5_right):
        raise MeshUnavailableError("nilearn's fsaverage5 left and right spheres have different faces")
    faces: list[np.ndarray] = [faces5]
    for level in range(BUNDLED_LEVEL, 0, -1):
        faces.insert(0, _coarsen(faces[0], n_vertices(level - 1), f"nilearn fsaverage5 sphere (level {level})"))
    parents: list[np.ndarray | None] = [None]
    for level in range(1, BUNDLED_LEVEL + 1):
        fine, par = subdivide(faces[level - 1], n_vertices(level - 1))
        if not np.array_equal(fine, faces[level]):
            raise MeshUnavailableError(
                f"subdividing level {level - 1} does not reproduce nilearn's fsaverage5 faces at level "
                f"{level}; FreeSurfer's vertex order cannot be regenerated from this nilearn version"
            )
        parents.append(par)
    for level in range(BUNDLED_LEVEL + 1, MAX_LEVEL + 1):
        fine, par = subdivide(faces[level - 1], n_vertices(level - 1))
        faces.append(fine)
        parents.append(par)
    for array in (*faces, *parents[1:]):
        array.setflags(write=False)
    return tuple(faces), tuple(parents)


def parent_edges(level: int) -> np.ndarray | None:
    """Parent edges of the vertices added at ``level`` (same for both hemispheres).

    Parameters
    ----------
    level : int
        Level 0..7.

    Returns
    -------
    ndarray of shape (n_vertices(level) - n_vertices(level - 1), 2), int64, or None
        ``None`` at level 0.
    """
    level = check_level(level)
    return _topology()[1][level]


def _exact_icosahedron(approx: np.ndarray) -> np.ndarray:
    """Snap FreeSurfer's 4-decimal icosahedron (12, 3) to the exact one with the same orientation.

    FreeSurfer's icosahedron has poles on the z axis and the other ten vertices
    at z = +-1/sqrt(5), at azimuths that are multiples of 36 degrees.
    """
    z = approx[:, 2]
    azimuth = np.round(np.arctan2(approx[:, 1], approx[:, 0]) / (np.pi / 5)) * (np.pi / 5)
    ring = 2 / np.sqrt(5)
    exact = np.stack([ring * np.cos(azimuth), ring * np.sin(azimuth), np.sign(z) / np.sqrt(5)], axis=1)
    pole = np.abs(z) > 0.9
    exact[pole] = np.stack([np.zeros_like(z), np.zeros_like(z), np.sign(z)], axis=1)[pole]
    if np.abs(exact - approx).max() > 1e-3:
        raise MeshUnavailableError(
            "nilearn's fsaverage5 sphere does not start with FreeSurfer's icosahedron (poles on z, "
            "ten vertices at z = +-1/sqrt(5)); the finer levels cannot be generated"
        )
    return exact


@functools.lru_cache(maxsize=1)
def _generated_positions() -> np.ndarray:
    """Unit-sphere positions of level 7 (163842, 3) by subdivision, rounded like FreeSurfer's."""
    sphere5, _ = _bundled_sphere("left")
    _, parents = _topology()
    x = _exact_icosahedron(sphere5[:12])
    for level in range(1, MAX_LEVEL + 1):
        p = parents[level]
        mid = _unit(x[p[:, 0]] + x[p[:, 1]])
        x = np.concatenate([x, mid], axis=0)
    rounded = _unit(np.round(x, _FREESURFER_DECIMALS))
    n5 = n_vertices(BUNDLED_LEVEL)
    err = np.abs(rounded[:n5] - sphere5).max()
    if err > 2.5 * 10.0**-_FREESURFER_DECIMALS:
        raise MeshUnavailableError(
            f"regenerated level-5 positions differ from nilearn's fsaverage5 sphere by up to {err:.2e}; "
            "levels 6 and 7 cannot be generated reliably, pass freesurfer_dir instead"
        )
    # keep the bundled positions exactly, so that levels nest bit for bit
    rounded[:n5] = sphere5
    rounded.setflags(write=False)
    return rounded


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ----------------------------------------------------------------------------------
# FreeSurfer subject directories
# ----------------------------------------------------------------------------------
def resolve_freesurfer_dir(freesurfer_dir: str | os.PathLike | None = None) -> Path | None:
    """The FreeSurfer ``fsaverage`` subject directory to use, if any.

    In order: the argument, the environment variable
    ``NEUROKIT_FREESURFER_DIR``, then ``$FREESURFER_HOME/subjects/fsaverage``
    if it exists. An explicitly named directory (argument or
    ``NEUROKIT_FREESURFER_DIR``) must contain ``surf/``.

    Raises
    ------
    MeshUnavailableError
        If an explicitly named directory has no ``surf`` folder.
    """
    explicit = freesurfer_dir if freesurfer_dir is not None else os.environ.get("NEUROKIT_FREESURFER_DIR") or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not (path / "surf").is_dir():
            origin = "freesurfer_dir" if freesurfer_dir is not None else "NEUROKIT_FREESURFER_DIR"
            raise MeshUnavailableError(
                f"{origin}={str(path)!r} is not a FreeSurfer subject directory: expected a 'surf' folder "
                "with lh.sphere and rh.sphere (for example $FREESURFER_HOME/subjects/fsaverage)"
            )
        return path.resolve()
    home = os.environ.get("FREESURFER_HOME")
    if home:
        path = Path(home).expanduser() / "subjects" / "fsaverage"
        if (path / "surf").is_dir():
            return path.resolve()
    return None


def read_freesurfer_surface(subject_dir: Path, name: str, hemi: str) -> tuple[np.ndarray, np.ndarray]:
    """Read ``<subject_dir>/surf/<lh|rh>.<name>`` with nibabel.

    Returns
    -------
    coords : ndarray of shape (n, 3), float64
        In the file's units (mm).
    faces : ndarray of shape (f, 3), int64

    Raises
    ------
    MeshUnavailableError
        If the file is missing or unreadable.
    """
    import nibabel.freesurfer as nfs

    path = Path(subject_dir) / "surf" / f"{'lh' if check_hemi(hemi) == 'left' else 'rh'}.{name}"
    if not path.is_file():
        raise MeshUnavailableError(f"{path} does not exist (needed for this fsaverage surface)")
    try:
        coords, faces = nfs.read_geometry(str(path))
    except Exception as exc:
        raise MeshUnavailableError(f"{path} is not a readable FreeSurfer surface: {exc}") from exc
    return np.asarray(coords, dtype=np.float64), np.asarray(faces, dtype=np.int64)


def _freesurfer_positions(subject_dir: Path, hemi: str, level: int) -> np.ndarray:
    coords, _ = read_freesurfer_surface(subject_dir, "sphere", hemi)
    n = n_vertices(level)
    path = Path(subject_dir) / "surf" / f"{'lh' if hemi == 'left' else 'rh'}.sphere"
    valid = [n_vertices(k) for k in range(level, MAX_LEVEL + 1)]
    if coords.shape[0] not in valid:
        raise MeshUnavailableError(
            f"{path} has {coords.shape[0]:,} vertices; level {level} needs an fsaverage sphere with one of "
            f"{', '.join(f'{v:,}' for v in valid)} vertices"
        )
    positions = _unit(coords[:n])
    reference = _generated_positions()[:n]
    angle = np.arccos(np.clip((positions * reference).sum(axis=1), -1.0, 1.0)).max()
    if angle > _FREESURFER_TOLERANCE:
        raise MeshUnavailableError(
            f"{path} is not in fsaverage's icosahedral vertex order (a vertex is {angle:.3g} rad from "
            "where the icosahedron puts it); is this the fsaverage subject?"
        )
    return positions


# ----------------------------------------------------------------------------------
# disk cache
# ----------------------------------------------------------------------------------
def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Directory of the toolkit's on-disk cache.

    ``cache_dir`` if given, else ``$NEUROKIT_CACHE_DIR``, else
    ``~/.cache/neurokit``. Created on first write, not here.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("NEUROKIT_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "neurokit"


def atomic_save_npz(path: Path, **arrays: Any) -> None:
    """Write ``arrays`` to ``path`` (.npz) atomically: temp file in the same folder, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """Arrays of a cache file, or ``None`` if it is missing or unreadable (never unpickles)."""
    if not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception:  # a corrupt or partial cache file is rebuilt, not fatal
        return None


def _source_key(level: int, subject_dir: Path | None) -> tuple[str, str]:
    """(source name, cache key) of the positions used for ``level``."""
    if level <= BUNDLED_LEVEL:
        return "nilearn", "nilearn"
    if subject_dir is None:
        return "subdivision", "subdivision"
    sphere = subject_dir / "surf" / "lh.sphere"
    stamp = f"{subject_dir}|{sphere.stat().st_mtime_ns if sphere.exists() else 0}"
    return "freesurfer", "freesurfer-" + hashlib.sha1(stamp.encode()).hexdigest()[:12]


def mesh_cache_path(level: int, hemi: str, source_key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the cached mesh of (level, hemi, source) lives."""
    return cache_root(cache_dir) / "mesh" / f"fsaverage-v{CACHE_VERSION}-{source_key}-{hemi}-level{level}.npz"


# ----------------------------------------------------------------------------------
# the loader
# ----------------------------------------------------------------------------------
def fsaverage_hemisphere(
    level: int,
    hemi: str = "left",
    *,
    freesurfer_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> HemisphereMesh:
    """The fsaverage sphere of one hemisphere at one icosahedron level.

    Parameters
    ----------
    level : int
        0..7. Levels 0..5 come offline from nilearn's bundled fsaverage5
        sphere (its first ``n_vertices(level)`` vertices). Levels 6 and 7 come
        from a FreeSurfer ``fsaverage`` directory when one is available (see
        below), otherwise they are generated by subdivision in FreeSurfer's
        vertex order (checked against nilearn's level 5 on every build).
    hemi : {'left', 'right'}
        Hemisphere ('lh' and 'rh' are accepted too).
    freesurfer_dir : path-like, optional
        FreeSurfer subject directory holding ``surf/lh.sphere`` and
        ``surf/rh.sphere`` (e.g. ``$FREESURFER_HOME/subjects/fsaverage``).
        Defaults to ``$NEUROKIT_FREESURFER_DIR``, then
        ``$FREESURFER_HOME/subjects/fsaverage`` if it exists. Used for
        levels 6 and 7 only.
    cache_dir : path-like, optional
        Root of the on-disk cache (default ``$NEUROKIT_CACHE_DIR`` or
        ``~/.cache/neurokit``). Built meshes are stored under ``mesh/``.

    Returns
    -------
    HemisphereMesh
        Shared, read-only (cached in process and on disk).

    Raises
    ------
    VertexCountError
        If ``level`` is not in 0..7.
    DataValidationError
        If ``hemi`` names no hemisphere.
    MeshUnavailableError
        If a named FreeSurfer directory is unusable, or the bundled data do
        not allow the level to be built.

    Examples
    --------
    >>> mesh = fsaverage_hemisphere(3, "left")
    >>> mesh.vertices.shape, mesh.faces.shape
    ((642, 3), (1280, 3))
    """
    level = check_level(level)
    hemi = check_hemi(hemi)
    subject_dir = resolve_freesurfer_dir(freesurfer_dir) if level > BUNDLED_LEVEL else None
    root = str(cache_root(cache_dir))
    return _cached_hemisphere(level, hemi, None if subject_dir is None else str(subject_dir), root)


@functools.lru_cache(maxsize=32)
def _cached_hemisphere(level: int, hemi: str, subject_dir: str | None, root: str) -> HemisphereMesh:
    subject = None if subject_dir is None else Path(subject_dir)
    source, key = _source_key(level, subject)
    path = mesh_cache_path(level, hemi, key, root)
    stored = load_npz(path)
    if stored is not None:
        try:
            return HemisphereMesh(
                level=level,
                hemi=hemi,
                vertices=stored["vertices"],
                faces=stored["faces"],
                indptr=stored["indptr"],
                indices=stored["indices"],
                parent_edges=stored["parent_edges"] if level > 0 else None,
                source=source,
            )
        except (KeyError, DataValidationError):
            pass  # stale or foreign file: rebuild below
    mesh = _build_hemisphere(level, hemi, subject, source)
    arrays = {"vertices": mesh.vertices, "faces": mesh.faces, "indptr": mesh.indptr, "indices": mesh.indices}
    if mesh.parent_edges is not None:
        arrays["parent_edges"] = mesh.parent_edges
    try:
        atomic_save_npz(path, **arrays)
    except OSError as exc:
        warnings.warn(f"could not write the mesh cache {path}: {exc}", RuntimeWarning, stacklevel=3)
    return mesh


def _build_hemisphere(level: int, hemi: str, subject_dir: Path | None, source: str) -> HemisphereMesh:
    faces_all, parents_all = _topology()
    n = n_vertices(level)
    if source == "nilearn":
        vertices = _bundled_sphere(hemi)[0][:n]
    elif source == "freesurfer":
        assert subject_dir is not None
        vertices = _freesurfer_positions(subject_dir, hemi, level)
    else:
        vertices = _generated_positions()[:n]
    faces = faces_all[level]
    indptr, indices = _neighbours(faces, n)
    return HemisphereMesh(
        level=level,
        hemi=hemi,
        vertices=vertices,
        faces=faces,
        indptr=indptr,
        indices=indices,
        parent_edges=parents_all[level],
        source=source,
    )


def _neighbours(faces: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    rows = faces[:, [0, 1, 2, 1, 2, 0]].reshape(-1)
    cols = faces[:, [1, 2, 0, 0, 1, 2]].reshape(-1)
    adj = sp.csr_matrix((np.ones(rows.shape[0], dtype=np.int8), (rows, cols)), shape=(n, n))
    adj.sum_duplicates()
    adj.sort_indices()
    return adj.indptr.astype(np.int64), adj.indices.astype(np.int64)


def clear_cache() -> None:
    """Forget the meshes cached in this process (the disk cache is left alone)."""
    _cached_hemisphere.cache_clear()


# ----------------------------------------------------------------------------------
# moving data between levels
# ----------------------------------------------------------------------------------
def _split_layout(n: int, what: str) -> tuple[int, bool]:
    """(level, both hemispheres?) of a last-axis length ``n``."""
    for level in range(MAX_LEVEL + 1):
        if n == n_vertices(level):
            return level, False
        if n == 2 * n_vertices(level):
            return level, True
    raise VertexCountError(
        f"{what}: the last axis has {n:,} vertices, which is neither one hemisphere "
        f"({', '.join(f'{n_vertices(k):,}' for k in range(MAX_LEVEL + 1))}) nor both of an fsaverage level"
    )


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def downsample(data: Any, to_level: int) -> Any:
    """Data on a coarser level, by keeping the first vertices (the hierarchy is nested).

    Parameters
    ----------
    data : array-like of shape (..., n) or SurfaceData
        Values on one hemisphere (``n = n_vertices(level)``) or on both
        (``n = 2 * n_vertices(level)``, left first). numpy arrays and torch
        tensors are kept as they are; the level is inferred from ``n``.
    to_level : int
        Target level, not finer than the data's level.

    Returns
    -------
    Same type as ``data``, shape (..., n_vertices(to_level)) or
    (..., 2 * n_vertices(to_level)).

    Raises
    ------
    VertexCountError
        If ``n`` is not an fsaverage vertex count, or ``to_level`` is invalid.
    DataValidationError
        If ``to_level`` is finer than the data (use :func:`upsample`).
    """
    from neurokit.surface_data import SurfaceData

    to_level = check_level(to_level, "to_level")
    if isinstance(data, SurfaceData):
        return data.to_level(to_level)
    if not _is_torch(data):
        data = np.asarray(data)
    level, both = _split_layout(int(data.shape[-1]), "downsample(data)")
    if to_level > level:
        raise DataValidationError(
            f"downsample: to_level={to_level} is finer than the data's level {level}; use upsample"
        )
    n_from, n_to = n_vertices(level), n_vertices(to_level)
    if not both:
        return data[..., :n_to]
    left, right = data[..., :n_to], data[..., n_from : n_from + n_to]
    if _is_torch(data):
        import torch

        return torch.cat([left, right], dim=-1)
    return np.concatenate([left, right], axis=-1)


def upsample(data: Any, from_level: int | None, to_level: int) -> Any:
    """Data on a finer level: each new vertex gets the mean of its parent edge's two ends.

    Parameters
    ----------
    data : array-like of shape (..., n) or SurfaceData
        Values on one hemisphere (``n = n_vertices(from_level)``) or both
        (``n = 2 * n_vertices(from_level)``, left first); numpy or torch.
    from_level : int or None
        Level of ``data``; inferred from ``n`` when ``None``.
    to_level : int
        Target level, not coarser than ``from_level``. Applied one level at a
        time, so the result is linear interpolation along the hierarchy.

    Returns
    -------
    Same type as ``data``, shape (..., n_vertices(to_level)) or
    (..., 2 * n_vertices(to_level)). Floating point (integers become float64
    for numpy).

    Raises
    ------
    VertexCountError
        If the last axis does not match ``from_level`` or is not an fsaverage count.
    DataValidationError
        If ``to_level`` is coarser than ``from_level``.
    """
    from neurokit.surface_data import SurfaceData

    to_level = check_level(to_level, "to_level")
    if isinstance(data, SurfaceData):
        if from_level is not None and check_level(from_level, "from_level") != data.level:
            raise VertexCountError(f"upsample: from_level={from_level} but the SurfaceData is at level {data.level}")
        up = upsample(data.data, data.level, to_level)
        return SurfaceData(up, to_level, data.source, dict(data.meta))
    torch_in = _is_torch(data)
    if not torch_in:
        data = np.asarray(data)
        if data.dtype.kind not in "fc":
            data = data.astype(np.float64)
    level, both = _split_layout(int(data.shape[-1]), "upsample(data)")
    if from_level is not None and check_level(from_level, "from_level") != level:
        raise VertexCountError(
            f"upsample: data's last axis has {data.shape[-1]:,} vertices (level {level}), not level {from_level}"
        )
    if to_level < level:
        raise DataValidationError(f"upsample: to_level={to_level} is coarser than from_level={level}; use downsample")
    n = n_vertices(level)
    halves = [data[..., :n], data[..., n:]] if both else [data]
    out = []
    for x in halves:
        for k in range(level + 1, to_level + 1):
            p = parent_edges(k)
            if torch_in:
                import torch

                idx0 = torch.from_numpy(p[:, 0].copy()).to(x.device)
                idx1 = torch.from_numpy(p[:, 1].copy()).to(x.device)
                x = torch.cat([x, 0.5 * (x.index_select(-1, idx0) + x.index_select(-1, idx1))], dim=-1)
            else:
                x = np.concatenate([x, 0.5 * (x[..., p[:, 0]] + x[..., p[:, 1]])], axis=-1)
        out.append(x)
    if len(out) == 1:
        return out[0]
    if torch_in:
        import torch

        return torch.cat(out, dim=-1)
    return np.concatenate(out, axis=-1)


__all__ = [
    "BUNDLED_LEVEL",
    "HemisphereMesh",
    "check_hemi",
    "clear_cache",
    "downsample",
    "fsaverage_hemisphere",
    "parent_edges",
    "resolve_freesurfer_dir",
    "subdivide",
    "upsample",
]

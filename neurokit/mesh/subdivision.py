"""The topology of the fsaverage levels: subdivision in FreeSurfer's order, checked against nilearn.

fsaverage is built by repeated 4-way subdivision of an icosahedron, and
FreeSurfer numbers the vertices so that the levels are nested: the first
``n_vertices(k)`` vertices of level ``k + 1`` *are* level ``k``. This module
rebuilds the faces and parent edges of every level from what nilearn ships
(the fsaverage5 sphere, level 5) and generates the unit-sphere positions of
levels 6 and 7 by subdivision in FreeSurfer's own vertex order (a FreeSurfer
``fsaverage`` directory, read by :mod:`neurokit.mesh.freesurfer`, can supply
them instead).

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

import numpy as np

from neurokit.exceptions import MeshUnavailableError
from neurokit.mesh.levels import MAX_LEVEL, check_level, n_vertices

#: Finest level nilearn ships offline (fsaverage5).
BUNDLED_LEVEL = 5
#: Decimals FreeSurfer keeps for the unit-sphere icosahedron coordinates.
FREESURFER_DECIMALS = 4


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


@functools.lru_cache(maxsize=2)
def bundled_sphere(hemi: str) -> tuple[np.ndarray, np.ndarray]:
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
    return unit_rows(coords), faces


@functools.lru_cache(maxsize=1)
def topology() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray | None, ...]]:
    """Faces and parent edges of levels 0..7, checked against nilearn's fsaverage5.

    The topology (face triples, vertex numbering) is the same for both
    hemispheres; it is derived from the left sphere and checked on the right.
    """
    _, faces5 = bundled_sphere("left")
    _, faces5_right = bundled_sphere("right")
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
    return topology()[1][level]


def exact_icosahedron(approx: np.ndarray) -> np.ndarray:
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
def generated_positions() -> np.ndarray:
    """Unit-sphere positions of level 7 (163842, 3) by subdivision, rounded like FreeSurfer's."""
    sphere5, _ = bundled_sphere("left")
    _, parents = topology()
    x = exact_icosahedron(sphere5[:12])
    for level in range(1, MAX_LEVEL + 1):
        p = parents[level]
        mid = unit_rows(x[p[:, 0]] + x[p[:, 1]])
        x = np.concatenate([x, mid], axis=0)
    rounded = unit_rows(np.round(x, FREESURFER_DECIMALS))
    n5 = n_vertices(BUNDLED_LEVEL)
    err = np.abs(rounded[:n5] - sphere5).max()
    if err > 2.5 * 10.0**-FREESURFER_DECIMALS:
        raise MeshUnavailableError(
            f"regenerated level-5 positions differ from nilearn's fsaverage5 sphere by up to {err:.2e}; "
            "levels 6 and 7 cannot be generated reliably, pass freesurfer_dir instead"
        )
    # keep the bundled positions exactly, so that levels nest bit for bit
    rounded[:n5] = sphere5
    rounded.setflags(write=False)
    return rounded


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


__all__ = [
    "BUNDLED_LEVEL",
    "FREESURFER_DECIMALS",
    "bundled_sphere",
    "exact_icosahedron",
    "generated_positions",
    "parent_edges",
    "subdivide",
    "topology",
    "unit_rows",
]

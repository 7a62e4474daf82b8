"""Anatomical fsaverage surfaces and per-vertex anatomical maps, at any mesh level.

Levels 0..5 come offline from the fsaverage5 files nilearn ships (pial,
white, inflated, sphere, flat; sulc, curv, thickness, area); a coarser level
keeps the first ``n_vertices(level)`` vertices (the hierarchy is nested) with
the faces of :func:`neurokit.mesh.loader.fsaverage_hemisphere`. Levels 6
and 7 are read from a FreeSurfer ``fsaverage`` subject directory.
"""

from __future__ import annotations

import functools
import os
from typing import NamedTuple

import numpy as np

from neurokit.exceptions import DataValidationError, MeshUnavailableError
from neurokit.mesh.freesurfer import read_freesurfer_surface, resolve_freesurfer_dir
from neurokit.mesh.hemisphere import check_hemi
from neurokit.mesh.loader import fsaverage_hemisphere
from neurokit.mesh.subdivision import BUNDLED_LEVEL
from neurokit.mesh.levels import check_level, n_vertices

#: Surface kinds, with nilearn's fsaverage5 key and FreeSurfer's file suffix.
SURFACE_KINDS = {"pial": ("pial", "pial"), "white": ("white", "white"), "inflated": ("infl", "inflated"),
                 "sphere": ("sphere", "sphere"), "flat": ("flat", None)}
#: Per-vertex anatomical maps, with nilearn's fsaverage5 key and FreeSurfer's file suffix.
MAP_KINDS = {"sulc": ("sulc", "sulc"), "curv": ("curv", "curv"), "thickness": ("thick", "thickness"),
             "area": ("area", "area")}


class Surface(NamedTuple):
    """A triangle mesh: ``(coordinates, faces)``, accepted by nilearn's plotting as ``surf_mesh``.

    Attributes
    ----------
    coordinates : ndarray of shape (n_vertices, 3), float64
        In millimetres (FreeSurfer's units; the sphere has radius 100).
    faces : ndarray of shape (n_faces, 3), int64
        Outward oriented. For ``'flat'`` only the faces of the cut, flattened
        patch (the medial wall is left out), so some vertices belong to no face.
    """

    coordinates: np.ndarray
    faces: np.ndarray


def _check_kind(kind: str, kinds: dict, what: str) -> str:
    if not isinstance(kind, str) or kind.lower() not in kinds:
        raise DataValidationError(f"{what} must be one of {tuple(kinds)}, got {kind!r}")
    return kind.lower()


@functools.lru_cache(maxsize=32)
def _bundled(key: str, hemi: str) -> tuple[np.ndarray, ...]:
    """Arrays of nilearn's fsaverage5 file ``<key>_<hemi>`` (read once, read-only)."""
    import nibabel as nib
    from nilearn import datasets

    try:
        path = datasets.fetch_surf_fsaverage("fsaverage5")[f"{key}_{hemi}"]
        arrays = tuple(np.asarray(d.data) for d in nib.load(path).darrays)
    except Exception as exc:  # pragma: no cover - depends on the installed nilearn
        raise MeshUnavailableError(f"could not read nilearn's bundled fsaverage5 {key}_{hemi}: {exc}") from exc
    for a in arrays:
        a.setflags(write=False)
    return arrays


def _flat_faces(hemi: str, level: int) -> np.ndarray:
    """Faces of the flat patch at ``level``: coarse faces all of whose level-5 descendants are in the patch."""
    _, flat = _bundled("flat", hemi)
    sphere5 = fsaverage_hemisphere(BUNDLED_LEVEL, hemi).faces
    index = {tuple(f): i for i, f in enumerate(sphere5.tolist())}
    try:
        kept = np.zeros(sphere5.shape[0], dtype=bool)
        kept[[index[tuple(f)] for f in flat.tolist()]] = True
    except KeyError as exc:
        raise MeshUnavailableError("nilearn's flat fsaverage5 faces are not faces of its sphere") from exc
    for k in range(BUNDLED_LEVEL, level, -1):
        nf = kept.shape[0] // 4
        children = kept[nf:].reshape(nf, 3)
        kept = kept[:nf] & children.all(axis=1)
    return fsaverage_hemisphere(level, hemi).faces[kept]


def anatomical_surface(
    kind: str,
    hemi: str = "left",
    level: int = 5,
    freesurfer_dir: str | os.PathLike | None = None,
) -> Surface:
    """An fsaverage anatomical surface of one hemisphere at a mesh level.

    Parameters
    ----------
    kind : {'pial', 'white', 'inflated', 'sphere', 'flat'}
    hemi : {'left', 'right'}
    level : int
        0..7. Levels up to 5 are offline (nilearn's fsaverage5, first
        ``n_vertices(level)`` vertices); 6 and 7 need a FreeSurfer directory.
    freesurfer_dir : path-like, optional
        FreeSurfer ``fsaverage`` subject directory (default
        ``$NEUROKIT_FREESURFER_DIR``, then ``$FREESURFER_HOME/subjects/fsaverage``).

    Returns
    -------
    Surface
        ``(coordinates (n_vertices(level), 3) in mm, faces (n_faces, 3))``.

    Raises
    ------
    DataValidationError
        Unknown ``kind`` or ``hemi``.
    VertexCountError
        ``level`` outside 0..7.
    MeshUnavailableError
        Level 6 or 7 without a FreeSurfer directory, or ``'flat'`` at those
        levels (FreeSurfer keeps it as a patch file, which is not read).
    """
    kind = _check_kind(kind, SURFACE_KINDS, "kind")
    hemi = check_hemi(hemi)
    level = check_level(level)
    nilearn_key, fs_name = SURFACE_KINDS[kind]
    n = n_vertices(level)
    if level <= BUNDLED_LEVEL:
        coords = np.asarray(_bundled(nilearn_key, hemi)[0][:n], dtype=np.float64)
        faces = _flat_faces(hemi, level) if kind == "flat" else fsaverage_hemisphere(level, hemi).faces
        return Surface(coords, np.asarray(faces, dtype=np.int64))
    if fs_name is None:
        raise MeshUnavailableError(
            f"the flat {hemi} surface is available up to level {BUNDLED_LEVEL} only (nilearn's fsaverage5); "
            f"use level={BUNDLED_LEVEL} or another kind"
        )
    subject = resolve_freesurfer_dir(freesurfer_dir)
    if subject is None:
        raise MeshUnavailableError(
            f"the {kind} surface at level {level} needs a FreeSurfer fsaverage directory: pass freesurfer_dir= "
            "or set NEUROKIT_FREESURFER_DIR (only levels 0..5 ship with nilearn)"
        )
    coords, _ = read_freesurfer_surface(subject, fs_name, hemi)
    if coords.shape[0] < n or coords.shape[0] not in [n_vertices(k) for k in range(level, 8)]:
        raise MeshUnavailableError(
            f"{subject}/surf/{'lh' if hemi == 'left' else 'rh'}.{fs_name} has {coords.shape[0]:,} vertices; "
            f"level {level} needs an fsaverage surface with at least {n:,}"
        )
    faces = fsaverage_hemisphere(level, hemi, freesurfer_dir=subject).faces
    return Surface(coords[:n], np.asarray(faces, dtype=np.int64))


def surface_map(
    kind: str,
    hemi: str = "left",
    level: int = 5,
    freesurfer_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """A per-vertex anatomical map of fsaverage (e.g. sulcal depth for plot backgrounds).

    Parameters
    ----------
    kind : {'sulc', 'curv', 'thickness', 'area'}
        Sulcal depth (mm), mean curvature (1/mm), cortical thickness (mm) or
        vertex area (mm^2).
    hemi : {'left', 'right'}
    level : int
        0..7; as for :func:`anatomical_surface`.
    freesurfer_dir : path-like, optional
        Needed for levels 6 and 7 (``surf/?h.<kind>``).

    Returns
    -------
    ndarray of shape (n_vertices(level),), float64

    Raises
    ------
    DataValidationError, VertexCountError, MeshUnavailableError
        As for :func:`anatomical_surface`.
    """
    kind = _check_kind(kind, MAP_KINDS, "kind")
    hemi = check_hemi(hemi)
    level = check_level(level)
    nilearn_key, fs_name = MAP_KINDS[kind]
    n = n_vertices(level)
    if level <= BUNDLED_LEVEL:
        return np.asarray(_bundled(nilearn_key, hemi)[0][:n], dtype=np.float64)
    subject = resolve_freesurfer_dir(freesurfer_dir)
    if subject is None:
        raise MeshUnavailableError(
            f"the {kind} map at level {level} needs a FreeSurfer fsaverage directory: pass freesurfer_dir= "
            "or set NEUROKIT_FREESURFER_DIR (only levels 0..5 ship with nilearn)"
        )
    import nibabel.freesurfer as nfs

    path = subject / "surf" / f"{'lh' if hemi == 'left' else 'rh'}.{fs_name}"
    if not path.is_file():
        raise MeshUnavailableError(f"{path} does not exist (needed for the {kind} map at level {level})")
    try:
        values = np.asarray(nfs.read_morph_data(str(path)), dtype=np.float64)
    except Exception as exc:
        raise MeshUnavailableError(f"{path} is not a readable FreeSurfer curv-format file: {exc}") from exc
    if values.shape[0] < n:
        raise MeshUnavailableError(f"{path} has {values.shape[0]:,} values; level {level} needs {n:,}")
    return values[:n]


__all__ = ["MAP_KINDS", "SURFACE_KINDS", "Surface", "anatomical_surface", "surface_map"]

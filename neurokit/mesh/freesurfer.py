"""FreeSurfer ``fsaverage`` subject directories: finding one and reading its surfaces.

Levels 6 and 7 of the hierarchy use the sphere of a FreeSurfer subject
directory when one is available (checked to be in fsaverage's icosahedral
vertex order); the plotting surfaces of levels 6 and 7 come from there too.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neurokit.exceptions import MeshUnavailableError
from neurokit.mesh.hemisphere import check_hemi
from neurokit.mesh.levels import MAX_LEVEL, n_vertices
from neurokit.mesh.subdivision import generated_positions, unit_rows

#: Largest angle (radians) allowed between a FreeSurfer sphere vertex and the
#: generated vertex of the same index before the file is rejected.
FREESURFER_TOLERANCE = 1e-3

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


def freesurfer_positions(subject_dir: Path, hemi: str, level: int) -> np.ndarray:
    coords, _ = read_freesurfer_surface(subject_dir, "sphere", hemi)
    n = n_vertices(level)
    path = Path(subject_dir) / "surf" / f"{'lh' if hemi == 'left' else 'rh'}.sphere"
    valid = [n_vertices(k) for k in range(level, MAX_LEVEL + 1)]
    if coords.shape[0] not in valid:
        raise MeshUnavailableError(
            f"{path} has {coords.shape[0]:,} vertices; level {level} needs an fsaverage sphere with one of "
            f"{', '.join(f'{v:,}' for v in valid)} vertices"
        )
    positions = unit_rows(coords[:n])
    reference = generated_positions()[:n]
    angle = np.arccos(np.clip((positions * reference).sum(axis=1), -1.0, 1.0)).max()
    if angle > FREESURFER_TOLERANCE:
        raise MeshUnavailableError(
            f"{path} is not in fsaverage's icosahedral vertex order (a vertex is {angle:.3g} rad from "
            "where the icosahedron puts it); is this the fsaverage subject?"
        )
    return positions


__all__ = ["FREESURFER_TOLERANCE", "freesurfer_positions", "read_freesurfer_surface", "resolve_freesurfer_dir"]

"""Conversion between :class:`~neurokit.surface_data.SurfaceData` and nilearn's ``SurfaceImage``.

nilearn puts vertices first (``(n_vertices, n_samples)`` per hemisphere), the
toolkit puts samples first; :func:`from_surface_image` and
:func:`to_surface_image` transpose and check both hemispheres are there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError, HemisphereMismatchError, MeshUnavailableError
from neurokit.mesh.levels import n_vertices
from neurokit.surface_data import SurfaceData
from neurokit.validation import check_option

__all__ = ["is_surface_image", "from_surface_image", "to_surface_image"]


def is_surface_image(obj: Any) -> bool:
    """Whether ``obj`` is a nilearn ``SurfaceImage`` (checked without importing nilearn)."""
    cls = type(obj)
    return cls.__name__ == "SurfaceImage" and cls.__module__.startswith("nilearn")
def from_surface_image(img: Any, *, allow_nan: bool = False) -> SurfaceData:
    """Convert a nilearn ``SurfaceImage`` on an fsaverage mesh to :class:`SurfaceData`.

    Parameters
    ----------
    img : nilearn.surface.SurfaceImage
        ``img.data.parts['left']`` and ``['right']`` of shape ``(n_vertices,)``
        or ``(n_vertices, n_samples)`` (nilearn puts vertices first).
    allow_nan : bool, default False
        Accept NaN/inf values instead of raising.

    Returns
    -------
    SurfaceData
    """
    if not is_surface_image(img):
        raise DataValidationError(f"img: expected a nilearn.surface.SurfaceImage, got {type(img).__name__}")
    parts = img.data.parts
    missing = {"left", "right"} - set(parts)
    if missing:
        raise HemisphereMismatchError(f"SurfaceImage: missing hemisphere part(s) {sorted(missing)}")

    def samples(values: Any, hemi: str) -> np.ndarray:
        values = np.asarray(values)
        if values.ndim == 2:
            values = values.T
        elif values.ndim != 1:
            raise DataValidationError(f"SurfaceImage ({hemi}): expected 1-D or 2-D data, got shape {values.shape}")
        return values

    return SurfaceData.from_hemispheres(
        samples(parts["left"], "left"), samples(parts["right"], "right"),
        source="SurfaceImage", allow_nan=allow_nan,
    )


_NILEARN_MESHES = ("pial", "white_matter", "inflated", "sphere", "flat")


def _fsaverage5_mesh(mesh: str):
    from nilearn.datasets import load_fsaverage

    check_option(mesh, "mesh", _NILEARN_MESHES)
    return load_fsaverage("fsaverage5")[mesh]


def to_surface_image(surface_data: SurfaceData, *, mesh: str = "pial") -> Any:
    """Convert :class:`SurfaceData` to a nilearn ``SurfaceImage``.

    Parameters
    ----------
    surface_data : SurfaceData
        Data at any level.
    mesh : {'pial', 'white_matter', 'inflated', 'sphere', 'flat'}, default 'pial'
        Which of nilearn's bundled fsaverage5 surfaces carries the data.
        Levels below 5 use the first ``n_vertices(level)`` vertices of that
        surface (the hierarchy is nested) with the faces of their level from
        :func:`neurokit.mesh.fsaverage_hemisphere`; levels above 5 use the
        vertices and faces of :func:`neurokit.mesh.fsaverage_hemisphere`
        (whatever surface it was built from), whatever ``mesh`` says.

    Returns
    -------
    nilearn.surface.SurfaceImage
        Data of shape ``(n_vertices, n_samples)`` per hemisphere.

    Raises
    ------
    MeshUnavailableError
        If the mesh for ``surface_data.level`` cannot be built offline.
    """
    from nilearn.surface import InMemoryMesh, PolyMesh, SurfaceImage

    if not isinstance(surface_data, SurfaceData):
        raise DataValidationError(f"surface_data: expected SurfaceData, got {type(surface_data).__name__}")
    level = surface_data.level
    if level == 5:
        poly = _fsaverage5_mesh(mesh)
    else:
        try:
            from neurokit.mesh import fsaverage_hemisphere  # written in neurokit/mesh/hierarchy.py
        except ImportError as exc:  # pragma: no cover - depends on the mesh hierarchy being present
            raise MeshUnavailableError(
                f"level {level}: neurokit.mesh.fsaverage_hemisphere is not available to build its mesh"
            ) from exc
        parts = {}
        base = _fsaverage5_mesh(mesh) if level < 5 else None
        for hemi in ("left", "right"):
            hm = fsaverage_hemisphere(level, hemi)
            faces = np.asarray(hm.faces, dtype=np.int32)
            if base is not None:
                coords = np.asarray(base.parts[hemi].coordinates)[: n_vertices(level)]
            else:
                coords = np.asarray(hm.vertices)
            parts[hemi] = InMemoryMesh(coordinates=np.asarray(coords, dtype=np.float32), faces=faces)
        poly = PolyMesh(left=parts["left"], right=parts["right"])
    data = {"left": np.ascontiguousarray(surface_data.left.T), "right": np.ascontiguousarray(surface_data.right.T)}
    return SurfaceImage(mesh=poly, data=data)



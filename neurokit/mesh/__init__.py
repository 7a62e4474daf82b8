"""The nested fsaverage icosahedron hierarchy, moving data between its levels, and its MeshConv operators.

One module per concept: ``levels`` (vertex-count arithmetic and level
inference), ``hemisphere`` (the :class:`HemisphereMesh` container),
``subdivision`` (faces and parent edges of every level in FreeSurfer's order),
``freesurfer`` (FreeSurfer subject directories), ``cache`` (the on-disk
cache), ``loader`` (:func:`fsaverage_hemisphere`), ``resampling``
(:func:`downsample`, :func:`upsample`), ``operators`` (MeshConv operators as
torch sparse tensors; imported lazily, so ``import neurokit`` does not import
torch) and ``surfaces`` (anatomical surfaces and maps for plotting).
``hierarchy`` gathers the public names of the hierarchy modules.
"""

from typing import Any

from neurokit.mesh.hemisphere import HemisphereMesh, check_hemi
from neurokit.mesh.levels import (
    HEMISPHERES,
    LEVELS,
    MAX_LEVEL,
    check_level,
    layout_from_n_vertices,
    level_from_n_vertices,
    n_vertices,
)
from neurokit.mesh.loader import fsaverage_hemisphere
from neurokit.mesh.resampling import downsample, upsample
from neurokit.mesh.subdivision import parent_edges, subdivide
from neurokit.mesh.surfaces import Surface, anatomical_surface, surface_map

_LAZY = {"MeshOperators", "mesh_operators"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from neurokit.mesh import operators

        return getattr(operators, name)
    raise AttributeError(f"module 'neurokit.mesh' has no attribute {name!r}")


__all__ = [
    "HEMISPHERES",
    "LEVELS",
    "MAX_LEVEL",
    "HemisphereMesh",
    "MeshOperators",
    "Surface",
    "anatomical_surface",
    "check_hemi",
    "check_level",
    "layout_from_n_vertices",
    "downsample",
    "fsaverage_hemisphere",
    "level_from_n_vertices",
    "mesh_operators",
    "n_vertices",
    "parent_edges",
    "subdivide",
    "surface_map",
    "upsample",
]

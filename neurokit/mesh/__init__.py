"""The nested fsaverage icosahedron hierarchy and its MeshConv operators.

``levels`` (vertex-count arithmetic), ``hierarchy`` (the levels 0..7 per
hemisphere), ``operators`` (MeshConv operators as torch sparse tensors; imported
lazily, so ``import neurokit`` does not import torch) and ``surfaces``
(anatomical surfaces and maps for plotting).
"""

from typing import Any

from neurokit.mesh.hierarchy import (
    HemisphereMesh,
    check_hemi,
    downsample,
    fsaverage_hemisphere,
    parent_edges,
    subdivide,
    upsample,
)
from neurokit.mesh.levels import HEMISPHERES, LEVELS, MAX_LEVEL, check_level, level_from_n_vertices, n_vertices
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

"""The nested fsaverage icosahedron hierarchy and its MeshConv operators."""

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

__all__ = [
    "HEMISPHERES",
    "LEVELS",
    "MAX_LEVEL",
    "HemisphereMesh",
    "check_hemi",
    "check_level",
    "downsample",
    "fsaverage_hemisphere",
    "level_from_n_vertices",
    "n_vertices",
    "parent_edges",
    "subdivide",
    "upsample",
]

"""The nested fsaverage icosahedron hierarchy and its MeshConv operators."""

from neurokit.mesh.levels import HEMISPHERES, LEVELS, MAX_LEVEL, check_level, level_from_n_vertices, n_vertices

__all__ = ["HEMISPHERES", "LEVELS", "MAX_LEVEL", "check_level", "level_from_n_vertices", "n_vertices"]

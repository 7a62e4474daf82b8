"""The fsaverage icosahedron hierarchy, one hemisphere and one level at a time (public entry points).

The hierarchy is built from several modules, one per concept, whose public
names are gathered here for the code that imports them from
``neurokit.mesh.hierarchy``:

- :mod:`neurokit.mesh.hemisphere`: the :class:`HemisphereMesh` container and :func:`check_hemi`;
- :mod:`neurokit.mesh.subdivision`: subdivision in FreeSurfer's vertex order, the faces and
  :func:`parent_edges` of every level, checked against nilearn's fsaverage5;
- :mod:`neurokit.mesh.freesurfer`: FreeSurfer ``fsaverage`` subject directories;
- :mod:`neurokit.mesh.cache`: the on-disk cache (:func:`cache_root`, atomic ``.npz`` files);
- :mod:`neurokit.mesh.loader`: :func:`fsaverage_hemisphere`, cached in process and on disk;
- :mod:`neurokit.mesh.resampling`: :func:`downsample` and :func:`upsample` between levels.
"""

from neurokit.mesh.cache import CACHE_VERSION, atomic_save_npz, cache_root, load_npz, mesh_cache_path
from neurokit.mesh.freesurfer import read_freesurfer_surface, resolve_freesurfer_dir
from neurokit.mesh.hemisphere import HemisphereMesh, check_hemi
from neurokit.mesh.loader import clear_cache, fsaverage_hemisphere
from neurokit.mesh.resampling import downsample, upsample
from neurokit.mesh.subdivision import BUNDLED_LEVEL, parent_edges, subdivide

__all__ = [
    "BUNDLED_LEVEL",
    "CACHE_VERSION",
    "HemisphereMesh",
    "atomic_save_npz",
    "cache_root",
    "check_hemi",
    "clear_cache",
    "downsample",
    "fsaverage_hemisphere",
    "load_npz",
    "mesh_cache_path",
    "parent_edges",
    "read_freesurfer_surface",
    "resolve_freesurfer_dir",
    "subdivide",
    "upsample",
]

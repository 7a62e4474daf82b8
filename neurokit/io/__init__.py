"""Validated reading and writing of surface and volume data, and atomic file output.

Readers return float32 ``(n_samples, n_vertices)`` arrays or
:class:`~neurokit.surface_data.SurfaceData`; every failure is a
:class:`~neurokit.exceptions.NeurokitError` that names the file. Modules:

- :mod:`~neurokit.io.surface`: fsaverage data in any supported format, with
  vertex-count, hemisphere and finiteness checks (the entry point);
- :mod:`~neurokit.io.mgh`, :mod:`~neurokit.io.gifti`: the one reader and
  writer of each file format (MGH/MGZ with vertex-range reads, GIfTI);
- :mod:`~neurokit.io.surface_image`: conversion to and from nilearn's ``SurfaceImage``;
- :mod:`~neurokit.io.volume`: NIfTI volumes and their projection onto fsaverage;
- :mod:`~neurokit.io.containers`: the checks every reader shares (headers
  against file sizes, gzip read to the end, dependency errors mapped);
- :mod:`~neurokit.io.atomic`: atomic file writes; :mod:`~neurokit.io.output_folder`:
  output folders that are replaced whole or resumed, never half-written.
"""

from neurokit.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from neurokit.io.gifti import read_gifti, save_gifti
from neurokit.io.mgh import mgh_shape, read_mgh, read_mgh_rows, save_mgh
from neurokit.io.surface import (
    SURFACE_FORMATS,
    detect_hemisphere,
    read_hemisphere,
    read_hemispheres,
    read_surface_array,
    read_surface_data,
    write_gifti,
    write_hemisphere,
    write_mgh,
    write_npy,
    write_surface_data,
)
from neurokit.io.surface_image import from_surface_image, to_surface_image
from neurokit.io.volume import VOLUME_FORMATS, project_volume_to_surface, read_volume

__all__ = [
    "SURFACE_FORMATS",
    "VOLUME_FORMATS",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "detect_hemisphere",
    "from_surface_image",
    "mgh_shape",
    "project_volume_to_surface",
    "read_gifti",
    "read_hemisphere",
    "read_hemispheres",
    "read_mgh",
    "read_mgh_rows",
    "read_surface_array",
    "read_surface_data",
    "read_volume",
    "save_gifti",
    "save_mgh",
    "to_surface_image",
    "write_gifti",
    "write_hemisphere",
    "write_mgh",
    "write_npy",
    "write_surface_data",
]

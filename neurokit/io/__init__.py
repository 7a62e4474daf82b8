"""Validated reading and writing of surface and volume data, and atomic file output.

Readers return float32 ``(n_samples, n_vertices)`` arrays or
:class:`~neurokit.surface_data.SurfaceData`; every failure is a
:class:`~neurokit.exceptions.NeurokitError` that names the file. The checks
they share (headers against file sizes, gzip read to the end, dependency
errors mapped) live in :mod:`neurokit.io.containers`.
"""

from neurokit.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
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
    "project_volume_to_surface",
    "read_hemisphere",
    "read_hemispheres",
    "read_surface_array",
    "read_surface_data",
    "read_volume",
    "to_surface_image",
    "write_gifti",
    "write_hemisphere",
    "write_mgh",
    "write_npy",
    "write_surface_data",
]

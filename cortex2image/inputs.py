"""Responses in, as the models take them: files or arrays -> validated :class:`~neurokit.surface_data.SurfaceData`
at a mesh level.

:func:`as_surface_data` reads MGH/MGZ, GIfTI, npy and NIfTI (projected onto
fsaverage) through :mod:`neurokit.io`, or wraps arrays; :func:`at_level` maps
finer data to a model's level by slicing the nested hierarchy.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from neurokit.exceptions import DataValidationError, VertexCountError
from neurokit.mesh.levels import n_vertices
from neurokit.surface_data import SurfaceData, check_finite

__all__ = ["ResponsesLike", "as_surface_data", "at_level"]

ResponsesLike = Any  # SurfaceData | ndarray | Tensor | path | (left, right) paths
_NIFTI = (".nii", ".nii.gz")


def as_surface_data(responses: ResponsesLike, *, level: int | None = None, what: str = "responses") -> SurfaceData:
    """Turn files, arrays or a :class:`SurfaceData` into validated :class:`SurfaceData`.

    Parameters
    ----------
    responses : SurfaceData, ndarray, Tensor, path or (left, right) paths
        * ``(n_samples, 2 * n_vertices)`` or ``(2 * n_vertices,)`` arrays, left
          hemisphere first;
        * a ``(left_path, right_path)`` pair of MGH/MGZ, GIfTI or npy files, or
          one path (an ``.npy`` holding both hemispheres, or a one-hemisphere
          file whose partner is found by name), see
          :func:`neurokit.io.read_surface_data`;
        * a NIfTI volume in MNI space (``.nii``/``.nii.gz``), projected onto
          fsaverage (:func:`neurokit.io.project_volume_to_surface`) at
          ``min(level, 5)``.
    level : int, optional
        Mesh level wanted for NIfTI projection.
    what : str
        Name used in error messages.

    Raises
    ------
    VertexCountError, HemisphereMismatchError, NonFiniteDataError, FileFormatError
        From the readers: wrong vertex counts, swapped hemispheres, NaN/inf.
    """
    if isinstance(responses, SurfaceData):
        check_finite(responses.data, responses.source)
        return responses
    if isinstance(responses, torch.Tensor):
        responses = responses.detach().cpu().numpy()
    if isinstance(responses, np.ndarray):
        return SurfaceData.from_array(responses, source=what)
    if isinstance(responses, (str, os.PathLike)) and os.fspath(responses).lower().endswith(_NIFTI):
        from neurokit.io import project_volume_to_surface

        return project_volume_to_surface(responses, level=min(5, 5 if level is None else int(level)))
    if isinstance(responses, (str, os.PathLike, list, tuple)):
        from neurokit.io import read_surface_data

        return read_surface_data(tuple(responses) if isinstance(responses, list) else responses)
    raise DataValidationError(
        f"{what}: expected SurfaceData, an array (n_samples, 2 * n_vertices), a path or a (left, right) pair "
        f"of paths, got {type(responses).__name__}"
    )


def at_level(data: SurfaceData, level: int, whose: str = "the model") -> SurfaceData:
    """``data`` mapped to fsaverage ``level`` by slicing the nested hierarchy (finer data only).

    Parameters
    ----------
    data : SurfaceData
    level : int
        Target level, at most ``data.level``.
    whose : str
        What works at ``level``, for the error message.

    Raises
    ------
    VertexCountError
        If ``data`` are coarser than ``level``.
    """
    if data.level < level:
        raise VertexCountError(
            f"{data.source}: data are at fsaverage level {data.level} ({n_vertices(data.level):,} vertices per "
            f"hemisphere) but {whose} works at level {level} ({n_vertices(level):,}); give data at level {level} "
            "or finer"
        )
    return data.to_level(level) if data.level > level else data

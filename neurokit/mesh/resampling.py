"""Moving surface data between levels of the nested hierarchy: :func:`downsample` and :func:`upsample`.

Downsampling keeps the first vertices (the levels are nested); upsampling
gives every new vertex the mean of its parent edge's two ends, one level at a
time. numpy arrays, torch tensors and :class:`~neurokit.surface_data.SurfaceData`
are accepted, one hemisphere or both (left first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError, VertexCountError
from neurokit.mesh.levels import check_level, layout_from_n_vertices, n_vertices
from neurokit.mesh.subdivision import parent_edges


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def downsample(data: Any, to_level: int) -> Any:
    """Data on a coarser level, by keeping the first vertices (the hierarchy is nested).

    Parameters
    ----------
    data : array-like of shape (..., n) or SurfaceData
        Values on one hemisphere (``n = n_vertices(level)``) or on both
        (``n = 2 * n_vertices(level)``, left first). numpy arrays and torch
        tensors are kept as they are; the level is inferred from ``n``.
    to_level : int
        Target level, not finer than the data's level.

    Returns
    -------
    Same type as ``data``, shape (..., n_vertices(to_level)) or
    (..., 2 * n_vertices(to_level)).

    Raises
    ------
    VertexCountError
        If ``n`` is not an fsaverage vertex count, or ``to_level`` is invalid.
    DataValidationError
        If ``to_level`` is finer than the data (use :func:`upsample`).
    """
    from neurokit.surface_data import SurfaceData

    to_level = check_level(to_level, "to_level")
    if isinstance(data, SurfaceData):
        return data.to_level(to_level)
    if not _is_torch(data):
        data = np.asarray(data)
    level, both = layout_from_n_vertices(int(data.shape[-1]), what="downsample(data)")
    if to_level > level:
        raise DataValidationError(
            f"downsample: to_level={to_level} is finer than the data's level {level}; use upsample"
        )
    n_from, n_to = n_vertices(level), n_vertices(to_level)
    if not both:
        return data[..., :n_to]
    left, right = data[..., :n_to], data[..., n_from : n_from + n_to]
    if _is_torch(data):
        import torch

        return torch.cat([left, right], dim=-1)
    return np.concatenate([left, right], axis=-1)


def upsample(data: Any, from_level: int | None, to_level: int) -> Any:
    """Data on a finer level: each new vertex gets the mean of its parent edge's two ends.

    Parameters
    ----------
    data : array-like of shape (..., n) or SurfaceData
        Values on one hemisphere (``n = n_vertices(from_level)``) or both
        (``n = 2 * n_vertices(from_level)``, left first); numpy or torch.
    from_level : int or None
        Level of ``data``; inferred from ``n`` when ``None``.
    to_level : int
        Target level, not coarser than ``from_level``. Applied one level at a
        time, so the result is linear interpolation along the hierarchy.

    Returns
    -------
    Same type as ``data``, shape (..., n_vertices(to_level)) or
    (..., 2 * n_vertices(to_level)). Floating point (integers become float64
    for numpy).

    Raises
    ------
    VertexCountError
        If the last axis does not match ``from_level`` or is not an fsaverage count.
    DataValidationError
        If ``to_level`` is coarser than ``from_level``.
    """
    from neurokit.surface_data import SurfaceData

    to_level = check_level(to_level, "to_level")
    if isinstance(data, SurfaceData):
        if from_level is not None and check_level(from_level, "from_level") != data.level:
            raise VertexCountError(f"upsample: from_level={from_level} but the SurfaceData is at level {data.level}")
        up = upsample(data.data, data.level, to_level)
        return SurfaceData(up, to_level, data.source, dict(data.meta))
    torch_in = _is_torch(data)
    if not torch_in:
        data = np.asarray(data)
        if data.dtype.kind not in "fc":
            data = data.astype(np.float64)
    level, both = layout_from_n_vertices(int(data.shape[-1]), what="upsample(data)")
    if from_level is not None and check_level(from_level, "from_level") != level:
        raise VertexCountError(
            f"upsample: data's last axis has {data.shape[-1]:,} vertices (level {level}), not level {from_level}"
        )
    if to_level < level:
        raise DataValidationError(f"upsample: to_level={to_level} is coarser than from_level={level}; use downsample")
    n = n_vertices(level)
    halves = [data[..., :n], data[..., n:]] if both else [data]
    out = []
    for x in halves:
        for k in range(level + 1, to_level + 1):
            p = parent_edges(k)
            if torch_in:
                import torch

                idx0 = torch.from_numpy(p[:, 0].copy()).to(x.device)
                idx1 = torch.from_numpy(p[:, 1].copy()).to(x.device)
                x = torch.cat([x, 0.5 * (x.index_select(-1, idx0) + x.index_select(-1, idx1))], dim=-1)
            else:
                x = np.concatenate([x, 0.5 * (x[..., p[:, 0]] + x[..., p[:, 1]])], axis=-1)
        out.append(x)
    if len(out) == 1:
        return out[0]
    if torch_in:
        import torch

        return torch.cat(out, dim=-1)
    return np.concatenate(out, axis=-1)


__all__ = ["downsample", "upsample"]

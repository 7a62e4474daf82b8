"""Tensor layout of surface data inside the mesh layers.

Private module. Mesh layers take ``(batch, channels, n_hemispheres * V)``
tensors: the hemispheres are concatenated along the vertex axis, left first,
exactly like the toolkit's ``(n_samples, 2 * V)`` arrays, so a
``SurfaceData.data`` batch is one ``unsqueeze(1)`` away from a network input.
Each hemisphere has its own operators (its own sphere); the learned weights are
shared by both hemispheres.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neurokit.exceptions import DataValidationError, InvalidParameterError, VertexCountError
from neurokit.mesh.levels import HEMISPHERES


def resolve_hemispheres(hemispheres: str | Sequence[str]) -> tuple[str, ...]:
    """Turn ``"both"``, ``"left"``, ``"right"`` or a sequence of them into a tuple."""
    if isinstance(hemispheres, str):
        hemis: tuple[str, ...] = HEMISPHERES if hemispheres == "both" else (hemispheres,)
    else:
        try:
            hemis = tuple(hemispheres)
        except TypeError:
            hemis = ()
    if not hemis or any(h not in HEMISPHERES for h in hemis) or len(set(hemis)) != len(hemis):
        raise InvalidParameterError(
            f"hemispheres must be 'both', 'left', 'right' or distinct names from {HEMISPHERES}, got {hemispheres!r}"
        )
    return hemis


def check_input(x: torch.Tensor, n_channels: int | None, n_vertices: int, layer: str) -> None:
    """Raise a clear error unless ``x`` is ``(batch, n_channels, n_vertices)``."""
    if not isinstance(x, torch.Tensor) or x.ndim != 3:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise DataValidationError(f"{layer}: expected a (batch, channels, vertices) tensor, got {shape}")
    if n_channels is not None and x.shape[1] != n_channels:
        raise DataValidationError(f"{layer}: expected {n_channels} input channels, got {x.shape[1]}")
    if x.shape[2] != n_vertices:
        raise VertexCountError(
            f"{layer}: expected {n_vertices:,} vertices (hemispheres concatenated, left first), got {x.shape[2]:,}"
        )

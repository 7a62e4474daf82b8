"""Fixed position features: sine/cosine codes of fsaverage vertices and of feature-map cells.

Neither is learned: :func:`sphere_features` gives the mesh queries of
:class:`encoding.mesh_encoder.MeshReadout` their place on the sphere and
their hemisphere, :func:`image_position_features` gives every backbone token
its place in the image.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from neurokit.mesh import fsaverage_hemisphere
from neurokit.mesh.levels import check_level

__all__ = ["sphere_features", "image_position_features"]


def sphere_features(level: int, n_frequencies: int = 3) -> torch.Tensor:
    """Fixed positional features of the vertices of both hemispheres at ``level``.

    Parameters
    ----------
    level : int
        fsaverage level (0..7; levels above 5 need the user's FreeSurfer
        ``fsaverage`` sphere, see :func:`neurokit.mesh.hierarchy.fsaverage_hemisphere`).
    n_frequencies : int
        Number of octaves of sine/cosine features of the unit-sphere coordinates.

    Returns
    -------
    torch.Tensor of shape (2 * n_vertices(level), 4 + 6 * n_frequencies)
        float32: unit-sphere ``x, y, z``, a hemisphere flag (-1 left, +1
        right) and ``sin(2^f pi p), cos(2^f pi p)`` of each coordinate,
        left hemisphere first.
    """
    level = check_level(level)
    rows = []
    for flag, hemi in ((-1.0, "left"), (1.0, "right")):
        v = np.asarray(fsaverage_hemisphere(level, hemi).vertices, dtype=np.float64)
        v = v / np.linalg.norm(v, axis=1, keepdims=True)
        feats = [v, np.full((len(v), 1), flag)]
        for f in range(n_frequencies):
            feats += [np.sin(2.0**f * np.pi * v), np.cos(2.0**f * np.pi * v)]
        rows.append(np.concatenate(feats, axis=1))
    return torch.from_numpy(np.concatenate(rows).astype(np.float32))


def image_position_features(height: int, width: int, n_frequencies: int = 4) -> torch.Tensor:
    """Fixed 2-D sine/cosine features of the cells of an ``height x width`` feature map.

    Returns
    -------
    torch.Tensor of shape (height * width, 2 + 4 * n_frequencies)
        Row-major over the map: cell centre ``(x, y)`` in [-1, 1] and
        ``sin(2^f pi x / 2), cos(...)`` of both coordinates.
    """
    ys = (torch.arange(height, dtype=torch.float32) + 0.5) / height * 2 - 1
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / width * 2 - 1
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    p = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)
    feats = [p]
    for f in range(n_frequencies):
        feats += [torch.sin(2.0**f * math.pi * p / 2), torch.cos(2.0**f * math.pi * p / 2)]
    return torch.cat(feats, dim=1)


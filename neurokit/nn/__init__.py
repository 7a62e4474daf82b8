"""Neural-network layers on the fsaverage sphere: MeshConv, pooling, unpooling, blocks, per-vertex readout.

Every layer takes ``(batch, channels, n_hemispheres * V)`` tensors, hemispheres
concatenated along the vertex axis (left first, like the toolkit's arrays);
weights are shared between hemispheres, operators are per hemisphere.
"""

from neurokit.nn.blocks import NORMS, ChannelLayerNorm, DownBlock, ResidualBlock, UpBlock, mesh_norm
from neurokit.nn.meshconv import MeshConv, stacked_operator
from neurokit.nn.pooling import (
    MeshPool,
    MeshUnpool,
    MeshUpsample,
    interpolation_matrix,
    interpolation_parents,
    pooling_neighbourhoods,
)
from neurokit.nn.readout import VertexReadout

__all__ = [
    "NORMS",
    "ChannelLayerNorm",
    "DownBlock",
    "MeshConv",
    "MeshPool",
    "MeshUnpool",
    "MeshUpsample",
    "ResidualBlock",
    "UpBlock",
    "VertexReadout",
    "interpolation_matrix",
    "interpolation_parents",
    "mesh_norm",
    "pooling_neighbourhoods",
    "stacked_operator",
]

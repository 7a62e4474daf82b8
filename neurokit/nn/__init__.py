"""Neural-network layers on the fsaverage sphere: MeshConv, pooling, unpooling, blocks.

Every layer takes ``(batch, channels, n_hemispheres * V)`` tensors, hemispheres
concatenated along the vertex axis (left first, like the toolkit's arrays);
weights are shared between hemispheres, operators are per hemisphere.
"""

from neurokit.nn.blocks import NORMS, ChannelLayerNorm, DownBlock, ResidualBlock, UpBlock, mesh_norm
from neurokit.nn.meshconv import MeshConv, stacked_operator
from neurokit.nn.pooling import MeshPool, MeshUnpool, parent_edges, pooling_neighbourhoods

__all__ = [
    "NORMS",
    "ChannelLayerNorm",
    "DownBlock",
    "MeshConv",
    "MeshPool",
    "MeshUnpool",
    "ResidualBlock",
    "UpBlock",
    "mesh_norm",
    "parent_edges",
    "pooling_neighbourhoods",
    "stacked_operator",
]

"""The cortical trunk shared by Cortex2Semantic and Cortex2Detail.

A MeshConv stem at the data's fsaverage level, residual down-blocks to a
coarse level (pooling over 1-rings of the nested hierarchy), then sigmoid-
attention transformer blocks over the coarse vertices of both hemispheres,
pooled to one vector per sample.

Both hemispheres travel along the vertex axis (left first), as everywhere in
the toolkit; MeshConv weights are shared between hemispheres and a learned
per-vertex position embedding at the coarse level tells the attention blocks
which hemisphere and where each token is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from kernels import SigmoidTransformerBlock
from neurokit.exceptions import InvalidParameterError, VertexCountError
from neurokit.mesh.levels import check_level, n_vertices
from neurokit.nn import DownBlock, MeshConv, mesh_norm
from neurokit.validation import check_int

__all__ = ["CortexTrunk"]


class CortexTrunk(nn.Module):
    """MeshConv residual trunk plus sigmoid-attention blocks, fsaverage responses -> a vector.

    Parameters
    ----------
    level : int
        fsaverage level of the input (1..7); the input has
        ``2 * n_vertices(level)`` values per sample, left hemisphere first.
    coarse_level : int
        Level the down-blocks stop at (``0 <= coarse_level <= level``); the
        attention runs over its ``2 * n_vertices(coarse_level)`` vertices.
    channels : sequence of int
        Channels of the stem (first entry) and of each down-block; its length
        must be ``level - coarse_level + 1``. Default doubles from 16.
    attention_dim : int
        Width of the attention tokens (and of the output vector).
    attention_depth : int
        Number of :class:`kernels.SigmoidTransformerBlock` (0 disables attention).
    num_heads : int
        Attention heads (must divide ``attention_dim``).
    norm : str
        Normalisation of the residual blocks, see :func:`neurokit.nn.mesh_norm`.
    pool : {"max", "mean"}
        Mesh pooling of the down-blocks.
    linear_skip : bool
        Add a linear read-out of the input vertices to the pooled output (a
        global linear path next to the deep one; it helps small training sets,
        where the mapping is close to linear).

    Notes
    -----
    Input ``(batch, 2 * n_vertices(level))`` (or ``(batch, 1, ...)``), output
    ``(batch, attention_dim)``. :meth:`tokens` returns the coarse tokens
    ``(batch, 2 * n_vertices(coarse_level), attention_dim)`` before pooling.
    """

    def __init__(
        self,
        level: int,
        coarse_level: int = 2,
        channels: Sequence[int] | None = None,
        attention_dim: int = 128,
        attention_depth: int = 2,
        num_heads: int = 4,
        norm: str = "group",
        pool: str = "max",
        linear_skip: bool = True,
    ) -> None:
        super().__init__()
        self.level = check_level(level, "level")
        self.coarse_level = check_level(coarse_level, "coarse_level")
        if self.coarse_level > self.level:
            raise InvalidParameterError(
                f"coarse_level ({self.coarse_level}) must not be finer than level ({self.level})"
            )
        n_stages = self.level - self.coarse_level + 1
        if channels is None:
            channels = [min(16 * 2**k, 256) for k in range(n_stages)]
        channels = [check_int(c, "channels[]", minimum=1) for c in channels]
        if len(channels) != n_stages:
            raise InvalidParameterError(
                f"channels needs {n_stages} entries (stem at level {self.level} plus one per down-block to "
                f"level {self.coarse_level}), got {len(channels)}"
            )
        self.attention_dim = check_int(attention_dim, "attention_dim", minimum=1)
        self.attention_depth = check_int(attention_depth, "attention_depth", minimum=0)
        num_heads = check_int(num_heads, "num_heads", minimum=1)
        if self.attention_dim % num_heads:
            raise InvalidParameterError(f"attention_dim ({attention_dim}) must be divisible by num_heads ({num_heads})")
        self.channels = tuple(channels)
        self.num_heads, self.norm, self.pool = num_heads, norm, pool
        self.n_inputs = 2 * n_vertices(self.level)
        self.n_tokens = 2 * n_vertices(self.coarse_level)

        self.stem = MeshConv(1, channels[0], self.level)
        self.stem_norm = mesh_norm(norm, channels[0])
        self.act = nn.GELU()
        self.down = nn.ModuleList(
            DownBlock(channels[k], channels[k + 1], self.level - k, norm=norm, pool=pool)
            for k in range(n_stages - 1)
        )
        self.project = nn.Linear(channels[-1], self.attention_dim)
        self.position = nn.Parameter(torch.zeros(self.n_tokens, self.attention_dim))
        nn.init.normal_(self.position, std=0.02)
        self.blocks = nn.ModuleList(
            SigmoidTransformerBlock(self.attention_dim, num_heads, qk_norm=True, backend="auto")
            for _ in range(self.attention_depth)
        )
        self.out_norm = nn.LayerNorm(self.attention_dim)
        self.linear_skip = bool(linear_skip)
        self.skip = nn.Linear(self.n_inputs, self.attention_dim) if self.linear_skip else None

    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise InvalidParameterError(f"CortexTrunk expects a torch.Tensor, got {type(x).__name__}")
        if x.ndim == 3 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise VertexCountError(
                f"CortexTrunk at level {self.level} expects input (batch, {self.n_inputs:,}) "
                f"(both hemispheres, left first), got {tuple(x.shape)}"
            )
        return x

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Coarse-vertex tokens ``(batch, 2 * n_vertices(coarse_level), attention_dim)``."""
        x = self._check(x)
        h = self.act(self.stem_norm(self.stem(x.unsqueeze(1))))
        for block in self.down:
            h = block(h)
        tokens = self.project(h.transpose(1, 2)) + self.position
        for block in self.blocks:
            tokens = block(tokens)
        return self.out_norm(tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled trunk features ``(batch, attention_dim)`` of responses ``(batch, 2 * n_vertices(level))``."""
        pooled = self.tokens(x).mean(dim=1)
        if self.skip is not None:
            pooled = pooled + self.skip(self._check(x))
        return pooled

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable) to rebuild the trunk."""
        return {
            "level": self.level,
            "coarse_level": self.coarse_level,
            "channels": list(self.channels),
            "attention_dim": self.attention_dim,
            "attention_depth": self.attention_depth,
            "num_heads": self.num_heads,
            "norm": self.norm,
            "pool": self.pool,
            "linear_skip": self.linear_skip,
        }

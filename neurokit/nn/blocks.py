"""Normalisation and residual blocks built from MeshConv, pooling and unpooling.

All blocks take and return ``(batch, channels, n_hemispheres * V)`` tensors
(hemispheres concatenated along the vertex axis, left first).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from neurokit.exceptions import DataValidationError
from neurokit.mesh.levels import check_level
from neurokit.nn._layout import resolve_hemispheres
from neurokit.nn.meshconv import MeshConv
from neurokit.nn.pooling import MeshPool, MeshUnpool
from neurokit.validation import check_int, check_option

NORMS = ("batch", "group", "layer", "instance", "none")


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channels of every vertex of a (batch, channels, vertices) tensor.

    Parameters
    ----------
    channels : int
        Number of channels normalised together.
    eps : float
        Added to the variance for numerical stability.
    """

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` of shape (batch, channels, vertices)."""
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def mesh_norm(kind: str, channels: int, groups: int = 8) -> nn.Module:
    """Normalisation layer for (batch, channels, vertices) tensors.

    Parameters
    ----------
    kind : {"batch", "group", "layer", "instance", "none"}
        ``"batch"``: :class:`torch.nn.BatchNorm1d` (statistics over batch and
        vertices); ``"group"``: :class:`torch.nn.GroupNorm` with
        ``gcd(groups, channels)`` groups (over vertices and the channels of a
        group, per sample); ``"layer"``: LayerNorm over channels at every
        vertex; ``"instance"``: GroupNorm with one group per channel;
        ``"none"``: identity.
    channels : int
        Number of channels.
    groups : int
        Preferred number of groups for ``"group"``.

    Returns
    -------
    torch.nn.Module
    """
    channels = check_int(channels, "mesh_norm: channels", minimum=1)
    kind = check_option(kind, "mesh_norm: kind", NORMS)
    if kind == "batch":
        return nn.BatchNorm1d(channels)
    if kind == "group":
        import math

        return nn.GroupNorm(math.gcd(groups, channels), channels)
    if kind == "layer":
        return ChannelLayerNorm(channels)
    if kind == "instance":
        return nn.GroupNorm(channels, channels)
    return nn.Identity()  # kind == "none"


class ResidualBlock(nn.Module):
    """Two MeshConvs with normalisation and a skip connection, at one level.

    ``y = act(norm(conv2(act(norm(conv1(x))))) + skip(x))``, where ``skip``
    is the identity when the channel counts agree and a learned per-vertex
    linear map (1x1 convolution) otherwise.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and the output.
    level : int
        fsaverage level of input and output.
    hemispheres : {"both", "left", "right"} or sequence of str
        Hemispheres concatenated along the vertex axis, left first.
    norm : str
        See :func:`mesh_norm`.
    activation : type of torch.nn.Module
        Non-linearity class, instantiated without arguments.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        level: int,
        hemispheres: str | Sequence[str] = "both",
        norm: str = "batch",
        activation: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        self.level = check_level(level)
        hemis = resolve_hemispheres(hemispheres)
        self.conv1 = MeshConv(in_channels, out_channels, self.level, hemis)
        self.norm1 = mesh_norm(norm, out_channels)
        self.conv2 = MeshConv(out_channels, out_channels, self.level, hemis)
        self.norm2 = mesh_norm(norm, out_channels)
        self.act = activation()
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv1d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` of shape (batch, in_channels, vertices)."""
        y = self.act(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        return self.act(y + self.skip(x))


class DownBlock(nn.Module):
    """Pool from ``level`` to ``level - 1``, then a :class:`ResidualBlock` there.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and the output.
    level : int
        Level of the input (1..7); the output is at ``level - 1``.
    hemispheres, norm, activation
        As in :class:`ResidualBlock`.
    pool : {"max", "mean"}
        Pooling reduction, see :class:`MeshPool`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        level: int,
        hemispheres: str | Sequence[str] = "both",
        norm: str = "batch",
        activation: type[nn.Module] = nn.GELU,
        pool: str = "max",
    ) -> None:
        super().__init__()
        self.level = check_level(level)
        self.pool = MeshPool(self.level, pool, hemispheres)
        self.block = ResidualBlock(in_channels, out_channels, self.level - 1, hemispheres, norm, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, H * V(level)) -> (batch, out_channels, H * V(level - 1))."""
        return self.block(self.pool(x))


class UpBlock(nn.Module):
    """Unpool from ``level`` to ``level + 1``, concatenate a skip, then a :class:`ResidualBlock`.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and the output.
    level : int
        Level of the input (0..6); the output is at ``level + 1``.
    skip_channels : int
        Channels of the encoder feature map at ``level + 1`` passed to
        :meth:`forward` (U-Net style); 0 for none.
    hemispheres, norm, activation
        As in :class:`ResidualBlock`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        level: int,
        skip_channels: int = 0,
        hemispheres: str | Sequence[str] = "both",
        norm: str = "batch",
        activation: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        self.level = check_level(level)
        skip_channels = check_int(skip_channels, "UpBlock: skip_channels", minimum=0)
        self.skip_channels = skip_channels
        self.unpool = MeshUnpool(self.level, hemispheres)
        self.block = ResidualBlock(
            in_channels + skip_channels, out_channels, self.level + 1, hemispheres, norm, activation
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, in_channels, H * V(level)) [+ skip (batch, skip_channels, H * V(level + 1))] -> level + 1."""
        y = self.unpool(x)
        if self.skip_channels:
            if skip is None or skip.shape[1] != self.skip_channels or skip.shape[2] != y.shape[2]:
                got = None if skip is None else tuple(skip.shape)
                raise DataValidationError(
                    f"UpBlock: expected a skip tensor (batch, {self.skip_channels}, {y.shape[2]}), got {got}"
                )
            y = torch.cat([y, skip.to(y.dtype)], dim=1)
        elif skip is not None:
            raise DataValidationError("UpBlock: got a skip tensor but skip_channels=0")
        return self.block(y)

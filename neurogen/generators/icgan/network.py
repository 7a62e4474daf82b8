"""IC-GAN's BigGAN generator network (BigGAN-PyTorch's module names, so published state dicts load key for key).

Spectral-normalised convolutions and linear layers, conditional batch norm, residual up-blocks and SA-GAN
self-attention, assembled by :class:`ICGANNetwork` from :func:`~neurogen.generators.icgan.icgan_architecture`
settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from neurogen.generators.icgan.architecture import BLOCK_CHANNELS, INSTANCE_DIM

__all__ = ["ICGANNetwork"]


class _SpectralNorm:
    """Spectral normalisation as BigGAN-PyTorch does it: buffers ``u0`` (singular vector) and ``sv0``.

    Each call runs one power iteration from the stored ``u0``; only in train
    mode are the new ``u0`` and the singular value ``sv0`` stored, so in eval
    mode the normalised weight is the same at every call.
    """

    weight: torch.Tensor
    u0: torch.Tensor
    sv0: torch.Tensor
    training: bool

    def _init_spectral_norm(self, n_outputs: int, eps: float) -> None:
        self.sn_eps = eps
        self.register_buffer("u0", torch.randn(1, n_outputs))  # type: ignore[attr-defined]
        self.register_buffer("sv0", torch.ones(1))  # type: ignore[attr-defined]

    def normalised_weight(self) -> torch.Tensor:
        matrix = self.weight.view(self.weight.shape[0], -1)
        with torch.no_grad():
            v = F.normalize(self.u0 @ matrix, eps=self.sn_eps)
            u = F.normalize(v @ matrix.t(), eps=self.sn_eps)
            if self.training:
                self.u0.copy_(u)
        sigma = ((v @ matrix.t()) @ u.t()).squeeze()
        if self.training:
            with torch.no_grad():
                self.sv0.copy_(sigma.detach())
        return self.weight / sigma


class _SNConv2d(nn.Conv2d, _SpectralNorm):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, *, bias: bool = True, eps: float = 1e-6) -> None:
        nn.Conv2d.__init__(self, in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias)
        self._init_spectral_norm(out_ch, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.normalised_weight(), self.bias, padding=self.padding)


class _SNLinear(nn.Linear, _SpectralNorm):
    def __init__(self, n_in: int, n_out: int, *, bias: bool = True, eps: float = 1e-6) -> None:
        nn.Linear.__init__(self, n_in, n_out, bias=bias)
        self._init_spectral_norm(n_out, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalised_weight(), self.bias)


class _ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain ``1 + W_g y`` and bias ``W_b y`` come from the conditioning vector ``y``."""

    def __init__(self, channels: int, cond_dim: int, linear: Callable[..., nn.Module], eps: float) -> None:
        super().__init__()
        self.gain = linear(cond_dim, channels, bias=False)
        self.bias = linear(cond_dim, channels, bias=False)
        self.eps = eps
        self.register_buffer("stored_mean", torch.zeros(channels))
        self.register_buffer("stored_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gain = (1.0 + self.gain(y)).view(y.shape[0], -1, 1, 1)
        bias = self.bias(y).view(y.shape[0], -1, 1, 1)
        out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None, self.training, 0.1, self.eps)
        return out * gain + bias


class _BatchNorm(nn.Module):
    """Unconditional batch norm of the output layer (learned ``gain`` and ``bias``)."""

    def __init__(self, channels: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("stored_mean", torch.zeros(channels))
        self.register_buffer("stored_var", torch.ones(channels))
        self.gain = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias, self.training, 0.1, self.eps)


class _GBlock(nn.Module):
    """Residual up-block: BN-ReLU-upsample-conv-BN-ReLU-conv, plus an upsampled 1x1-conv shortcut."""

    def __init__(self, in_ch: int, out_ch: int, conv: Callable[..., nn.Module],
                 bn: Callable[[int], nn.Module]) -> None:
        super().__init__()
        self.conv1 = conv(in_ch, out_ch)
        self.conv2 = conv(out_ch, out_ch)
        self.conv_sc = conv(in_ch, out_ch, kernel_size=1)
        self.bn1 = bn(in_ch)
        self.bn2 = bn(out_ch)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.conv_sc(F.interpolate(x, scale_factor=2))


class _Attention(nn.Module):
    """SA-GAN self-attention as in BigGAN-PyTorch (keys and values max-pooled by 2)."""

    def __init__(self, ch: int, conv: Callable[..., nn.Module]) -> None:
        super().__init__()
        self.ch = ch
        self.theta = conv(ch, ch // 8, kernel_size=1, bias=False)
        self.phi = conv(ch, ch // 8, kernel_size=1, bias=False)
        self.g = conv(ch, ch // 2, kernel_size=1, bias=False)
        self.o = conv(ch // 2, ch, kernel_size=1, bias=False)
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n, _, height, width = x.shape
        theta = self.theta(x).view(n, self.ch // 8, height * width)
        phi = F.max_pool2d(self.phi(x), 2).view(n, self.ch // 8, height * width // 4)
        g = F.max_pool2d(self.g(x), 2).view(n, self.ch // 2, height * width // 4)
        beta = F.softmax(theta.transpose(1, 2) @ phi, dim=-1)
        return self.gamma * self.o((g @ beta.transpose(1, 2)).view(n, self.ch // 2, height, width)) + x


class ICGANNetwork(nn.Module):
    """The generator network; its module names are BigGAN-PyTorch's, so state dicts match key for key.

    Parameters
    ----------
    arch : dict
        Validated architecture settings (:func:`~neurogen.generators.icgan.icgan_architecture`).

    Notes
    -----
    ``forward(z, feats)`` maps latents ``(n, dim_z)`` and instance features ``(n, 2048)`` to images
    ``(n, 3, H, W)`` in [-1, 1] (tanh).
    """

    def __init__(self, arch: dict[str, Any]) -> None:
        super().__init__()
        in_mult, out_mult = BLOCK_CHANNELS[arch["resolution"]]
        ch, width = arch["G_ch"], arch["bottom_width"]
        self.bottom_width = width
        self.n_slots = len(in_mult) + 1 if arch["hier"] else 1
        self.z_chunk = arch["dim_z"] // self.n_slots if arch["hier"] else 0
        self.dim_z = self.z_chunk * self.n_slots if arch["hier"] else arch["dim_z"]
        eps = arch["SN_eps"]

        def conv(i: int, o: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
            return _SNConv2d(i, o, kernel_size, bias=bias, eps=eps)

        def linear(i: int, o: int, bias: bool = True) -> nn.Module:
            return _SNLinear(i, o, bias=bias, eps=eps)

        cond_dim = self.z_chunk + arch["shared_dim_feat"]

        def bn(channels: int) -> nn.Module:
            return _ConditionalBatchNorm(channels, cond_dim, linear, arch["BN_eps"])

        # The class embedding exists in every IC-GAN generator (G_shared) even when unused.
        self.shared = nn.Embedding(arch["n_classes"], arch["shared_dim"] or arch["dim_z"])
        self.shared_feat = linear(INSTANCE_DIM, arch["shared_dim_feat"]) if arch["G_shared_feat"] else nn.Identity()
        self.linear = linear(self.dim_z // self.n_slots, ch * in_mult[0] * width**2)
        attention = {int(r) for r in arch["G_attn"].split("_")}
        blocks = []
        for index, (i, o) in enumerate(zip(in_mult, out_mult)):
            block: list[nn.Module] = [_GBlock(ch * i, ch * o, conv, bn)]
            if 8 * 2**index in attention:  # block outputs are at 8, 16, 32, ... px
                block.append(_Attention(ch * o, conv))
            blocks.append(nn.ModuleList(block))
        self.blocks = nn.ModuleList(blocks)
        self.output_layer = nn.Sequential(_BatchNorm(ch * out_mult[-1], arch["BN_eps"]), nn.ReLU(),
                                          conv(ch * out_mult[-1], 3))

    def forward(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        y = self.shared_feat(feats)
        if self.z_chunk:
            zs = torch.split(z, self.z_chunk, dim=1)
            z, ys = zs[0], [torch.cat([y, chunk], dim=1) for chunk in zs[1:]]
        else:
            ys = [y] * len(self.blocks)
        h = self.linear(z).view(z.shape[0], -1, self.bottom_width, self.bottom_width)
        for blocklist, y_block in zip(self.blocks, ys):
            for layer in blocklist:
                h = layer(h, y_block)
        return torch.tanh(self.output_layer(h))

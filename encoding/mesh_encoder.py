"""Surface-mesh convolutional encoder: image -> frozen backbone tokens -> mesh queries -> MeshConv decoder.

:class:`SurfaceMeshEncoder` predicts one response per fsaverage vertex of both
hemispheres from an image:

1. a frozen EfficientNet-Lite0 (its differentiable torch path) turns the image
   into *tokens*: each requested feature map flattened to ``h * w`` tokens
   (a vector layer such as ``'pool'`` is one token); every token is
   standardised per channel with fixed statistics of the training images
   (linear, so features the responses are linear in stay linear), projected
   to ``dim`` with a per-layer linear map, plus a learned per-layer
   embedding and a projection of fixed 2-D sine/cosine features of the
   token's position in the image;
2. a sigmoid cross-attention readout (:class:`kernels.SigmoidCrossAttention`,
   Ramapuram et al. 2024): one learned query per vertex of a coarse mesh level
   (both hemispheres), made of a learned embedding plus fixed features of the
   vertex's sphere coordinates and hemisphere, attends to the image tokens
   (QK-norm, bias ``-log n``), followed by a residual GELU MLP;
3. a MeshConv decoder (:mod:`neurokit.nn`) unpools level by level to the
   target level (``unpool -> MeshConv -> norm -> GELU`` per level), and a
   per-vertex linear readout (:class:`neurokit.nn.VertexReadout`) of the
   decoder channels and of the query features interpolated to the target
   level (:class:`neurokit.nn.MeshUpsample`, a linear skip path) gives every
   vertex its own tuning;
4. a per-vertex receptive-field readout: every feature map average-pooled to
   a ``spatial_grid x spatial_grid`` grid and projected to
   ``spatial_channels`` channels by a shared map, each vertex weighting every
   cell and channel (the full-rank form of the factorized "where x what"
   readout of Klindt et al. 2017). Coarse queries cannot resolve a
   retinotopic map whose receptive fields change from vertex to vertex;
   this path gives early visual cortex its receptive fields at the full
   resolution of the target mesh.

Training alternates (variable projection): after ``joint_epochs`` epochs in
which everything is trained by gradient, the per-vertex readouts are frozen
and re-solved in closed form (per-vertex ridge, penalty chosen on held-out
images; :meth:`MeshReadout.refit_readout`) at the start of every epoch, while
the gradient steps train the shared part (token projections, queries,
attention, decoder) against those ridge readouts. Per-vertex weights fitted
by SGD overfit the noise of every vertex and hand that noise to the shared
part; the closed-form readout does not.

The module is differentiable from pixels to vertices (``forward(images)``),
so a generator can follow its gradient. It also has the scikit-learn face of
the other encoders -- ``fit(images, Y)``, ``predict(images)`` and
``score(images, Y)`` (Pearson r per vertex) -- so it can be a source model of
:class:`encoding.ensemble.PersonalizedEnsembleEncoder`. ``fit`` computes the
frozen backbone tokens once and trains only the readout and decoder with
:class:`neurokit.training.Trainer`. Weights are saved with
:mod:`neurokit.checkpoints` (safetensors + JSON); the backbone's pretrained
weights are not copied into the checkpoint (they come from the installed
package, named in the config).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from tqdm.auto import tqdm

from kernels import SigmoidCrossAttention
from neurokit.checkpoints import load_checkpoint, save_checkpoint
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    NotFittedError,
    VertexCountError,
)
from neurokit.mesh import fsaverage_hemisphere
from neurokit.mesh.levels import check_level, level_from_n_vertices, n_vertices
from neurokit.metrics import pearson_r
from neurokit.nn import MeshConv, MeshUnpool, MeshUpsample, VertexReadout, mesh_norm

__all__ = ["SurfaceMeshEncoder", "MeshReadout", "sphere_features", "image_position_features"]

#: Learning-rate multiplier of the per-vertex readout (see :class:`neurokit.nn.VertexReadout`).
READOUT_GAIN = 10.0

#: Layers of EfficientNet-Lite0 the encoder reads tokens from by default.
DEFAULT_TOKEN_LAYERS = ("stage3", "pool")


# ------------------------------------------------------------------------------ fixed position features
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


# ------------------------------------------------------------------------------ the trainable part
class MeshReadout(nn.Module):
    """Tokens -> responses on both hemispheres: mesh-query cross-attention, MeshConv decoder, per-vertex readout.

    Parameters
    ----------
    token_shapes : sequence of (n_tokens, token_dim, height, width)
        One entry per backbone layer; ``height * width == n_tokens`` for a
        feature map, ``(1, D, 0, 0)`` for a vector layer.
    query_level, target_level : int
        Mesh level of the queries and of the output (``query_level <= target_level``).
    dim, num_heads : int
        Width of tokens and queries, attention heads.
    decoder_channels : sequence of int
        Channels of the MeshConv after each unpooling step, one per level
        from ``query_level + 1`` to ``target_level``.
    norm : str
        Normalisation of the decoder (see :func:`neurokit.nn.mesh_norm`).
    spatial_channels : int
        Channels of the per-vertex receptive-field readout (0: none).
    spatial_grid : int
        Each feature map is average-pooled to at most this many cells per
        side for the receptive-field readout.

    Notes
    -----
    Input: packed tokens ``(batch, sum_i n_tokens_i * token_dim_i)`` (each
    layer's ``(n_tokens, token_dim)`` tokens flattened and concatenated, see
    :meth:`SurfaceMeshEncoder.tokens`). Output ``(batch, 2 * n_vertices(target_level))``,
    left hemisphere first, in the units of the training targets (the
    per-vertex standardisation learned by ``fit`` is undone here).

    The computation:

    1. every token is standardised per channel with fixed statistics of the
       training images (:meth:`set_token_statistics`; a linear map, unlike a
       per-token LayerNorm, so features the responses are linear in stay
       linear), projected to ``dim`` and given a layer embedding and a
       projection of its 2-D sine/cosine image position;
    2. one query per vertex of ``query_level`` (a learned embedding plus a
       projection of the vertex's sphere features) attends to the tokens with
       multi-head sigmoid cross-attention (QK-norm, bias ``-log n``); vector
       layers (``'pool'``) are also added to every query directly, since with
       the ``-log n`` bias one token among ``n`` would reach the queries with
       a weight of about ``1 / n``; a residual GELU MLP whose output layer
       starts at zero follows;
    3. the decoder unpools level by level (``unpool -> MeshConv -> norm ->
       GELU``) to ``target_level``;
    4. a per-vertex linear readout (:class:`neurokit.nn.VertexReadout`) of the
       decoder's channels and of the query features interpolated to the
       target level (a skip path: linear in the attention output) gives each
       vertex its own tuning with ``dim + decoder_channels[-1]`` weights per
       vertex;
    5. a per-vertex receptive-field readout of :meth:`spatial_features`
       (``n_cells * spatial_channels`` weights per vertex) adds each vertex's
       own spatial and feature tuning.
    """

    def __init__(
        self,
        token_shapes: Sequence[tuple[int, int, int, int]],
        query_level: int,
        target_level: int,
        dim: int,
        num_heads: int,
        decoder_channels: Sequence[int],
        norm: str = "layer",
        spatial_channels: int = 4,
        spatial_grid: int = 4,
    ) -> None:
        super().__init__()
        if isinstance(spatial_channels, bool) or not isinstance(spatial_channels, int) or spatial_channels < 0:
            raise InvalidParameterError(f"MeshReadout: spatial_channels must be an int >= 0, got {spatial_channels!r}")
        if isinstance(spatial_grid, bool) or not isinstance(spatial_grid, int) or spatial_grid < 1:
            raise InvalidParameterError(f"MeshReadout: spatial_grid must be a positive int, got {spatial_grid!r}")
        self.token_shapes = [tuple(int(v) for v in s) for s in token_shapes]
        self.query_level, self.target_level = check_level(query_level), check_level(target_level)
        if self.query_level > self.target_level:
            raise InvalidParameterError(
                f"MeshReadout: query_level ({query_level}) must not exceed target_level ({target_level})"
            )
        steps = self.target_level - self.query_level
        decoder_channels = [int(c) for c in decoder_channels]
        if len(decoder_channels) != steps:
            raise InvalidParameterError(
                f"MeshReadout: decoder_channels needs {steps} entries (levels {self.query_level + 1}.."
                f"{self.target_level}), got {decoder_channels}"
            )
        self.sizes = [n * d for n, d, _, _ in self.token_shapes]
        self.channels = [d for _, d, _, _ in self.token_shapes]
        n_ch = sum(self.channels)
        self.register_buffer("token_mean", torch.zeros(n_ch))
        self.register_buffer("token_scale", torch.ones(n_ch))
        self.in_proj = nn.ModuleList(nn.Linear(d, dim) for d in self.channels)
        self.layer_embed = nn.Parameter(torch.zeros(len(self.token_shapes), dim))
        pos = [image_position_features(h, w) if h else torch.zeros(1, 18) for _, _, h, w in self.token_shapes]
        self.register_buffer("token_pos", torch.cat(pos), persistent=False)
        starts = np.cumsum([0] + [n for n, _, _, _ in self.token_shapes])
        self.global_index = [int(starts[i]) for i, (_, _, h, _) in enumerate(self.token_shapes) if not h]
        self.pos_proj = nn.Linear(self.token_pos.shape[1], dim)

        sphere = sphere_features(self.query_level)
        self.register_buffer("query_pos", sphere, persistent=False)
        self.query_embed = nn.Parameter(0.02 * torch.randn(sphere.shape[0], dim))
        self.query_proj = nn.Linear(sphere.shape[1], dim)
        self.q_norm = nn.LayerNorm(dim)
        self.attn = SigmoidCrossAttention(dim, num_heads, qk_norm=True)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        nn.init.zeros_(self.mlp[2].weight)
        nn.init.zeros_(self.mlp[2].bias)

        stages: list[nn.Module] = []
        channels = dim
        for k, out_ch in enumerate(decoder_channels):
            level = self.query_level + k
            stages.append(
                nn.ModuleDict(
                    {
                        "unpool": MeshUnpool(level),
                        "conv": MeshConv(channels, out_ch, level + 1),
                        "norm": mesh_norm(norm, out_ch),
                    }
                )
            )
            channels = out_ch
        self.stages = nn.ModuleList(stages)
        self.act = nn.GELU()
        self.skip_up = MeshUpsample(self.query_level, self.target_level)
        n_out = 2 * n_vertices(self.target_level)
        self.skip_readout = VertexReadout(dim, n_out, init="zeros", gain=READOUT_GAIN)
        self.decoder_readout = (VertexReadout(channels, n_out, bias=False, init="zeros", gain=READOUT_GAIN)
                                if stages else None)
        # per-vertex receptive fields: every cell of every feature map, projected to a few channels
        self.spatial_layers = [i for i, (_, _, h, _) in enumerate(self.token_shapes) if h]
        self.spatial_channels = spatial_channels if self.spatial_layers else 0
        self.spatial_proj = nn.ModuleList(nn.Linear(self.channels[i], self.spatial_channels, bias=False)
                                          for i in self.spatial_layers) if self.spatial_channels else None
        self.spatial_grid = spatial_grid
        self.spatial_cells = [(min(self.token_shapes[i][2], spatial_grid), min(self.token_shapes[i][3], spatial_grid))
                              for i in self.spatial_layers]
        n_cells = sum(h * w for h, w in self.spatial_cells)
        self.spatial_readout = (VertexReadout(n_cells * self.spatial_channels, n_out, bias=False, init="zeros",
                                              gain=READOUT_GAIN) if self.spatial_channels else None)
        self.register_buffer("target_mean", torch.zeros(n_out))
        self.register_buffer("target_scale", torch.ones(n_out))

    @property
    def n_outputs(self) -> int:
        """Vertices of both hemispheres at the target level."""
        return self.skip_readout.n_vertices

    def _check_packed(self, packed: torch.Tensor) -> None:
        if not isinstance(packed, torch.Tensor) or packed.ndim != 2 or packed.shape[1] != sum(self.sizes):
            shape = tuple(packed.shape) if isinstance(packed, torch.Tensor) else type(packed).__name__
            raise DataValidationError(
                f"MeshReadout: expected packed tokens of shape (batch, {sum(self.sizes)}), got {shape}"
            )

    def _layer_tokens(self, packed: torch.Tensor) -> list[torch.Tensor]:
        """Packed tokens -> one (batch, n_tokens, channels) tensor per layer."""
        return [part.reshape(part.shape[0], n, d) for part, (n, d, _, _) in
                zip(packed.split(self.sizes, dim=1), self.token_shapes)]

    @torch.no_grad()
    def set_token_statistics(self, packed: torch.Tensor) -> None:
        """Set the per-channel token standardisation from training tokens.

        Parameters
        ----------
        packed : Tensor of shape (n_images, n_packed)
            Packed tokens of the training images; each channel's mean and
            standard deviation are taken over images and token positions.
        """
        self._check_packed(packed)
        means, scales = [], []
        for t in self._layer_tokens(packed.double()):
            flat = t.reshape(-1, t.shape[-1])
            sd = flat.std(0) if flat.shape[0] > 1 else torch.ones_like(flat[0])
            means.append(flat.mean(0))
            scales.append(torch.where(sd > 1e-8, sd, torch.ones_like(sd)))
        self.token_mean.copy_(torch.cat(means))
        self.token_scale.copy_(torch.cat(scales))

    def standardised_tokens(self, packed: torch.Tensor) -> list[torch.Tensor]:
        """Packed backbone tokens (batch, n_packed) -> one standardised (batch, n_tokens, channels) tensor per layer."""
        self._check_packed(packed)
        means, scales = self.token_mean.split(self.channels), self.token_scale.split(self.channels)
        return [(t - means[i]) / scales[i] for i, t in enumerate(self._layer_tokens(packed))]

    def embed_tokens(self, packed: torch.Tensor) -> torch.Tensor:
        """Packed backbone tokens (batch, n_packed) -> standardised, projected tokens (batch, n_tokens, dim)."""
        toks = [self.in_proj[i](t) + self.layer_embed[i] for i, t in enumerate(self.standardised_tokens(packed))]
        return torch.cat(toks, dim=1) + self.pos_proj(self.token_pos)

    def spatial_features(self, packed: torch.Tensor) -> torch.Tensor:
        """Features every vertex's receptive-field readout sees: (batch, n_cells * spatial_channels).

        Every feature-map layer, standardised, average-pooled to at most
        ``spatial_grid x spatial_grid`` cells and projected to
        ``spatial_channels`` channels by a map shared by all cells
        (cell-major, cells row-major).
        """
        if self.spatial_proj is None:
            raise InvalidParameterError("MeshReadout: built with spatial_channels=0 (no receptive-field readout)")
        toks = self.standardised_tokens(packed)
        parts = []
        for proj, i, cells in zip(self.spatial_proj, self.spatial_layers, self.spatial_cells):
            _, c, h, w = self.token_shapes[i]
            grid = toks[i].transpose(1, 2).reshape(-1, c, h, w)
            pooled = nn.functional.adaptive_avg_pool2d(grid, cells).flatten(2).transpose(1, 2)  # (B, cells, C)
            parts.append(proj(pooled).flatten(1))
        return torch.cat(parts, dim=1)

    def query_features(self, packed: torch.Tensor) -> torch.Tensor:
        """Attention readout: packed tokens -> query features (batch, 2 * n_vertices(query_level), dim)."""
        tokens = self.embed_tokens(packed)
        q = self.query_embed + self.query_proj(self.query_pos)
        qn = self.q_norm(q).unsqueeze(0).expand(tokens.shape[0], -1, -1)
        h = q + self.attn(qn, tokens)
        if self.global_index:  # vector layers also reach every query directly, undiluted by the attention
            h = h + tokens[:, self.global_index].sum(1, keepdim=True)
        return h + self.mlp(self.mlp_norm(h))

    def vertex_features(self, packed: torch.Tensor) -> torch.Tensor:
        """Inputs of the per-vertex readout, vertex-major: (2 * n_vertices(target_level), batch, n_readout).

        ``n_readout = dim + decoder_channels[-1] + n_cells * spatial_channels``:
        the query features interpolated to the target level, the decoder
        channels (none when ``query_level == target_level``), then the
        receptive-field features (:meth:`spatial_features`, the same for
        every vertex; none when ``spatial_channels == 0``).
        """
        skip, decoded = self._mesh_features(packed)
        parts = [skip.permute(2, 0, 1)] + ([] if decoded is None else [decoded.permute(2, 0, 1)])
        if self.spatial_readout is not None:
            parts.append(self.spatial_features(packed).unsqueeze(0).expand(self.n_outputs, -1, -1))
        return torch.cat(parts, dim=2)

    def _mesh_features(self, packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Query features interpolated to the target level and the decoder's output, each (batch, C, V).

        The decoder's output is None when ``query_level == target_level``.
        """
        h = self.query_features(packed)
        x = h.transpose(0, 1).contiguous().permute(1, 2, 0)  # (batch, dim, n_q) view of vertex-major storage
        skip = self.skip_up(x)
        for stage in self.stages:
            x = self.act(stage["norm"](stage["conv"](stage["unpool"](x))))
        return skip, (x if self.stages else None)

    def readout_blocks(self) -> list[VertexReadout]:
        """The per-vertex readouts in the order of :meth:`vertex_features`' columns."""
        return [b for b in (self.skip_readout, self.decoder_readout, self.spatial_readout) if b is not None]

    @torch.no_grad()
    def refit_readout(self, train: torch.Tensor, y_train: torch.Tensor, val: torch.Tensor, y_val: torch.Tensor,
                      alphas: Sequence[float] = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0), batch_size: int = 32,
                      vertex_chunk: int = 2048, max_gram_bytes: int = 2 * 1024**3,
                      spatial_scales: Sequence[float] = (1.0,), alpha_smoothing: int = 2) -> np.ndarray:
        """Solve the per-vertex readouts in closed form (ridge) on fixed features, alpha chosen per vertex.

        Every vertex's readout is a linear regression of its response on its
        ``n_readout`` features (:meth:`vertex_features`), which SGD fits slowly
        and noisily (each weight sees one vertex's gradient). With the rest of
        the network fixed, this solves all of them: per vertex,
        ``(G + a tr(G) / C I) w = c`` with ``G`` and ``c`` the centred Gram
        matrix and cross-products over the training images (one
        eigendecomposition per vertex serves every ``a``), keeping the ``a``
        with the lowest squared error on the validation images once the error
        curves are pooled over each vertex's 1-ring (``alpha_smoothing``).

        Parameters
        ----------
        train, val : Tensor of shape (n, n_packed)
            Packed tokens of the training and validation images.
        y_train, y_val : Tensor of shape (n, n_outputs)
            Their responses, in the units of the targets.
        alphas : sequence of float
            Relative ridge penalties tried per vertex.
        batch_size : int
            Images per forward pass.
        vertex_chunk : int
            Vertices eigendecomposed at once.
        spatial_scales : sequence of float
            Banded ridge (Nunez-Elizalde et al. 2019): the receptive-field
            features are scaled by each of these factors before the solve, so
            their penalty relative to the other features is ``1 / scale^2``;
            every vertex keeps the (alpha, scale) pair with the lowest
            (pooled) validation error. Each scale costs one more eigendecomposition
            per vertex. ``(1.0,)``: one penalty for all features.
        max_gram_bytes : int
            Memory allowed for the Gram matrices (float32, ``4 n_readout^2``
            bytes per vertex). Above it, the vertices are solved in spans that
            fit, each with its own passes over the images (the forward passes
            are repeated per span: level 7 with ~100 readout features needs
            about 14 GB in one span; with ``alpha_smoothing`` they run twice).
        alpha_smoothing : int
            Passes of 1-ring averaging (each vertex and its neighbours, equal
            weights, per hemisphere) applied to every vertex's validation
            errors across the candidates before its penalty is chosen. A few
            dozen validation images make each vertex's own choice noisy;
            neighbouring vertices share receptive fields and noise levels, so
            pooling their error curves chooses better penalties. On the
            simulated cohort (level 5, 400 images), re-solving two trained
            encoders' readouts with 2 passes raised the held-out median
            noise-normalised accuracy by 0.7 and 0.5 points; trained with
            pooling from the start, the same two seeds gained 1.5 and 1.2
            points. Only the choice is pooled: each vertex's weights are
            still its own ridge solution. 0 chooses every vertex alone.

        Returns
        -------
        ndarray of shape (n_outputs,)
            The alpha chosen for every vertex.

        Notes
        -----
        The images are streamed in batches; besides the Gram matrices, memory
        holds ``8 len(alphas) len(spatial_scales) n_readout`` bytes of
        candidate weights per vertex of the span.
        """
        self._check_packed(train)
        self._check_packed(val)
        if isinstance(alpha_smoothing, bool) or not isinstance(alpha_smoothing, int) or alpha_smoothing < 0:
            raise InvalidParameterError(f"refit_readout: alpha_smoothing must be an int >= 0, got {alpha_smoothing!r}")
        was_training = self.training
        self.eval()
        dev = self.target_mean.device
        n_v = self.n_outputs
        c = sum(block.channels for block in self.readout_blocks())
        span = int(max(1, min(n_v, max_gram_bytes // (4 * c * c))))
        spans = [slice(v0, min(v0 + span, n_v)) for v0 in range(0, n_v, span)]

        def solve(part: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            return self._span_candidates(part, train, y_train, alphas, batch_size, vertex_chunk, spatial_scales)

        w = torch.empty(n_v, c, dtype=torch.float64, device=dev)
        bias = torch.empty(n_v, dtype=torch.float64, device=dev)
        err = torch.empty(len(alphas) * len(spatial_scales), n_v, dtype=torch.float64, device=dev)
        best = torch.empty(n_v, dtype=torch.long, device=dev)

        def keep(part: slice, candidates: torch.Tensor, mu: torch.Tensor, y_mu: torch.Tensor) -> None:
            w[part] = candidates[best[part], torch.arange(part.stop - part.start, device=dev)]
            bias[part] = y_mu - (w[part] * mu).sum(1)

        # pooled choices need every span's errors first: then the spans are solved a second time
        deferred = alpha_smoothing > 0 and len(spans) > 1
        # argmin ties go to the first candidate: the smallest alpha (of the first scale)
        for part in spans:
            candidates, mu, y_mu = solve(part)
            err[:, part] = self._span_errors(part, candidates, mu, y_mu, val, y_val, batch_size)
            if not deferred:  # one span (pooled over every vertex) or unpooled choices
                best[part] = _pooled_errors(err, self.target_level, alpha_smoothing)[:, part].argmin(0)
                keep(part, candidates, mu, y_mu)
            del candidates, mu, y_mu  # before the next span's Gram matrices
        if deferred:
            best.copy_(_pooled_errors(err, self.target_level, alpha_smoothing).argmin(0))
            for part in spans:
                keep(part, *solve(part))
        start = 0
        for block in self.readout_blocks():
            block.weight.copy_((w[:, start : start + block.channels] / block.gain).float())
            if block.bias is not None:
                block.bias.copy_((bias / block.gain).float())
            start += block.channels
        self.train(was_training)
        return torch.as_tensor(alphas, dtype=torch.float64).repeat(len(spatial_scales))[best.cpu()].numpy()

    def _span_batches(self, part: slice, x: torch.Tensor, y: torch.Tensor, batch_size: int):
        """Readout features (v, B, C) and standardised responses (v, B) of the vertices ``part``, batch by batch."""
        dev = self.target_mean.device
        y_mean, y_scale = self.target_mean[part], self.target_scale[part]
        for s in range(0, x.shape[0], batch_size):
            f = self.vertex_features(x[s : s + batch_size].to(dev))[part].float()
            yield f, ((y[s : s + batch_size, part].to(dev) - y_mean) / y_scale).t().float()

    def _span_candidates(self, part: slice, train, y_train, alphas, batch_size, vertex_chunk, spatial_scales):
        """Ridge readouts of the vertices ``part`` for every candidate penalty.

        Returns the weights (n_candidates, v, C), the feature means (v, C) and
        the response means (v,) of the training images, in float64.
        Candidate ``j`` is alpha ``alphas[j % len(alphas)]`` with receptive-field
        scale ``spatial_scales[j // len(alphas)]``.
        """
        dev = self.target_mean.device
        gram = cross = f_sum = None
        y_sum, n = torch.zeros(part.stop - part.start, dtype=torch.float64, device=dev), 0
        for f, y in self._span_batches(part, train, y_train, batch_size):
            if gram is None:
                gram = torch.zeros(f.shape[0], f.shape[2], f.shape[2], device=dev)
                cross = torch.zeros(f.shape[0], f.shape[2], dtype=torch.float64, device=dev)
                f_sum = torch.zeros(f.shape[0], f.shape[2], dtype=torch.float64, device=dev)
            gram.baddbmm_(f.transpose(1, 2), f)
            cross += torch.bmm(f.transpose(1, 2), y.unsqueeze(-1)).squeeze(-1).double()
            f_sum += f.sum(1).double()
            y_sum += y.sum(1).double()
            n += f.shape[1]
        mu, y_mu = f_sum / n, y_sum / n
        cross -= n * mu * y_mu.unsqueeze(1)
        n_v, c = mu.shape
        n_a = len(alphas)
        candidates = torch.empty(n_a * len(spatial_scales), n_v, c, dtype=torch.float64, device=dev)
        first_spatial = c - (self.spatial_readout.channels if self.spatial_readout is not None else 0)
        for k, factor in enumerate(spatial_scales):
            d = torch.ones(c, dtype=torch.float64, device=dev)
            d[first_spatial:] = float(factor)
            for s in range(0, n_v, vertex_chunk):
                mu_c = mu[s : s + vertex_chunk]
                g = (gram[s : s + vertex_chunk].double() - n * mu_c[:, :, None] * mu_c[:, None, :]) * d[:, None] * d
                evals, evecs = torch.linalg.eigh(g)  # (v, C), (v, C, C)
                evals = evals.clamp_min(0)
                proj = torch.bmm(evecs.transpose(1, 2), (cross[s : s + vertex_chunk] * d).unsqueeze(-1)).squeeze(-1)
                ridge = g.diagonal(dim1=1, dim2=2).sum(1, keepdim=True) / c
                for i, a in enumerate(alphas):
                    w_scaled = torch.bmm(evecs, (proj / (evals + a * ridge)).unsqueeze(-1)).squeeze(-1)
                    candidates[k * n_a + i, s : s + vertex_chunk] = w_scaled * d  # weights of the unscaled features
        return candidates, mu, y_mu

    def _span_errors(self, part: slice, candidates, mu, y_mu, val, y_val, batch_size) -> torch.Tensor:
        """Summed squared validation error (n_candidates, v) of every candidate readout of the vertices ``part``."""
        err = torch.zeros(candidates.shape[0], candidates.shape[1], dtype=torch.float64, device=candidates.device)
        w32, mu32, y_mu32 = candidates.float(), mu.float(), y_mu.float()
        for f, y in self._span_batches(part, val, y_val, batch_size):
            fc = f - mu32.unsqueeze(1)
            for i in range(len(candidates)):
                pred = torch.bmm(fc, w32[i].unsqueeze(-1)).squeeze(-1) + y_mu32.unsqueeze(1)
                err[i] += ((pred - y) ** 2).sum(1).double()
        return err

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        """Packed tokens (batch, n_packed) -> responses (batch, 2 * n_vertices(target_level))."""
        skip, decoded = self._mesh_features(packed)
        y = self.skip_readout(skip)
        if decoded is not None:
            y = y + self.decoder_readout(decoded)
        if self.spatial_readout is not None:
            y = y + self.spatial_readout.forward_shared(self.spatial_features(packed))
        return y * self.target_scale + self.target_mean


@functools.lru_cache(maxsize=4)
def _ring_mean(level: int) -> sp.csr_matrix:
    """1-ring averaging on both hemispheres at ``level``: each vertex and its neighbours, equal weights.

    Shape ``(2 V, 2 V)``, left hemisphere first.
    """
    blocks = []
    for hemi in ("left", "right"):
        ring = fsaverage_hemisphere(level, hemi).adjacency() + sp.eye(n_vertices(level), format="csr")
        blocks.append(sp.diags(1.0 / np.asarray(ring.sum(1)).ravel()) @ ring)
    return sp.block_diag(blocks, format="csr")


def _pooled_errors(err: torch.Tensor, level: int, passes: int) -> torch.Tensor:
    """``err`` (n_candidates, 2 V) after ``passes`` rounds of 1-ring averaging on the mesh of ``level``."""
    if passes == 0:
        return err
    ring = _ring_mean(level)
    pooled = err.cpu().numpy().T
    for _ in range(passes):
        pooled = ring @ pooled
    return torch.from_numpy(np.ascontiguousarray(pooled.T)).to(err.device)


def _append_history(first, second):
    """One history of two consecutive Trainer runs; the best epoch is the second run's (its weights are kept)."""
    from neurokit.training import TrainingHistory

    offset = len(first.epochs)
    epochs = [dict(e) for e in first.epochs] + [{**e, "epoch": e["epoch"] + offset} for e in second.epochs]
    best = None if second.best_epoch is None else second.best_epoch + offset
    return TrainingHistory(epochs, best, second.best_score, second.stopped_early, second.finished)


# ------------------------------------------------------------------------------ the encoder
class SurfaceMeshEncoder(nn.Module):
    """Image -> fsaverage responses through a frozen backbone, mesh-query attention and MeshConvs.

    Parameters
    ----------
    target_level : int
        fsaverage level of the output (5 = fsaverage5, 20,484 vertices for
        both hemispheres; 6 or 7 for real NSD data).
    query_level : int
        Coarse level whose vertices carry the attention queries (2 -> 324
        queries, 3 -> 1,284).
    token_layers : sequence of str
        EfficientNet-Lite0 layers turned into tokens (feature maps give one
        token per cell, vectors one token).
    image_size : int
        Backbone input size in pixels (images are centre-cropped and resized).
    dim, num_heads : int
        Width of tokens and queries; attention heads (``dim % num_heads == 0``).
    decoder_channels : sequence of int, optional
        MeshConv channels at each level from ``query_level + 1`` to
        ``target_level``; default 8 per level (keep the finest levels narrow:
        a MeshConv's cost grows with vertices x in-channels x out-channels).
        The per-vertex readout sees these channels plus the ``dim`` query
        features interpolated to the target level.
    norm : str
        Decoder normalisation, see :func:`neurokit.nn.mesh_norm`.
    spatial_channels, spatial_grid : int
        The per-vertex receptive-field readout: feature maps pooled to
        ``spatial_grid x spatial_grid`` cells and projected to
        ``spatial_channels`` channels, one weight per cell and channel per
        vertex (``spatial_channels=0`` turns it off). See :class:`MeshReadout`.
    max_epochs, batch_size, lr, weight_decay, patience : training hyperparameters
        Passed to :class:`neurokit.training.Trainer` (AdamW, warmup + cosine).
        ``max_epochs`` counts both training phases.
    joint_epochs : int
        Epochs in which the per-vertex readouts are trained by gradient with
        the rest; in the remaining ``max_epochs - joint_epochs`` epochs they
        are re-solved in closed form at every epoch start and the gradient
        trains the shared part only (needs ``refit_readout`` and held-out
        images; otherwise every epoch is joint).
    validation_fraction : float
        Fraction of the ``fit`` images held out for early stopping,
        best-epoch selection and the readout's ridge penalties (0 disables
        validation).
    refit_readout : bool
        Solve the per-vertex readouts in closed form on the trained features
        (per-vertex ridge, penalty chosen on the validation images; see
        :meth:`MeshReadout.refit_readout`): during the alternating phase and
        once more after training. Needs ``validation_fraction > 0``.
    alpha_smoothing : int
        Rounds of 1-ring averaging of the vertices' validation errors before
        each vertex's ridge penalty is chosen (0: every vertex alone); see
        :meth:`MeshReadout.refit_readout`.
    weights : 'imagenet', path or None
        Backbone weights, see :func:`encoding.features.load_efficientnet_lite0`.
    device : str or torch.device, optional
        Where training and prediction run (default: CUDA if available).
    seed : int
        Seeds initialisation, the validation split and the data order.
    progress : bool
        Show tqdm progress bars.

    Attributes
    ----------
    readout_ : MeshReadout
        The trainable part (set by ``fit`` or :meth:`build`).
    history_ : neurokit.training.TrainingHistory
        Per-epoch training loss and held-out mean Pearson r of the last ``fit``.
    n_targets_ : int
        ``2 * n_vertices(target_level)``.
    refit_alphas_ : ndarray of shape (n_targets_,) or None
        Ridge penalty chosen per vertex by the readout refit (None without one).
    refit_score_ : float
        Mean validation Pearson r after the refit (compare with
        ``history_.best_score``, before it).

    Notes
    -----
    Measured on the simulated cohort (tests/test_mesh_encoder_cohort.py: one
    subject, level 5, 400 training / 100 held-out images at 64 px, 3-repeat
    averages, median noise-normalised accuracy over the visual ROIs), with
    the defaults and ``max_epochs=19`` (3 joint + 16 alternating epochs,
    about 9 minutes on 2 CPU cores): 75.4 % of the noise ceiling against
    77.9 % for ridge on the ground truth's own features (ratio 0.97), with
    2,215,244 trained parameters against ridge's 39.3 M (18x fewer). The
    category areas reach 91 % (ridge 80-93 %), early visual cortex 69 %
    (ridge 74-78 %). Without the receptive-field readout and the
    alternating phase (the previous design) 20 epochs reached 0.80 of ridge:
    SGD-fitted per-vertex weights overfit, and coarse queries cannot give
    early visual vertices their own receptive fields.

    Examples
    --------
    >>> enc = SurfaceMeshEncoder(target_level=5, max_epochs=20).fit(images, Y)   # doctest: +SKIP
    >>> enc.predict(test_images).shape                                             # doctest: +SKIP
    (n_test, 20484)
    >>> enc(torch_images)          # differentiable, (n, 20484)                   # doctest: +SKIP
    """

    def __init__(
        self,
        target_level: int = 5,
        query_level: int = 2,
        token_layers: Sequence[str] = DEFAULT_TOKEN_LAYERS,
        image_size: int = 96,
        dim: int = 32,
        num_heads: int = 4,
        decoder_channels: Sequence[int] | None = None,
        norm: str = "layer",
        spatial_channels: int = 4,
        spatial_grid: int = 4,
        max_epochs: int = 30,
        joint_epochs: int = 3,
        batch_size: int = 32,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
        patience: int | None = 5,
        validation_fraction: float = 0.1,
        refit_readout: bool = True,
        alpha_smoothing: int = 2,
        weights: str | os.PathLike | None = "imagenet",
        device: str | torch.device | None = None,
        seed: int = 0,
        progress: bool = True,
    ) -> None:
        super().__init__()
        self.target_level = target_level
        self.query_level = query_level
        self.token_layers = tuple(token_layers)
        self.image_size = image_size
        self.dim = dim
        self.num_heads = num_heads
        self.decoder_channels = None if decoder_channels is None else tuple(int(c) for c in decoder_channels)
        self.norm = norm
        self.spatial_channels = spatial_channels
        self.spatial_grid = spatial_grid
        self.max_epochs = max_epochs
        self.joint_epochs = joint_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.refit_readout = refit_readout
        self.alpha_smoothing = alpha_smoothing
        self.weights = None if weights is None else str(weights)
        self.device = device
        self.seed = seed
        self.progress = progress
        self._check_params()
        self._backbone: list[Any] = []  # the frozen extractor, kept out of the module tree and the state dict

    # ------------------------------------------------------------------ set-up
    def _check_params(self) -> None:
        for name in ("dim", "num_heads", "max_epochs", "batch_size", "image_size", "spatial_grid"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InvalidParameterError(f"SurfaceMeshEncoder: {name} must be a positive int, got {v!r}")
        for name in ("spatial_channels", "joint_epochs", "alpha_smoothing"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InvalidParameterError(f"SurfaceMeshEncoder: {name} must be an int >= 0, got {v!r}")
        if not isinstance(self.refit_readout, bool):
            raise InvalidParameterError(f"SurfaceMeshEncoder: refit_readout must be a bool, got {self.refit_readout!r}")
        check_level(self.target_level, "target_level")
        check_level(self.query_level, "query_level")
        if not self.query_level <= self.target_level:
            raise InvalidParameterError(
                f"SurfaceMeshEncoder: query_level ({self.query_level}) must not exceed target_level ({self.target_level})"
            )
        if self.dim % self.num_heads:
            raise InvalidParameterError(f"SurfaceMeshEncoder: dim ({self.dim}) must be divisible by num_heads ({self.num_heads})")
        if self.image_size < 32:
            raise InvalidParameterError(f"SurfaceMeshEncoder: image_size must be at least 32 pixels, got {self.image_size}")
        if not 0 <= self.validation_fraction < 1:
            raise InvalidParameterError(
                f"SurfaceMeshEncoder: validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )
        steps = self.target_level - self.query_level
        if self.decoder_channels is not None and (
            len(self.decoder_channels) != steps or min(self.decoder_channels, default=1) < 1
        ):
            raise InvalidParameterError(
                f"SurfaceMeshEncoder: decoder_channels needs {steps} positive ints (levels "
                f"{self.query_level + 1}..{self.target_level}), got {self.decoder_channels!r}"
            )
        from encoding.features.efficientnet import EFFICIENTNET_LAYERS

        unknown = [layer for layer in self.token_layers if layer not in EFFICIENTNET_LAYERS]
        if not self.token_layers or unknown:
            raise InvalidParameterError(
                f"SurfaceMeshEncoder: token_layers must name EfficientNet-Lite0 layers {list(EFFICIENTNET_LAYERS)}, "
                f"got {list(self.token_layers)}"
            )

    @property
    def extractor(self):
        """The frozen :class:`encoding.features.EfficientNetLite0Extractor` (built on first use)."""
        if not self._backbone:
            from encoding.features.efficientnet import EfficientNetLite0Extractor

            self._backbone.append(EfficientNetLite0Extractor(weights=self.weights, input_size=self.image_size))
        return self._backbone[0]

    def _apply(self, fn, recurse: bool = True):  # noqa: D401 - nn.Module hook: move the backbone along
        super()._apply(fn, recurse)
        if self._backbone:
            self._backbone[0].module._apply(fn)
        return self

    def _run_device(self) -> torch.device:
        if self.device is not None:
            return torch.device(self.device)
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def token_shapes(self) -> list[tuple[int, int, int, int]]:
        """``(n_tokens, token_dim, height, width)`` of each token layer at :attr:`image_size`."""
        probe = torch.zeros(1, 3, self.image_size, self.image_size)
        param = next(self.extractor.module.parameters())
        with torch.no_grad():
            out = self.extractor.forward_features(probe.to(param.device), self.token_layers)
        shapes = []
        for layer in self.token_layers:
            a = out[layer]
            shapes.append((a.shape[2] * a.shape[3], a.shape[1], a.shape[2], a.shape[3]) if a.ndim == 4 else (1, a.shape[1], 0, 0))
        return shapes

    def build(self) -> "SurfaceMeshEncoder":
        """Create a freshly initialised :attr:`readout_` (``fit`` calls this)."""
        self._check_params()
        steps = self.target_level - self.query_level
        channels = self.decoder_channels or (8,) * steps
        torch.manual_seed(self.seed)
        self.readout_ = MeshReadout(
            self.token_shapes(), self.query_level, self.target_level, self.dim, self.num_heads, channels, self.norm,
            spatial_channels=self.spatial_channels, spatial_grid=self.spatial_grid,
        )
        self.n_targets_ = self.readout_.n_outputs
        return self

    def _check_built(self) -> MeshReadout:
        if "readout_" not in self._modules:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call 'fit' (or 'build') first")
        return self.readout_

    # ------------------------------------------------------------------ torch path
    def tokens(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Packed backbone tokens of ``images``, differentiable for tensor input.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W) or ndarray of shape (n, H, W, 3)
            Values in [0, 1].

        Returns
        -------
        torch.Tensor of shape (n, n_packed)
            Each token layer's ``(n_tokens, channels)`` tokens (feature-map
            cells in row-major order) flattened and concatenated.
        """
        out = self.extractor.forward_features(images, self.token_layers)
        parts = []
        for layer in self.token_layers:
            a = out[layer]
            parts.append(a.flatten(2).transpose(1, 2).reshape(a.shape[0], -1) if a.ndim == 4 else a)
        return torch.cat(parts, dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Responses of both hemispheres to ``images``, differentiable from the pixels.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W)
            Values in [0, 1] on the encoder's device.

        Returns
        -------
        Tensor of shape (n, 2 * n_vertices(target_level))
            Left hemisphere first, in the units of the training targets.
        """
        readout = self._check_built()
        return readout(self.tokens(images))

    def _packed_tokens(self, images: Any, batch_size: int = 64) -> torch.Tensor:
        n = int(images.shape[0])
        device = next(self.extractor.module.parameters()).device
        chunks = []
        starts = range(0, n, batch_size)
        with torch.no_grad():
            for s in tqdm(starts, desc="backbone tokens", unit="batch", disable=not self.progress):
                batch = images[s : s + batch_size]
                if isinstance(batch, torch.Tensor):
                    batch = batch.to(device)
                chunks.append(self.tokens(batch).float().cpu())
        return torch.cat(chunks)

    # ------------------------------------------------------------------ estimator face
    def _check_targets(self, Y: Any, n: int, where: str) -> np.ndarray:
        Y = np.asarray(Y, dtype=np.float32)
        if Y.ndim != 2 or Y.shape[0] != n:
            raise DataValidationError(f"{where}: Y must have shape (n_images={n}, n_vertices), got {Y.shape}")
        level = level_from_n_vertices(Y.shape[1], both_hemispheres=True, what=f"{where}: Y")
        if level != self.target_level:
            raise VertexCountError(
                f"{where}: Y has {Y.shape[1]:,} vertices (level {level}) but target_level={self.target_level} "
                f"needs {2 * n_vertices(self.target_level):,}; slice finer data with Y[:, idx] or set target_level"
            )
        if not np.isfinite(Y).all():
            from neurokit.exceptions import NonFiniteDataError

            raise NonFiniteDataError(f"{where}: Y contains NaN or infinite values")
        return Y

    def fit(self, images: np.ndarray | torch.Tensor, Y: Any, *, run_dir: str | os.PathLike | None = None,
            resume: bool = False) -> "SurfaceMeshEncoder":
        """Train the readout and decoder on images and responses (the backbone stays frozen).

        Parameters
        ----------
        images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
            Values in [0, 1].
        Y : array-like of shape (n, 2 * n_vertices(target_level))
            Responses, left hemisphere first. Standardised per vertex for
            training; predictions come back in these units.
        run_dir : path, optional
            Folder for the Trainer's checkpoints and history (resumable).
        resume : bool
            Continue an interrupted run from ``run_dir``.

        Returns
        -------
        self
        """
        from neurokit.training import Trainer, TrainingHistory

        n = int(images.shape[0])
        Y = self._check_targets(Y, n, f"{type(self).__name__}.fit")
        n_val = int(round(self.validation_fraction * n))
        if n_val and n - n_val < 2:
            raise DataValidationError(f"{type(self).__name__}.fit: {n} images are too few to hold out {n_val}")
        self.build()
        tokens = self._packed_tokens(images)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(n)
        val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
        y_train = torch.from_numpy(Y[train_idx])
        mean, sd = y_train.mean(0), y_train.std(0)
        self.readout_.set_token_statistics(tokens[train_idx])
        with torch.no_grad():
            self.readout_.target_mean.copy_(mean)
            self.readout_.target_scale.copy_(torch.where(sd > 0, sd, torch.ones_like(sd)))
        train = (tokens[train_idx], y_train)
        val = (tokens[val_idx], torch.from_numpy(Y[val_idx])) if n_val else None
        alternate = self.refit_readout and n_val > 0 and self.max_epochs > self.joint_epochs
        joint = self.joint_epochs if alternate else self.max_epochs
        run = None if run_dir is None else Path(run_dir)
        common = dict(batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay, loss=self._loss,
                      device=self._run_device(), seed=self.seed, resume=resume, progress=self.progress)
        history = TrainingHistory(finished=True)
        if joint:
            history = Trainer(max_epochs=joint, patience=self.patience if n_val and not alternate else None,
                              run_dir=None if run is None else run / "joint", **common).fit(self.readout_, train, val)
        if alternate:
            blocks = self.readout_.readout_blocks()

            def solve_readout(model: MeshReadout, epoch: int) -> None:
                model.refit_readout(*train, *val, alpha_smoothing=self.alpha_smoothing)

            for block in blocks:
                block.requires_grad_(False)
            try:
                second = Trainer(max_epochs=self.max_epochs - joint, patience=self.patience, on_epoch_start=solve_readout,
                                 run_dir=None if run is None else run / "alternating", **common).fit(self.readout_, train, val)
            finally:
                for block in blocks:
                    block.requires_grad_(True)
            history = _append_history(history, second)
        self.history_ = history
        self.readout_.to(self._run_device())
        self.refit_alphas_ = None
        if self.refit_readout and n_val:
            self.refit_alphas_ = self.readout_.refit_readout(tokens[train_idx], y_train, *val,
                                                             alpha_smoothing=self.alpha_smoothing)
            self.refit_score_ = self._val_score(*val)
        return self

    def _val_score(self, tokens: torch.Tensor, Y: torch.Tensor) -> float:
        readout = self.readout_
        device = next(readout.parameters()).device
        was_training = readout.training
        readout.eval()
        with torch.no_grad():
            pred = torch.cat([readout(c.to(device)).float().cpu() for c in tokens.split(64)])
        readout.train(was_training)
        return float(np.nanmean(pearson_r(Y.numpy(), pred.numpy())))

    def _loss(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """MSE in standardised units (every vertex weighs the same whatever its variance)."""
        scale = self.readout_.target_scale
        return (((pred - target) / scale) ** 2).mean()

    def predict(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 64) -> np.ndarray:
        """Predicted responses, shape (n, 2 * n_vertices(target_level)), float32 numpy."""
        readout = self._check_built()
        tokens = self._packed_tokens(images, batch_size)
        device = next(readout.parameters()).device
        was_training = readout.training
        readout.eval()
        out = []
        with torch.no_grad():
            for chunk in tokens.split(batch_size):
                out.append(readout(chunk.to(device)).float().cpu())
        readout.train(was_training)
        return torch.cat(out).numpy()

    def score(self, images: np.ndarray | torch.Tensor, Y: Any) -> np.ndarray:
        """Pearson r between predictions and ``Y`` per vertex, shape (2 * n_vertices(target_level),)."""
        pred = self.predict(images)
        Y = self._check_targets(Y, pred.shape[0], f"{type(self).__name__}.score")
        return np.asarray(pearson_r(Y, pred), dtype=np.float32)

    def n_trainable_parameters(self) -> int:
        """Number of trained parameters (the readout and decoder; the backbone is frozen)."""
        return sum(p.numel() for p in self._check_built().parameters() if p.requires_grad)

    # ------------------------------------------------------------------ persistence
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-ready."""
        keys = ("target_level", "query_level", "token_layers", "image_size", "dim", "num_heads", "decoder_channels",
                "norm", "spatial_channels", "spatial_grid", "max_epochs", "joint_epochs", "batch_size", "lr",
                "weight_decay", "patience", "validation_fraction", "refit_readout",
                "alpha_smoothing", "weights", "seed")
        cfg = {k: getattr(self, k) for k in keys}
        cfg["token_layers"] = list(cfg["token_layers"])
        cfg["decoder_channels"] = None if cfg["decoder_channels"] is None else list(cfg["decoder_channels"])
        return cfg

    def save(self, path: str | os.PathLike) -> tuple[Path, Path]:
        """Save the trained readout (safetensors) and the config (JSON), atomically.

        Returns
        -------
        (Path, Path)
            The ``.safetensors`` and ``.json`` files.
        """
        readout = self._check_built()
        cfg = {"class": f"{type(self).__module__}.{type(self).__qualname__}", "encoder": self.get_config(),
               "history": None if getattr(self, "history_", None) is None else self.history_.to_dict()}
        state = {k: v for k, v in readout.state_dict().items()}
        return save_checkpoint(path, state, cfg, mesh_level=self.target_level, seed=self.seed)

    @classmethod
    def load(cls, path: str | os.PathLike, *, device: str | torch.device | None = None,
             progress: bool = False) -> "SurfaceMeshEncoder":
        """Rebuild an encoder saved with :meth:`save` (no pickle; the SHA-256 is verified)."""
        tensors, cfg = load_checkpoint(path)
        if not isinstance(cfg, dict) or "encoder" not in cfg:
            raise CheckpointError(f"{path}: not a SurfaceMeshEncoder checkpoint (no 'encoder' config)")
        try:
            # saved before alpha_smoothing existed: those readouts chose each vertex's penalty alone
            enc = cls(**{"alpha_smoothing": 0, **cfg["encoder"]}, device=device, progress=progress)
        except TypeError as err:
            raise CheckpointError(f"{path}: config does not match SurfaceMeshEncoder ({err})") from err
        enc.build()
        try:
            enc.readout_.load_state_dict({k: torch.as_tensor(v) for k, v in tensors.items()})
        except RuntimeError as err:
            raise CheckpointError(f"{path}: weights do not match the configured architecture ({err})") from err
        if cfg.get("history"):
            from neurokit.training import TrainingHistory

            enc.history_ = TrainingHistory.from_dict(cfg["history"])
        return enc.to(enc._run_device())

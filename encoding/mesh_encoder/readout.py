"""The trainable part of the surface-mesh encoder: tokens -> mesh queries -> MeshConv decoder -> per-vertex readout.

:class:`MeshReadout` maps packed backbone tokens to responses on both
hemispheres; :class:`encoding.mesh_encoder.SurfaceMeshEncoder` puts a frozen
backbone in front of it and trains it. Its per-vertex readouts can be
re-solved in closed form (:meth:`MeshReadout.refit_readout`) by the solver in
:mod:`encoding.mesh_encoder.vertex_ridge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from encoding.mesh_encoder.positions import image_position_features, sphere_features
from encoding.mesh_encoder.vertex_ridge import DEFAULT_VERTEX_ALPHAS, solve_vertex_ridge
from encoding.parameters import Integer, Level, Option, validate_parameters
from kernels import SigmoidCrossAttention
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.mesh.levels import n_vertices
from neurokit.nn import NORMS, MeshConv, MeshUnpool, MeshUpsample, VertexReadout, mesh_norm
from neurokit.validation import check_int

__all__ = ["MeshReadout", "READOUT_GAIN", "DEFAULT_DECODER_CHANNELS", "check_decoder_channels"]

#: Learning-rate multiplier of the per-vertex readout (see :class:`neurokit.nn.VertexReadout`).
READOUT_GAIN = 10.0


#: MeshConv channels per decoder level when none are given.
DEFAULT_DECODER_CHANNELS = 8


def check_decoder_channels(owner: str, query_level: int, target_level: int, decoder_channels: Any) -> list[int]:
    """Check the decoder's shape: ``query_level <= target_level`` and one positive width per level between.

    Parameters
    ----------
    owner : str
        The caller, named in error messages.
    query_level, target_level : int
        Checked mesh levels.
    decoder_channels : sequence of int or None
        MeshConv channels after each unpooling step; None:
        :data:`DEFAULT_DECODER_CHANNELS` at every level.

    Returns
    -------
    list of int
        The channels, ``target_level - query_level`` entries.

    Raises
    ------
    InvalidParameterError
        ``query_level > target_level``, a channel count that is not a positive
        integer, or the wrong number of entries.
    """
    if query_level > target_level:
        raise InvalidParameterError(
            f"{owner}: query_level ({query_level}) must not exceed target_level ({target_level})"
        )
    steps = target_level - query_level
    if decoder_channels is None:
        return [DEFAULT_DECODER_CHANNELS] * steps
    if isinstance(decoder_channels, (str, bytes)) or not isinstance(decoder_channels, Sequence):
        raise InvalidParameterError(f"{owner}: decoder_channels must be a sequence of {steps} positive integers, "
                                    f"got {decoder_channels!r}")
    channels = [check_int(c, f"{owner}: decoder_channels[{i}]", minimum=1) for i, c in enumerate(decoder_channels)]
    if len(channels) != steps:
        raise InvalidParameterError(
            f"{owner}: decoder_channels needs {steps} entries (levels {query_level + 1}..{target_level}), "
            f"got {channels}"
        )
    return channels


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
    decoder_channels : sequence of int or None
        Channels of the MeshConv after each unpooling step, one per level
        from ``query_level + 1`` to ``target_level`` (None:
        :data:`DEFAULT_DECODER_CHANNELS` per level).
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

    #: What each constructor argument (but ``token_shapes`` and ``decoder_channels``) may be;
    #: the surface-mesh estimator checks the same arguments against the same table.
    parameter_constraints = {
        "query_level": Level(),
        "target_level": Level(),
        "dim": Integer(minimum=1),
        "num_heads": Integer(minimum=1),
        "norm": Option(NORMS),
        "spatial_channels": Integer(minimum=0),
        "spatial_grid": Integer(minimum=1),
    }

    def __init__(
        self,
        token_shapes: Sequence[tuple[int, int, int, int]],
        query_level: int,
        target_level: int,
        dim: int,
        num_heads: int,
        decoder_channels: Sequence[int] | None,
        norm: str = "layer",
        spatial_channels: int = 4,
        spatial_grid: int = 4,
    ) -> None:
        super().__init__()
        checked = validate_parameters("MeshReadout", dict(
            query_level=query_level, target_level=target_level, dim=dim, num_heads=num_heads, norm=norm,
            spatial_channels=spatial_channels, spatial_grid=spatial_grid), self.parameter_constraints)
        self.token_shapes = [tuple(int(v) for v in s) for s in token_shapes]
        self.query_level, self.target_level = checked["query_level"], checked["target_level"]
        dim, spatial_channels, spatial_grid = checked["dim"], checked["spatial_channels"], checked["spatial_grid"]
        decoder_channels = check_decoder_channels("MeshReadout", self.query_level, self.target_level,
                                                  decoder_channels)
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
                      alphas: Sequence[float] = DEFAULT_VERTEX_ALPHAS, batch_size: int = 32,
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
        was_training = self.training
        self.eval()
        try:
            solution = solve_vertex_ridge(
                self.vertex_features, train, y_train, val, y_val, y_mean=self.target_mean, y_scale=self.target_scale,
                level=self.target_level, n_features=sum(block.channels for block in self.readout_blocks()),
                n_banded=self.spatial_readout.channels if self.spatial_readout is not None else 0, alphas=alphas,
                batch_size=batch_size, vertex_chunk=vertex_chunk, max_gram_bytes=max_gram_bytes,
                spatial_scales=spatial_scales, alpha_smoothing=alpha_smoothing, where="MeshReadout.refit_readout")
            w, bias = solution.weights, solution.bias
            start = 0
            for block in self.readout_blocks():
                block.weight.copy_((w[:, start : start + block.channels] / block.gain).float())
                if block.bias is not None:
                    block.bias.copy_((bias / block.gain).float())
                start += block.channels
        finally:
            self.train(was_training)
        return solution.alphas

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        """Packed tokens (batch, n_packed) -> responses (batch, 2 * n_vertices(target_level))."""
        skip, decoded = self._mesh_features(packed)
        y = self.skip_readout(skip)
        if decoded is not None:
            y = y + self.decoder_readout(decoded)
        if self.spatial_readout is not None:
            y = y + self.spatial_readout.forward_shared(self.spatial_features(packed))
        return y * self.target_scale + self.target_mean


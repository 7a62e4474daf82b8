"""Multi-head sigmoid attention modules and the transformer block built on them.

All modules take and return (batch, seq, dim) tensors and call
:func:`kernels.sigmoid_attention`, so they run the Triton kernels on CUDA and
the blockwise PyTorch fallback elsewhere. Following Ramapuram et al. (2024):
the attention bias defaults to ``-log(n_keys)``, QK-norm (a LayerNorm over the
head dimension of queries and keys) is available and on by default in the
block, and the block stabilises the residual stream with hybrid-norm
(``x + LN2(attn(LN1(x)))``) or LayerScale.

Typical uses in the toolkit: learned queries on mesh vertices cross-attending
to image tokens (:class:`SigmoidCrossAttention`, or the block with
``context_dim``), and transformer blocks over coarse mesh vertices
(:class:`SigmoidTransformerBlock`).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from kernels.dispatch import BACKENDS, SIGMOID_IMPLS, Backend, SigmoidImpl, sigmoid_attention
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_bool, check_int, check_option, check_real


def _check_sequence(x: torch.Tensor, dim: int, name: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[-1] != dim:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise DataValidationError(f"{name} must have shape (batch, seq, {dim}), got {shape}")


class _MultiHeadSigmoidAttention(nn.Module):
    """Projections, head split, optional QK-norm and output projection shared by both modules."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        context_dim: int | None,
        num_kv_heads: int | None,
        qk_norm: bool,
        qkv_bias: bool,
        attn_bias: float | None,
        causal: bool,
        backend: Backend,
        sigmoid_impl: SigmoidImpl,
    ) -> None:
        super().__init__()
        dim = check_int(dim, "dim", minimum=1)
        num_heads = check_int(num_heads, "num_heads", minimum=1)
        num_kv_heads = num_heads if num_kv_heads is None else check_int(num_kv_heads, "num_kv_heads", minimum=1)
        context_dim = dim if context_dim is None else check_int(context_dim, "context_dim", minimum=1)
        if dim % num_heads:
            raise InvalidParameterError(f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        if num_heads % num_kv_heads:
            raise InvalidParameterError(
                f"num_heads ({num_heads}) must be a multiple of num_kv_heads ({num_kv_heads})"
            )
        qk_norm = check_bool(qk_norm, "qk_norm")
        qkv_bias = check_bool(qkv_bias, "qkv_bias")
        check_real(attn_bias, "attn_bias", allow_none=True)
        backend = check_option(backend, "backend", BACKENDS)
        sigmoid_impl = check_option(sigmoid_impl, "sigmoid_impl", SIGMOID_IMPLS)
        self.dim = dim
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = dim // num_heads
        self.attn_bias = attn_bias
        self.causal = check_bool(causal, "causal")
        self.backend = backend
        self.sigmoid_impl = sigmoid_impl
        self.q_proj = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv_proj = nn.Linear(context_dim, 2 * num_kv_heads * self.head_dim, bias=qkv_bias)
        self.out_proj = nn.Linear(dim, dim)
        self.q_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()

    def _attend(
        self, x: torch.Tensor, context: torch.Tensor, key_padding_mask: torch.Tensor | None
    ) -> torch.Tensor:
        batch, n_queries, _ = x.shape
        n_keys = context.shape[1]
        q = self.q_proj(x).view(batch, n_queries, self.num_heads, self.head_dim).transpose(1, 2)
        kv = self.kv_proj(context).view(batch, n_keys, 2, self.num_kv_heads, self.head_dim)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # each (batch, kv_heads, n_keys, head_dim)
        # LayerNorm runs in float32 under autocast; bring q, k back to the projections' dtype.
        q, k = self.q_norm(q).to(v.dtype), self.k_norm(k).to(v.dtype)
        out = sigmoid_attention(
            q.contiguous(),
            k.contiguous(),
            v.contiguous(),
            bias=self.attn_bias,
            causal=self.causal,
            key_padding_mask=key_padding_mask,
            backend=self.backend,
            sigmoid_impl=self.sigmoid_impl,
        )
        return self.out_proj(out.transpose(1, 2).reshape(batch, n_queries, self.dim))

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, num_heads={self.num_heads}, num_kv_heads={self.num_kv_heads}, "
            f"qk_norm={not isinstance(self.q_norm, nn.Identity)}, causal={self.causal}, "
            f"attn_bias={self.attn_bias}, backend={self.backend!r}, sigmoid_impl={self.sigmoid_impl!r}"
        )


class SigmoidSelfAttention(_MultiHeadSigmoidAttention):
    """Multi-head sigmoid self-attention over a (batch, seq, dim) sequence.

    Parameters
    ----------
    dim : int
        Model width; split into ``num_heads`` heads of ``dim // num_heads``.
    num_heads : int
        Number of query heads.
    num_kv_heads : int, optional
        Number of key/value heads (grouped-query attention); must divide
        ``num_heads``. Default ``num_heads``.
    qk_norm : bool
        Apply a LayerNorm over the head dimension to queries and keys.
    qkv_bias : bool
        Whether the query and key/value projections have a bias.
    attn_bias : float, optional
        Scalar bias inside the sigmoid; default ``-log(seq)`` per call.
    causal : bool
        Causal mask (token ``i`` attends to tokens ``j <= i``).
    backend : {"auto", "triton", "torch"}
        Passed to :func:`kernels.sigmoid_attention`.
    sigmoid_impl : {"exact", "tanh"}
        Passed to :func:`kernels.sigmoid_attention` (``"tanh"``: FlashSigmoid's
        cheaper ``0.5 * tanh(0.5 s) + 0.5``).

    Examples
    --------
    >>> attn = SigmoidSelfAttention(64, 4, qk_norm=True)
    >>> attn(torch.randn(2, 10, 64)).shape
    torch.Size([2, 10, 64])
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        num_kv_heads: int | None = None,
        qk_norm: bool = False,
        qkv_bias: bool = True,
        attn_bias: float | None = None,
        causal: bool = False,
        backend: Backend = "auto",
        sigmoid_impl: SigmoidImpl = "exact",
    ) -> None:
        super().__init__(
            dim,
            num_heads,
            context_dim=None,
            num_kv_heads=num_kv_heads,
            qk_norm=qk_norm,
            qkv_bias=qkv_bias,
            attn_bias=attn_bias,
            causal=causal,
            backend=backend,
            sigmoid_impl=sigmoid_impl,
        )

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attend from every token of ``x`` to every (unpadded) token of ``x``.

        Parameters
        ----------
        x : torch.Tensor
            (batch, seq, dim).
        key_padding_mask : torch.Tensor, optional
            Bool (batch, seq), True at padding tokens, which no token attends to.

        Returns
        -------
        torch.Tensor
            (batch, seq, dim).
        """
        _check_sequence(x, self.dim, "x")
        return self._attend(x, x, key_padding_mask)


class SigmoidCrossAttention(_MultiHeadSigmoidAttention):
    """Multi-head sigmoid cross-attention from queries ``x`` to a ``context`` sequence.

    Parameters
    ----------
    dim : int
        Width of the queries and of the output.
    num_heads : int
        Number of query heads.
    context_dim : int, optional
        Width of the context tokens; default ``dim``.
    num_kv_heads, qk_norm, qkv_bias, attn_bias, backend, sigmoid_impl
        As in :class:`SigmoidSelfAttention` (``attn_bias`` defaults to
        ``-log(n_context)``).

    Examples
    --------
    >>> cross = SigmoidCrossAttention(32, 4, context_dim=48)
    >>> cross(torch.randn(2, 162, 32), torch.randn(2, 49, 48)).shape
    torch.Size([2, 162, 32])
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        context_dim: int | None = None,
        num_kv_heads: int | None = None,
        qk_norm: bool = False,
        qkv_bias: bool = True,
        attn_bias: float | None = None,
        backend: Backend = "auto",
        sigmoid_impl: SigmoidImpl = "exact",
    ) -> None:
        super().__init__(
            dim,
            num_heads,
            context_dim=context_dim,
            num_kv_heads=num_kv_heads,
            qk_norm=qk_norm,
            qkv_bias=qkv_bias,
            attn_bias=attn_bias,
            causal=False,
            backend=backend,
            sigmoid_impl=sigmoid_impl,
        )
        self.context_dim = self.kv_proj.in_features

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor,
        context_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attend from each query token to the context tokens.

        Parameters
        ----------
        x : torch.Tensor
            Queries, (batch, n_queries, dim).
        context : torch.Tensor
            (batch, n_context, context_dim).
        context_padding_mask : torch.Tensor, optional
            Bool (batch, n_context), True at padding context tokens.

        Returns
        -------
        torch.Tensor
            (batch, n_queries, dim).
        """
        _check_sequence(x, self.dim, "x")
        _check_sequence(context, self.context_dim, "context")
        if context.shape[0] != x.shape[0]:
            raise DataValidationError(
                f"context has batch size {context.shape[0]} but x has {x.shape[0]}"
            )
        return self._attend(x, context, context_padding_mask)


class _LayerScale(nn.Module):
    def __init__(self, dim: int, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class _Residual(nn.Module):
    """``x + post(f(pre(x)))``: hybrid-norm (post = LayerNorm) or LayerScale (post = gamma)."""

    def __init__(self, dim: int, norm: str, layerscale_init: float) -> None:
        super().__init__()
        self.pre = nn.LayerNorm(dim)
        self.post = nn.LayerNorm(dim) if norm == "hybrid" else _LayerScale(dim, layerscale_init)


class SigmoidTransformerBlock(nn.Module):
    """Transformer block with sigmoid self-attention, optional cross-attention and an MLP.

    With ``norm="hybrid"`` (default) each sub-layer ``f`` updates the residual
    stream as ``x + LN2(f(LN1(x)))``; with ``norm="layerscale"`` as
    ``x + gamma * f(LN(x))`` with a per-channel ``gamma`` starting at
    ``layerscale_init``. The sub-layers are, in order: self-attention,
    cross-attention to ``context`` (only when ``context_dim`` is given) and
    a GELU MLP.

    Parameters
    ----------
    dim : int
        Model width.
    num_heads : int
        Attention heads (``dim`` must be divisible by it).
    mlp_ratio : float
        Hidden width of the MLP as a multiple of ``dim``.
    num_kv_heads : int, optional
        Key/value heads for grouped-query attention; default ``num_heads``.
    qk_norm : bool
        QK-norm in the attention layers (recommended for sigmoid attention).
    norm : {"hybrid", "layerscale"}
        Residual stabilisation, see above.
    layerscale_init : float
        Initial LayerScale ``gamma`` (only with ``norm="layerscale"``).
    causal : bool
        Causal self-attention.
    context_dim : int, optional
        Width of a context sequence to cross-attend to; ``None`` for no
        cross-attention.
    attn_bias : float, optional
        Scalar bias inside the sigmoid; default ``-log(n_keys)``.
    backend : {"auto", "triton", "torch"}
        Passed to :func:`kernels.sigmoid_attention`.
    sigmoid_impl : {"exact", "tanh"}
        Passed to :func:`kernels.sigmoid_attention` by both attention layers.

    Examples
    --------
    >>> block = SigmoidTransformerBlock(64, 4, context_dim=32)
    >>> block(torch.randn(2, 42, 64), context=torch.randn(2, 16, 32)).shape
    torch.Size([2, 42, 64])
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        mlp_ratio: float = 4.0,
        num_kv_heads: int | None = None,
        qk_norm: bool = True,
        norm: Literal["hybrid", "layerscale"] = "hybrid",
        layerscale_init: float = 1e-4,
        causal: bool = False,
        context_dim: int | None = None,
        attn_bias: float | None = None,
        backend: Backend = "auto",
        sigmoid_impl: SigmoidImpl = "exact",
    ) -> None:
        super().__init__()
        norm = check_option(norm, "norm", ("hybrid", "layerscale"))
        check_real(mlp_ratio, "mlp_ratio", minimum=0, include_minimum=False)
        check_real(layerscale_init, "layerscale_init")
        dim = check_int(dim, "dim", minimum=1)
        self.dim = dim
        self.norm = norm
        self.self_attn = SigmoidSelfAttention(
            dim,
            num_heads,
            num_kv_heads=num_kv_heads,
            qk_norm=qk_norm,
            attn_bias=attn_bias,
            causal=causal,
            backend=backend,
            sigmoid_impl=sigmoid_impl,
        )
        self.self_attn_res = _Residual(dim, norm, layerscale_init)
        self.cross_attn = None
        self.cross_attn_res = None
        if context_dim is not None:
            self.cross_attn = SigmoidCrossAttention(
                dim,
                num_heads,
                context_dim=context_dim,
                num_kv_heads=num_kv_heads,
                qk_norm=qk_norm,
                attn_bias=attn_bias,
                backend=backend,
                sigmoid_impl=sigmoid_impl,
            )
            self.cross_attn_res = _Residual(dim, norm, layerscale_init)
        hidden = max(1, int(round(dim * mlp_ratio)))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.mlp_res = _Residual(dim, norm, layerscale_init)

    def forward(
        self,
        x: torch.Tensor,
        context: torch.Tensor | None = None,
        key_padding_mask: torch.Tensor | None = None,
        context_padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Apply the block.

        Parameters
        ----------
        x : torch.Tensor
            (batch, seq, dim).
        context : torch.Tensor, optional
            (batch, n_context, context_dim); required iff the block was built
            with ``context_dim``.
        key_padding_mask : torch.Tensor, optional
            Bool (batch, seq), True at padding tokens of ``x``.
        context_padding_mask : torch.Tensor, optional
            Bool (batch, n_context), True at padding tokens of ``context``.

        Returns
        -------
        torch.Tensor
            (batch, seq, dim).
        """
        _check_sequence(x, self.dim, "x")
        if (context is None) != (self.cross_attn is None):
            raise DataValidationError(
                "context must be given exactly when the block was built with context_dim "
                f"(context_dim={None if self.cross_attn is None else self.cross_attn.context_dim}, "
                f"context {'missing' if context is None else 'given'})"
            )
        res = self.self_attn_res
        x = x + res.post(self.self_attn(res.pre(x), key_padding_mask))
        if self.cross_attn is not None:
            res = self.cross_attn_res
            x = x + res.post(self.cross_attn(res.pre(x), context, context_padding_mask))
        res = self.mlp_res
        return x + res.post(self.mlp(res.pre(x)))


__all__ = ["SigmoidSelfAttention", "SigmoidCrossAttention", "SigmoidTransformerBlock"]

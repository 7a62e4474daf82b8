"""Blockwise sigmoid attention in plain PyTorch (the fallback of the Triton kernels).

Computes ``O = sigmoid(Q K^T * scale + bias) V`` tile by tile, so that no more
than one ``(block_q, block_k)`` block of the ``Nq x Nk`` score matrix exists at a
time (per batch element and head), in the forward *and* the backward pass: the
backward recomputes each block of ``P = sigmoid(S)`` instead of storing it, as
FlashSigmoid does (Ramapuram et al., 2024)::

    dV = P^T dO,   dP = dO V^T,   dS = P (1 - P) dP,
    dQ = scale * dS K,   dK = scale * dS^T Q.

Sigmoid attention has no row normaliser, so the blocks of a row never need to
see each other: the output is a plain sum of per-block ``P V`` products.

The arguments are assumed validated by :func:`kernels.sigmoid_attention` (the
public entry point); this module only does the arithmetic. Half-precision
inputs are computed block by block in float32 (what the Triton kernels
accumulate in) and the result is cast back; float64 inputs stay in float64 so
:func:`torch.autograd.gradcheck` can check the backward pass.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch.autograd.function import once_differentiable

SigmoidImpl = Literal["exact", "tanh"]

SIGMOID_IMPLS = ("exact", "tanh")
"""How the sigmoid of the scores is computed: ``torch.sigmoid``, or ``0.5 * tanh(0.5 s) + 0.5``."""

DEFAULT_BLOCK_Q = 256
"""Default number of query rows per block."""

DEFAULT_BLOCK_K = 512
"""Default number of key columns per block."""


def sigmoid(scores: torch.Tensor, sigmoid_impl: SigmoidImpl = "exact") -> torch.Tensor:
    """The logistic sigmoid of ``scores``, exact or through ``tanh``.

    Parameters
    ----------
    scores : torch.Tensor
        Any shape and floating dtype.
    sigmoid_impl : {"exact", "tanh"}
        ``"exact"``: :func:`torch.sigmoid`; ``"tanh"``: ``0.5 * tanh(0.5 s) +
        0.5``, FlashSigmoid's formulation (the Triton kernels evaluate the
        ``tanh`` with a fast approximate instruction on CUDA; PyTorch's
        ``tanh`` is accurate, so here the two differ only by rounding).

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``scores``.
    """
    if sigmoid_impl == "tanh":
        return 0.5 * torch.tanh(0.5 * scores) + 0.5
    return torch.sigmoid(scores)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def causal_key_limit(query_index: int, n_queries: int, n_keys: int) -> int:
    """Number of keys that query row ``query_index`` may attend to under the causal mask.

    The mask is bottom-right aligned, as in FlashAttention-2: query ``i`` sees
    key ``j`` when ``j <= i + (n_keys - n_queries)``. With ``n_queries ==
    n_keys`` this is the usual lower-triangular mask; with more queries than
    keys, the first ``n_queries - n_keys`` query rows see no key (their output
    is zero); with more keys than queries, the last query sees every key.

    Parameters
    ----------
    query_index : int
        Row index ``i`` in ``[0, n_queries)``.
    n_queries, n_keys : int
        Sequence lengths of the queries and of the keys.

    Returns
    -------
    int
        ``max(0, min(n_keys, i + 1 + n_keys - n_queries))``.
    """
    return max(0, min(n_keys, query_index + 1 + n_keys - n_queries))


def _block_mask(
    q0: int,
    q1: int,
    k0: int,
    k1: int,
    n_queries: int,
    n_keys: int,
    causal: bool,
    keep_keys: torch.Tensor | None,
    device: torch.device,
) -> torch.Tensor | None:
    """Boolean mask (True = attend) of one block, broadcastable to (B, Hkv, G, bq, bk)."""
    mask = None
    if causal:
        rows = torch.arange(q0, q1, device=device)[:, None]
        cols = torch.arange(k0, k1, device=device)[None, :]
        mask = cols <= rows + (n_keys - n_queries)  # (bq, bk)
    if keep_keys is not None:
        pad = keep_keys[:, k0:k1][:, None, None, None, :]  # (B, 1, 1, 1, bk)
        mask = pad if mask is None else (mask & pad)
    return mask


def _probabilities(
    q_blk: torch.Tensor,
    k_blk: torch.Tensor,
    scale: float,
    bias: float,
    mask: torch.Tensor | None,
    sigmoid_impl: SigmoidImpl,
) -> torch.Tensor:
    """``P = sigmoid(Q K^T * scale + bias)`` of one block, zero where masked.

    ``q_blk`` is (B, Hkv, G, bq, D), ``k_blk`` is (B, Hkv, 1, bk, D); the
    result is (B, Hkv, G, bq, bk), the only score-sized tensor ever built.
    """
    scores = torch.matmul(q_blk, k_blk.transpose(-1, -2))
    p = sigmoid(scores * scale + bias, sigmoid_impl)
    if mask is not None:
        p = p.masked_fill(~mask, 0.0)
    return p


def _key_range(q0: int, q1: int, n_queries: int, n_keys: int, causal: bool) -> int:
    """End (exclusive) of the keys any query row in ``[q0, q1)`` may see."""
    if not causal:
        return n_keys
    return causal_key_limit(q1 - 1, n_queries, n_keys)


class _BlockwiseSigmoidAttention(torch.autograd.Function):
    """Autograd function: blockwise forward, blockwise recomputing backward."""

    @staticmethod
    def forward(ctx, q, k, v, scale, bias, causal, keep_keys, block_q, block_k, sigmoid_impl):
        batch, heads, n_queries, head_dim = q.shape
        kv_heads, n_keys = k.shape[1], k.shape[2]
        group = heads // kv_heads
        cdt = _compute_dtype(q.dtype)
        q5 = q.reshape(batch, kv_heads, group, n_queries, head_dim)
        k5 = k.reshape(batch, kv_heads, 1, n_keys, head_dim)
        v5 = v.reshape(batch, kv_heads, 1, n_keys, v.shape[-1])
        out = torch.zeros(batch, kv_heads, group, n_queries, v.shape[-1], dtype=cdt, device=q.device)
        for q0 in range(0, n_queries, block_q):
            q1 = min(q0 + block_q, n_queries)
            q_blk = q5[..., q0:q1, :].to(cdt)
            k_end = _key_range(q0, q1, n_queries, n_keys, causal)
            for k0 in range(0, k_end, block_k):
                k1 = min(k0 + block_k, k_end)
                mask = _block_mask(q0, q1, k0, k1, n_queries, n_keys, causal, keep_keys, q.device)
                p = _probabilities(q_blk, k5[..., k0:k1, :].to(cdt), scale, bias, mask, sigmoid_impl)
                out[..., q0:q1, :] += torch.matmul(p, v5[..., k0:k1, :].to(cdt))
        ctx.save_for_backward(q, k, v, keep_keys)
        ctx.config = (scale, bias, causal, block_q, block_k, sigmoid_impl)
        return out.reshape(batch, heads, n_queries, v.shape[-1]).to(q.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        q, k, v, keep_keys = ctx.saved_tensors
        scale, bias, causal, block_q, block_k, sigmoid_impl = ctx.config
        batch, heads, n_queries, head_dim = q.shape
        kv_heads, n_keys, v_dim = k.shape[1], k.shape[2], v.shape[-1]
        group = heads // kv_heads
        cdt = _compute_dtype(q.dtype)
        q5 = q.reshape(batch, kv_heads, group, n_queries, head_dim)
        k5 = k.reshape(batch, kv_heads, 1, n_keys, head_dim)
        v5 = v.reshape(batch, kv_heads, 1, n_keys, v_dim)
        do5 = grad_out.reshape(batch, kv_heads, group, n_queries, v_dim)
        dq = torch.zeros(q5.shape, dtype=cdt, device=q.device)
        dk = torch.zeros(batch, kv_heads, n_keys, head_dim, dtype=cdt, device=q.device)
        dv = torch.zeros(batch, kv_heads, n_keys, v_dim, dtype=cdt, device=q.device)
        for q0 in range(0, n_queries, block_q):
            q1 = min(q0 + block_q, n_queries)
            q_blk = q5[..., q0:q1, :].to(cdt)
            do_blk = do5[..., q0:q1, :].to(cdt)
            k_end = _key_range(q0, q1, n_queries, n_keys, causal)
            for k0 in range(0, k_end, block_k):
                k1 = min(k0 + block_k, k_end)
                k_blk = k5[..., k0:k1, :].to(cdt)
                v_blk = v5[..., k0:k1, :].to(cdt)
                mask = _block_mask(q0, q1, k0, k1, n_queries, n_keys, causal, keep_keys, q.device)
                p = _probabilities(q_blk, k_blk, scale, bias, mask, sigmoid_impl)
                # dV = P^T dO, summed over the query heads sharing this key/value head.
                dv[:, :, k0:k1] += torch.matmul(p.transpose(-1, -2), do_blk).sum(dim=2)
                dp = torch.matmul(do_blk, v_blk.transpose(-1, -2))
                ds = p * (1.0 - p) * dp  # zero where masked because p is
                dq[..., q0:q1, :] += torch.matmul(ds, k_blk)
                dk[:, :, k0:k1] += torch.matmul(ds.transpose(-1, -2), q_blk).sum(dim=2)
        dq = (dq * scale).reshape(q.shape).to(q.dtype)
        dk = (dk * scale).to(k.dtype)
        dv = dv.to(v.dtype)
        return dq, dk, dv, None, None, None, None, None, None, None


def sigmoid_attention_torch(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float,
    bias: float,
    causal: bool = False,
    key_padding_mask: torch.Tensor | None = None,
    block_q: int = DEFAULT_BLOCK_Q,
    block_k: int = DEFAULT_BLOCK_K,
    sigmoid_impl: SigmoidImpl = "exact",
) -> torch.Tensor:
    """Blockwise sigmoid attention on any device (no Triton needed).

    Arguments are not validated here; call :func:`kernels.sigmoid_attention`
    with ``backend="torch"`` for the checked public entry point.

    Parameters
    ----------
    q : torch.Tensor
        Queries, shape (batch, heads, n_queries, head_dim).
    k, v : torch.Tensor
        Keys and values, shape (batch, kv_heads, n_keys, head_dim), with
        ``heads`` a multiple of ``kv_heads`` (grouped-query attention).
    scale : float
        Multiplier of the dot products.
    bias : float
        Added to every scaled score before the sigmoid.
    causal : bool
        Bottom-right aligned causal mask (see :func:`causal_key_limit`).
    key_padding_mask : torch.Tensor or None
        Boolean (batch, n_keys); True marks padding keys that no query sees.
    block_q, block_k : int
        Block sizes over queries and keys; peak extra memory is one
        (batch, heads, block_q, block_k) block in the compute dtype.
    sigmoid_impl : {"exact", "tanh"}
        See :func:`sigmoid`.

    Returns
    -------
    torch.Tensor
        Shape (batch, heads, n_queries, head_dim), dtype of ``q``.
    """
    keep_keys = None if key_padding_mask is None else ~key_padding_mask.to(torch.bool)
    return _BlockwiseSigmoidAttention.apply(
        q, k, v, float(scale), float(bias), bool(causal), keep_keys, int(block_q), int(block_k), sigmoid_impl
    )


def sigmoid_attention_naive(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float,
    bias: float,
    causal: bool = False,
    key_padding_mask: torch.Tensor | None = None,
    sigmoid_impl: SigmoidImpl = "exact",
) -> torch.Tensor:
    """Sigmoid attention as three PyTorch ops, differentiated by autograd.

    Materialises the full (batch, heads, n_queries, n_keys) score matrix in the
    dtype of the inputs: this is the reference the accuracy tests compare with
    (at float64, and at the kernels' own precision) and the "naive" line of the
    benchmark. Same arguments and result as :func:`sigmoid_attention_torch`.
    """
    heads, kv_heads = q.shape[1], k.shape[1]
    if kv_heads != heads:
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    p = sigmoid(torch.matmul(q, k.transpose(-1, -2)) * scale + bias, sigmoid_impl)
    n_queries, n_keys = q.shape[2], k.shape[2]
    if causal:
        rows = torch.arange(n_queries, device=q.device)[:, None]
        cols = torch.arange(n_keys, device=q.device)[None, :]
        p = p.masked_fill(cols > rows + (n_keys - n_queries), 0.0)
    if key_padding_mask is not None:
        p = p.masked_fill(key_padding_mask.to(torch.bool)[:, None, None, :], 0.0)
    return torch.matmul(p, v)


__all__ = [
    "SIGMOID_IMPLS",
    "SigmoidImpl",
    "sigmoid",
    "DEFAULT_BLOCK_Q",
    "DEFAULT_BLOCK_K",
    "causal_key_limit",
    "sigmoid_attention_torch",
    "sigmoid_attention_naive",
]

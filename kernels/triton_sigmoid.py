"""FlashSigmoid in Triton: fused sigmoid-attention forward and backward kernels.

The algorithm is FlashAttention-2's tiling without its softmax bookkeeping
(Ramapuram et al., 2024). With ``S = Q K^T * scale + bias`` and
``P = sigmoid(S)``:

* forward, one program per (query tile, batch * head): load the query tile
  once, loop over key/value tiles, accumulate ``O += P V`` in float32. There
  is no running row maximum, no normaliser and no log-sum-exp to store,
  because the rows of ``P`` are not normalised.
* backward, two kernels that recompute ``P`` tile by tile instead of storing
  it (nothing of size ``Nq x Nk`` ever exists in memory):

  - ``_dkdv_kernel``, one program per (key tile, batch * kv_head): loops over
    the query heads that share the key/value head (grouped-query attention)
    and over their query tiles, accumulating ``dV += P^T dO`` and
    ``dK += dS^T Q`` with ``dS = P (1 - P) (dO V^T)``;
  - ``_dq_kernel``, one program per (query tile, batch * head): loops over key
    tiles, accumulating ``dQ += dS K``.

  ``dQ`` and ``dK`` get the factor ``scale`` once at the end. Unlike softmax
  attention there is no ``rowsum(dO * O)`` pre-pass.

The head dimension is padded to ``BLOCK_D``, the next power of two (at least
16), with masked loads and stores, so head dims like 40, 80 or 111 work. All
sequence lengths work through masks on the tile edges. The causal mask is
bottom-right aligned (query ``i`` sees key ``j`` iff ``j <= i + Nk - Nq``), as
in FlashAttention-2. Float32 inputs multiply in IEEE float32 (no TF32), half
inputs multiply in their own precision with float32 accumulation.

Triton decides at kernel definition whether to compile or to interpret, so
``TRITON_INTERPRET=1`` must be set before this module is imported to run the
kernels on CPU tensors (slowly, for tests). On GPU the tile sizes, warps and
pipeline stages are autotuned per problem size; under the interpreter fixed
small tiles are used.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
"""Whether this module's kernels were defined for Triton's CPU interpreter."""

INTERPRETER_BLOCK = 32
"""Query and key tile size used under the interpreter (small: programs run one at a time)."""


def _configs(blocks):
    return [
        triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s)
        for (m, n, w, s) in blocks
    ]


# (BLOCK_M, BLOCK_N, num_warps, num_stages), in the range the fused-attention tutorial tunes over.
_FWD_CONFIGS = _configs(
    [(128, 64, 4, 3), (128, 64, 8, 3), (128, 128, 8, 3), (128, 32, 4, 4), (64, 64, 4, 4), (64, 32, 4, 3)]
)
_BWD_CONFIGS = _configs(
    [(64, 64, 4, 3), (64, 128, 8, 3), (128, 64, 8, 3), (32, 64, 4, 3), (64, 32, 4, 2), (32, 32, 4, 2)]
)
_TUNE_KEY = ["n_queries", "n_keys", "head_dim", "CAUSAL", "HAS_PAD"]


def _tuned(configs):
    """Autotune on GPU; leave the kernel as is under the interpreter (tiles passed explicitly)."""

    def wrap(kernel):
        if INTERPRET:
            return kernel
        return triton.autotune(configs=configs, key=_TUNE_KEY)(kernel)

    return wrap


@triton.jit
def _probabilities(
    q,
    k,
    offs_m,
    offs_n,
    pad_row,
    scale,
    bias,
    n_queries,
    n_keys,
    CAUSAL: tl.constexpr,
    HAS_PAD: tl.constexpr,
    PRECISION: tl.constexpr,
):
    """P = sigmoid(q k^T * scale + bias) of one (BLOCK_M, BLOCK_N) tile, 0 where masked (float32)."""
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale + bias
    p = tl.sigmoid(s)
    valid = (offs_m[:, None] < n_queries) & (offs_n[None, :] < n_keys)
    if CAUSAL:
        valid = valid & (offs_n[None, :] <= offs_m[:, None] + (n_keys - n_queries))
    if HAS_PAD:
        is_pad = tl.load(pad_row + offs_n, mask=offs_n < n_keys, other=1)
        valid = valid & (is_pad == 0)[None, :]
    return tl.where(valid, p, 0.0)


@triton.jit
def _load_rows(base, offs_rows, offs_d, stride_row, stride_d, n_rows, head_dim):
    """Load a (rows, BLOCK_D) tile, zero outside the sequence and the padded head dim."""
    ptrs = base + offs_rows[:, None] * stride_row + offs_d[None, :] * stride_d
    return tl.load(ptrs, mask=(offs_rows[:, None] < n_rows) & (offs_d[None, :] < head_dim), other=0.0)


@triton.jit
def _store_rows(base, value, offs_rows, offs_d, stride_row, stride_d, n_rows, head_dim):
    ptrs = base + offs_rows[:, None] * stride_row + offs_d[None, :] * stride_d
    tl.store(ptrs, value, mask=(offs_rows[:, None] < n_rows) & (offs_d[None, :] < head_dim))


@_tuned(_FWD_CONFIGS)
@triton.jit
def _fwd_kernel(
    Q, K, V, O, PAD,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_ob, stride_oh, stride_om, stride_od,
    stride_pb,
    scale, bias,
    n_heads, n_queries, n_keys, head_dim,
    GROUP: tl.constexpr,
    CAUSAL: tl.constexpr,
    HAS_PAD: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):  # fmt: skip
    start_m = tl.program_id(0)
    off_bh = tl.program_id(1)
    b = (off_bh // n_heads).to(tl.int64)
    h = (off_bh % n_heads).to(tl.int64)
    hk = h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q = _load_rows(Q + b * stride_qb + h * stride_qh, offs_m, offs_d, stride_qm, stride_qd, n_queries, head_dim)
    k_base = K + b * stride_kb + hk * stride_kh
    v_base = V + b * stride_vb + hk * stride_vh
    pad_row = PAD + b * stride_pb

    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    hi = n_keys
    if CAUSAL:  # keys past the last row's diagonal are hidden from the whole tile
        hi = tl.minimum(n_keys, (start_m + 1) * BLOCK_M + (n_keys - n_queries))
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = _load_rows(k_base, offs_n, offs_d, stride_kn, stride_kd, n_keys, head_dim)
        v = _load_rows(v_base, offs_n, offs_d, stride_vn, stride_vd, n_keys, head_dim)
        p = _probabilities(q, k, offs_m, offs_n, pad_row, scale, bias, n_queries, n_keys,
                           CAUSAL, HAS_PAD, PRECISION)  # fmt: skip
        acc += tl.dot(p.to(v.dtype), v, input_precision=PRECISION)

    o_base = O + b * stride_ob + h * stride_oh
    _store_rows(o_base, acc.to(O.dtype.element_ty), offs_m, offs_d, stride_om, stride_od, n_queries, head_dim)


@_tuned(_BWD_CONFIGS)
@triton.jit
def _dkdv_kernel(
    Q, K, V, DO, DK, DV, PAD,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_dob, stride_doh, stride_dom, stride_dod,
    stride_dkb, stride_dkh, stride_dkn, stride_dkd,
    stride_dvb, stride_dvh, stride_dvn, stride_dvd,
    stride_pb,
    scale, bias,
    n_kv_heads, n_queries, n_keys, head_dim,
    GROUP: tl.constexpr,
    CAUSAL: tl.constexpr,
    HAS_PAD: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):  # fmt: skip
    start_n = tl.program_id(0)
    off_bhk = tl.program_id(1)
    b = (off_bhk // n_kv_heads).to(tl.int64)
    hk = (off_bhk % n_kv_heads).to(tl.int64)
    offs_n = start_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)
    k = _load_rows(K + b * stride_kb + hk * stride_kh, offs_n, offs_d, stride_kn, stride_kd, n_keys, head_dim)
    v = _load_rows(V + b * stride_vb + hk * stride_vh, offs_n, offs_d, stride_vn, stride_vd, n_keys, head_dim)
    pad_row = PAD + b * stride_pb

    dk = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    lo = 0
    if CAUSAL:  # query rows before the first one that sees this key tile contribute nothing
        lo = tl.maximum(0, start_n * BLOCK_N - (n_keys - n_queries))
        lo = (lo // BLOCK_M) * BLOCK_M
    for g in range(GROUP):  # every query head that shares this key/value head
        h = hk * GROUP + g
        q_base = Q + b * stride_qb + h * stride_qh
        do_base = DO + b * stride_dob + h * stride_doh
        for start_m in range(lo, n_queries, BLOCK_M):
            offs_m = start_m + tl.arange(0, BLOCK_M)
            q = _load_rows(q_base, offs_m, offs_d, stride_qm, stride_qd, n_queries, head_dim)
            do = _load_rows(do_base, offs_m, offs_d, stride_dom, stride_dod, n_queries, head_dim)
            p = _probabilities(q, k, offs_m, offs_n, pad_row, scale, bias, n_queries, n_keys,
                               CAUSAL, HAS_PAD, PRECISION)  # fmt: skip
            dv += tl.dot(tl.trans(p).to(do.dtype), do, input_precision=PRECISION)
            dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
            ds = p * (1.0 - p) * dp
            dk += tl.dot(tl.trans(ds).to(q.dtype), q, input_precision=PRECISION)

    dk_base = DK + b * stride_dkb + hk * stride_dkh
    dv_base = DV + b * stride_dvb + hk * stride_dvh
    _store_rows(dk_base, (dk * scale).to(DK.dtype.element_ty), offs_n, offs_d, stride_dkn, stride_dkd, n_keys, head_dim)
    _store_rows(dv_base, dv.to(DV.dtype.element_ty), offs_n, offs_d, stride_dvn, stride_dvd, n_keys, head_dim)


@_tuned(_BWD_CONFIGS)
@triton.jit
def _dq_kernel(
    Q, K, V, DO, DQ, PAD,
    stride_qb, stride_qh, stride_qm, stride_qd,
    stride_kb, stride_kh, stride_kn, stride_kd,
    stride_vb, stride_vh, stride_vn, stride_vd,
    stride_dob, stride_doh, stride_dom, stride_dod,
    stride_dqb, stride_dqh, stride_dqm, stride_dqd,
    stride_pb,
    scale, bias,
    n_heads, n_queries, n_keys, head_dim,
    GROUP: tl.constexpr,
    CAUSAL: tl.constexpr,
    HAS_PAD: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
):  # fmt: skip
    start_m = tl.program_id(0)
    off_bh = tl.program_id(1)
    b = (off_bh // n_heads).to(tl.int64)
    h = (off_bh % n_heads).to(tl.int64)
    hk = h // GROUP
    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, BLOCK_D)
    q = _load_rows(Q + b * stride_qb + h * stride_qh, offs_m, offs_d, stride_qm, stride_qd, n_queries, head_dim)
    do = _load_rows(DO + b * stride_dob + h * stride_doh, offs_m, offs_d, stride_dom, stride_dod, n_queries, head_dim)
    k_base = K + b * stride_kb + hk * stride_kh
    v_base = V + b * stride_vb + hk * stride_vh
    pad_row = PAD + b * stride_pb

    dq = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    hi = n_keys
    if CAUSAL:
        hi = tl.minimum(n_keys, (start_m + 1) * BLOCK_M + (n_keys - n_queries))
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        k = _load_rows(k_base, offs_n, offs_d, stride_kn, stride_kd, n_keys, head_dim)
        v = _load_rows(v_base, offs_n, offs_d, stride_vn, stride_vd, n_keys, head_dim)
        p = _probabilities(q, k, offs_m, offs_n, pad_row, scale, bias, n_queries, n_keys,
                           CAUSAL, HAS_PAD, PRECISION)  # fmt: skip
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (1.0 - p) * dp
        dq += tl.dot(ds.to(k.dtype), k, input_precision=PRECISION)

    dq_base = DQ + b * stride_dqb + h * stride_dqh
    _store_rows(dq_base, (dq * scale).to(DQ.dtype.element_ty), offs_m, offs_d, stride_dqm, stride_dqd, n_queries, head_dim)


def _strides(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.stride())


def _launch_options(head_dim: int) -> dict:
    """Compile-time arguments common to the three kernels."""
    options = {"BLOCK_D": max(16, triton.next_power_of_2(head_dim))}
    if INTERPRET:
        options.update(BLOCK_M=INTERPRETER_BLOCK, BLOCK_N=INTERPRETER_BLOCK)
    return options


def _precision(dtype: torch.dtype) -> str:
    # IEEE for float32 inputs: TF32 would cost ~3 decimal digits; half inputs ignore it.
    return "ieee" if dtype == torch.float32 else "tf32"


class _FlashSigmoidAttention(torch.autograd.Function):
    """Autograd function running the fused Triton kernels."""

    @staticmethod
    def forward(ctx, q, k, v, scale, bias, causal, pad):
        batch, heads, n_queries, head_dim = q.shape
        kv_heads, n_keys = k.shape[1], k.shape[2]
        has_pad = pad is not None
        pad_arg = pad if has_pad else torch.zeros(1, 1, dtype=torch.uint8, device=q.device)
        out = torch.empty_like(q)
        opts = _launch_options(head_dim)

        def grid(meta):
            return (triton.cdiv(n_queries, meta["BLOCK_M"]), batch * heads)

        _fwd_kernel[grid](
            q, k, v, out, pad_arg,
            *_strides(q), *_strides(k), *_strides(v), *_strides(out), pad_arg.stride(0),
            scale, bias, heads, n_queries, n_keys, head_dim,
            GROUP=heads // kv_heads, CAUSAL=causal, HAS_PAD=has_pad, PRECISION=_precision(q.dtype),
            **opts,
        )  # fmt: skip
        ctx.save_for_backward(q, k, v, pad_arg)
        ctx.config = (scale, bias, causal, has_pad)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, pad_arg = ctx.saved_tensors
        scale, bias, causal, has_pad = ctx.config
        batch, heads, n_queries, head_dim = q.shape
        kv_heads, n_keys = k.shape[1], k.shape[2]
        group = heads // kv_heads
        do = grad_out.contiguous()
        dq = torch.empty_like(q)
        dk = torch.empty_like(k)
        dv = torch.empty_like(v)
        opts = _launch_options(head_dim)
        common = dict(GROUP=group, CAUSAL=causal, HAS_PAD=has_pad, PRECISION=_precision(q.dtype), **opts)

        def grid_kv(meta):
            return (triton.cdiv(n_keys, meta["BLOCK_N"]), batch * kv_heads)

        _dkdv_kernel[grid_kv](
            q, k, v, do, dk, dv, pad_arg,
            *_strides(q), *_strides(k), *_strides(v), *_strides(do), *_strides(dk), *_strides(dv),
            pad_arg.stride(0), scale, bias, kv_heads, n_queries, n_keys, head_dim, **common,
        )  # fmt: skip

        def grid_q(meta):
            return (triton.cdiv(n_queries, meta["BLOCK_M"]), batch * heads)

        _dq_kernel[grid_q](
            q, k, v, do, dq, pad_arg,
            *_strides(q), *_strides(k), *_strides(v), *_strides(do), *_strides(dq),
            pad_arg.stride(0), scale, bias, heads, n_queries, n_keys, head_dim, **common,
        )  # fmt: skip
        return dq, dk, dv, None, None, None, None


def sigmoid_attention_triton(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float,
    bias: float,
    causal: bool = False,
    key_padding_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sigmoid attention with the fused Triton kernels (forward and backward).

    Arguments are not validated here; :func:`kernels.sigmoid_attention` with
    ``backend="triton"`` is the checked public entry point.

    Parameters
    ----------
    q : torch.Tensor
        Queries, (batch, heads, n_queries, head_dim), float16/bfloat16/float32,
        on a CUDA device (or the CPU under ``TRITON_INTERPRET=1``).
    k, v : torch.Tensor
        Keys and values, (batch, kv_heads, n_keys, head_dim), ``heads`` a
        multiple of ``kv_heads``.
    scale, bias : float
        ``P = sigmoid(Q K^T * scale + bias)``.
    causal : bool
        Bottom-right aligned causal mask.
    key_padding_mask : torch.Tensor or None
        Bool (batch, n_keys), True at padding keys.

    Returns
    -------
    torch.Tensor
        (batch, heads, n_queries, head_dim), dtype of ``q``.
    """
    pad = None
    if key_padding_mask is not None:
        pad = key_padding_mask.to(device=q.device, dtype=torch.uint8).contiguous()
    return _FlashSigmoidAttention.apply(q, k, v, float(scale), float(bias), bool(causal), pad)


__all__ = ["INTERPRET", "INTERPRETER_BLOCK", "sigmoid_attention_triton"]

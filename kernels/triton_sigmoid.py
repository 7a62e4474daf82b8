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
    ``dK += dS^T Q`` with ``dS = P (1 - P) (dO V^T)``, computed transposed
    (``S^T = K Q^T``) so that no tile is transposed in the loop;
  - ``_dq_kernel``, one program per (query tile, batch * head): loops over key
    tiles, accumulating ``dQ += dS K``.

  ``dQ`` and ``dK`` get the factor ``scale`` once at the end. Unlike softmax
  attention there is no ``rowsum(dO * O)`` pre-pass.

Loop structure (as in Triton's fused-attention tutorial). Each kernel's loop
is split into *interior* tiles, which run without any mask, and *edge* tiles
(the ``MASKED`` constexpr, the tutorial's ``STAGE``): under ``causal`` the
tiles crossing the diagonal, which apply the causal mask, and the last
(ragged) tile of a sequence whose length is not a multiple of the tile, whose
loads are bounds-checked. Tiles entirely above the diagonal are skipped.
Two facts keep every other mask out of the loops:

* rows loaded past the end of a sequence are zero, and a zero value row
  contributes nothing to ``O`` or ``dQ`` (``dP = dO V^T`` is zero there) and
  a zero query/``dO`` row nothing to ``dK`` or ``dV``, so ``P`` itself never
  needs the bounds mask;
* a padding key is handled the same way: its value row is loaded as zero,
  which removes it from ``O``, ``dQ`` and ``dK``; its ``dV`` row, the only
  quantity it would still reach, is zeroed once when stored.

The head dimension is padded to ``BLOCK_D``, the next power of two (at least
16), with masked loads and stores, so head dims like 40, 80 or 111 work
(``EVEN_D`` drops that mask when the head dim is a power of two). The causal
mask is bottom-right aligned (query ``i`` sees key ``j`` iff
``j <= i + Nk - Nq``), as in FlashAttention-2. Float32 inputs multiply in
IEEE float32 (no TF32), half inputs multiply in their own precision with
float32 accumulation.

``sigmoid_impl="tanh"`` computes ``sigmoid(s) = 0.5 * tanh(0.5 s) + 0.5`` as
FlashSigmoid does: on CUDA through the ``tanh.approx.f32`` instruction (one
special-function op per score instead of an exponential and a division;
sm_75 and newer), under the interpreter through an exponential (the
interpreter has no inline assembly), so only the compiled kernels see the
approximate instruction's error.

Triton decides at kernel definition whether to compile or to interpret, so
``TRITON_INTERPRET=1`` must be set before this module is imported to run the
kernels on CPU tensors (slowly, for tests). On GPU the tile sizes, warps and
pipeline stages are autotuned per problem size over the configurations that
:func:`prune_configs` keeps (``NEUROKIT_TRITON_AUTOTUNE=0`` in the environment
takes the first kept one instead: one compilation per problem kind, for
accuracy tests on a short GPU loan); under the interpreter fixed small tiles
are used.
"""

from __future__ import annotations

import functools
import os

import torch
import triton
import triton.language as tl

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
"""Whether this module's kernels were defined for Triton's CPU interpreter."""

INTERPRETER_BLOCK = 32
"""Query and key tile size used under the interpreter (small: programs run one at a time)."""

HARDWARE_TANH = tl.constexpr(not INTERPRET)
"""Whether ``sigmoid_impl="tanh"`` uses the ``tanh.approx.f32`` instruction (compiled kernels)."""

MAX_REGISTERS_PER_THREAD = 192
"""Float32 accumulator and score-tile values per thread above which a configuration is pruned."""


def _configs(blocks):
    return [
        triton.Config({"BLOCK_M": m, "BLOCK_N": n}, num_warps=w, num_stages=s)
        for (m, n, w, s) in blocks
    ]


# (BLOCK_M, BLOCK_N, num_warps, num_stages), in the range the fused-attention tutorial tunes over.
# Five each: every kept configuration is compiled per problem specialisation, which dominates a
# short GPU session's start-up; (32, 32) serves short sequences.
_FWD_CONFIGS = _configs([(128, 64, 4, 3), (128, 128, 8, 3), (128, 32, 4, 4), (64, 64, 4, 4), (32, 32, 4, 2)])
_BWD_CONFIGS = _configs([(64, 64, 4, 3), (64, 128, 8, 3), (128, 64, 8, 3), (32, 64, 4, 3), (32, 32, 4, 2)])
_TUNE_KEY = ["n_queries", "n_keys", "head_dim", "CAUSAL", "HAS_PAD", "TANH"]

# Per kernel: (tiles resident for the whole program, tiles streamed per pipeline
# stage, float32 accumulators, score-sized float32 tiles), each tile counted as
# ("m" or "n") rows of BLOCK_D.
_FOOTPRINT = {
    "fwd": (("m",), ("n", "n"), ("m",), 1),
    "dkdv": (("n", "n"), ("m", "m"), ("n", "n"), 2),
    "dq": (("m", "m"), ("n", "n"), ("m",), 2),
}


def prune_configs(
    configs: list,
    *,
    kernel: str,
    head_dim: int,
    elem_bytes: int,
    n_queries: int,
    n_keys: int,
    shared_memory_bytes: int | None,
) -> list:
    """The autotuning configurations of one kernel that can fit a problem.

    A configuration is dropped when (1) its shared-memory estimate -- the
    resident tiles plus ``num_stages`` copies of the streamed tiles, each
    ``rows x BLOCK_D`` elements of ``elem_bytes`` -- exceeds the device's
    limit (a conservative estimate: compiled for sm_90 with Triton 3.9, the
    five configurations of each kernel at head dim 128 in bf16 used 33-83% of
    it, at most 96 KiB), (2) its float32 accumulators and score tiles need more than
    :data:`MAX_REGISTERS_PER_THREAD` values per thread, or (3) a tile is
    longer than the (power-of-two rounded) sequence it tiles, which would
    only compute padding. If nothing is left, the configuration with the
    smallest shared-memory estimate is kept, so the autotuner always has one.

    Parameters
    ----------
    configs : list of triton.Config
        Candidates with ``BLOCK_M`` and ``BLOCK_N`` in their kwargs.
    kernel : {"fwd", "dkdv", "dq"}
        Which kernel the configurations are for.
    head_dim : int
        Head dimension (padded to ``BLOCK_D``, the next power of two >= 16).
    elem_bytes : int
        Bytes per element of q, k and v (2 for half, 4 for float32).
    n_queries, n_keys : int
        Sequence lengths.
    shared_memory_bytes : int or None
        Shared memory per block of the device; ``None`` skips that test.

    Returns
    -------
    list of triton.Config
        The kept configurations, in their original order (never empty).
    """
    resident, streamed, accumulators, score_tiles = _FOOTPRINT[kernel]
    block_d = max(16, triton.next_power_of_2(head_dim))
    longest_m = max(16, triton.next_power_of_2(n_queries))
    longest_n = max(16, triton.next_power_of_2(n_keys))

    def smem(config) -> int:
        rows = {"m": config.kwargs["BLOCK_M"], "n": config.kwargs["BLOCK_N"]}
        tiles = sum(rows[r] for r in resident) + config.num_stages * sum(rows[r] for r in streamed)
        return tiles * block_d * elem_bytes

    def fits(config) -> bool:
        block_m, block_n = config.kwargs["BLOCK_M"], config.kwargs["BLOCK_N"]
        rows = {"m": block_m, "n": block_n}
        values = sum(rows[r] for r in accumulators) * block_d + score_tiles * block_m * block_n
        return (
            (shared_memory_bytes is None or smem(config) <= shared_memory_bytes)
            and values <= MAX_REGISTERS_PER_THREAD * 32 * config.num_warps
            and block_m <= longest_m
            and block_n <= longest_n
        )

    kept = [config for config in configs if fits(config)]
    return kept or [min(configs, key=smem)]


@functools.lru_cache(maxsize=None)
def _shared_memory_bytes(device_index: int) -> int:
    return int(triton.runtime.driver.active.utils.get_device_properties(device_index)["max_shared_mem"])


def _pruner(kernel: str):
    """``early_config_prune`` hook of one kernel: reads the problem from the launch arguments."""

    def prune(configs, named_args, **kwargs):
        args = {**named_args, **kwargs}
        q = args["Q"]
        kept = prune_configs(
            configs,
            kernel=kernel,
            head_dim=int(args["head_dim"]),
            elem_bytes=q.element_size(),
            n_queries=int(args["n_queries"]),
            n_keys=int(args["n_keys"]),
            shared_memory_bytes=_shared_memory_bytes(q.device.index or 0) if q.is_cuda else None,
        )
        return kept if os.environ.get("NEUROKIT_TRITON_AUTOTUNE", "1") != "0" else kept[:1]

    return prune


def _tuned(configs, kernel: str):
    """Autotune on GPU; leave the kernel as is under the interpreter (tiles passed explicitly)."""

    def wrap(fn):
        if INTERPRET:
            return fn
        return triton.autotune(
            configs=configs, key=_TUNE_KEY, prune_configs_by={"early_config_prune": _pruner(kernel)}
        )(fn)

    return wrap


@triton.jit
def _tanh(x):
    """tanh of a float32 tensor: ``tanh.approx.f32`` when compiled, an exponential when interpreted."""
    if HARDWARE_TANH:
        t = tl.inline_asm_elementwise(
            "tanh.approx.f32 $0, $1;", "=f,f", [x], dtype=tl.float32, is_pure=True, pack=1
        )
    else:
        e = tl.exp(-2.0 * tl.abs(x))
        t = (1.0 - e) / (1.0 + e)
        t = tl.where(x < 0, -t, t)
    return t


@triton.jit
def _probabilities(s, query_idx, key_idx, causal_offset, MASKED: tl.constexpr, CAUSAL: tl.constexpr,
                   TANH: tl.constexpr):  # fmt: skip
    """``sigmoid(s)`` of one score tile, zero above the causal diagonal on edge tiles.

    ``query_idx`` and ``key_idx`` broadcast to the tile: ``(M, 1)`` and
    ``(1, N)`` for ``S``, ``(1, M)`` and ``(N, 1)`` for ``S^T``.
    """
    if TANH:
        p = 0.5 * _tanh(0.5 * s) + 0.5
    else:
        p = tl.sigmoid(s)
    if MASKED:
        if CAUSAL:
            p = tl.where(key_idx <= query_idx + causal_offset, p, 0.0)
    return p


@triton.jit
def _load_tile(base, offs_rows, offs_d, stride_row, stride_d, n_rows, head_dim,
               BOUNDS: tl.constexpr, EVEN_D: tl.constexpr):  # fmt: skip
    """Load a (rows, BLOCK_D) tile; zero past ``n_rows`` (only when ``BOUNDS``) and past ``head_dim``."""
    ptrs = base + offs_rows[:, None] * stride_row + offs_d[None, :] * stride_d
    if BOUNDS:
        mask = offs_rows[:, None] < n_rows
        if not EVEN_D:
            mask = mask & (offs_d[None, :] < head_dim)
        tile = tl.load(ptrs, mask=mask, other=0.0)
    elif EVEN_D:
        tile = tl.load(ptrs)
    else:
        tile = tl.load(ptrs, mask=offs_d[None, :] < head_dim, other=0.0)
    return tile


@triton.jit
def _load_values(base, offs_rows, offs_d, stride_row, stride_d, n_rows, head_dim, pad_row,
                 BOUNDS: tl.constexpr, EVEN_D: tl.constexpr, HAS_PAD: tl.constexpr):  # fmt: skip
    """Load a tile of value rows, zero at padding keys (which removes them from O, dQ and dK)."""
    v = _load_tile(base, offs_rows, offs_d, stride_row, stride_d, n_rows, head_dim, BOUNDS, EVEN_D)
    if HAS_PAD:
        if BOUNDS:
            is_pad = tl.load(pad_row + offs_rows, mask=offs_rows < n_rows, other=1)
        else:
            is_pad = tl.load(pad_row + offs_rows)
        v = tl.where((is_pad == 0)[:, None], v, 0.0)
    return v


@triton.jit
def _store_rows(base, value, offs_rows, offs_d, stride_row, stride_d, n_rows, head_dim):
    ptrs = base + offs_rows[:, None] * stride_row + offs_d[None, :] * stride_d
    tl.store(ptrs, value, mask=(offs_rows[:, None] < n_rows) & (offs_d[None, :] < head_dim))


@triton.jit
def _key_split(start_m, n_queries, n_keys, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr,
               BLOCK_N: tl.constexpr):  # fmt: skip
    """Key tiles of query tile ``start_m``: ``[0, interior)`` unmasked, ``[interior, end)`` edge tiles.

    Under ``CAUSAL`` the interior tiles are those every row of the query tile
    sees whole, the edge tiles those crossing the diagonal (and the ragged
    last key tile when it is among them); keys past the last row's diagonal
    are skipped. Otherwise every full tile is interior and the ragged last
    tile, if any, is the only edge tile.
    """
    if CAUSAL:
        offset = n_keys - n_queries
        first_row_keys = tl.minimum(tl.maximum(start_m * BLOCK_M + offset + 1, 0), n_keys)
        interior = (first_row_keys // BLOCK_N) * BLOCK_N
        end = tl.minimum(tl.maximum((start_m + 1) * BLOCK_M + offset, 0), n_keys)
    else:
        interior = (n_keys // BLOCK_N) * BLOCK_N
        end = n_keys
    return interior, end


@triton.jit
def _key_tile(q, k_base, v_base, pad_row, offs_m, offs_d, start_n,
              stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
              MASKED: tl.constexpr, CAUSAL: tl.constexpr, HAS_PAD: tl.constexpr, TANH: tl.constexpr,
              EVEN_D: tl.constexpr, PRECISION: tl.constexpr, BLOCK_N: tl.constexpr):  # fmt: skip
    """One key tile as the forward and dQ loops see it: ``(K, V, P = sigmoid(Q K^T * scale + bias))``."""
    offs_n = start_n + tl.arange(0, BLOCK_N)
    k = _load_tile(k_base, offs_n, offs_d, stride_kn, stride_kd, n_keys, head_dim, MASKED, EVEN_D)
    v = _load_values(v_base, offs_n, offs_d, stride_vn, stride_vd, n_keys, head_dim, pad_row,
                     MASKED, EVEN_D, HAS_PAD)  # fmt: skip
    s = tl.dot(q, tl.trans(k), input_precision=PRECISION) * scale + bias
    p = _probabilities(s, offs_m[:, None], offs_n[None, :], causal_offset, MASKED, CAUSAL, TANH)
    return k, v, p


@triton.jit
def _fwd_tiles(acc, q, k_base, v_base, pad_row, offs_m, offs_d, start, end,
               stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
               MASKED: tl.constexpr, CAUSAL: tl.constexpr, HAS_PAD: tl.constexpr, TANH: tl.constexpr,
               EVEN_D: tl.constexpr, PRECISION: tl.constexpr, BLOCK_N: tl.constexpr):  # fmt: skip
    """``acc += P V`` over the key tiles starting in ``[start, end)``."""
    for start_n in range(start, end, BLOCK_N):
        start_n = tl.multiple_of(start_n, BLOCK_N)
        k, v, p = _key_tile(q, k_base, v_base, pad_row, offs_m, offs_d, start_n,
                            stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
                            MASKED, CAUSAL, HAS_PAD, TANH, EVEN_D, PRECISION, BLOCK_N)  # fmt: skip
        acc = tl.dot(p.to(v.dtype), v, acc, input_precision=PRECISION)
    return acc


@_tuned(_FWD_CONFIGS, "fwd")
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
    TANH: tl.constexpr,
    PRECISION: tl.constexpr,
    EVEN_D: tl.constexpr,
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
    q = _load_tile(Q + b * stride_qb + h * stride_qh, offs_m, offs_d, stride_qm, stride_qd, n_queries, head_dim,
                   True, EVEN_D)  # fmt: skip
    k_base = K + b * stride_kb + hk * stride_kh
    v_base = V + b * stride_vb + hk * stride_vh
    pad_row = PAD + b * stride_pb
    causal_offset = n_keys - n_queries
    interior, end = _key_split(start_m, n_queries, n_keys, CAUSAL, BLOCK_M, BLOCK_N)

    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    acc = _fwd_tiles(acc, q, k_base, v_base, pad_row, offs_m, offs_d, 0, interior,
                     stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
                     False, CAUSAL, HAS_PAD, TANH, EVEN_D, PRECISION, BLOCK_N)  # fmt: skip
    acc = _fwd_tiles(acc, q, k_base, v_base, pad_row, offs_m, offs_d, interior, end,
                     stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
                     True, CAUSAL, HAS_PAD, TANH, EVEN_D, PRECISION, BLOCK_N)  # fmt: skip

    o_base = O + b * stride_ob + h * stride_oh
    _store_rows(o_base, acc.to(O.dtype.element_ty), offs_m, offs_d, stride_om, stride_od, n_queries, head_dim)


@triton.jit
def _dkdv_tiles(dk, dv, k, v, q_base, do_base, offs_n, offs_d, start, end,
                stride_qm, stride_qd, stride_dom, stride_dod, scale, bias, n_queries, head_dim, causal_offset,
                MASKED: tl.constexpr, CAUSAL: tl.constexpr, TANH: tl.constexpr, EVEN_D: tl.constexpr,
                PRECISION: tl.constexpr, BLOCK_M: tl.constexpr):  # fmt: skip
    """``dV += P^T dO`` and ``dK += dS^T Q`` (unscaled) over the query tiles starting in ``[start, end)``."""
    for start_m in range(start, end, BLOCK_M):
        start_m = tl.multiple_of(start_m, BLOCK_M)
        offs_m = start_m + tl.arange(0, BLOCK_M)
        q = _load_tile(q_base, offs_m, offs_d, stride_qm, stride_qd, n_queries, head_dim, MASKED, EVEN_D)
        do = _load_tile(do_base, offs_m, offs_d, stride_dom, stride_dod, n_queries, head_dim, MASKED, EVEN_D)
        s_t = tl.dot(k, tl.trans(q), input_precision=PRECISION) * scale + bias
        p_t = _probabilities(s_t, offs_m[None, :], offs_n[:, None], causal_offset, MASKED, CAUSAL, TANH)
        dv = tl.dot(p_t.to(do.dtype), do, dv, input_precision=PRECISION)
        dp_t = tl.dot(v, tl.trans(do), input_precision=PRECISION)
        ds_t = p_t * (1.0 - p_t) * dp_t
        dk = tl.dot(ds_t.to(q.dtype), q, dk, input_precision=PRECISION)
    return dk, dv


@_tuned(_BWD_CONFIGS, "dkdv")
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
    TANH: tl.constexpr,
    PRECISION: tl.constexpr,
    EVEN_D: tl.constexpr,
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
    pad_row = PAD + b * stride_pb
    k = _load_tile(K + b * stride_kb + hk * stride_kh, offs_n, offs_d, stride_kn, stride_kd, n_keys, head_dim,
                   True, EVEN_D)  # fmt: skip
    v = _load_values(V + b * stride_vb + hk * stride_vh, offs_n, offs_d, stride_vn, stride_vd, n_keys, head_dim,
                     pad_row, True, EVEN_D, HAS_PAD)  # fmt: skip

    # Query tiles: [lo, diagonal) cross the diagonal (masked), [diagonal, interior) see the whole
    # key tile (unmasked), [max(diagonal, interior), n_queries) is the ragged last tile (masked).
    causal_offset = n_keys - n_queries
    interior = (n_queries // BLOCK_M) * BLOCK_M
    lo = 0
    diagonal = 0
    if CAUSAL:
        lo = (tl.maximum(start_n * BLOCK_N - causal_offset, 0) // BLOCK_M) * BLOCK_M
        first_full_row = tl.maximum((start_n + 1) * BLOCK_N - 1 - causal_offset, 0)
        diagonal = tl.maximum(tl.cdiv(first_full_row, BLOCK_M) * BLOCK_M, lo)
    ragged = tl.maximum(diagonal, interior)

    dk = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    for g in range(GROUP):  # every query head that shares this key/value head
        h = hk * GROUP + g
        q_base = Q + b * stride_qb + h * stride_qh
        do_base = DO + b * stride_dob + h * stride_doh
        dk, dv = _dkdv_tiles(dk, dv, k, v, q_base, do_base, offs_n, offs_d, lo, tl.minimum(diagonal, n_queries),
                             stride_qm, stride_qd, stride_dom, stride_dod, scale, bias, n_queries, head_dim,
                             causal_offset, True, CAUSAL, TANH, EVEN_D, PRECISION, BLOCK_M)  # fmt: skip
        dk, dv = _dkdv_tiles(dk, dv, k, v, q_base, do_base, offs_n, offs_d, diagonal, interior,
                             stride_qm, stride_qd, stride_dom, stride_dod, scale, bias, n_queries, head_dim,
                             causal_offset, False, CAUSAL, TANH, EVEN_D, PRECISION, BLOCK_M)  # fmt: skip
        dk, dv = _dkdv_tiles(dk, dv, k, v, q_base, do_base, offs_n, offs_d, ragged, n_queries,
                             stride_qm, stride_qd, stride_dom, stride_dod, scale, bias, n_queries, head_dim,
                             causal_offset, True, CAUSAL, TANH, EVEN_D, PRECISION, BLOCK_M)  # fmt: skip

    if HAS_PAD:  # a padding key's value row was zeroed, which keeps it out of dK but not out of dV
        is_pad = tl.load(pad_row + offs_n, mask=offs_n < n_keys, other=1)
        dv = tl.where((is_pad == 0)[:, None], dv, 0.0)
    dk_base = DK + b * stride_dkb + hk * stride_dkh
    dv_base = DV + b * stride_dvb + hk * stride_dvh
    _store_rows(dk_base, (dk * scale).to(DK.dtype.element_ty), offs_n, offs_d, stride_dkn, stride_dkd, n_keys, head_dim)
    _store_rows(dv_base, dv.to(DV.dtype.element_ty), offs_n, offs_d, stride_dvn, stride_dvd, n_keys, head_dim)


@triton.jit
def _dq_tiles(dq, q, do, k_base, v_base, pad_row, offs_m, offs_d, start, end,
              stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
              MASKED: tl.constexpr, CAUSAL: tl.constexpr, HAS_PAD: tl.constexpr, TANH: tl.constexpr,
              EVEN_D: tl.constexpr, PRECISION: tl.constexpr, BLOCK_N: tl.constexpr):  # fmt: skip
    """``dQ += dS K`` (unscaled) over the key tiles starting in ``[start, end)``."""
    for start_n in range(start, end, BLOCK_N):
        start_n = tl.multiple_of(start_n, BLOCK_N)
        k, v, p = _key_tile(q, k_base, v_base, pad_row, offs_m, offs_d, start_n,
                            stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
                            MASKED, CAUSAL, HAS_PAD, TANH, EVEN_D, PRECISION, BLOCK_N)  # fmt: skip
        dp = tl.dot(do, tl.trans(v), input_precision=PRECISION)
        ds = p * (1.0 - p) * dp
        dq = tl.dot(ds.to(k.dtype), k, dq, input_precision=PRECISION)
    return dq


@_tuned(_BWD_CONFIGS, "dq")
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
    TANH: tl.constexpr,
    PRECISION: tl.constexpr,
    EVEN_D: tl.constexpr,
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
    q = _load_tile(Q + b * stride_qb + h * stride_qh, offs_m, offs_d, stride_qm, stride_qd, n_queries, head_dim,
                   True, EVEN_D)  # fmt: skip
    do = _load_tile(DO + b * stride_dob + h * stride_doh, offs_m, offs_d, stride_dom, stride_dod, n_queries,
                    head_dim, True, EVEN_D)  # fmt: skip
    k_base = K + b * stride_kb + hk * stride_kh
    v_base = V + b * stride_vb + hk * stride_vh
    pad_row = PAD + b * stride_pb
    causal_offset = n_keys - n_queries
    interior, end = _key_split(start_m, n_queries, n_keys, CAUSAL, BLOCK_M, BLOCK_N)

    dq = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    dq = _dq_tiles(dq, q, do, k_base, v_base, pad_row, offs_m, offs_d, 0, interior,
                   stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
                   False, CAUSAL, HAS_PAD, TANH, EVEN_D, PRECISION, BLOCK_N)  # fmt: skip
    dq = _dq_tiles(dq, q, do, k_base, v_base, pad_row, offs_m, offs_d, interior, end,
                   stride_kn, stride_kd, stride_vn, stride_vd, scale, bias, n_keys, head_dim, causal_offset,
                   True, CAUSAL, HAS_PAD, TANH, EVEN_D, PRECISION, BLOCK_N)  # fmt: skip

    dq_base = DQ + b * stride_dqb + h * stride_dqh
    _store_rows(dq_base, (dq * scale).to(DQ.dtype.element_ty), offs_m, offs_d, stride_dqm, stride_dqd, n_queries, head_dim)


def _strides(t: torch.Tensor) -> tuple[int, ...]:
    return tuple(t.stride())


def _launch_options(head_dim: int, dtype: torch.dtype, causal: bool, has_pad: bool, tanh: bool) -> dict:
    """Compile-time arguments common to the three kernels."""
    block_d = max(16, triton.next_power_of_2(head_dim))
    # IEEE for float32 inputs: TF32 would cost ~3 decimal digits; half inputs ignore it.
    options = dict(
        CAUSAL=causal, HAS_PAD=has_pad, TANH=tanh, EVEN_D=block_d == head_dim, BLOCK_D=block_d,
        PRECISION="ieee" if dtype == torch.float32 else "tf32",
    )  # fmt: skip
    if INTERPRET:
        options.update(BLOCK_M=INTERPRETER_BLOCK, BLOCK_N=INTERPRETER_BLOCK)
    return options


class _FlashSigmoidAttention(torch.autograd.Function):
    """Autograd function running the fused Triton kernels."""

    @staticmethod
    def forward(ctx, q, k, v, scale, bias, causal, pad, tanh):
        batch, heads, n_queries, head_dim = q.shape
        kv_heads, n_keys = k.shape[1], k.shape[2]
        has_pad = pad is not None
        pad_arg = pad if has_pad else torch.zeros(1, 1, dtype=torch.uint8, device=q.device)
        out = torch.empty_like(q)
        opts = _launch_options(head_dim, q.dtype, causal, has_pad, tanh)

        def grid(meta):
            return (triton.cdiv(n_queries, meta["BLOCK_M"]), batch * heads)

        _fwd_kernel[grid](
            q, k, v, out, pad_arg,
            *_strides(q), *_strides(k), *_strides(v), *_strides(out), pad_arg.stride(0),
            scale, bias, heads, n_queries, n_keys, head_dim, GROUP=heads // kv_heads, **opts,
        )  # fmt: skip
        ctx.save_for_backward(q, k, v, pad_arg)
        ctx.config = (scale, bias, causal, has_pad, tanh)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        q, k, v, pad_arg = ctx.saved_tensors
        scale, bias, causal, has_pad, tanh = ctx.config
        batch, heads, n_queries, head_dim = q.shape
        kv_heads, n_keys = k.shape[1], k.shape[2]
        do = grad_out.contiguous()
        dq = torch.empty_like(q)
        dk = torch.empty_like(k)
        dv = torch.empty_like(v)
        opts = dict(GROUP=heads // kv_heads, **_launch_options(head_dim, q.dtype, causal, has_pad, tanh))

        def grid_kv(meta):
            return (triton.cdiv(n_keys, meta["BLOCK_N"]), batch * kv_heads)

        _dkdv_kernel[grid_kv](
            q, k, v, do, dk, dv, pad_arg,
            *_strides(q), *_strides(k), *_strides(v), *_strides(do), *_strides(dk), *_strides(dv),
            pad_arg.stride(0), scale, bias, kv_heads, n_queries, n_keys, head_dim, **opts,
        )  # fmt: skip

        def grid_q(meta):
            return (triton.cdiv(n_queries, meta["BLOCK_M"]), batch * heads)

        _dq_kernel[grid_q](
            q, k, v, do, dq, pad_arg,
            *_strides(q), *_strides(k), *_strides(v), *_strides(do), *_strides(dq),
            pad_arg.stride(0), scale, bias, heads, n_queries, n_keys, head_dim, **opts,
        )  # fmt: skip
        return dq, dk, dv, None, None, None, None, None


def sigmoid_attention_triton(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float,
    bias: float,
    causal: bool = False,
    key_padding_mask: torch.Tensor | None = None,
    sigmoid_impl: str = "exact",
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
    sigmoid_impl : {"exact", "tanh"}
        ``tl.sigmoid``, or ``0.5 * tanh(0.5 s) + 0.5`` (``tanh.approx.f32``
        on CUDA; see the module docstring).

    Returns
    -------
    torch.Tensor
        (batch, heads, n_queries, head_dim), dtype of ``q``.
    """
    pad = None
    if key_padding_mask is not None:
        pad = key_padding_mask.to(device=q.device, dtype=torch.uint8).contiguous()
    return _FlashSigmoidAttention.apply(
        q, k, v, float(scale), float(bias), bool(causal), pad, sigmoid_impl == "tanh"
    )


__all__ = [
    "INTERPRET",
    "INTERPRETER_BLOCK",
    "HARDWARE_TANH",
    "MAX_REGISTERS_PER_THREAD",
    "prune_configs",
    "sigmoid_attention_triton",
]

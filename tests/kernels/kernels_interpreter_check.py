"""Accuracy check of the Triton sigmoid-attention kernels under Triton's CPU interpreter.

Run as a script in a fresh process (``tests/kernels/test_kernels_triton.py`` does so):
Triton decides whether to interpret a kernel when the kernel is defined, so
``TRITON_INTERPRET=1`` has to be in the environment before
``kernels.triton_sigmoid`` is imported, which a pytest process that already
imported it cannot guarantee.

For each case the output and the gradients of q, k and v from the kernels are
compared with a float64 reference. The interpreter runs 32 x 32 tiles, so the
cases cover every branch of the split loops: interior (unmasked) tiles, tiles
on a causal diagonal aligned with the tiles and not, ragged last tiles of the
queries and of the keys (and sequences with none), a head dim that is a power
of two and ones that are not, grouped-query attention, padding masks, strided
inputs, and ``sigmoid_impl="tanh"``. The criterion of the field (FlashSigmoid,
Ramapuram et al. 2024): the kernel's error may be at most twice the error of the same
math done by PyTorch at the kernel's precision, plus a small absolute slack.
The kernels must also agree with the blockwise PyTorch fallback. For the
``tanh`` cases the "same math" and fallback use the tanh formula too, and the
script also prints the tanh kernels' max and mean absolute difference from the
exact-sigmoid kernels on the same inputs (lines starting ``tanh-vs-exact``),
which must be nonzero (the variant was really run) and at most ``TANH_BOUND``.

Usage::

    TRITON_INTERPRET=1 python tests/kernels/kernels_interpreter_check.py --dtype float32

Prints one line per case and exits with status 1 if any case fails.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch

# (name, batch, heads, kv_heads, n_queries, n_keys, head_dim, causal, padded, strided, sigmoid_impl)
CASES = [
    ("square-d40", 1, 2, 2, 97, 97, 40, False, False, False, "exact"),  # ragged q and k tiles
    ("square-causal-d64", 1, 2, 2, 97, 97, 64, True, False, False, "exact"),  # aligned diagonal, ragged
    ("gqa-200-strided", 2, 4, 2, 200, 200, 40, True, False, True, "exact"),
    ("cross-padded-mqa", 2, 2, 1, 97, 200, 64, False, True, False, "exact"),
    ("cross-causal-padded", 1, 2, 1, 97, 200, 40, True, True, False, "exact"),  # unaligned diagonal
    ("more-queries-causal", 1, 2, 2, 200, 97, 64, True, False, False, "exact"),  # rows that see no key
    ("aligned-causal-gqa-d32", 1, 2, 1, 96, 96, 32, True, False, False, "exact"),  # no ragged tile
    ("aligned-padded-d16", 1, 1, 1, 64, 96, 16, False, True, False, "exact"),  # no edge tile at all
    ("tanh-causal-padded", 1, 2, 1, 97, 130, 40, True, True, False, "tanh"),
    ("tanh-gqa-strided", 2, 4, 2, 70, 70, 64, False, False, True, "tanh"),
]

# Absolute slack on top of twice PyTorch's own error, per dtype.
SLACK = {torch.float32: 2e-7, torch.float16: 5e-4}

# Largest allowed max |tanh kernel - exact kernel| (output and gradients) per dtype. Under the
# interpreter tanh goes through an exponential, so the two differ by rounding only.
TANH_BOUND = {torch.float32: 1e-5, torch.float16: 2e-3}


def _make(case, dtype, seed):
    _, batch, heads, kv_heads, n_q, n_k, dim, causal, padded, strided, _ = case
    gen = torch.Generator().manual_seed(seed)
    if strided:  # (batch, seq, heads, dim) storage seen through a transpose, as modules produce
        q = torch.randn(batch, n_q, heads, dim, generator=gen).transpose(1, 2)
        k = torch.randn(batch, n_k, kv_heads, dim, generator=gen).transpose(1, 2)
        v = torch.randn(batch, n_k, kv_heads, dim, generator=gen).transpose(1, 2)
    else:
        q = torch.randn(batch, heads, n_q, dim, generator=gen)
        k = torch.randn(batch, kv_heads, n_k, dim, generator=gen)
        v = torch.randn(batch, kv_heads, n_k, dim, generator=gen)
    grad = torch.randn(batch, heads, n_q, dim, generator=gen)
    mask = None
    if padded:
        mask = torch.rand(batch, n_k, generator=gen) < 0.25
        mask[:, 0] = False
    # Round once to the test dtype so every path sees exactly the same inputs.
    q, k, v, grad = (t.to(dtype) for t in (q, k, v, grad))
    return q, k, v, grad, mask, causal


def _output_and_grads(fn, q, k, v, grad):
    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))  # keeps the strides
    out = fn(q, k, v)
    dq, dk, dv = torch.autograd.grad(out, (q, k, v), grad)
    return [out.detach(), dq, dk, dv]


def run(dtype: torch.dtype, seed: int = 0) -> bool:
    from kernels import sigmoid_attention
    from kernels.torch_sigmoid import sigmoid_attention_naive

    ok = True
    for case in CASES:
        name, dim, impl = case[0], case[6], case[10]
        q, k, v, grad, mask, causal = _make(case, dtype, seed)
        scale, bias = 1 / math.sqrt(dim), -math.log(k.shape[2])

        def attention(backend, sigmoid_impl=impl):
            return lambda a, b, c: sigmoid_attention(
                a, b, c, causal=causal, key_padding_mask=mask, backend=backend, sigmoid_impl=sigmoid_impl
            )

        start = time.perf_counter()
        kernel = _output_and_grads(attention("triton"), q, k, v, grad)
        seconds = time.perf_counter() - start
        fallback = _output_and_grads(attention("torch"), q, k, v, grad)

        def naive(a, b, c):
            return sigmoid_attention_naive(
                a, b, c, scale=scale, bias=bias, causal=causal, key_padding_mask=mask, sigmoid_impl=impl
            )

        same_math = _output_and_grads(naive, q, k, v, grad)
        exact = _output_and_grads(naive, q.double(), k.double(), v.double(), grad.double())
        for label, got, torch_low, fb, ref in zip(("out", "dq", "dk", "dv"), kernel, same_math, fallback, exact):
            assert got.dtype == dtype and got.shape == ref.shape, (label, got.dtype, got.shape)
            err = (got.double() - ref).abs().max().item()
            torch_err = (torch_low.double() - ref).abs().max().item()
            fb_gap = (got.double() - fb.double()).abs().max().item()
            bound = 2 * torch_err + SLACK[dtype]
            passed = err <= bound and fb_gap <= 2 * bound and math.isfinite(err)
            ok &= passed
            print(
                f"{'ok  ' if passed else 'FAIL'} {dtype} {name:22s} {label}: kernel err {err:.2e}, "
                f"torch err {torch_err:.2e}, bound {bound:.2e}, kernel-fallback {fb_gap:.2e} ({seconds:.1f}s)"
            )
        if impl == "tanh":
            ok &= _compare_with_exact(dtype, name, kernel, _output_and_grads(attention("triton", "exact"), q, k, v, grad))
    return ok


def _compare_with_exact(dtype, name, tanh_results, exact_results) -> bool:
    """Print the tanh kernels' max / mean abs difference from the exact-sigmoid kernels; check the bound."""
    ok = True
    for label, got, exact in zip(("out", "dq", "dk", "dv"), tanh_results, exact_results):
        diff = (got.double() - exact.double()).abs()
        # Nonzero: the flag reached the kernels (the two formulas round differently).
        passed = 0 < diff.max().item() <= TANH_BOUND[dtype]
        ok &= passed
        print(
            f"tanh-vs-exact {'ok  ' if passed else 'FAIL'} {dtype} {name:22s} {label}: max {diff.max().item():.2e}, "
            f"mean {diff.mean().item():.2e}, bound {TANH_BOUND[dtype]:.0e}"
        )
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float32", "float16"], default="float32")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") != "1":
        print("TRITON_INTERPRET=1 must be set before running this check", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    return 0 if run(getattr(torch, args.dtype), args.seed) else 1


if __name__ == "__main__":
    sys.exit(main())

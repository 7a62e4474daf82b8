"""Benchmark sigmoid attention: our kernels against softmax SDPA and naive sigmoid attention.

For each head dim, sequence length and causal setting it times the forward,
the backward and forward + backward of

* ``sigmoid-triton``: :func:`kernels.sigmoid_attention` with the fused Triton
  kernels (CUDA only); ``sigmoid-triton-tanh`` the same with
  ``sigmoid_impl="tanh"``;
* ``sigmoid-torch``: the same function with the blockwise PyTorch fallback
  (``sigmoid-torch-tanh``: with ``sigmoid_impl="tanh"``);
* ``sdpa-flash``: PyTorch's softmax ``scaled_dot_product_attention`` restricted
  to the flash backend (``torch.nn.attention.sdpa_kernel``); ``sdpa-math``
  restricted to the math backend (runs anywhere: the CPU stand-in of
  ``benchmarks/gpu_check.py --dry-run``);
* ``sigmoid-naive``: sigmoid attention as plain PyTorch ops (full score matrix),

and reports milliseconds, TFLOP/s and the fraction of the peak throughput
(989 TFLOP/s, H100 SXM dense bf16, by default). FLOP convention (Ramapuram et
al., 2024; FlashAttention): forward ``4 * B * H * N^2 * d``, halved when
causal; backward 2.5 times the forward; forward + backward 3.5 times.

The batch size is ``--batch-tokens // N`` and the number of heads
``--model-dim // d``, so every row of the table moves the same number of
tokens (the FlashAttention benchmark convention: 16k tokens, model width 2048
on CUDA; much smaller defaults on CPU, where only a smoke run makes sense).

Examples
--------
On an H100::

    python benchmarks/attention.py --output attention_h100.json

The tiny CPU configuration CI runs to check this script::

    python benchmarks/attention.py --device cpu --seqs 128 --head-dims 64 \\
        --providers sigmoid-torch sigmoid-naive --output attention_cpu.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from typing import Callable

import torch
import torch.nn.functional as F

from kernels import sigmoid_attention
from kernels.torch_sigmoid import sigmoid_attention_naive

H100_BF16_PEAK_TFLOPS = 989.0
PROVIDERS = (
    "sigmoid-triton", "sigmoid-triton-tanh", "sigmoid-torch", "sigmoid-torch-tanh",
    "sdpa-flash", "sdpa-math", "sigmoid-naive",
)  # fmt: skip
MODES = ("fwd", "bwd", "fwd+bwd")
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}


def attention_flops(batch: int, heads: int, seq: int, head_dim: int, causal: bool, mode: str) -> float:
    """Floating-point operations of one attention call under the usual convention.

    Parameters
    ----------
    batch, heads, seq, head_dim : int
        Problem size (query and key length both ``seq``).
    causal : bool
        Halves the count.
    mode : {"fwd", "bwd", "fwd+bwd"}
        Forward ``4 B H N^2 d``; backward 2.5x that; both 3.5x.

    Returns
    -------
    float
        FLOPs.
    """
    forward = 4.0 * batch * heads * seq * seq * head_dim / (2.0 if causal else 1.0)
    return forward * {"fwd": 1.0, "bwd": 2.5, "fwd+bwd": 3.5}[mode]


def _attention_fn(provider: str, causal: bool) -> Callable:
    if provider.startswith(("sigmoid-triton", "sigmoid-torch")):
        backend = provider.split("-")[1]
        impl = "tanh" if provider.endswith("-tanh") else "exact"
        return lambda q, k, v: sigmoid_attention(q, k, v, causal=causal, backend=backend, sigmoid_impl=impl)
    if provider == "sigmoid-naive":
        return lambda q, k, v: sigmoid_attention_naive(
            q, k, v, scale=1 / math.sqrt(q.shape[-1]), bias=-math.log(k.shape[2]), causal=causal
        )
    if provider in ("sdpa-flash", "sdpa-math"):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        sdpa_backend = SDPBackend.FLASH_ATTENTION if provider == "sdpa-flash" else SDPBackend.MATH

        def sdpa(q, k, v):
            with sdpa_kernel(sdpa_backend):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

        return sdpa
    raise ValueError(f"unknown provider {provider!r}; expected one of {PROVIDERS}")


def _time_ms(fn: Callable[[], object], device: torch.device, warmup: int, rep: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    if device.type == "cuda":
        import triton.testing

        return float(triton.testing.do_bench(fn, warmup=warmup, rep=rep, return_mode="median"))
    for _ in range(max(1, warmup // 25)):
        fn()
    times = []
    for _ in range(max(3, rep // 25)):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def bench_one(
    provider: str,
    mode: str,
    batch: int,
    heads: int,
    seq: int,
    head_dim: int,
    causal: bool,
    dtype: torch.dtype,
    device: torch.device,
    warmup: int = 25,
    rep: int = 100,
) -> float:
    """Time one (provider, mode, shape) combination; returns milliseconds."""
    gen = torch.Generator(device=device).manual_seed(0)
    q, k, v = (
        torch.randn(batch, heads, seq, head_dim, device=device, dtype=dtype, generator=gen).requires_grad_(
            mode != "fwd"
        )
        for _ in range(3)
    )
    attention = _attention_fn(provider, causal)
    if mode == "fwd":
        with torch.no_grad():
            return _time_ms(lambda: attention(q, k, v), device, warmup, rep)
    grad = torch.randn(batch, heads, seq, head_dim, device=device, dtype=dtype, generator=gen)
    if mode == "bwd":
        out = attention(q, k, v)
        return _time_ms(lambda: torch.autograd.grad(out, (q, k, v), grad, retain_graph=True), device, warmup, rep)
    return _time_ms(lambda: torch.autograd.grad(attention(q, k, v), (q, k, v), grad), device, warmup, rep)


def run(args: argparse.Namespace) -> list[dict]:
    """Run every configuration named by the parsed arguments; returns the table rows."""
    device = torch.device(args.device)
    dtype = DTYPES[args.dtype]
    rows = []
    for head_dim in args.head_dims:
        heads = max(1, args.model_dim // head_dim)
        for causal in args.causal:
            for seq in args.seqs:
                batch = max(1, args.batch_tokens // seq)
                for mode in args.modes:
                    flops = attention_flops(batch, heads, seq, head_dim, causal, mode)
                    for provider in args.providers:
                        row = dict(
                            provider=provider, mode=mode, causal=causal, seq=seq, head_dim=head_dim,
                            batch=batch, heads=heads, dtype=args.dtype, device=str(device),
                            ms=None, tflops=None, peak_fraction=None, error=None,
                        )  # fmt: skip
                        try:
                            ms = bench_one(provider, mode, batch, heads, seq, head_dim, causal, dtype, device,
                                           args.warmup, args.rep)  # fmt: skip
                        except torch.cuda.OutOfMemoryError:
                            row["error"] = "out of memory"
                        except (RuntimeError, ValueError, NotImplementedError) as exc:
                            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                        else:
                            tflops = flops / (ms * 1e-3) / 1e12
                            row.update(ms=ms, tflops=tflops, peak_fraction=tflops / args.peak_tflops)
                        finally:
                            if device.type == "cuda":
                                torch.cuda.empty_cache()
                        rows.append(row)
                        print(_format_row(row), flush=True)
    return rows


_HEADER = f"{'provider':15s} {'mode':8s} {'causal':6s} {'seq':>6s} {'d':>4s} {'B':>4s} {'H':>3s} {'ms':>10s} {'TFLOP/s':>9s} {'%peak':>6s}"


def _format_row(row: dict) -> str:
    if row["ms"] is None:
        timing = f"{row['error']}"
    else:
        timing = f"{row['ms']:10.3f} {row['tflops']:9.4g} {100 * row['peak_fraction']:6.2g}"
    return (
        f"{row['provider']:15s} {row['mode']:8s} {str(row['causal']):6s} {row['seq']:6d} "
        f"{row['head_dim']:4d} {row['batch']:4d} {row['heads']:3d} {timing}"
    )


def write_json_atomic(path: str, payload: dict) -> None:
    """Write ``payload`` as JSON to ``path`` through a temporary file in the same folder."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".attention-", suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle, indent=2)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _parse_causal(value: str) -> list[bool]:
    return {"both": [False, True], "true": [True], "false": [False]}[value]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help=f"torch device (default {default_device})")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None,
                        help="bfloat16 on CUDA, float32 on CPU by default")  # fmt: skip
    parser.add_argument("--seqs", type=int, nargs="+", default=[512, 1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--head-dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--causal", type=_parse_causal, default=[False, True], metavar="{both,true,false}")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--providers", nargs="+", choices=PROVIDERS, default=None,
                        help="default: sigmoid-triton, sdpa-flash, sigmoid-naive on CUDA; "
                             "sigmoid-torch, sigmoid-naive on CPU")  # fmt: skip
    parser.add_argument("--batch-tokens", type=int, default=None,
                        help="batch size = this // seq (default 16384 on CUDA, 512 on CPU)")  # fmt: skip
    parser.add_argument("--model-dim", type=int, default=None,
                        help="heads = this // head_dim (default 2048 on CUDA, 128 on CPU)")  # fmt: skip
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_PEAK_TFLOPS)
    parser.add_argument("--warmup", type=int, default=25, help="warm-up time (ms on CUDA)")
    parser.add_argument("--rep", type=int, default=100, help="measurement time (ms on CUDA)")
    parser.add_argument("--output", help="write the table as JSON here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cuda = args.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        print("--device cuda requested but no CUDA device is available", file=sys.stderr)
        return 2
    if args.dtype is None:
        args.dtype = "bfloat16" if cuda else "float32"
    if args.batch_tokens is None:
        args.batch_tokens = 16384 if cuda else 512
    if args.model_dim is None:
        args.model_dim = 2048 if cuda else 128
    if args.providers is None:
        args.providers = ["sigmoid-triton", "sdpa-flash", "sigmoid-naive"] if cuda else ["sigmoid-torch", "sigmoid-naive"]
    if not cuda and any(p.startswith("sigmoid-triton") for p in args.providers):
        print("sigmoid-triton needs a CUDA device", file=sys.stderr)
        return 2
    device_name = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"# {device_name}, {args.dtype}, peak {args.peak_tflops} TFLOP/s")
    print(_HEADER)
    rows = run(args)
    if args.output:
        payload = {
            "device": device_name,
            "torch": torch.__version__,
            "dtype": args.dtype,
            "peak_tflops": args.peak_tflops,
            "flops_convention": "fwd 4*B*H*N^2*d (halved when causal); bwd 2.5x fwd; fwd+bwd 3.5x fwd",
            "rows": rows,
        }
        write_json_atomic(args.output, payload)
        print(f"# wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

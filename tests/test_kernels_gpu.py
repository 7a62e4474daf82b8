"""The compiled Triton kernels on a CUDA device: bf16/fp16 accuracy up to 16k tokens.

Skipped (with the reason printed by ``pytest -rs``) when no CUDA device or no
Triton is available, which is the case in CPU-only CI; the interpreter-based
checks in ``test_kernels_triton.py`` cover the kernels' logic there.
"""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton"),
]

# Absolute slack on top of twice PyTorch's own error at the same precision.
SLACK = {torch.bfloat16: 4e-3, torch.float16: 5e-4, torch.float32: 1e-5}


def _errors(dtype, batch, heads, kv_heads, n_q, n_k, dim, causal, padded, seed=0):
    from kernels import sigmoid_attention
    from kernels.torch_sigmoid import sigmoid_attention_naive

    gen = torch.Generator(device="cuda").manual_seed(seed)
    q = torch.randn(batch, heads, n_q, dim, device="cuda", generator=gen).to(dtype)
    k = torch.randn(batch, kv_heads, n_k, dim, device="cuda", generator=gen).to(dtype)
    v = torch.randn(batch, kv_heads, n_k, dim, device="cuda", generator=gen).to(dtype)
    grad = torch.randn(batch, heads, n_q, dim, device="cuda", generator=gen).to(dtype)
    mask = (torch.rand(batch, n_k, device="cuda", generator=gen) < 0.2) if padded else None
    scale, bias = 1 / math.sqrt(dim), -math.log(n_k)

    def run(fn, *tensors):
        leaves = [t.detach().requires_grad_() for t in tensors]
        out = fn(*leaves)
        return [out.detach(), *torch.autograd.grad(out, leaves, grad.to(out.dtype))]

    def naive(a, b, c):
        return sigmoid_attention_naive(a, b, c, scale=scale, bias=bias, causal=causal, key_padding_mask=mask)

    kernel = run(lambda a, b, c: sigmoid_attention(a, b, c, causal=causal, key_padding_mask=mask), q, k, v)
    same = run(naive, q, k, v)
    prev = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        exact = run(naive, q.float(), k.float(), v.float())
    finally:
        torch.backends.cuda.matmul.allow_tf32 = prev
    return [
        (label, (a.float() - r).abs().max().item(), (b.float() - r).abs().max().item())
        for label, a, b, r in zip(("out", "dq", "dk", "dv"), kernel, same, exact)
    ]


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(
    "n_q, n_k, dim",
    [(512, 512, 64), (1025, 1025, 128), (97, 1025, 80), (1025, 200, 111), (4096, 4096, 64), (16384, 16384, 128)],
)
def test_kernel_error_at_most_twice_pytorch(dtype, causal, n_q, n_k, dim):
    batch, heads = (1, 2) if n_q >= 4096 else (2, 4)
    for label, err, torch_err in _errors(dtype, batch, heads, heads // 2, n_q, n_k, dim, causal, padded=n_q < 4096):
        assert err <= 2 * torch_err + SLACK[dtype], (label, err, torch_err)


def test_float32_kernel_matches_fallback_and_auto_picks_triton(monkeypatch):
    from kernels import sigmoid_attention
    import kernels.triton_sigmoid as ts

    calls = []
    original = ts.sigmoid_attention_triton
    monkeypatch.setattr(ts, "sigmoid_attention_triton", lambda *a, **kw: calls.append(1) or original(*a, **kw))
    q, k, v = (torch.randn(2, 4, 300, 40, device="cuda") for _ in range(3))
    out = sigmoid_attention(q, k, v, causal=True)
    assert calls == [1]
    fallback = sigmoid_attention(q, k, v, causal=True, backend="torch")
    torch.testing.assert_close(out, fallback, rtol=1e-4, atol=1e-5)


def test_module_trains_on_gpu_in_bf16():
    from kernels import SigmoidTransformerBlock

    block = SigmoidTransformerBlock(128, 2, num_kv_heads=1).cuda()
    x = torch.randn(4, 1000, 128, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = block(x)
    out.float().pow(2).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in block.parameters())

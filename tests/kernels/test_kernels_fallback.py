"""The public sigmoid_attention function and its blockwise PyTorch backend (CPU)."""

from __future__ import annotations

import math

import pytest
import torch

import kernels
from kernels import sigmoid_attention
from kernels import torch_sigmoid
from kernels.torch_sigmoid import (
    causal_key_limit,
    sigmoid_attention_naive,
    sigmoid_attention_torch,
)
from neurokit.exceptions import DataValidationError, InvalidParameterError


def _inputs(batch, heads, kv_heads, n_q, n_k, dim, dtype=torch.float64, seed=0, grad=False):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(batch, heads, n_q, dim, generator=gen, dtype=dtype)
    k = torch.randn(batch, kv_heads, n_k, dim, generator=gen, dtype=dtype)
    v = torch.randn(batch, kv_heads, n_k, dim, generator=gen, dtype=dtype)
    return [t.requires_grad_(grad) for t in (q, k, v)]


def _padding(batch, n_k, seed=1):
    mask = torch.rand(batch, n_k, generator=torch.Generator().manual_seed(seed)) < 0.3
    mask[:, 0] = False  # keep at least one key per row
    return mask


def _reference(q, k, v, causal=False, mask=None, bias=None, scale=None):
    """Sigmoid attention written out element by element in float64 (independent of both backends)."""
    q, k, v = q.double(), k.double(), v.double()
    batch, heads, n_q, dim = q.shape
    kv_heads, n_k = k.shape[1], k.shape[2]
    scale = 1 / math.sqrt(dim) if scale is None else scale
    bias = -math.log(n_k) if bias is None else bias
    out = torch.zeros(batch, heads, n_q, dim, dtype=torch.float64)
    for h in range(heads):
        hk = h // (heads // kv_heads)
        s = q[:, h] @ k[:, hk].transpose(-1, -2) * scale + bias
        p = torch.sigmoid(s)
        if causal:  # bottom-right aligned: query i sees key j iff j <= i + n_k - n_q
            i = torch.arange(n_q)[:, None]
            j = torch.arange(n_k)[None, :]
            p = p.masked_fill(j > i + n_k - n_q, 0.0)
        if mask is not None:
            p = p * (~mask)[:, None, :]
        out[:, h] = p @ v[:, hk]
    return out


CASES = [
    # batch, heads, kv_heads, n_q, n_k, dim, causal, padded
    (2, 2, 2, 9, 9, 4, False, False),
    (1, 4, 2, 7, 11, 3, True, False),
    (2, 4, 1, 11, 7, 5, True, True),
    (1, 2, 2, 6, 13, 4, False, True),
]


@pytest.mark.parametrize("case", CASES)
def test_matches_elementwise_reference(case):
    batch, heads, kv_heads, n_q, n_k, dim, causal, padded = case
    q, k, v = _inputs(batch, heads, kv_heads, n_q, n_k, dim)
    mask = _padding(batch, n_k) if padded else None
    expected = _reference(q, k, v, causal, mask)
    got = sigmoid_attention(q, k, v, causal=causal, key_padding_mask=mask, backend="torch")
    naive = sigmoid_attention_naive(
        q, k, v, scale=1 / math.sqrt(dim), bias=-math.log(n_k), causal=causal, key_padding_mask=mask
    )
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(naive, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_gradcheck_blockwise(case):
    batch, heads, kv_heads, n_q, n_k, dim, causal, padded = case
    q, k, v = _inputs(batch, heads, kv_heads, n_q, n_k, dim, grad=True)
    mask = _padding(batch, n_k) if padded else None

    def fn(q, k, v):  # blocks of 4 x 3 so every case spans several blocks and ragged edges
        return sigmoid_attention_torch(
            q, k, v, scale=0.7, bias=-0.5, causal=causal, key_padding_mask=mask, block_q=4, block_k=3
        )

    assert torch.autograd.gradcheck(fn, (q, k, v), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradients_match_autograd_of_naive():
    q, k, v = _inputs(2, 4, 2, 21, 17, 8, dtype=torch.float32, grad=True)
    mask = _padding(2, 17)
    out = sigmoid_attention(q, k, v, causal=True, key_padding_mask=mask, bias=-1.0, scale=0.3, backend="torch")
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, (q, k, v), grad)
    ref = sigmoid_attention_naive(q, k, v, scale=0.3, bias=-1.0, causal=True, key_padding_mask=mask)
    expected = torch.autograd.grad(ref, (q, k, v), grad)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)


def test_block_size_does_not_change_result_and_blocks_stay_small(monkeypatch):
    q, k, v = _inputs(1, 2, 1, 50, 70, 8, grad=True)
    shapes = []
    original = torch_sigmoid._probabilities

    def spy(q_blk, k_blk, *args):
        p = original(q_blk, k_blk, *args)
        shapes.append(tuple(p.shape[-2:]))
        return p

    monkeypatch.setattr(torch_sigmoid, "_probabilities", spy)
    kwargs = dict(scale=0.4, bias=-2.0, causal=True)
    small = sigmoid_attention_torch(q, k, v, block_q=16, block_k=8, **kwargs)
    small.sum().backward()
    grads_small = [t.grad.clone() for t in (q, k, v)]
    assert shapes and max(s[0] for s in shapes) <= 16 and max(s[1] for s in shapes) <= 8
    for t in (q, k, v):
        t.grad = None
    shapes.clear()
    big = sigmoid_attention_torch(q, k, v, block_q=512, block_k=512, **kwargs)
    big.sum().backward()
    assert shapes == [(50, 70), (50, 70)]  # one block forward, one backward
    torch.testing.assert_close(small, big, rtol=1e-12, atol=1e-12)
    for gs, t in zip(grads_small, (q, k, v)):
        torch.testing.assert_close(gs, t.grad, rtol=1e-12, atol=1e-12)


def test_causal_skips_blocks_entirely_hidden():
    # With 64 queries and keys and 16 x 16 blocks, a causal pass visits 10 of the 16 blocks.
    calls = []
    original = torch_sigmoid._probabilities
    torch_sigmoid._probabilities = lambda *a: calls.append(1) or original(*a)
    try:
        q, k, v = _inputs(1, 1, 1, 64, 64, 4)
        sigmoid_attention_torch(q, k, v, scale=1.0, bias=0.0, causal=True, block_q=16, block_k=16)
    finally:
        torch_sigmoid._probabilities = original
    assert len(calls) == 10


def test_causal_is_bottom_right_aligned():
    assert causal_key_limit(0, 5, 5) == 1
    assert causal_key_limit(4, 5, 5) == 5
    assert causal_key_limit(0, 3, 8) == 6  # more keys: the last query sees all keys
    assert causal_key_limit(2, 3, 8) == 8
    assert causal_key_limit(0, 8, 3) == 0  # more queries: the first rows see nothing
    assert causal_key_limit(5, 8, 3) == 1
    q, k, v = _inputs(1, 1, 1, 8, 3, 4)
    out = sigmoid_attention(q, k, v, causal=True, backend="torch")
    assert torch.all(out[0, 0, :5] == 0)
    assert torch.all(out[0, 0, 5:].abs() > 0)


def test_defaults_are_paper_scale_and_bias():
    q, k, v = _inputs(1, 2, 2, 5, 12, 16)
    out = sigmoid_attention(q, k, v, backend="torch")
    explicit = sigmoid_attention(q, k, v, scale=0.25, bias=-math.log(12), backend="torch")
    torch.testing.assert_close(out, explicit, rtol=0, atol=0)
    other = sigmoid_attention(q, k, v, scale=0.25, bias=0.0, backend="torch")
    assert not torch.allclose(out, other)


def test_fully_padded_keys_give_zero_output():
    q, k, v = _inputs(2, 2, 2, 4, 6, 8)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[1] = True
    out = sigmoid_attention(q, k, v, key_padding_mask=mask, backend="torch")
    assert torch.all(out[1] == 0) and torch.all(out[0].abs() > 0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision_dtypes_round_trip(dtype):
    q, k, v = _inputs(1, 2, 1, 33, 20, 16, dtype=dtype, grad=True)
    out = sigmoid_attention(q, k, v, causal=True, backend="torch")
    assert out.dtype == dtype and out.shape == q.shape
    out.float().sum().backward()
    assert all(t.grad.dtype == dtype for t in (q, k, v))
    expected = _reference(q.detach(), k.detach(), v.detach(), causal=True)
    tol = {torch.float16: 1e-2, torch.bfloat16: 5e-2, torch.float32: 1e-5}[dtype]
    torch.testing.assert_close(out.double(), expected, rtol=tol, atol=tol)


def test_auto_uses_torch_on_cpu(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "kernels.dispatch.sigmoid_attention_torch", lambda *a, **kw: calls.append(kw) or a[0]
    )
    q, k, v = _inputs(1, 1, 1, 3, 3, 4, dtype=torch.float32)
    sigmoid_attention(q, k, v)
    assert calls and calls[0]["scale"] == 0.5


def _bad(msg_part, error=DataValidationError, **overrides):
    q, k, v = _inputs(2, 4, 2, 5, 6, 8, dtype=torch.float32)
    args = dict(q=q, k=k, v=v)
    args.update(overrides)
    kw = {key: args.pop(key) for key in list(args) if key not in ("q", "k", "v")}
    with pytest.raises(error, match=msg_part):
        sigmoid_attention(args["q"], args["k"], args["v"], **kw)


def test_validation_errors_name_the_argument():
    q, k, v = _inputs(2, 4, 2, 5, 6, 8, dtype=torch.float32)
    _bad("q must have shape", q=q[0])
    _bad("k and v must have the same shape", v=v[:, :, :3])
    _bad("multiple of the number of key/value heads", k=k[:, :1].repeat(1, 3, 1, 1), v=v[:, :1].repeat(1, 3, 1, 1))
    _bad("head_dim 8", k=k[..., :4], v=v[..., :4])
    _bad("share one device and dtype", k=k.double())
    _bad("float16, bfloat16, float32 or float64", q=q.int(), k=k.int(), v=v.int())
    _bad("key_padding_mask must be a bool", key_padding_mask=torch.zeros(2, 6))
    _bad(r"key_padding_mask must have shape \(batch, n_keys\)", key_padding_mask=torch.zeros(2, 5, dtype=torch.bool))
    # bad parameters (not bad data) raise InvalidParameterError
    _bad("backend must be", InvalidParameterError, backend="cuda")
    _bad("bias must be a finite real number", InvalidParameterError, bias="big")
    _bad("scale must be a finite real number", InvalidParameterError, scale=float("nan"))
    _bad("causal must be True or False", InvalidParameterError, causal=1)
    _bad(r"sigmoid_impl must be one of \['exact', 'tanh'\]", InvalidParameterError, sigmoid_impl="fast")
    with pytest.raises(InvalidParameterError, match="bias must be a scalar"):
        sigmoid_attention(q, k, v, bias=torch.ones(3))


def test_triton_backend_on_cpu_explains_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    q, k, v = _inputs(1, 1, 1, 3, 3, 4, dtype=torch.float32)
    if kernels.triton_available():
        match = "TRITON_INTERPRET=1"
    else:
        match = "needs the triton package"
    with pytest.raises(DataValidationError, match=match):
        sigmoid_attention(q, k, v, backend="triton")
    with pytest.raises(DataValidationError, match="float16, bfloat16 and float32|needs the triton"):
        sigmoid_attention(q.double(), k.double(), v.double(), backend="triton")


def test_tanh_sigmoid_is_the_logistic_function_up_to_rounding():
    x = torch.linspace(-30, 30, 20001, dtype=torch.float64)
    exact = torch.sigmoid(x)
    assert (torch_sigmoid.sigmoid(x, "tanh") - exact).abs().max() < 1e-15
    assert torch.equal(torch_sigmoid.sigmoid(x, "exact"), exact)
    # float32: the formula's cancellation near sigmoid -> 0 costs an absolute error of about one ulp of 1.
    err32 = (torch_sigmoid.sigmoid(x.float(), "tanh").double() - exact).abs().max()
    assert 0 < err32 < 1.2e-7


@pytest.mark.parametrize("causal, padded", [(False, True), (True, False)])
def test_tanh_attention_matches_exact_and_its_own_naive_gradients(causal, padded):
    q, k, v = _inputs(2, 4, 2, 9, 11, 5, grad=True)
    mask = _padding(2, 11) if padded else None
    out = sigmoid_attention(q, k, v, causal=causal, key_padding_mask=mask, backend="torch", sigmoid_impl="tanh")
    exact = sigmoid_attention(q, k, v, causal=causal, key_padding_mask=mask, backend="torch")
    torch.testing.assert_close(out, exact, rtol=1e-12, atol=1e-12)  # float64: same function
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    naive = sigmoid_attention_naive(
        q, k, v, scale=1 / math.sqrt(5), bias=-math.log(11), causal=causal, key_padding_mask=mask,
        sigmoid_impl="tanh",
    )  # fmt: skip
    for got, want in zip(grads, torch.autograd.grad(naive.sum(), (q, k, v))):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    # In float32 the two formulas differ, by rounding only.
    q32, k32, v32 = (t.detach().float() for t in (q, k, v))
    diff = sigmoid_attention(q32, k32, v32, causal=causal, key_padding_mask=mask, sigmoid_impl="tanh") - (
        sigmoid_attention(q32, k32, v32, causal=causal, key_padding_mask=mask)
    )
    assert 0 < diff.abs().max() < 1e-5


def test_long_sequence_runs_blockwise_on_cpu():
    # 8192 x 8192 scores in float32 per head would be 256 MiB each; blockwise it is 8 MiB at a time.
    q, k, v = _inputs(1, 2, 1, 8192, 8192, 16, dtype=torch.float32, grad=True)
    out = sigmoid_attention(q, k, v, causal=True, backend="torch")
    out[:, :, -3:].sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(k.grad).all()
    # A spot check of the last rows against the exact formula.
    last = _reference(q[:, :, -2:].detach(), k.detach(), v.detach(), causal=True)
    torch.testing.assert_close(out[:, :, -2:].double(), last, rtol=1e-4, atol=1e-4)

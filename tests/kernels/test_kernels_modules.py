"""Sigmoid attention modules: shapes, masks, QK-norm, gradients and a small training run (CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kernels import SigmoidCrossAttention, SigmoidSelfAttention, SigmoidTransformerBlock
from neurokit.exceptions import DataValidationError, InvalidParameterError


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # These tensors are tiny: intra-op threads only add synchronisation cost
    # (20x slower on a busy 2-core machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("num_kv_heads", [None, 2, 1])
def test_self_attention_shape_and_gqa_parameters(num_kv_heads):
    attn = SigmoidSelfAttention(32, 4, num_kv_heads=num_kv_heads, qk_norm=True)
    out = attn(torch.randn(3, 11, 32))
    assert out.shape == (3, 11, 32)
    kv = 4 if num_kv_heads is None else num_kv_heads
    assert attn.kv_proj.out_features == 2 * kv * 8
    assert "num_kv_heads=%d" % kv in repr(attn)


def test_cross_attention_shape_with_other_context_width():
    cross = SigmoidCrossAttention(24, 3, context_dim=40, num_kv_heads=1)
    out = cross(torch.randn(2, 162, 24), torch.randn(2, 49, 40))
    assert out.shape == (2, 162, 24)


@pytest.mark.parametrize("norm", ["hybrid", "layerscale"])
def test_block_shape_and_gradient_reaches_every_parameter(norm):
    block = SigmoidTransformerBlock(32, 4, num_kv_heads=2, norm=norm, context_dim=16, mlp_ratio=2.0)
    x = torch.randn(2, 42, 32, requires_grad=True)
    context = torch.randn(2, 9, 16)
    out = block(x, context=context)
    assert out.shape == x.shape
    out.pow(2).mean().backward()
    for name, param in block.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all() and param.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0


def test_layerscale_starts_near_identity_and_hybrid_does_not():
    x = torch.randn(2, 10, 32)
    scaled = SigmoidTransformerBlock(32, 4, norm="layerscale", layerscale_init=1e-6)
    assert (scaled(x) - x).abs().max() < 1e-4
    hybrid = SigmoidTransformerBlock(32, 4, norm="hybrid")
    assert (hybrid(x) - x).abs().max() > 1e-1
    assert isinstance(hybrid.self_attn_res.post, nn.LayerNorm)


def test_qk_norm_makes_attention_invariant_to_query_key_scale():
    x = torch.randn(2, 7, 16)
    for qk_norm, invariant in ((True, True), (False, False)):
        attn = SigmoidSelfAttention(16, 2, qk_norm=qk_norm)
        before = attn(x)
        with torch.no_grad():
            attn.q_proj.weight.mul_(5.0)
            attn.q_proj.bias.mul_(5.0)
        after = attn(x)
        assert torch.allclose(before, after, atol=1e-4) == invariant


def test_block_runs_under_bfloat16_autocast():
    block = SigmoidTransformerBlock(32, 4, qk_norm=True, context_dim=16)
    x = torch.randn(2, 12, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(x, context=torch.randn(2, 5, 16))
    out.float().sum().backward()
    assert torch.isfinite(out.float()).all()
    assert all(p.grad is not None for p in block.parameters())


def test_causal_self_attention_ignores_future_tokens():
    attn = SigmoidSelfAttention(16, 2, causal=True)
    x = torch.randn(1, 9, 16)
    changed = x.clone()
    changed[:, 5:] = torch.randn(1, 4, 16)
    torch.testing.assert_close(attn(x)[:, :5], attn(changed)[:, :5])
    assert not torch.allclose(attn(x)[:, 5:], attn(changed)[:, 5:])


def test_padding_mask_hides_padded_tokens():
    block = SigmoidTransformerBlock(16, 2, context_dim=8)
    x = torch.randn(2, 6, 16)
    context = torch.randn(2, 5, 8)
    x_mask = torch.tensor([[False] * 4 + [True] * 2, [False] * 6])
    c_mask = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    ref = block(x, context, key_padding_mask=x_mask, context_padding_mask=c_mask)
    x2, c2 = x.clone(), context.clone()
    x2[0, 4:] = 100.0  # padded tokens of x (sample 0)
    c2[1, 3:] = -50.0  # padded context tokens (sample 1)
    out = block(x2, c2, key_padding_mask=x_mask, context_padding_mask=c_mask)
    torch.testing.assert_close(out[0, :4], ref[0, :4])
    torch.testing.assert_close(out[1], ref[1])


def test_modules_validate_configuration_and_inputs():
    with pytest.raises(InvalidParameterError, match="divisible by num_heads"):
        SigmoidSelfAttention(30, 4)
    with pytest.raises(InvalidParameterError, match="multiple of num_kv_heads"):
        SigmoidSelfAttention(32, 4, num_kv_heads=3)
    with pytest.raises(InvalidParameterError, match="num_heads must be a positive integer"):
        SigmoidSelfAttention(32, 0)
    with pytest.raises(InvalidParameterError, match="backend"):
        SigmoidCrossAttention(32, 4, backend="gpu")
    with pytest.raises(InvalidParameterError, match="norm must be"):
        SigmoidTransformerBlock(32, 4, norm="post")
    with pytest.raises(InvalidParameterError, match="sigmoid_impl must be"):
        SigmoidSelfAttention(32, 4, sigmoid_impl="fast")
    attn = SigmoidSelfAttention(32, 4)
    with pytest.raises(DataValidationError, match=r"x must have shape \(batch, seq, 32\)"):
        attn(torch.randn(2, 5, 16))
    cross = SigmoidCrossAttention(32, 4, context_dim=8)
    with pytest.raises(DataValidationError, match=r"context must have shape \(batch, seq, 8\)"):
        cross(torch.randn(2, 5, 32), torch.randn(2, 5, 32))
    with pytest.raises(DataValidationError, match="batch size"):
        cross(torch.randn(2, 5, 32), torch.randn(3, 5, 8))
    block = SigmoidTransformerBlock(32, 4)
    with pytest.raises(DataValidationError, match="context must be given exactly"):
        block(torch.randn(1, 3, 32), context=torch.randn(1, 3, 32))


def test_sigmoid_impl_reaches_every_attention_layer(monkeypatch):
    import kernels.modules as modules

    seen = []
    original = modules.sigmoid_attention
    monkeypatch.setattr(modules, "sigmoid_attention", lambda *a, **kw: seen.append(kw["sigmoid_impl"]) or original(*a, **kw))
    block = SigmoidTransformerBlock(32, 4, context_dim=8, sigmoid_impl="tanh")
    assert "sigmoid_impl='tanh'" in repr(block.self_attn) and "sigmoid_impl='tanh'" in repr(block.cross_attn)
    x, context = torch.randn(2, 5, 32), torch.randn(2, 3, 8)
    out = block(x, context=context)
    assert seen == ["tanh", "tanh"]
    exact = SigmoidTransformerBlock(32, 4, context_dim=8)
    exact.load_state_dict(block.state_dict())
    torch.testing.assert_close(out, exact(x, context=context), rtol=1e-5, atol=1e-5)
    assert seen[-2:] == ["exact", "exact"]


def test_tiny_transformer_learns_to_reverse_a_sequence():
    """Two blocks learn a permutation (reverse the tokens) in a few dozen steps."""
    vocab, length, dim = 8, 8, 32
    embed = nn.Embedding(vocab, dim)
    position = nn.Parameter(torch.randn(length, dim) * 0.5)
    blocks = nn.ModuleList(SigmoidTransformerBlock(dim, 4, mlp_ratio=2.0) for _ in range(2))
    head = nn.Linear(dim, vocab)
    params = [position, *embed.parameters(), *blocks.parameters(), *head.parameters()]
    optimizer = torch.optim.Adam(params, lr=3e-3)
    gen = torch.Generator().manual_seed(1)

    def loss_on(tokens):
        h = embed(tokens) + position
        for block in blocks:
            h = block(h)
        return nn.functional.cross_entropy(head(h).reshape(-1, vocab), tokens.flip(1).reshape(-1))

    test_tokens = torch.randint(0, vocab, (64, length), generator=gen)
    with torch.no_grad():
        initial = loss_on(test_tokens).item()
    for _ in range(80):
        tokens = torch.randint(0, vocab, (32, length), generator=gen)
        optimizer.zero_grad()
        loss_on(tokens).backward()
        optimizer.step()
    with torch.no_grad():
        final = loss_on(test_tokens).item()
    assert final < 0.3 * initial, (initial, final)

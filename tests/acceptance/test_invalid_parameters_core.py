"""Every public layer, model and estimator-like API of the core (neurokit, kernels) refuses bad parameters alike.

One parametrised test feeds each parameter values of the wrong kind (a bool
where a number is expected, a float where an integer is, zero or a negative
count, a string) and checks that the error is
:class:`~neurokit.exceptions.InvalidParameterError` and that its message
names the parameter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from kernels import SigmoidCrossAttention, SigmoidSelfAttention, SigmoidTransformerBlock, sigmoid_attention
from neurokit.claims import Claim
from neurokit.exceptions import InvalidParameterError
from neurokit.metrics import pearson_r, two_way_identification
from neurokit.nn import DownBlock, MeshConv, MeshPool, MeshUnpool, MeshUpsample, ResidualBlock, UpBlock, VertexReadout
from neurokit.nn.blocks import mesh_norm
from neurokit.plotting import plot_surface_map
from neurokit.statistics import (
    PearsonStatistic,
    bootstrap_ci,
    bootstrap_distribution,
    equivalence_test,
    paired_difference_ci,
)
from neurokit.training import Trainer, epoch_batches, shard

POSITIVE_INT = [True, 2.5, 0, -3, "4", None]
NON_NEGATIVE_INT = [True, 1.5, -1, "0", None]
POSITIVE_REAL = [True, "1", 0.0, -1.0, math.nan, math.inf]
REAL = [True, "1", math.nan, None]
OPTION = ["nope", True, 3]
BOOL = [1, "yes", None]

_ITEMS = np.random.default_rng(0).normal(size=(12, 3))
_Q = torch.randn(1, 2, 5, 4)


def _fit(**kw):
    model = torch.nn.Linear(2, 1)
    data = (torch.zeros(8, 2), torch.zeros(8, 1))
    return Trainer(**{"progress": False, **kw}).fit(model, data)


def _distribution(seed=0):
    return bootstrap_distribution(np.mean, _ITEMS[:, 0], n_boot=100, seed=seed)


# (call, parameter name, bad values): call(value) builds or runs the API with that parameter
CASES = [
    # neurokit.nn layers
    (lambda v: MeshConv(v, 2, level=1), "in_channels", POSITIVE_INT),
    (lambda v: MeshConv(2, v, level=1), "out_channels", POSITIVE_INT),
    (lambda v: MeshPool(1, mode=v), "mode", OPTION),
    (lambda v: MeshPool(1, hemispheres=v), "hemispheres", ["both sides", 3, ()]),
    (lambda v: MeshUnpool(1, hemispheres=v), "hemispheres", ["middle", 3]),
    (lambda v: MeshUpsample(1, 2, hemispheres=v), "hemispheres", ["middle", ("left", "left")]),
    (lambda v: VertexReadout(v, 10), "channels", POSITIVE_INT),
    (lambda v: VertexReadout(2, v), "n_vertices", POSITIVE_INT),
    (lambda v: VertexReadout(2, 10, init=v), "init", OPTION),
    (lambda v: VertexReadout(2, 10, gain=v), "gain", POSITIVE_REAL),
    (lambda v: mesh_norm("batch", v), "channels", POSITIVE_INT),
    (lambda v: mesh_norm(v, 4), "kind", OPTION),
    (lambda v: ResidualBlock(v, 2, 1), "in_channels", POSITIVE_INT),
    (lambda v: ResidualBlock(2, 2, 1, norm=v), "kind", OPTION),
    (lambda v: DownBlock(2, 2, 2, pool=v), "mode", OPTION),
    (lambda v: UpBlock(2, 2, 1, skip_channels=v), "skip_channels", NON_NEGATIVE_INT),
    # kernels: sigmoid attention and its modules
    (lambda v: SigmoidSelfAttention(v, 2), "dim", POSITIVE_INT),
    (lambda v: SigmoidSelfAttention(8, v), "num_heads", POSITIVE_INT),
    (lambda v: SigmoidSelfAttention(8, 2, num_kv_heads=v), "num_kv_heads", [True, 1.5, 0, "1"]),
    (lambda v: SigmoidSelfAttention(8, 2, qk_norm=v), "qk_norm", BOOL),
    (lambda v: SigmoidSelfAttention(8, 2, qkv_bias=v), "qkv_bias", BOOL),
    (lambda v: SigmoidSelfAttention(8, 2, causal=v), "causal", BOOL),
    (lambda v: SigmoidSelfAttention(8, 2, attn_bias=v), "attn_bias", [True, "0", math.nan]),
    (lambda v: SigmoidSelfAttention(8, 2, backend=v), "backend", OPTION),
    (lambda v: SigmoidSelfAttention(8, 2, sigmoid_impl=v), "sigmoid_impl", OPTION),
    (lambda v: SigmoidCrossAttention(8, 2, context_dim=v), "context_dim", [True, 1.5, 0, "8"]),
    (lambda v: SigmoidTransformerBlock(8, 2, mlp_ratio=v), "mlp_ratio", POSITIVE_REAL),
    (lambda v: SigmoidTransformerBlock(8, 2, norm=v), "norm", OPTION),
    (lambda v: SigmoidTransformerBlock(8, 2, layerscale_init=v), "layerscale_init", REAL),
    (lambda v: sigmoid_attention(_Q, _Q, _Q, scale=v), "scale", [True, "1", math.nan, torch.ones(2)]),
    (lambda v: sigmoid_attention(_Q, _Q, _Q, bias=v), "bias", [True, "1", math.inf]),
    (lambda v: sigmoid_attention(_Q, _Q, _Q, causal=v), "causal", BOOL),
    (lambda v: sigmoid_attention(_Q, _Q, _Q, backend=v), "backend", OPTION),
    (lambda v: sigmoid_attention(_Q, _Q, _Q, sigmoid_impl=v), "sigmoid_impl", OPTION),
    # neurokit.training
    (lambda v: _fit(max_epochs=v), "max_epochs", POSITIVE_INT),
    (lambda v: _fit(batch_size=v), "batch_size", POSITIVE_INT),
    (lambda v: _fit(keep_checkpoints=v), "keep_checkpoints", POSITIVE_INT),
    (lambda v: _fit(patience=v), "patience", [True, 2.5, 0, "3"]),
    (lambda v: _fit(val_batch_size=v), "val_batch_size", [True, 2.5, 0, "3"]),
    (lambda v: _fit(max_epochs_this_run=v), "max_epochs_this_run", [True, 2.5, 0, "3"]),
    (lambda v: _fit(seed=v), "seed", NON_NEGATIVE_INT),
    (lambda v: _fit(lr=v), "lr", POSITIVE_REAL),
    (lambda v: _fit(weight_decay=v), "weight_decay", [True, "0", -0.1, math.nan]),
    (lambda v: _fit(warmup_fraction=v), "warmup_fraction", [True, "0", -0.1, 1.0]),
    (lambda v: _fit(min_lr_ratio=v), "min_lr_ratio", [True, "0", -0.1, 1.5]),
    (lambda v: _fit(min_delta=v), "min_delta", REAL),
    (lambda v: _fit(grad_clip=v), "grad_clip", [True, "1", 0.0, -1.0]),
    (lambda v: _fit(schedule=v), "schedule", OPTION),
    (lambda v: _fit(precision=v), "precision", OPTION),
    (lambda v: _fit(restore_best=v), "restore_best", BOOL),
    (lambda v: _fit(drop_last=v), "drop_last", BOOL),
    (lambda v: _fit(progress=v), "progress", BOOL),
    (lambda v: epoch_batches(10, v, 0, 0), "batch_size", POSITIVE_INT),
    (lambda v: epoch_batches(v, 2, 0, 0), "n_samples", POSITIVE_INT),
    (lambda v: shard(torch.arange(4), v, 2), "rank", [True, 0.5, -1, 2, "0"]),
    (lambda v: shard(torch.arange(4), 0, v), "world_size", POSITIVE_INT),
    # neurokit.statistics: bootstrap functions and the Pearson statistic
    (lambda v: bootstrap_ci(np.mean, _ITEMS, n_boot=v), "n_boot", [True, 200.5, 0, 99, "200"]),
    (lambda v: bootstrap_ci(np.mean, _ITEMS, seed=v), "seed", NON_NEGATIVE_INT),
    (lambda v: bootstrap_ci(np.mean, _ITEMS, confidence=v), "confidence", [True, "0.9", 0.0, 1.0, 1.5]),
    (lambda v: bootstrap_ci(np.mean, _ITEMS, axis=v), "axis", [True, 0.5, "0"]),
    (lambda v: bootstrap_distribution(np.mean, _ITEMS, progress=v), "progress", BOOL),
    (lambda v: paired_difference_ci(np.mean, np.median, _ITEMS, n_boot=v), "n_boot", [True, 1.5, 0]),
    (lambda v: equivalence_test(np.mean, np.median, _ITEMS, margin=v), "margin", POSITIVE_REAL),
    (lambda v: equivalence_test(np.mean, np.median, _ITEMS, margin=0.1, alpha=v), "alpha",
     [True, "0.05", 0.0, 0.5, -0.1]),
    (lambda v: PearsonStatistic(v), "reduce", OPTION),
    (lambda v: PearsonStatistic(true=v), "true", NON_NEGATIVE_INT),
    (lambda v: PearsonStatistic(pred=v), "pred", NON_NEGATIVE_INT),
    # neurokit.claims
    (lambda v: Claim.not_below("a", "x.", _distribution(), {"b": _distribution(1)}, margin=v), "margin",
     [True, "0.1", -0.1, math.nan]),
    (lambda v: Claim.equivalent("a", "x.", _distribution(), {"b": _distribution(1)}, margin=v), "margin",
     [True, 0.0, -0.1]),
    (lambda v: Claim.equivalent("a", "x.", _distribution(), {"b": _distribution(1)}, margin=0.1, alpha=v),
     "alpha", [True, 0.0, 0.5, "0.05"]),
    # neurokit.metrics and neurokit.plotting options
    (lambda v: pearson_r(_ITEMS, _ITEMS, zero_variance=v), "zero_variance", OPTION),
    (lambda v: two_way_identification(_ITEMS, _ITEMS, metric=v), "metric", OPTION),
    (lambda v: plot_surface_map(np.zeros(2 * 642), view=v), "view", OPTION),
    (lambda v: plot_surface_map(np.zeros(2 * 642), surface=v), "surface", OPTION),
    (lambda v: plot_surface_map(np.zeros(2 * 642), hemi=v), "hemi", OPTION),
]

PARAMS = [
    pytest.param(call, name, bad, id=f"{i}-{name}-{bad!r}")
    for i, (call, name, values) in enumerate(CASES)
    for bad in values
]


@pytest.mark.parametrize("call,name,bad", PARAMS)
def test_bad_parameter_raises_invalid_parameter_error_naming_it(call, name, bad):
    with pytest.raises(InvalidParameterError) as info:
        call(bad)
    assert name in str(info.value), f"the message {str(info.value)!r} does not name {name!r}"


def test_integers_are_anything_with_index_not_bool():
    """One idea of an integer: numpy integers pass wherever Python ints do, and come back as int."""
    conv = MeshConv(np.int64(2), np.int32(3), level=1)
    assert (conv.in_channels, conv.out_channels) == (2, 3) and type(conv.in_channels) is int
    readout = VertexReadout(np.int64(2), np.uint16(10), gain=np.float32(0.5))
    assert readout.n_vertices == 10 and readout.gain == 0.5
    assert SigmoidSelfAttention(np.int64(8), np.int64(2)).head_dim == 4
    assert [len(b) for b in epoch_batches(np.int64(5), np.int64(2), 0, 0)] == [2, 2, 1]
    assert PearsonStatistic(pred=np.int64(2)).pred == 2

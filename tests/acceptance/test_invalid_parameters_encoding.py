"""Every public estimator, model and fitting entry point of ``encoding`` refuses bad parameters the same way.

A bad parameter (a bool, a float or string where an integer is expected, a
value out of range, None where it is not allowed) raises
:class:`neurokit.exceptions.InvalidParameterError`, and the message names the
argument. Each case changes one argument of an otherwise valid call.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from encoding.ensemble import PersonalizedEnsembleEncoder
from encoding.feature_store import FeatureStore
from encoding.mesh_encoder import MeshReadout, SurfaceMeshEncoder, solve_vertex_ridge
from encoding.ridge import RidgeEncoder, plan_ridge, solve_ridge
from encoding.simulation import simulate_cohort
from encoding.streaming import fit_streaming_ridge
from neurokit.exceptions import InvalidParameterError

POSITIVE_INT = [True, 2.5, 0, -1, "4", None]
POSITIVE_INT_OR_NONE = [True, 2.5, 0, -1, "4"]
NON_NEGATIVE_INT = [True, 2.5, -1, "4", None]
FLAG = [1, "yes", None]
LEVEL = [True, 8, -1, 2.5, "3", None]

RNG = np.random.default_rng(0)
X = RNG.standard_normal((20, 4))
Y = X @ RNG.standard_normal((4, 3)) + 0.1 * RNG.standard_normal((20, 3))


def ridge_fit(**kw):
    return RidgeEncoder(**kw).fit(X, Y)


SOURCES = [RidgeEncoder().fit(X, Y), RidgeEncoder(alphas=[10.0]).fit(X, Y)]


def ensemble_fit(**kw):
    return PersonalizedEnsembleEncoder(**{"source_encoders": SOURCES, **kw}).fit(X, Y)


MESH = dict(target_level=3, query_level=2, token_layers=("stage3", "pool"), image_size=64, dim=16, num_heads=2,
            max_epochs=3, batch_size=8, weights=None, progress=False, device="cpu")


def mesh_encoder(**kw):
    return SurfaceMeshEncoder(**{**MESH, **kw})


READOUT = dict(token_shapes=[(16, 8, 4, 4), (1, 8, 0, 0)], query_level=1, target_level=2, dim=16, num_heads=2,
               decoder_channels=None)


def mesh_readout(**kw):
    return MeshReadout(**{**READOUT, **kw})


def streaming_fit(tmp_path, **kw):
    return fit_streaming_ridge(X, Y, tmp_path / "fit", progress=False, **kw)


def cohort(**kw):
    return simulate_cohort(**{"n_subjects": 1, "n_images": 10, "n_shared": 5, "level": 3, "image_size": 32,
                              "progress": False, **kw})


def vertex_ridge(**kw):
    import torch

    n_v = 2 * 42
    x = torch.randn(12, 3)
    y = torch.randn(12, n_v)

    def features(batch):
        return batch.unsqueeze(0).expand(n_v, -1, -1)

    args = dict(y_mean=torch.zeros(n_v), y_scale=torch.ones(n_v), level=1, n_features=3)
    return solve_vertex_ridge(features, x[:8], y[:8], x[8:], y[8:], **{**args, **kw})


def cases():
    table = [
        ("RidgeEncoder", ridge_fit, {
            "alphas": ["abc", -1.0, [], [1.0, 0.0], None],
            "cv": [True, 1, 2.5, "kfold", None],
            "dtype": ["float16", 3, True],
            "device": ["gpu0", 3.5, None],
            "target_batch_size": POSITIVE_INT_OR_NONE,
            "fit_intercept": FLAG,
            "verbose": FLAG,
        }),
        ("PersonalizedEnsembleEncoder", ensemble_fit, {
            "source_encoders": [[], "abc", 3],
            "regularization": [True, -1.0, "a", float("inf"), float("nan")],
            "target_batch_size": POSITIVE_INT_OR_NONE,
            "positive": FLAG,
            "fit_intercept": FLAG,
        }),
        ("SurfaceMeshEncoder", mesh_encoder, {
            "target_level": LEVEL,
            "query_level": LEVEL + [4],
            "image_size": POSITIVE_INT + [16],
            "dim": POSITIVE_INT,
            "num_heads": POSITIVE_INT,
            "max_epochs": POSITIVE_INT,
            "batch_size": POSITIVE_INT,
            "spatial_grid": POSITIVE_INT,
            "joint_epochs": NON_NEGATIVE_INT,
            "spatial_channels": NON_NEGATIVE_INT,
            "alpha_smoothing": NON_NEGATIVE_INT,
            "seed": NON_NEGATIVE_INT,
            "lr": [0, -1e-3, True, "a", None, float("inf")],
            "weight_decay": [-1.0, True, "a", None],
            "patience": POSITIVE_INT_OR_NONE,
            "validation_fraction": [1.0, -0.1, True, "a", None],
            "refit_readout": FLAG,
            "progress": FLAG,
            "norm": ["batchnorm", None, 3],
            "decoder_channels": [(8, 8), (0,), (True,), (2.5,), "8", 8],
            "token_layers": [("conv9",), ()],
        }),
        ("MeshReadout", mesh_readout, {
            "query_level": LEVEL + [3],
            "target_level": LEVEL,
            "dim": POSITIVE_INT,
            "num_heads": POSITIVE_INT,
            "spatial_grid": POSITIVE_INT,
            "spatial_channels": NON_NEGATIVE_INT,
            "norm": ["batchnorm", None],
            "decoder_channels": [(8, 8), (0,), (True,), "8"],
        }),
        ("solve_vertex_ridge", vertex_ridge, {
            "alphas": [(0.0,), (-1.0,), (True,), ("a",)],
            "spatial_scales": [(0.0,), (True,)],
            "n_features": POSITIVE_INT,
            "n_banded": [True, -1, 4, 2.5],
            "batch_size": POSITIVE_INT,
            "vertex_chunk": POSITIVE_INT,
            "max_gram_bytes": POSITIVE_INT,
            "alpha_smoothing": NON_NEGATIVE_INT,
        }),
        ("plan_ridge", lambda **kw: plan_ridge(X, **kw), {
            "alphas": ["abc", -1.0, None],
            "cv": [True, 1, "kfold"],
            "dtype": ["float16", True],
            "device": ["gpu0", None],
        }),
        ("solve_ridge", lambda **kw: solve_ridge(plan_ridge(X), Y, **kw), {
            "target_batch_size": POSITIVE_INT_OR_NONE,
        }),
        ("fit_streaming_ridge", streaming_fit, {
            "alphas": ["abc", -1.0, None],
            "cv": [True, 1, 2.5, "kfold", None],
            "chunk_size": POSITIVE_INT_OR_NONE,
            "max_memory": [True, 0, -5, "lots"],
            "fit_intercept": FLAG,
            "resume": FLAG,
            "keep_chunks": FLAG,
        }),
        ("FeatureStore", lambda tmp_path, **kw: FeatureStore(tmp_path / "store", **kw), {
            "chunk_size": POSITIVE_INT,
        }),
        ("simulate_cohort", cohort, {
            "n_subjects": POSITIVE_INT,
            "n_images": POSITIVE_INT,
            "n_repeats": POSITIVE_INT + [1],
            "grid_size": POSITIVE_INT,
            "image_size": POSITIVE_INT + [16],
            "n_shared": [True, 2.5, -1, 11, "5", None],
            "private_fraction": [1.5, -0.1, True, "a"],
            "displaced_fraction": [1.5, -0.1, True],
            "noise_correlation": [1.0, -0.1, True],
            "roi_displacement": [-1.0, True, "a"],
            "normalization": [-1.0, True, "a"],
            "trials_per_session": [7, 0, True, 2.5],
        }),
    ]
    for owner, build, params in table:
        for name, values in params.items():
            for value in values:
                yield pytest.param(build, name, value, id=f"{owner}-{name}={value!r}")


@pytest.mark.parametrize(("build", "name", "value"), list(cases()))
def test_a_bad_parameter_raises_invalid_parameter_error_naming_it(build, name, value, tmp_path):
    import inspect

    kwargs = {name: value}
    if "tmp_path" in inspect.signature(build).parameters:
        kwargs["tmp_path"] = tmp_path
    with pytest.raises(InvalidParameterError, match=re.escape(name)):
        build(**kwargs)


def test_numpy_integers_are_integers_everywhere():
    # one idea of an integer: np.int64 passes every estimator that takes an int
    assert RidgeEncoder(target_batch_size=np.int64(2)).fit(X, Y).coef_.shape == (3, 4)
    assert PersonalizedEnsembleEncoder(SOURCES, target_batch_size=np.int64(2)).fit(X, Y).coef_.shape == (3, 2)
    enc = mesh_encoder(dim=np.int64(16), num_heads=np.int32(2), decoder_channels=(np.int64(4),))
    assert type(enc.dim) is int and enc.decoder_channels == (4,) and type(enc.decoder_channels[0]) is int

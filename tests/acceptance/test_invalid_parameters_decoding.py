"""Every public estimator and model constructor of cortex2image and neurogen (generators aside) refuses a bad
parameter with InvalidParameterError, and the message names the argument.

Each case builds the object (or runs the one call where the object validates, as scikit-learn estimators do
in ``fit``/``run``) with one invalid value; ``np.int64`` stands for a valid integer where it matters.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from neurokit.exceptions import InvalidParameterError


class _Mean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((2, 3))


def _trunk(**kw):
    from cortex2image import CortexTrunk

    return CortexTrunk(3, **{"coarse_level": 1, "channels": [4, 4, 8], "attention_dim": 8, "num_heads": 2, **kw})


def _detail(latent_dim=4, **kw):
    from cortex2image import Cortex2Detail

    return Cortex2Detail(3, latent_dim, **{"coarse_level": 1, "channels": [4, 4, 8], "attention_dim": 8,
                                           "num_heads": 2, **kw})


def _optimizer_run(**kw):
    from neurogen import FourierImage, LatentOptimizer, ROIActivation

    return LatentOptimizer(**{"steps": 1, "progress": False, **kw}).run(FourierImage(8), _Mean(), ROIActivation(0))


def _metric_network(**kw):
    from cortex2image import MetricNetwork

    return MetricNetwork(**{"name": "alexnet-2", "weights": "/nowhere.pth", **kw})


def _linear_image_encoder(**kw):
    from cortex2image import LinearImageEncoder

    return LinearImageEncoder(**kw)


def _affine(**kw):
    from neurogen import RandomAffine

    return RandomAffine(**kw)


def _images(n=4, size=8):
    return np.random.default_rng(0).uniform(size=(n, size, size, 3)).astype(np.float32)


def _mean_image(n):
    from cortex2image import mean_image_baseline

    return mean_image_baseline(_images(), n)


def _ridge_pixels(size):
    from cortex2image import ridge_pixels_baseline

    rng = np.random.default_rng(0)
    return ridge_pixels_baseline(rng.standard_normal((4, 6)), _images(), rng.standard_normal((2, 6)), size=size)


def _derangement(n):
    from cortex2image.baselines import derangement

    return derangement(n, 0)


def _rank_images(batch_size):
    from neurogen import ROIActivation, rank_images

    return rank_images(_Mean(), _images(), ROIActivation(0), batch_size=batch_size)


def _ranking_top(k):
    from neurogen import ROIActivation, rank_images

    return rank_images(_Mean(), _images(), ROIActivation(0)).top(k)


def _objective(kind, **kw):
    import neurogen

    return getattr(neurogen, kind)(**kw)


def _generator_objective(latent_noise):
    from neurogen.generator_training import GeneratorObjective

    return GeneratorObjective(nn.Identity(), latent_noise=latent_noise)


CASES = [
    # cortex2image
    ("CortexTrunk channels", lambda: _trunk(channels=[4, 0, 8]), "channels"),
    ("CortexTrunk attention_dim bool", lambda: _trunk(attention_dim=True), "attention_dim"),
    ("CortexTrunk attention_depth", lambda: _trunk(attention_depth=-1), "attention_depth"),
    ("CortexTrunk attention_depth float", lambda: _trunk(attention_depth=1.5), "attention_depth"),
    ("CortexTrunk num_heads", lambda: _trunk(num_heads=2.0), "num_heads"),
    ("Cortex2Detail latent_dim", lambda: _detail(latent_dim=0), "latent_dim"),
    ("Cortex2Detail semantic_dim", lambda: _detail(semantic_dim=-1), "semantic_dim"),
    ("Cortex2Detail logvar_range", lambda: _detail(logvar_range=(1.0, -1.0)), "logvar_range"),
    ("MetricNetwork name", lambda: _metric_network(name="vgg"), "name"),
    ("MetricNetwork batch_size", lambda: _metric_network(batch_size=0), "batch_size"),
    ("LinearImageEncoder input_size", lambda: _linear_image_encoder(input_size=0), "input_size"),
    ("LinearImageEncoder alphas", lambda: _linear_image_encoder(alphas=(1.0, -1.0)), "alphas"),
    ("mean_image_baseline n", lambda: _mean_image(0), "n"),
    ("ridge_pixels_baseline size", lambda: _ridge_pixels(1), "size"),
    ("derangement n bool", lambda: _derangement(True), "n"),
    # neurogen
    ("LatentOptimizer steps", lambda: _optimizer_run(steps=0), "steps"),
    ("LatentOptimizer n_seeds float", lambda: _optimizer_run(n_seeds=2.0), "n_seeds"),
    ("LatentOptimizer lr", lambda: _optimizer_run(lr=0.0), "lr"),
    ("LatentOptimizer latent_decay", lambda: _optimizer_run(latent_decay=-1.0), "latent_decay"),
    ("LatentOptimizer max_batch", lambda: _optimizer_run(max_batch=0), "max_batch"),
    ("LatentOptimizer n_augment", lambda: _optimizer_run(n_augment=True), "n_augment"),
    ("LatentOptimizer augment", lambda: _optimizer_run(augment="flip"), "augment"),
    ("LatentOptimizer input_size", lambda: _optimizer_run(input_size=(8,)), "input_size"),
    ("RandomAffine jitter", lambda: _affine(jitter=0.5), "jitter"),
    ("RandomAffine scale", lambda: _affine(scale=(0.0, 1.0)), "scale"),
    ("RandomAffine rotation", lambda: _affine(rotation=200.0), "rotation"),
    ("ROIActivation encoder", lambda: _objective("ROIActivation", roi=0, encoder=3), "encoder"),
    ("ROIContrast encoder", lambda: _objective("ROIContrast", roi_a=0, roi_b=1, encoder=None), "encoder"),
    ("SubjectContrast subjects", lambda: _objective("SubjectContrast", roi=0, subject_a="a", subject_b="a"),
     "subject_a"),
    ("TargetPattern metric", lambda: _objective("TargetPattern", rois=[0, 1], target=[1.0, 2.0], metric="cos"),
     "metric"),
    ("LatentPenalty weight", lambda: _objective("LatentPenalty", weight=-1.0), "weight"),
    ("LatentPenalty weight bool", lambda: _objective("LatentPenalty", weight=True), "weight"),
    ("WeightedSum terms", lambda: _objective("WeightedSum", terms=[(1.0, "x")]), "terms"),
    ("GeneratorObjective latent_noise", lambda: _generator_objective(1.5), "latent_noise"),
    ("rank_images batch_size", lambda: _rank_images(0), "batch_size"),
    ("ImageRanking.top k", lambda: _ranking_top(0), "k"),
]


@pytest.mark.parametrize("build, argument", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_parameter_raises_invalid_parameter_error_naming_it(build, argument):
    with pytest.raises(InvalidParameterError, match=rf"\b{re.escape(argument)}\b"):
        build()


def test_numpy_integers_are_integers():
    """One idea of an integer: anything with ``__index__`` (not bool), so ``np.int64`` passes everywhere."""
    from cortex2image import mean_image_baseline
    from neurogen import ROIActivation, rank_images

    trunk = _trunk(attention_dim=np.int64(8), num_heads=np.int64(2), attention_depth=np.int64(1))
    assert trunk.attention_dim == 8 and type(trunk.attention_dim) is int
    assert _detail(latent_dim=np.int64(4)).latent_dim == 4
    assert mean_image_baseline(_images(), np.int64(3)).shape[0] == 3
    assert rank_images(_Mean(), _images(), ROIActivation(0), batch_size=np.int64(2)).top(np.int64(1)).shape == (1, 1)
    result = _optimizer_run(n_seeds=np.int64(1), steps=np.int64(1))
    assert len(result) == 1

"""Tests of encoding.mesh_encoder.SurfaceMeshEncoder (small levels, random backbone weights for speed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encoding.mesh_encoder import SurfaceMeshEncoder, image_position_features, sphere_features
from neurokit.exceptions import CheckpointError, InvalidParameterError, NotFittedError, VertexCountError


def small(**kw) -> SurfaceMeshEncoder:
    args = dict(target_level=3, query_level=2, token_layers=("stage3", "pool"), image_size=64, dim=16,
                num_heads=2, max_epochs=3, batch_size=8, weights=None, progress=False, device="cpu")
    args.update(kw)
    return SurfaceMeshEncoder(**args)


def test_position_features():
    s = sphere_features(1)
    assert s.shape == (84, 4 + 18)
    np.testing.assert_allclose(torch.linalg.norm(s[:, :3], dim=1), 1.0, rtol=1e-5)
    assert (s[:42, 3] == -1).all() and (s[42:, 3] == 1).all()
    p = image_position_features(3, 4)
    assert p.shape == (12, 18) and p[:, :2].abs().max() < 1


def test_shapes_and_gradients_from_pixels():
    enc = small().build()
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    y = enc(x)
    assert y.shape == (2, 2 * 642)
    y[:, :10].sum().backward()
    assert x.grad is not None and torch.count_nonzero(x.grad) > 0
    assert all(p.grad is None for p in enc.extractor.module.parameters())  # backbone frozen
    assert enc.n_trainable_parameters() == sum(p.numel() for p in enc.readout_.parameters())


def test_fit_predict_score_and_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((24, 64, 64, 3), dtype=np.float32)
    Y = rng.standard_normal((24, 2 * 642)).astype(np.float32)
    enc = small(validation_fraction=0.25).fit(images, Y)
    hist = enc.history_
    assert len(hist.epochs) >= 1 and all(np.isfinite(e["train_loss"]) for e in hist.epochs)
    pred = enc.predict(images[:5])
    assert pred.shape == (5, 1284) and pred.dtype == np.float32
    assert enc.score(images[:5], Y[:5]).shape == (1284,)
    enc.save(tmp_path / "enc")
    back = SurfaceMeshEncoder.load(tmp_path / "enc", device="cpu")
    np.testing.assert_array_equal(back.predict(images[:5]), pred)
    assert back.history_.to_dict() == hist.to_dict()
    (tmp_path / "enc.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        SurfaceMeshEncoder.load(tmp_path / "enc")


def test_validation():
    with pytest.raises(InvalidParameterError, match="query_level"):
        small(query_level=4)
    with pytest.raises(InvalidParameterError, match="divisible"):
        small(dim=15)
    with pytest.raises(InvalidParameterError, match="token_layers"):
        small(token_layers=("conv9",))
    with pytest.raises(InvalidParameterError, match="decoder_channels"):
        small(decoder_channels=(8, 8))
    enc = small()
    with pytest.raises(NotFittedError):
        enc.predict(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(VertexCountError, match="target_level"):
        enc.fit(np.zeros((4, 64, 64, 3), np.float32), np.zeros((4, 2 * 162), np.float32))

"""Tests of encoding.mesh_encoder.SurfaceMeshEncoder (small levels, random backbone weights for speed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encoding.mesh_encoder import SurfaceMeshEncoder, image_position_features, sphere_features
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    NotFittedError,
    VertexCountError,
)


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
    assert torch.count_nonzero(enc.readout_.skip_readout.weight) == 0  # a fresh readout predicts the target mean
    with torch.no_grad():  # give it weights, as training would
        enc.readout_.skip_readout.weight.normal_()
        enc.readout_.decoder_readout.weight.normal_()
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
    assert back.get_config() == enc.get_config() and back.alpha_smoothing == 2
    # a checkpoint written before alpha_smoothing existed loads as what it was: penalties chosen per vertex
    import json

    cfg = json.loads((tmp_path / "enc.json").read_text())
    del cfg["config"]["encoder"]["alpha_smoothing"]
    (tmp_path / "enc.json").write_text(json.dumps(cfg))
    old = SurfaceMeshEncoder.load(tmp_path / "enc", device="cpu")
    assert old.alpha_smoothing == 0
    np.testing.assert_array_equal(old.predict(images[:5]), pred)
    (tmp_path / "enc.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError):
        SurfaceMeshEncoder.load(tmp_path / "enc")


def test_checkpoints_of_the_single_module_version_still_load(tmp_path):
    # the first version (one module, encoding/mesh_encoder.py) wrote "class": "<module>.<qualname>"; the
    # package writes the name registered in encoding.persistence.ENCODER_CLASSES and reads the old one as an alias
    import importlib
    import json

    from encoding.persistence import ENCODER_CLASSES, load_encoder

    enc = small().build()
    with torch.no_grad():
        enc.readout_.skip_readout.weight.normal_()
    enc.save(tmp_path / "enc")
    doc = json.loads((tmp_path / "enc.json").read_text())
    assert doc["config"]["class"] == "SurfaceMeshEncoder" and ENCODER_CLASSES["SurfaceMeshEncoder"] is SurfaceMeshEncoder
    assert ENCODER_CLASSES["encoding.mesh_encoder.SurfaceMeshEncoder"] is SurfaceMeshEncoder
    assert getattr(importlib.import_module("encoding.mesh_encoder"), "SurfaceMeshEncoder") is SurfaceMeshEncoder
    # the registry's generic loader reads mesh-encoder files too
    generic, metadata = load_encoder(tmp_path / "enc")
    assert isinstance(generic, SurfaceMeshEncoder) and metadata == {}
    # a file exactly as the old code wrote it: the same keys, no alpha_smoothing, the old class string
    doc["config"] = {"class": "encoding.mesh_encoder.SurfaceMeshEncoder",
                     "encoder": {k: v for k, v in doc["config"]["encoder"].items() if k != "alpha_smoothing"},
                     "history": None}
    (tmp_path / "enc.json").write_text(json.dumps(doc))
    back = SurfaceMeshEncoder.load(tmp_path / "enc", device="cpu")
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(back(x), enc(x), rtol=0, atol=0)
        torch.testing.assert_close(load_encoder(tmp_path / "enc")[0](x), enc(x), rtol=0, atol=0)
    for other in ("encoding.image_encoder.ImageEncoder", "RidgeEncoder"):
        doc["config"]["class"] = other
        (tmp_path / "enc.json").write_text(json.dumps(doc))
        with pytest.raises(CheckpointError, match=other):
            SurfaceMeshEncoder.load(tmp_path / "enc")
    from encoding.persistence import save_encoder

    with pytest.raises(CheckpointError, match="saves itself"):
        save_encoder(enc, tmp_path / "other")


def test_the_solver_is_a_function_of_features_not_of_the_network():
    # solve_vertex_ridge needs only a feature function: a random per-vertex linear map is recovered
    from encoding.mesh_encoder import solve_vertex_ridge

    torch.manual_seed(0)
    n_v, c = 2 * 42, 5
    basis = torch.randn(n_v, 7, c)

    def features(x):  # (batch, 7) -> (n_v, batch, c)
        return torch.einsum("bk,vkc->vbc", x, basis)

    x = torch.randn(90, 7)
    w_true = torch.randn(n_v, c)
    y = torch.einsum("vbc,vc->bv", features(x), w_true) + 1.5
    sol = solve_vertex_ridge(features, x[:70], y[:70], x[70:], y[70:], y_mean=torch.zeros(n_v),
                             y_scale=torch.ones(n_v), level=1, n_features=c, alphas=(1e-9, 10.0), batch_size=16)
    assert sol.weights.shape == (n_v, c) and sol.alphas.shape == (n_v,)
    torch.testing.assert_close(sol.weights, w_true.double(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(sol.bias, torch.full((n_v,), 1.5, dtype=torch.float64), rtol=1e-4, atol=1e-4)
    with pytest.raises(InvalidParameterError, match="vertex_chunk"):
        solve_vertex_ridge(features, x[:70], y[:70], x[70:], y[70:], y_mean=torch.zeros(n_v),
                           y_scale=torch.ones(n_v), level=1, n_features=c, vertex_chunk=0)


class Interrupted(RuntimeError):
    pass


def test_alternating_training_resumes_identically_after_an_interruption(tmp_path, monkeypatch):
    from encoding.mesh_encoder import MeshReadout

    rng = np.random.default_rng(1)
    images = rng.random((24, 64, 64, 3), dtype=np.float32)
    Y = rng.standard_normal((24, 2 * 642)).astype(np.float32)
    kw = dict(validation_fraction=0.25, max_epochs=4, joint_epochs=1, patience=None)
    ref = small(**kw).fit(images, Y, run_dir=tmp_path / "a")
    assert [e["epoch"] for e in ref.history_.epochs] == [1, 2, 3, 4] and ref.history_.finished
    assert (tmp_path / "a" / "joint").is_dir() and (tmp_path / "a" / "alternating").is_dir()
    assert all(p.requires_grad for p in ref.readout_.parameters())  # the readouts are unfrozen again
    assert ref.readout_.spatial_readout.weight.abs().sum() > 0  # solved in closed form

    solve = MeshReadout.refit_readout
    calls = {"n": 0}

    def dies_at_the_third_alternating_epoch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Interrupted("killed")
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(MeshReadout, "refit_readout", dies_at_the_third_alternating_epoch)
    with pytest.raises(Interrupted):
        small(**kw).fit(images, Y, run_dir=tmp_path / "b")
    monkeypatch.setattr(MeshReadout, "refit_readout", solve)
    resumed = small(**kw).fit(images, Y, run_dir=tmp_path / "b", resume=True)
    assert resumed.history_.to_dict() == ref.history_.to_dict()
    np.testing.assert_array_equal(resumed.predict(images[:4]), ref.predict(images[:4]))


def test_validation():
    with pytest.raises(InvalidParameterError, match="query_level"):
        small(query_level=4)
    with pytest.raises(InvalidParameterError, match="divisible"):
        small(dim=15)
    with pytest.raises(InvalidParameterError, match="token_layers"):
        small(token_layers=("conv9",))
    with pytest.raises(InvalidParameterError, match="decoder_channels"):
        small(decoder_channels=(8, 8))
    with pytest.raises(InvalidParameterError, match="spatial_channels"):
        small(spatial_channels=-1)
    with pytest.raises(InvalidParameterError, match="spatial_grid"):
        small(spatial_grid=0)
    with pytest.raises(InvalidParameterError, match="joint_epochs"):
        small(joint_epochs=True)
    enc = small()
    with pytest.raises(NotFittedError):
        enc.predict(np.zeros((1, 64, 64, 3), np.float32))
    with pytest.raises(VertexCountError, match="target_level"):
        enc.fit(np.zeros((4, 64, 64, 3), np.float32), np.zeros((4, 2 * 162), np.float32))


def test_token_statistics_standardise_each_channel():
    enc = small().build()
    head = enc.readout_
    packed = 3.0 + 2.0 * torch.randn(40, sum(head.sizes))
    head.set_token_statistics(packed)
    means, sds = [], []
    for part, (n, d, _, _) in zip(packed.split(head.sizes, dim=1), head.token_shapes):
        flat = part.reshape(-1, n, d).reshape(-1, d)  # (images * tokens, channels)
        means.append(flat.mean(0))
        sds.append(flat.std(0))
    torch.testing.assert_close(head.token_mean, torch.cat(means), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(head.token_scale, torch.cat(sds), rtol=1e-5, atol=1e-5)
    tokens = head.embed_tokens(packed)
    assert tokens.shape == (40, sum(n for n, _, _, _ in head.token_shapes), head.in_proj[0].out_features)
    with pytest.raises(DataValidationError, match="packed tokens"):
        head.set_token_statistics(packed[:, :-1])


def test_refit_readout_recovers_a_per_vertex_linear_map_of_the_features():
    torch.manual_seed(0)
    head = small().build().readout_.eval()
    packed = torch.randn(150, sum(head.sizes))
    with torch.no_grad():
        f = head.vertex_features(packed)  # (V, n, C): query skip, decoder and receptive-field features
        assert f.shape[2] == 16 + 8 + 16 * 4
        w_true = torch.randn(f.shape[0], f.shape[2])
        y = torch.einsum("vnc,vc->nv", f, w_true) + 0.5
    alphas = head.refit_readout(packed[:110], y[:110], packed[110:], y[110:], alphas=(1e-8, 1.0), vertex_chunk=100)
    assert alphas.shape == (head.n_outputs,) and (alphas == 1e-8).mean() > 0.9
    with torch.no_grad():
        pred = head(packed[110:])
    assert float(((pred - y[110:]) ** 2).mean() / y[110:].var()) < 1e-3
    # a memory budget that forces spans of ~100 vertices solves the same readouts
    solved = [b.weight.clone() for b in head.readout_blocks()]
    c = f.shape[2]
    again = head.refit_readout(packed[:110], y[:110], packed[110:], y[110:], alphas=(1e-8, 1.0),
                               max_gram_bytes=100 * 4 * c * c)
    np.testing.assert_array_equal(again, alphas)
    for before, block in zip(solved, head.readout_blocks()):
        torch.testing.assert_close(block.weight, before, rtol=1e-4, atol=1e-6)


def test_pooled_penalty_choice_generalises_better_than_each_vertex_alone():
    # every vertex has the same signal-to-noise ratio, so one penalty is right everywhere; 12 validation
    # images make each vertex's own choice noisy, and pooling the error curves over the 1-ring fixes it
    head = small().build().readout_.eval()
    torch.manual_seed(3)  # after build(), which seeds the initialisation
    packed = torch.randn(260, sum(head.sizes))
    with torch.no_grad():
        f = head.vertex_features(packed)
        w_true = torch.randn(f.shape[0], f.shape[2]) / f.shape[2] ** 0.5
        signal = torch.einsum("vnc,vc->nv", f, w_true)
        y = signal + 2.0 * signal.std() * torch.randn_like(signal)
    train, val, test = slice(0, 60), slice(60, 72), slice(72, 260)

    def test_error(alpha_smoothing, **kwargs):
        alphas = head.refit_readout(packed[train], y[train], packed[val], y[val], alpha_smoothing=alpha_smoothing,
                                    **kwargs)
        with torch.no_grad():
            return float(((head(packed[test]) - signal[test]) ** 2).mean()), alphas

    alone, alphas_alone = test_error(0)
    pooled, alphas_pooled = test_error(2)
    weights = [b.weight.clone() for b in head.readout_blocks()]
    assert pooled < 0.8 * alone, (pooled, alone)  # measured: 0.131 against 0.190
    # the pooled choices vary less from vertex to vertex
    assert np.log10(alphas_pooled).std() < np.log10(alphas_alone).std()
    # memory-capped spans pool the same errors (all spans' errors first, then a second solve)
    c = sum(b.channels for b in head.readout_blocks())
    _, alphas_spans = test_error(2, max_gram_bytes=97 * 4 * c * c)
    np.testing.assert_array_equal(alphas_spans, alphas_pooled)
    for before, block in zip(weights, head.readout_blocks()):
        torch.testing.assert_close(block.weight, before, rtol=1e-4, atol=1e-6)
    with pytest.raises(InvalidParameterError, match="alpha_smoothing"):
        head.refit_readout(packed[train], y[train], packed[val], y[val], alpha_smoothing=-1)


def test_banded_refit_never_does_worse_on_the_validation_images():
    torch.manual_seed(2)
    head = small().build().readout_.eval()
    packed = torch.randn(150, sum(head.sizes))
    with torch.no_grad():
        f = head.vertex_features(packed)
        w_true = torch.randn(f.shape[0], f.shape[2])
        w_true[::2, 24:] = 0  # half the vertices ignore the receptive-field features
        y = torch.einsum("vnc,vc->nv", f, w_true) + 3.0 * torch.randn(150, f.shape[0])
    train, val = (packed[:110], y[:110]), (packed[110:], y[110:])

    def val_error():
        with torch.no_grad():
            return ((head(val[0]) - val[1]) ** 2).mean(0)

    # each vertex alone (no pooled choice): the banded candidates are a superset, so never worse
    head.refit_readout(*train, *val, alpha_smoothing=0)
    single = val_error()
    alphas = head.refit_readout(*train, *val, spatial_scales=(0.25, 1.0, 4.0), alpha_smoothing=0)
    banded = val_error()
    assert alphas.shape == (head.n_outputs,)
    assert bool((banded <= single + 1e-4).all()) and float(banded.mean()) < float(single.mean())


def test_public_import_paths():
    import encoding
    import encoding.mesh_encoder as package

    assert encoding.SurfaceMeshEncoder is SurfaceMeshEncoder is package.SurfaceMeshEncoder
    assert "MeshReadout" not in encoding.__all__ and not hasattr(encoding, "MeshReadout")  # internal
    assert all(hasattr(encoding, name) for name in encoding.__all__)
    assert all(hasattr(package, name) for name in package.__all__)

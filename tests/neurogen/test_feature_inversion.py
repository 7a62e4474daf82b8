"""The toolkit's own instance-conditioned generator: interface, persistence, training, shipped weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from neurogen.generator_training import generator_quality, train_generator
from neurogen.generators import FeatureInversionGenerator, InstanceConditionedGenerator, packaged_generator_path
from neurokit.exceptions import CheckpointError, DataValidationError, InvalidParameterError


def _small(seed: int = 0) -> FeatureInversionGenerator:
    torch.manual_seed(seed)
    return FeatureInversionGenerator(image_size=32, z_dim=4, channels=(32, 16, 16, 8), cond_dim=16)


def _smooth_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Smooth random colour images (uint8, channels first): learnable structure, no photographs needed."""
    rng = np.random.default_rng(seed)
    coarse = torch.from_numpy(rng.random((n, 3, 4, 4)).astype(np.float32))
    img = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def test_interface_shapes_range_and_gradients():
    g = _small()
    assert isinstance(g, InstanceConditionedGenerator)
    assert g.latent_shape == (g.spatial_dim + 4,) and g.instance_dim == 1280
    z = g.sample_latents(3, seed=1).requires_grad_(True)
    h = torch.nn.functional.normalize(torch.randn(3, g.instance_dim), dim=1).requires_grad_(True)
    out = g(z, h)
    assert out.shape == (3, 3, 32, 32) and float(out.detach().min()) >= 0 and float(out.detach().max()) <= 1
    out.mean().backward()
    assert z.grad.abs().sum() > 0 and h.grad.abs().sum() > 0
    assert torch.equal(g.sample_latents(2, seed=5), g.sample_latents(2, seed=5))


def test_bad_inputs_get_the_toolkits_errors():
    g = _small()
    z = g.sample_latents(2, seed=0)
    with pytest.raises(DataValidationError, match="instance features"):
        g(z)
    with pytest.raises(DataValidationError, match=r"\(2, 1280\)"):
        g(z, torch.zeros(2, 7))
    with pytest.raises(DataValidationError, match="finite"):
        g(z, torch.full((2, 1280), float("nan")))
    with pytest.raises(DataValidationError, match="latents must have shape"):
        g(torch.zeros(2, 3), torch.zeros(2, 1280))
    with pytest.raises(DataValidationError, match="images must be"):
        g.encode(torch.zeros(2, 32, 32))
    with pytest.raises(InvalidParameterError, match="power of two"):
        FeatureInversionGenerator(image_size=48)
    with pytest.raises(InvalidParameterError, match="channels"):
        FeatureInversionGenerator(image_size=32, channels=(8, 8))


def test_encode_gives_exact_spatial_features_and_save_load_round_trip(tmp_path):
    g = _small()
    x = torch.from_numpy(_smooth_images(4)).float() / 255
    g.fit_feature_statistics(x)
    with torch.no_grad():
        mu, logvar = g.encode(x)
    _, s = g.conditions(x)
    assert torch.allclose(mu[:, : g.spatial_dim], s) and float(logvar[:, : g.spatial_dim].max()) == -8.0
    g.info = {"seed": 3, "note": "test"}
    path = g.save(tmp_path / "gen")
    back = FeatureInversionGenerator.load(path)
    assert back.info["note"] == "test" and back.describe()["weights"] == str(path)
    with torch.no_grad():
        assert torch.equal(back.reconstruct(x), g.eval().reconstruct(x))


def test_checkpoints_of_the_previous_format_still_load(tmp_path):
    """Before the registry the JSON named the class under "kind" (as the shipped weights still do)."""
    from neurogen.generators import generator_config, generator_from_config
    from neurogen.generators.feature_inversion import LEGACY_KIND

    assert json.loads(packaged_generator_path().read_text())["config"]["kind"] == LEGACY_KIND
    g = _small()
    path = g.save(tmp_path / "gen")
    doc = json.loads(path.read_text())
    assert doc["config"]["class"] == "FeatureInversionGenerator"
    doc["config"] = {"kind": LEGACY_KIND, **{k: v for k, v in doc["config"].items() if k != "class"}}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    (tmp_path / "old.safetensors").write_bytes(path.with_suffix(".safetensors").read_bytes())
    back = FeatureInversionGenerator.load(old)
    x = torch.from_numpy(_smooth_images(2)).float() / 255
    with torch.no_grad():
        assert torch.equal(back.reconstruct(x), g.eval().reconstruct(x))
    assert generator_config(back) == {"class": "FeatureInversionGenerator", "weights": str(old)}
    with torch.no_grad():
        assert torch.equal(generator_from_config(generator_config(back)).reconstruct(x), back.reconstruct(x))
    doc["config"]["kind"] = "something.Else"
    old.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="not a FeatureInversionGenerator"):
        FeatureInversionGenerator.load(old)


def test_bad_checkpoints_raise_checkpoint_error(tmp_path):
    g = _small()
    path = g.save(tmp_path / "gen")
    doc = json.loads(path.read_text())
    doc["config"]["class"] = "something.Else"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    (tmp_path / "other.safetensors").write_bytes(path.with_suffix(".safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="not a FeatureInversionGenerator"):
        FeatureInversionGenerator.load(other)
    raw = bytearray(path.with_suffix(".safetensors").read_bytes())
    raw[-10:] = b"\x00" * 10
    path.with_suffix(".safetensors").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):
        FeatureInversionGenerator.load(path)
    with pytest.raises(CheckpointError):
        FeatureInversionGenerator.load(tmp_path / "missing.json")


def test_weights_of_another_architecture_raise_checkpoint_error(tmp_path):
    path = _small().save(tmp_path / "gen")
    doc = json.loads(path.read_text())
    doc["config"]["generator"]["cond_dim"] = 2 * doc["config"]["generator"]["cond_dim"]
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="shapes do not match the module"):
        FeatureInversionGenerator.load(path)


@pytest.mark.parametrize("name, value", [("n_crops", 0), ("n_val", True), ("n_left_out", 2.5), ("size", "64"),
                                         ("seed", -1)])
def test_training_set_checks_its_counts_before_reading_the_bank(name, value, tmp_path):
    from neurogen.generator_training import photo_bank_training_set

    with pytest.raises(InvalidParameterError, match=name):
        photo_bank_training_set(**{name: value}, cache_dir=tmp_path / "no-bank-here")
    assert not (tmp_path / "no-bank-here").exists()


def test_training_lowers_the_loss_and_raises_the_held_out_score(tmp_path):
    torch.set_num_threads(1)
    train, val = _smooth_images(96, seed=1), _smooth_images(32, seed=2)
    g = train_generator(train, val, generator=_small(), epochs=6, batch_size=16, lr=3e-3, seed=0,
                        run_dir=tmp_path / "run", progress=False, max_epochs_this_run=3)
    assert g.info["history"]["finished"] is False
    g = train_generator(train, val, generator=_small(), epochs=6, batch_size=16, lr=3e-3, seed=0,
                        run_dir=tmp_path / "run", progress=False)  # resumes at epoch 4
    epochs = g.info["history"]["epochs"]
    assert len(epochs) == 6 and g.info["history"]["finished"]
    assert epochs[-1]["train_loss"] < 0.8 * epochs[0]["train_loss"]
    assert epochs[-1]["val_score"] > epochs[0]["val_score"]
    quality = generator_quality(g, val, n_z=2)
    assert quality["generator"]["pixel_mse"] < quality["shuffled_features"]["pixel_mse"]


def test_packaged_generator_inverts_features_of_photographs_it_never_saw():
    """The shipped weights, measured here on crops of the photographs left out of their training."""
    from neurokit.datasets.photo_bank import load_photo_bank, photo_disjoint_split, sample_crops

    torch.set_num_threads(1)
    path = packaged_generator_path()
    g = FeatureInversionGenerator.load()
    info = json.loads(path.read_text())["config"]["info"]
    assert "train-generator" in info["command"] and info["data"]["left_out"]["rule"].endswith("seed=0)")
    bank = load_photo_bank()
    left_out = photo_disjoint_split(bank, test_fraction=0.2, seed=0)[1]
    crops, _ = sample_crops(bank, left_out, 48, 64, seed=5, scale=(0.8, 1.0))
    quality = generator_quality(g, np.ascontiguousarray(crops.transpose(0, 3, 1, 2)), n_z=2)
    # measured at training time on 256 crops: PixCorr 0.663 (another photograph's features 0.019, mean image 0.179)
    assert quality["generator"]["pixcorr"] > quality["shuffled_features"]["pixcorr"] + 0.3
    assert quality["generator"]["pixcorr"] > quality["mean_image"]["pixcorr"] + 0.2
    assert quality["generator"]["pixel_mse"] < quality["mean_image"]["pixel_mse"]
    assert quality["generator"]["instance_identification"] > 0.9 > quality["shuffled_features"]["instance_identification"]
    assert g.image_size == (64, 64)


def test_train_generator_command_writes_weights_with_their_provenance(tmp_path):
    from neurokit import cli

    out = tmp_path / "gen"
    status = cli.main(["train-generator", "--output", str(out), "--crops", "32", "--val-crops", "8", "--epochs", "1",
                       "--batch-size", "16", "--image-size", "32", "--z-dim", "4", "--threads", "1", "--quiet"])
    assert status == 0
    g = FeatureInversionGenerator.load(out.with_suffix(".json"))
    assert g.image_size == (32, 32) and "--world-seed 0" in g.info["command"] and "--seed 0" in g.info["command"]
    assert g.info["data"]["left_out"]["n_photos"] > 0 and len(g.info["history"]["epochs"]) == 1
    assert set(g.info["quality_on_left_out_photos"]) >= {"generator", "shuffled_features", "mean_image"}

"""IC-GAN's BigGAN generator: images, gradients, truncation, and the published checkpoint layout."""

from __future__ import annotations

import json
import tarfile

import pytest
import torch
from torch import nn

from neurokit.exceptions import CheckpointError, DataValidationError, InvalidParameterError
from neurogen.generators import ICGANGenerator, InstanceConditionedGenerator, icgan_architecture
from neurogen.generators import icgan

SMALL = {"resolution": 32, "G_ch": 8, "dim_z": 24, "G_attn": "16", "shared_dim": 8, "shared_dim_feat": 16,
         "n_classes": 10}


@pytest.fixture(scope="module")
def gen() -> ICGANGenerator:
    return ICGANGenerator.from_config(SMALL, seed=0)


def _inputs(n: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 24, generator=g).clamp(-2, 2), torch.rand(n, 2048, generator=g)


def _images(generator: ICGANGenerator, z: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return generator(z, h)


def test_shapes_range_and_determinism(gen):
    assert isinstance(gen, InstanceConditionedGenerator)
    assert gen.latent_shape == (24,) and gen.instance_dim == 2048 and gen.image_size == (32, 32)
    z, h = _inputs()
    x = _images(gen, z, h)
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert float(x.std()) > 0.02  # neither constant nor saturated
    assert torch.equal(x, _images(ICGANGenerator.from_config(SMALL, seed=0), z, h))
    assert not torch.allclose(x, _images(ICGANGenerator.from_config(SMALL, seed=1), z, h))
    # the instance matters, and only its direction (IC-GAN L2-normalises h)
    z1 = z[:1].repeat(2, 1)
    pair = _images(gen, z1, torch.stack([h[0], h[1]]))
    assert not torch.allclose(pair[0], pair[1], atol=1e-3)
    assert torch.allclose(_images(gen, z, 5.0 * h), x, atol=1e-5)
    desc = gen.describe()
    assert desc["instance_dim"] == 2048 and desc["weights"] == "random initialisation"
    assert desc["architecture"]["G_ch"] == 8 and json.dumps(desc)


def test_gradient_reaches_latents_and_instance(gen):
    z = gen.sample_latents(2, seed=3).requires_grad_(True)
    h = torch.rand(2, 2048, requires_grad=True)
    gen(z, h).mean().backward()
    for grad in (z.grad, h.grad):
        assert grad is not None and torch.isfinite(grad).all() and float(grad.abs().sum()) > 0


def test_truncation_draws_and_clamps_as_ic_gan():
    gen = ICGANGenerator.from_config(SMALL, seed=0, truncation=0.5)
    a = gen.sample_latents(400, truncation=0.5, seed=1)
    assert torch.equal(a, gen.sample_latents(400, truncation=0.5, seed=1))
    assert a.shape == (400, 24) and float(a.abs().max()) <= 1.0 + 1e-6
    # a standard normal cut at +-2t, not a scaled one: for t = 1 the spread is that of N(0, 1) within +-2
    b = gen.sample_latents(400, truncation=1.0, seed=1)
    assert float(b.abs().max()) <= 2.0 + 1e-6 and 0.8 < float(b.std()) < 0.95
    # latents beyond the truncation bound are clamped to it (zero gradient there)
    z, h = _inputs(2)
    big = torch.full((2, 24), 3.0, requires_grad=True)
    assert torch.equal(_images(gen, big.detach(), h), _images(gen, torch.ones(2, 24), h))
    gen(big, h).sum().backward()
    assert float(big.grad.abs().max()) == 0.0
    with pytest.raises(InvalidParameterError, match="truncation"):
        gen.sample_latents(2, truncation=1.5)
    with pytest.raises(InvalidParameterError, match="positive integer"):
        gen.sample_latents(0)


def test_input_validation(gen):
    z, h = _inputs(2)
    with pytest.raises(DataValidationError, match=r"\(2, 2048\)"):
        gen(z, h[:, :100])
    with pytest.raises(DataValidationError, match=r"\(2, 2048\)"):
        gen(z, h[:1])
    with pytest.raises(DataValidationError, match="float"):
        gen(z, torch.ones(2, 2048, dtype=torch.long))
    with pytest.raises(DataValidationError, match="instance-conditioned"):
        gen(z)
    with pytest.raises(DataValidationError, match="finite"):
        gen(z, torch.full((2, 2048), float("nan")))
    with pytest.raises(DataValidationError, match=r"\(n, 24\)"):
        gen(z[:, :10], h)


def test_architecture_settings_are_validated():
    arch = icgan_architecture({**SMALL, "experiment_name": "x", "G_lr": 1e-4})  # training settings are ignored
    assert set(arch) == set(icgan.ARCHITECTURE_DEFAULTS) and arch["G_ch"] == 8
    with pytest.raises(InvalidParameterError, match="class_cond"):
        icgan_architecture({**SMALL, "class_cond": True})
    with pytest.raises(InvalidParameterError, match="resolution"):
        icgan_architecture({**SMALL, "resolution": 48})
    with pytest.raises(InvalidParameterError, match="G_ch"):
        icgan_architecture({**SMALL, "G_ch": 0})
    with pytest.raises(InvalidParameterError, match="G_attn"):
        icgan_architecture({**SMALL, "G_attn": "sixty-four"})
    with pytest.raises(InvalidParameterError, match="dim_z"):
        icgan_architecture({**SMALL, "dim_z": 3})
    # without hierarchical z every block sees the same conditioning, z goes to the first layer only
    flat = ICGANGenerator.from_config({**SMALL, "hier": False, "dim_z": 20, "G_attn": "0"}, seed=0)
    assert flat.latent_shape == (20,) and tuple(flat.network.linear.weight.shape) == (512, 20)


def test_published_architectures_have_ic_gans_keys_and_shapes():
    # built on the meta device: shapes without memory or initialisation time
    with torch.device("meta"):
        big = ICGANGenerator(icgan.PUBLISHED_ARCHITECTURES["icgan_biggan_imagenet_res256"])
        small = ICGANGenerator(icgan.PUBLISHED_ARCHITECTURES["icgan_biggan_imagenet_res64"])
    state = big.network.state_dict()
    assert big.latent_shape == (119,) and big.image_size == (256, 256) and len(state) == 198
    assert small.latent_shape == (120,) and small.image_size == (64, 64)
    expected = {  # from IC-GAN's BigGAN_PyTorch Generator(resolution=256, G_ch=96, hier=True, ...)
        "shared.weight": (1000, 128), "shared_feat.weight": (512, 2048), "shared_feat.u0": (1, 512),
        "linear.weight": (24576, 17), "blocks.0.0.bn1.gain.weight": (1536, 529),
        "blocks.0.0.bn1.stored_var": (1536,), "blocks.3.1.theta.weight": (48, 384, 1, 1), "blocks.3.1.gamma": (),
        "blocks.5.0.conv_sc.weight": (96, 192, 1, 1), "output_layer.0.gain": (96,),
        "output_layer.2.weight": (3, 96, 3, 3), "output_layer.2.sv0": (1,),
    }
    assert {k: tuple(state[k].shape) for k in expected} == expected


def test_save_pretrained_round_trips_folder_and_archive(gen, tmp_path):
    z, h = _inputs()
    expected = _images(gen, z, h)
    folder = gen.save_pretrained(tmp_path / "icgan_small")
    assert sorted(p.name for p in folder.iterdir()) == ["G_ema_best0.pth", "state_dict_best0.pth"]
    for source in (folder, tmp_path):  # the experiment folder, or the folder it was unpacked into
        loaded = ICGANGenerator.from_pretrained(source)
        assert torch.equal(_images(loaded, z, h), expected)
        assert loaded.describe()["weights"] == str(folder / "G_ema_best0.pth")
    archive = gen.save_pretrained(tmp_path / "icgan_small.tar.gz")
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["icgan_small/G_ema_best0.pth", "icgan_small/state_dict_best0.pth"]
    loaded = ICGANGenerator.from_pretrained(archive, truncation=0.7)
    inside = z.clamp(-1.4, 1.4)  # truncation 0.7 clamps at +-1.4
    assert torch.equal(_images(loaded, inside, h), _images(gen, inside, h))
    assert loaded.truncation == 0.7 and loaded.source.endswith("icgan_small.tar.gz:icgan_small/G_ema_best0.pth")


def test_published_state_dict_with_pickled_config_needs_the_architecture(gen, tmp_path, monkeypatch):
    """IC-GAN's own state_dict_best0.pth pickles nn.ReLU in its config: weights_only refuses it."""
    folder = gen.save_pretrained(tmp_path / "icgan_published")
    torch.save({"best_FID": 5.0, "config": {**gen.architecture, "G_activation": nn.ReLU()}},
               folder / "state_dict_best0.pth")
    with pytest.raises(CheckpointError, match="pass config="):
        ICGANGenerator.from_pretrained(folder)
    z, h = _inputs()
    expected = _images(gen, z, h)
    assert torch.equal(_images(ICGANGenerator.from_pretrained(folder, config=SMALL), z, h), expected)
    config_file = tmp_path / "icgan_res32.json"
    config_file.write_text(json.dumps({**SMALL, "class_cond": False, "instance_cond": True, "batch_size": 64}))
    assert torch.equal(_images(ICGANGenerator.from_pretrained(folder, config=config_file), z, h), expected)
    config_file.write_text("{broken")
    with pytest.raises(CheckpointError, match="icgan_res32.json"):
        ICGANGenerator.from_pretrained(folder, config=config_file)
    monkeypatch.setitem(icgan.PUBLISHED_ARCHITECTURES, "icgan_published", SMALL)  # known by its name
    assert torch.equal(_images(ICGANGenerator.from_pretrained(folder), z, h), expected)
    (folder / "state_dict_best0.pth").unlink()  # the weights file alone is enough
    assert torch.equal(_images(ICGANGenerator.from_pretrained(folder), z, h), expected)


def test_weights_are_loaded_strictly_and_never_unpickled(gen, tmp_path):
    folder = gen.save_pretrained(tmp_path / "icgan_bad")
    weights = folder / "G_ema_best0.pth"
    state = gen.network.state_dict()
    cases = {
        "missing": ({k: v for k, v in state.items() if k != "blocks.1.0.conv2.u0"}, "blocks.1.0.conv2.u0"),
        "unexpected": ({**state, "blocks.9.0.conv1.weight": torch.zeros(1)}, "blocks.9.0.conv1.weight"),
        "wrong shape": ({**state, "shared_feat.weight": torch.zeros(8, 2048)}, "shared_feat.weight"),
        "pickled object": ({"generator": nn.ReLU()}, "weights_only"),
        "not tensors": ({"shared.weight": [1.0, 2.0]}, "not a state dict"),
    }
    for payload, message in cases.values():
        torch.save(payload, weights)
        with pytest.raises(CheckpointError, match="G_ema_best0.pth") as info:
            ICGANGenerator.from_pretrained(folder)
        assert message in str(info.value)
    weights.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(CheckpointError, match="G_ema_best0.pth"):
        ICGANGenerator.from_pretrained(folder)
    weights.unlink()
    with pytest.raises(CheckpointError, match="no G_ema"):
        ICGANGenerator.from_pretrained(folder)
    with pytest.raises(CheckpointError, match="not an IC-GAN archive"):
        ICGANGenerator.from_pretrained(tmp_path / "nowhere")
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"not gzip at all")
    with pytest.raises(CheckpointError, match="broken.tar.gz"):
        ICGANGenerator.from_pretrained(broken)


def test_several_checkpoints_need_a_choice(tmp_path):
    first = ICGANGenerator.from_config(SMALL, seed=0)
    second = ICGANGenerator.from_config(SMALL, seed=1)
    folder = first.save_pretrained(tmp_path / "icgan_two")
    second.save_pretrained(folder, checkpoint="best1")
    with pytest.raises(CheckpointError, match="checkpoint="):
        ICGANGenerator.from_pretrained(folder)
    z, h = _inputs()
    assert torch.equal(_images(ICGANGenerator.from_pretrained(folder, checkpoint="best1"), z, h),
                       _images(second, z, h))
    with pytest.raises(CheckpointError, match="'best2'"):
        ICGANGenerator.from_pretrained(folder, checkpoint="best2")
    with pytest.raises(InvalidParameterError, match="checkpoint"):
        first.save_pretrained(folder, checkpoint="../x")


def test_registry_config_rebuilds_the_saved_generator(gen, tmp_path):
    from neurogen.generators import generator_config, generator_from_config

    z, h = _inputs()
    folder = gen.save_pretrained(tmp_path / "icgan_small")
    loaded = ICGANGenerator.from_pretrained(folder, truncation=0.7)
    config = generator_config(loaded)
    assert config["class"] == "ICGANGenerator" and config["weights"] == str(folder / "G_ema_best0.pth")
    assert config["truncation"] == 0.7 and config["architecture"] == loaded.architecture
    expected = _images(loaded, z, h)
    assert torch.equal(_images(generator_from_config(config), z, h), expected)
    old = {"type": "ICGANGenerator", "latent_shape": list(loaded.latent_shape), "n_classes": 0, "instance_dim": 2048,
           "weights": str(folder / "G_ema_best0.pth"), "truncation": 0.7, "architecture": dict(loaded.architecture)}
    assert torch.equal(_images(generator_from_config(old), z, h), expected)
    archive = ICGANGenerator.from_pretrained(gen.save_pretrained(tmp_path / "icgan_small.tar.gz"), truncation=0.7)
    assert torch.equal(_images(generator_from_config(generator_config(archive)), z, h), expected)
    with pytest.raises(CheckpointError, match="no weights file"):
        generator_from_config(generator_config(gen))


def test_the_split_package_keeps_every_public_name_at_its_old_import_path():
    """neurogen.generators.icgan is a package (architecture, network, published, generator); the names of the
    former module stay importable from it, and the network state dict of a generator is ICGANNetwork's."""
    from neurogen.generators.icgan.generator import ICGANGenerator as FromModule
    from neurogen.generators.icgan.network import ICGANNetwork

    assert icgan.ICGANGenerator is ICGANGenerator is FromModule
    for name in ("icgan_architecture", "INSTANCE_DIM", "BLOCK_CHANNELS", "ARCHITECTURE_DEFAULTS", "FIXED_SETTINGS",
                 "PUBLISHED_ARCHITECTURES", "WEIGHTS_PATTERN", "STATE_PATTERN", "ARCHIVE_SUFFIXES"):
        assert name in icgan.__all__ and hasattr(icgan, name)
    gen = ICGANGenerator(SMALL)
    assert isinstance(gen.network, ICGANNetwork)
    assert set(ICGANNetwork(icgan_architecture(SMALL)).state_dict()) == set(gen.network.state_dict())

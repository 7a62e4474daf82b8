"""Generator adapters: shapes, [0, 1] range, gradients reach the latent, determinism, loading."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from torch import nn

from neurokit.exceptions import CheckpointError, DataValidationError, ImageShapeError, InvalidParameterError
from neurogen.augment import RandomAffine
from neurogen.generators import (
    BigGANGenerator,
    DCGANFaceGenerator,
    FourierImage,
    ModuleGenerator,
    truncated_normal,
)

HAS_DCGAN = importlib.util.find_spec("gan_face_generate") is not None
HAS_BIGGAN = importlib.util.find_spec("pytorch_pretrained_biggan") is not None

SMALL_BIGGAN = dict(
    output_dim=32, z_dim=16, class_embed_dim=16, channel_width=4, num_classes=10,
    layers=[(True, 16, 8), (True, 8, 4), (True, 4, 2), (False, 2, 1)], attention_layer_position=1,
)


def _check_images(images: torch.Tensor, n: int, size: tuple[int, int]) -> None:
    assert images.shape == (n, 3, *size)
    assert images.dtype == torch.float32
    assert float(images.detach().min()) >= 0.0 and float(images.detach().max()) <= 1.0


def _grad_reaches_latent(gen, classes=None) -> torch.Tensor:
    z = gen.sample_latents(2, seed=3).requires_grad_(True)
    gen(z, classes).mean().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    assert float(z.grad.abs().sum()) > 0
    return z.grad


def test_truncated_normal_bounds_and_determinism():
    a = truncated_normal((500, 8), truncation=0.4, seed=1)
    b = truncated_normal((500, 8), truncation=0.4, seed=1)
    assert torch.equal(a, b)
    assert float(a.abs().max()) <= 0.8 + 1e-6
    assert not torch.equal(a, truncated_normal((500, 8), truncation=0.4, seed=2))
    with pytest.raises(InvalidParameterError, match="truncation"):
        truncated_normal((2, 2), truncation=0.0)
    with pytest.raises(InvalidParameterError, match="seed"):
        truncated_normal((2, 2), seed=-1)


@pytest.mark.skipif(not HAS_DCGAN, reason="gan-face-generate not installed")
def test_dcgan_packaged_weights_make_varied_deterministic_faces():
    gen = DCGANFaceGenerator.from_pretrained()
    assert gen.latent_shape == (100,) and gen.image_size == (64, 64) and not gen.is_conditional
    z = gen.sample_latents(8, truncation=1.0, seed=0)
    with torch.no_grad():
        x1, x2 = gen(z), gen(z.clone())
    _check_images(x1, 8, (64, 64))
    assert torch.equal(x1, x2)
    # trained, not random: images use the range and differ across latents, but share a
    # face layout, so the per-pixel spread across latents is well below the overall spread
    per_pixel_sd = float(x1.std(dim=0).mean())
    assert 0.05 < per_pixel_sd < float(x1.std())
    assert float(x1.max() - x1.min()) > 0.8
    untrained = DCGANFaceGenerator().eval()
    with torch.no_grad():
        assert not torch.allclose(untrained(z), x1, atol=0.05)
    _grad_reaches_latent(gen)


def test_dcgan_checkpoint_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    gen = DCGANFaceGenerator(latent_dim=8, base_channels=4).eval()
    torch.save({"netG_state_dict": gen.state_dict()}, tmp_path / "g.pt")
    loaded = DCGANFaceGenerator.from_pretrained(tmp_path / "g.pt")
    z = gen.sample_latents(3, seed=0)
    with torch.no_grad():
        assert torch.allclose(loaded(z), gen(z))
    from safetensors.torch import save_file

    save_file(gen.state_dict(), str(tmp_path / "g.safetensors"))
    assert loaded.latent_shape == DCGANFaceGenerator.from_pretrained(tmp_path / "g.safetensors").latent_shape
    torch.save({"something": torch.zeros(2)}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="bad.pt"):
        DCGANFaceGenerator.from_pretrained(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not found"):
        DCGANFaceGenerator.from_pretrained(tmp_path / "missing.pt")
    with pytest.raises(DataValidationError, match=r"latents must have shape \(n, 8\)"):
        gen(torch.zeros(2, 9))
    with pytest.raises(DataValidationError, match="unconditional"):
        gen(z, torch.zeros(3, dtype=torch.long))


def test_fourier_image_range_gradient_and_spectrum():
    gen = FourierImage((24, 32))
    assert gen.latent_shape == (3, 24, 17, 2) and gen.image_size == (24, 32)
    z = gen.sample_latents(4, seed=0)
    x = gen(z)
    _check_images(x, 4, (24, 32))
    # tiny starting spectrum: near-uniform grey, as in Lucid
    assert abs(float(x.mean()) - 0.5) < 0.02
    _grad_reaches_latent(gen)
    # the 1/f scaling: the DC and lowest frequency get the largest scale
    scale = gen.scale
    assert scale.shape == (24, 17)
    assert float(scale[0, 0]) == pytest.approx(float(scale.max()))
    assert float(scale[12, 16]) < float(scale[0, 1])
    # a single coefficient makes a single frequency (a grating) in every channel
    z = torch.zeros(1, *gen.latent_shape)
    z[0, 0, 0, 2, 0] = 1.0
    img = gen(z)[0, 0] - 0.5
    spectrum = torch.fft.rfft2(img).abs()
    assert tuple(int(i) for i in np.unravel_index(int(spectrum[:, 1:].argmax()), spectrum[:, 1:].shape)) == (0, 1)
    with pytest.raises(InvalidParameterError, match="image_size"):
        FourierImage((1, 5))


def test_fourier_colour_decorrelation_mixes_channels():
    z = torch.zeros(1, 3, 8, 5, 2)
    z[0, 1, 0, 1, 0] = 5.0  # only the second decorrelated component
    mixed = FourierImage(8)(z)[0] - 0.5
    independent = FourierImage(8, decorrelate_colors=False)(z)[0] - 0.5
    assert float(independent[0].abs().max()) == 0.0 and float(independent[1].abs().max()) > 0
    assert float(mixed[0].abs().max()) > 0 and float(mixed[2].abs().max()) > 0  # R and B move too


class _TinyDecoder(nn.Module):
    def __init__(self, n_classes: int = 0):
        super().__init__()
        self.fc = nn.Linear(6 + n_classes, 3 * 8 * 8)

    def forward(self, z, onehot=None):
        h = z if onehot is None else torch.cat([z, onehot], 1)
        return torch.tanh(self.fc(h)).reshape(-1, 3, 8, 8)


def test_module_generator_wraps_any_module():
    torch.manual_seed(0)
    gen = ModuleGenerator(_TinyDecoder(), 6)
    assert gen.image_size == (8, 8) and gen.latent_shape == (6,)
    _check_images(gen(gen.sample_latents(5, seed=0)), 5, (8, 8))
    _grad_reaches_latent(gen)
    cond = ModuleGenerator(_TinyDecoder(4), 6, n_classes=4)
    x0 = cond(cond.sample_latents(2, seed=0), torch.tensor([0, 0]))
    x1 = cond(cond.sample_latents(2, seed=0), torch.tensor([3, 3]))
    assert not torch.allclose(x0, x1)
    with pytest.raises(DataValidationError, match="class-conditional"):
        cond(cond.sample_latents(2, seed=0))
    with pytest.raises(DataValidationError, match=r"0\.\.3"):
        cond(cond.sample_latents(1, seed=0), torch.tensor([4]))
    with pytest.raises(ImageShapeError, match="must return images"):
        ModuleGenerator(nn.Linear(6, 10), 6)
    with pytest.raises(InvalidParameterError, match="output_range"):
        ModuleGenerator(_TinyDecoder(), 6, output_range=(1, 0))
    sampler = lambda n, t, g: torch.full((n, 6), t)  # noqa: E731
    assert torch.equal(ModuleGenerator(_TinyDecoder(), 6, sampler=sampler).sample_latents(2, truncation=0.5),
                       torch.full((2, 6), 0.5))


@pytest.mark.skipif(not HAS_BIGGAN, reason="pytorch-pretrained-biggan not installed")
def test_biggan_small_config_shapes_range_gradient():
    gen = BigGANGenerator.from_config(SMALL_BIGGAN, seed=0)
    assert gen.is_conditional and gen.n_classes == 10 and gen.latent_shape == (16,) and gen.image_size == (32, 32)
    z = gen.sample_latents(3, truncation=0.4, seed=0)
    with torch.no_grad():
        x = gen(z, torch.tensor([0, 1, 2]))
        again = gen(z, torch.tensor([0, 1, 2]))
    _check_images(x, 3, (32, 32))
    assert torch.equal(x, again)
    assert float(x.std()) > 0.01  # not saturated nor constant
    _grad_reaches_latent(gen, torch.tensor([1, 5]))
    with pytest.raises(DataValidationError, match="class-conditional"):
        gen(z)


@pytest.mark.skipif(not HAS_BIGGAN, reason="pytorch-pretrained-biggan not installed")
def test_biggan_local_checkpoints_and_named_cache(tmp_path):
    gen = BigGANGenerator.from_config(SMALL_BIGGAN, seed=1)
    z, cls = gen.sample_latents(2, seed=0), torch.tensor([3, 7])
    with torch.no_grad():
        expected = gen(z, cls)
    # safetensors folder written by save_pretrained
    gen.save_pretrained(tmp_path / "st")
    with torch.no_grad():
        assert torch.allclose(BigGANGenerator.from_pretrained(tmp_path / "st")(z, cls), expected, atol=1e-6)
    # the package's own layout (pytorch_model.bin + config.json), read with weights_only=True
    named = tmp_path / "cache" / "biggan-deep-256"
    named.mkdir(parents=True)
    torch.save(gen.model.state_dict(), named / "pytorch_model.bin")
    (named / "config.json").write_text((tmp_path / "st" / "config.json").read_text())
    loaded = BigGANGenerator.from_pretrained("biggan-deep-256", cache_dir=tmp_path / "cache", download=False)
    with torch.no_grad():
        assert torch.allclose(loaded(z, cls), expected, atol=1e-6)
    with pytest.raises(CheckpointError, match="download=False"):
        BigGANGenerator.from_pretrained("biggan-deep-128", cache_dir=tmp_path / "cache", download=False)
    with pytest.raises(CheckpointError, match="not a folder"):
        BigGANGenerator.from_pretrained(tmp_path / "nowhere")
    # a checkpoint missing a learned parameter is refused
    state = gen.model.state_dict()
    state.pop("embeddings.weight")
    torch.save(state, named / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="embeddings.weight"):
        BigGANGenerator.from_pretrained(named)


@pytest.mark.skipif(not HAS_BIGGAN, reason="pytorch-pretrained-biggan not installed")
def test_biggan_published_layout_refuses_bad_files(tmp_path):
    """config.json + pytorch_model.bin as the package publishes them; every bad file names itself."""
    gen = BigGANGenerator.from_config(SMALL_BIGGAN, seed=2)
    gen.save_pretrained(tmp_path / "st")
    config_text = (tmp_path / "st" / "config.json").read_text()
    state = gen.model.state_dict()
    folder = tmp_path / "published"
    folder.mkdir()
    weights, config = folder / "pytorch_model.bin", folder / "config.json"
    config.write_text(config_text)
    torch.save(state, weights)
    z, cls = gen.sample_latents(2, seed=1), torch.tensor([0, 9])
    with torch.no_grad():
        assert torch.equal(BigGANGenerator.from_pretrained(folder)(z, cls), gen(z, cls))
    bad_weights = {
        "corrupt": lambda: weights.write_bytes(b"\x00not a torch file" * 10),
        "pickled object": lambda: torch.save({"model": _TinyDecoder()}, weights),
        "not a state dict": lambda: torch.save([torch.zeros(2)], weights),
        "extra key": lambda: torch.save({**state, "generator.extra": torch.zeros(1)}, weights),
        "missing parameter": lambda: torch.save({k: v for k, v in state.items() if k != "generator.gen_z.bias"}, weights),
        "wrong shape": lambda: torch.save({**state, "embeddings.weight": torch.zeros(3, 3)}, weights),
    }
    for name, write in bad_weights.items():
        write()
        with pytest.raises(CheckpointError, match="pytorch_model.bin") as info:
            BigGANGenerator.from_pretrained(folder)
        assert name != "extra key" or "generator.extra" in str(info.value)
        assert name != "missing parameter" or "generator.gen_z.bias" in str(info.value)
    torch.save(state, weights)
    for bad_config in ("{not json", "[1, 2]", config_text.replace('"layers": [', '"layers": [7, ')):
        config.write_text(bad_config)
        with pytest.raises(CheckpointError, match="config.json"):
            BigGANGenerator.from_pretrained(folder)
    config.unlink()
    with pytest.raises(CheckpointError, match="config.json"):
        BigGANGenerator.from_pretrained(folder)
    config.write_text(config_text)
    weights.unlink()
    with pytest.raises(CheckpointError, match="pytorch_model.bin"):
        BigGANGenerator.from_pretrained(folder)


def test_random_affine_is_reproducible_and_differentiable():
    aug = RandomAffine(jitter=0.1, scale=(0.8, 1.2), rotation=20)
    x = torch.rand(3, 3, 16, 16, requires_grad=True)
    gens = lambda: [torch.Generator().manual_seed(i) for i in range(3)]  # noqa: E731
    a, b = aug(x, gens()), aug(x, gens())
    assert torch.equal(a, b) and a.shape == x.shape
    assert not torch.allclose(a, x)
    a.sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0
    # identity parameters leave the image unchanged
    ident = RandomAffine.warp(x.detach(), torch.zeros(3, 4))
    assert torch.allclose(ident, x.detach(), atol=1e-5)
    with pytest.raises(InvalidParameterError, match="jitter"):
        RandomAffine(jitter=0.7)
    with pytest.raises(DataValidationError, match="one generator per image"):
        aug(x, gens()[:2])


def test_generator_registry_rebuilds_from_configs_and_old_descriptions(tmp_path):
    from neurogen.generators import GENERATORS, generator_config, generator_from_config

    fourier = FourierImage((24, 32), decay_power=1.5, decorrelate_colors=False)
    config = generator_config(fourier)
    assert config == {"class": "FourierImage", "image_size": [24, 32], "decay_power": 1.5,
                      "decorrelate_colors": False, "init_std": 0.01}
    z = fourier.sample_latents(2, seed=0) * 50
    assert torch.equal(generator_from_config(config)(z), fourier(z))
    # a description as the previous version wrote it: describe() output, the class under "type"
    old = {"type": "FourierImage", "latent_shape": [3, 24, 17, 2], "image_size": [24, 32], "n_classes": 0,
           "decay_power": 1.5, "decorrelate_colors": False, "init_std": 0.01}
    assert torch.equal(generator_from_config(old)(z), fourier(z))
    torch.manual_seed(0)
    dcgan = DCGANFaceGenerator(latent_dim=8, base_channels=4).eval()
    assert generator_config(dcgan) == {"class": "DCGANFaceGenerator", "weights": "random initialisation"}
    with pytest.raises(CheckpointError, match="no weights file"):
        generator_from_config(generator_config(dcgan))
    torch.save({"netG_state_dict": dcgan.state_dict()}, tmp_path / "g.pt")
    loaded = DCGANFaceGenerator.from_pretrained(tmp_path / "g.pt")
    z = dcgan.sample_latents(3, seed=0)
    for description in (generator_config(loaded), {"type": "DCGANFaceGenerator", "latent_shape": [8],
                                                   "image_size": [64, 64], "n_classes": 0,
                                                   "weights": str(tmp_path / "g.pt")}):
        with torch.no_grad():
            assert torch.allclose(generator_from_config(description)(z), dcgan(z))
    module = ModuleGenerator(nn.Sequential(nn.Linear(4, 3 * 8 * 8), nn.Unflatten(1, (3, 8, 8))), 4)
    assert generator_config(module) == {"class": "ModuleGenerator"}
    for bad, match in [(generator_config(module), "unknown generator 'ModuleGenerator'"),
                       ({"type": "FourierImage"}, "image_size"),
                       ({"class": "FourierImage", "image_size": [1, 1]}, "invalid FourierImage config"),
                       ({"class": "DCGANFaceGenerator", "weights": str(tmp_path / "missing.pt")}, "not found")]:
        with pytest.raises(CheckpointError, match=match):
            generator_from_config(bad, where="model.json")
    assert "FeatureInversionGenerator" in GENERATORS and "ICGANGenerator" in GENERATORS


@pytest.mark.skipif(not HAS_BIGGAN, reason="pytorch-pretrained-biggan not installed")
def test_biggan_is_rebuilt_from_its_config_without_download(tmp_path):
    from neurogen.generators import generator_config, generator_from_config

    gen = BigGANGenerator.from_config(SMALL_BIGGAN, seed=1)
    gen.save_pretrained(tmp_path / "st")
    loaded = BigGANGenerator.from_pretrained(tmp_path / "st", truncation=0.5)
    config = generator_config(loaded)
    assert config == {"class": "BigGANGenerator", "weights": str(tmp_path / "st"), "truncation": 0.5}
    z, cls = gen.sample_latents(2, seed=0), torch.tensor([3, 7])
    with torch.no_grad():
        expected = loaded(z, cls)
        assert torch.equal(generator_from_config(config)(z, cls), expected)
        old = {"type": "BigGANGenerator", "weights": str(tmp_path / "st"), "truncation": 0.5, "n_classes": 10}
        assert torch.equal(generator_from_config(old)(z, cls), expected)
    with pytest.raises(CheckpointError, match="download=False"):
        generator_from_config({"class": "BigGANGenerator", "weights": "biggan-deep-128"})

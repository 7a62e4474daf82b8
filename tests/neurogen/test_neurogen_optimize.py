"""The latent optimiser, class ranking, the natural-image baseline and result files."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from torch import nn

from neurokit.exceptions import DataValidationError, InvalidParameterError, OutputExistsError
from neurogen import (
    DCGANFaceGenerator,
    FourierImage,
    LatentOptimizer,
    ModuleGenerator,
    RandomAffine,
    ROIActivation,
    SubjectContrast,
    TargetPattern,
    rank_classes,
    rank_images,
    save_result,
    synthesize,
)

HAS_DCGAN = importlib.util.find_spec("gan_face_generate") is not None


class ColourCentre(nn.Module):
    """Known differentiable encoder: 0 = red minus green/blue in the centre, 1 = green, 2 = brightness."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        c = x[:, :, h // 4: 3 * h // 4, w // 4: 3 * w // 4]
        red = c[:, 0].mean((1, 2)) - c[:, 1:].mean((1, 2, 3))
        green = c[:, 1].mean((1, 2)) - c[:, [0, 2]].mean((1, 2, 3))
        return torch.stack([red, green, x.mean((1, 2, 3))], dim=1)


def natural_images(size: int = 32) -> np.ndarray:
    """Crops of the photographs scikit-image ships, resized to ``size`` (n, size, size, 3)."""
    from skimage import data
    from skimage.transform import resize

    crops = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        img = getattr(data, name)().astype(np.float32) / 255.0
        h, w = img.shape[:2]
        s = min(h, w) // 2
        for y in (0, h - s):
            for x in (0, w - s):
                crops.append(resize(img[y: y + s, x: x + s], (size, size), anti_aliasing=True))
    return np.clip(np.stack(crops), 0, 1).astype(np.float32)


def test_synthetic_images_beat_natural_images_and_minimising_reverses():
    images = natural_images(24)
    objectives = [ROIActivation(0, name="red up"), ROIActivation(0, maximize=False, name="red down")]
    ranking = rank_images(ColourCentre(), images, objectives)
    assert ranking.scores.shape == (2, len(images)) and ranking.top(3).shape == (2, 3)
    assert ranking.best_score[0] == pytest.approx(ranking.scores[0].max())
    # a large step size: the Fourier basis is tuned for deep-network gradients, this encoder is linear
    result = synthesize(FourierImage(24), ColourCentre(), objectives, steps=40, lr=0.5, n_seeds=2,
                        augment=RandomAffine(), progress=False)
    assert result.images.shape == (4, 24, 24, 3) and result.history.shape == (4, 40)
    up, down = result.select("red up"), result.select("red down")
    # the objective rises along every trajectory and ends above the best natural image
    assert (result.best_value > result.history[:, 0] + 0.1).all()
    assert result.best_value[up].min() > ranking.best_score[0]
    assert result.best_value[down].min() > ranking.best_score[1]
    red = result.predictions["encoder"][:, 0]
    assert red[up].min() > images_red_max(ranking) and red[down].max() < ranking.predictions["encoder"][:, 0].min()
    # the kept images really have the recorded values (best step, no augmentation)
    assert np.allclose(result.best_value[up], red[up], atol=1e-4)
    assert np.allclose(result.best_value[down], -red[down], atol=1e-4)
    assert result.best(0) in up


def images_red_max(ranking) -> float:
    return float(ranking.predictions["encoder"][:, 0].max())


def _fixed_random_convnet(n_out: int = 4) -> nn.Module:
    torch.manual_seed(123)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 5, stride=2), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, n_out),
    )
    return net.requires_grad_(False)


@pytest.mark.skipif(not HAS_DCGAN, reason="gan-face-generate not installed")
def test_dcgan_with_random_convnet_encoder_raises_its_target():
    gen = DCGANFaceGenerator.from_pretrained()
    encoder = _fixed_random_convnet()
    opt = LatentOptimizer(steps=6, lr=0.05, n_seeds=1, progress=False, input_size=(48, 48))
    result = opt.run(gen, encoder, [ROIActivation(1), TargetPattern([0, 2], [0.0, 0.0])])
    assert result.images.shape == (2, 64, 64, 3)
    assert (result.history[:, -1] > result.history[:, 0]).all()
    assert not any(p.grad is not None for p in gen.parameters())  # only latents are optimised
    assert not gen.training
    assert result.settings["generator"]["type"] == "DCGANFaceGenerator"


def test_runs_are_reproducible_per_seed_and_independent_of_the_batch():
    gen, enc = FourierImage(16), ColourCentre()
    kw = dict(steps=8, lr=0.05, augment=RandomAffine(), n_augment=2, progress=False)
    a = LatentOptimizer(**kw).run(gen, enc, ROIActivation(1), seeds=[0, 1])
    b = LatentOptimizer(**kw).run(gen, enc, ROIActivation(1), seeds=[0, 1])
    assert np.array_equal(a.latents, b.latents) and np.array_equal(a.history, b.history)
    alone = LatentOptimizer(**kw).run(gen, enc, ROIActivation(1), seeds=[1])
    assert np.allclose(alone.latents[0], a.latents[1], atol=1e-5)
    chunked = LatentOptimizer(max_batch=1, **kw).run(gen, enc, ROIActivation(1), seeds=[0, 1])
    assert np.allclose(chunked.latents, a.latents, atol=1e-5)
    other = LatentOptimizer(**kw).run(gen, enc, ROIActivation(1), seeds=[2])
    assert not np.allclose(other.latents[0], a.latents[0])


def test_subject_contrast_gives_the_requested_sign():
    class Scaled(nn.Module):
        def __init__(self, channel: int):
            super().__init__()
            self.channel = channel

        def forward(self, x):
            return ColourCentre()(x)[:, [self.channel]]

    encoders = {"subj01": Scaled(0), "subj02": Scaled(1)}  # subject 1 "likes" red, subject 2 green
    objectives = [SubjectContrast(0, "subj01", "subj02"), SubjectContrast(0, "subj02", "subj01")]
    result = synthesize(FourierImage(16), encoders, objectives, steps=25, lr=0.05, n_seeds=1, progress=False)
    diff = result.predictions["subj01"][:, 0] - result.predictions["subj02"][:, 0]
    assert diff[0] > 0.1 and diff[1] < -0.1


class _ClassBrightness(nn.Module):
    """Conditional toy generator: class c sets the red level, the latent adds texture."""

    def forward(self, z, onehot):
        level = onehot @ torch.linspace(-2, 2, onehot.shape[1])
        base = z[:, :1, None, None] * 0.1 + level[:, None, None, None]
        img = base.expand(-1, 3, 8, 8).clone()
        img[:, 1:] = 0.0
        return torch.tanh(img)


def test_class_conditional_starts_from_top_classes():
    gen = ModuleGenerator(_ClassBrightness(), 4, n_classes=6)
    scores = rank_classes(gen, ColourCentre(), [ROIActivation(0), ROIActivation(0, maximize=False)], n_samples=2)
    assert scores.shape == (2, 6)
    assert np.argmax(scores[0]) == 5 and np.argmax(scores[1]) == 0
    result = LatentOptimizer(steps=3, n_seeds=2, top_k_classes=2, progress=False).run(
        gen, ColourCentre(), [ROIActivation(0), ROIActivation(0, maximize=False)])
    assert sorted(set(result.classes[result.select(0)].tolist())) == [4, 5]
    assert sorted(set(result.classes[result.select(1)].tolist())) == [0, 1]
    assert len(result) == 2 * 2 * 2
    explicit = LatentOptimizer(steps=2, n_seeds=1, progress=False).run(gen, ColourCentre(), ROIActivation(0),
                                                                       classes=[3])
    assert explicit.classes.tolist() == [3]


def test_optimizer_validation():
    gen, enc = FourierImage(8), ColourCentre()
    with pytest.raises(InvalidParameterError, match="steps"):
        LatentOptimizer(steps=0).run(gen, enc, ROIActivation(0))
    with pytest.raises(DataValidationError, match="ImageGenerator"):
        LatentOptimizer(steps=1).run(nn.Identity(), enc, ROIActivation(0))
    with pytest.raises(DataValidationError, match="must return a Tensor of shape"):
        LatentOptimizer(steps=1, progress=False).run(gen, nn.Flatten(0), ROIActivation(0))
    with pytest.raises(DataValidationError, match="subj01"):
        LatentOptimizer(steps=1, progress=False).run(gen, enc, SubjectContrast(0, "subj01", "subj02"))
    with pytest.raises(DataValidationError, match="unconditional"):
        LatentOptimizer(steps=1, progress=False).run(gen, enc, ROIActivation(0), classes=[1])
    with pytest.raises(DataValidationError, match="seeds"):
        LatentOptimizer(steps=1, progress=False).run(gen, enc, ROIActivation(0), seeds=[1, 1])


def test_save_result_files_and_overwrite_policy(tmp_path):
    from PIL import Image
    from safetensors.numpy import load_file

    result = synthesize(FourierImage(16), ColourCentre(), [ROIActivation(0, name="red"), ROIActivation(1)],
                        steps=3, n_seeds=2, progress=False)
    out = tmp_path / "run"
    save_result(result, out, rois={"red": 0, "green": [1]}, extra={"note": "test"})
    doc = json.loads((out / "result.json").read_text())
    assert doc["objectives"] == ["red", "max roi1"] and len(doc["images"]) == 4
    assert doc["settings"]["optimizer"]["steps"] == 3 and doc["extra"]["note"] == "test"
    first = doc["images"][0]
    assert first["activation"]["red"] == pytest.approx(float(result.predictions["encoder"][0, 0]), abs=1e-5)
    png = np.asarray(Image.open(out / first["image"]))
    assert png.shape == (16, 16, 3)
    assert np.abs(png / 255.0 - result.images[0]).max() <= 0.5 / 255 + 1e-6
    header = (out / "activations.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["red", "green"]
    arrays = load_file(str(out / "arrays.safetensors"))
    assert arrays["history"].shape == (4, 3) and arrays["predictions.encoder"].shape == (4, 3)
    assert (out / "contact_sheet.png").stat().st_size > 1000
    assert not [p for p in out.rglob(".tmp-*")]
    before = (out / "result.json").read_text()
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        save_result(result, out)
    assert (out / "result.json").read_text() == before
    save_result(result, out, overwrite=True, contact_sheet=False)
    assert "activation" in json.loads((out / "result.json").read_text())["images"][0]

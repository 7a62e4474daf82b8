"""The CLIP path end to end on randomly initialised open_clip models saved to local files.

open_clip and torchvision are part of the test environment (torch 2.14.1 +
torchvision 0.29.1): nothing here skips. A tiny ViT config keeps the tests
fast; one test builds, saves and reloads a real ViT-B-32 architecture.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from encoding import OpenCLIPExtractor, RidgeEncoder
from encoding.image_encoder import ImageEncoder, image_features
from encoding.features import import_open_clip
from neurokit.exceptions import CheckpointError, InvalidParameterError

TINY = "nk-test-tiny-vit"
TINY_CONFIG = {
    "embed_dim": 24,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 48, "patch_size": 8, "head_width": 24},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A random tiny CLIP saved in the published checkpoint forms: ``{form: path}`` and the model."""
    open_clip = import_open_clip()
    folder = tmp_path_factory.mktemp("clip")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder / f"{TINY}.json")
    torch.manual_seed(0)
    model = open_clip.create_model(TINY, pretrained=None)
    state = model.state_dict()
    paths = {"plain": folder / "plain.pt", "wrapped": folder / "wrapped.pt", "safetensors": folder / "w.safetensors"}
    torch.save(state, paths["plain"])
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}, "epoch": 3}, paths["wrapped"])
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(paths["safetensors"]))
    return paths, model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(24, 40, 40, 3)).astype(np.float32)


def test_extractor_loads_every_checkpoint_form_identically(tiny_clip, images):
    paths, model = tiny_clip
    with torch.no_grad():
        reference = model.encode_image(OpenCLIPExtractor(TINY, paths["plain"]).preprocess(images[:4])).numpy()
    for form, path in [*paths.items(), ("str", str(paths["plain"]))]:
        ext = OpenCLIPExtractor(TINY, pretrained=path)
        assert ext.layers == ("block0", "block1", "embedding"), form
        got = ext.extract(images[:4], ["embedding"], progress=False)["embedding"]
        np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-6, err_msg=form)


def test_extractor_is_rebuilt_from_its_registry_config(tiny_clip, images):
    from encoding.features import EXTRACTORS

    paths, _ = tiny_clip
    ext = OpenCLIPExtractor(TINY, pretrained=paths["safetensors"], precision="fp32")
    config = EXTRACTORS.config_of(ext)
    assert config == {"class": "OpenCLIPExtractor", "model_name": TINY, "pretrained": str(paths["safetensors"]),
                      "precision": "fp32"}
    rebuilt = EXTRACTORS.build(config, device="cpu")
    np.testing.assert_array_equal(rebuilt.extract(images[:4], ["embedding"], progress=False)["embedding"],
                                  ext.extract(images[:4], ["embedding"], progress=False)["embedding"])


def test_bad_checkpoints_get_the_toolkits_errors(tiny_clip, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        OpenCLIPExtractor(TINY, pretrained=tmp_path / "missing.pt")
    with pytest.raises(InvalidParameterError, match="not an open_clip architecture"):
        OpenCLIPExtractor("No-Such-ViT")


@pytest.mark.slow
def test_a_vit_b_32_saved_locally_reloads_exactly(tmp_path):
    open_clip = import_open_clip()
    torch.manual_seed(1)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    torch.save(model.state_dict(), tmp_path / "vit-b-32.pt")
    ext = OpenCLIPExtractor("ViT-B-32", pretrained=tmp_path / "vit-b-32.pt")
    assert ext.input_size == 224 and len(ext.layers) == 13
    x = np.random.default_rng(2).uniform(size=(2, 64, 64, 3)).astype(np.float32)
    with torch.no_grad():
        expected = model.eval().encode_image(ext.preprocess(x)).numpy()
    np.testing.assert_allclose(ext.extract(x, ["embedding"], progress=False)["embedding"], expected,
                               rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def clip_encoder(tiny_clip, images):
    """CLIP embedding -> ridge -> a differentiable image encoder of 3 simulated 'ROIs'."""
    paths, _ = tiny_clip
    ext = OpenCLIPExtractor(TINY, pretrained=paths["safetensors"])
    kw = {"layers": ["embedding"], "pooling": "none"}
    X = image_features(ext, images, kw)
    w = np.random.default_rng(1).normal(size=(X.shape[1], 3))
    Y = X @ w + 0.01 * np.random.default_rng(2).normal(size=(len(X), 3))
    ridge = RidgeEncoder(alphas=np.logspace(-3, 3, 7)).fit(X, Y)
    return ImageEncoder(ext, kw, ridge).eval(), ridge, X


def test_clip_ridge_image_encoder_is_the_ridge_on_clip_features_and_differentiable(clip_encoder, images):
    encoder, ridge, X = clip_encoder
    np.testing.assert_allclose(encoder.predict(images[:6]), ridge.predict(X[:6]), rtol=1e-4, atol=1e-4)
    pixels = torch.from_numpy(images[:2]).permute(0, 3, 1, 2).clone().requires_grad_(True)
    encoder(pixels)[:, 0].sum().backward()
    assert pixels.grad is not None and torch.isfinite(pixels.grad).all() and pixels.grad.abs().sum() > 0


def test_neurogen_through_a_clip_encoder_raises_its_objective(clip_encoder):
    from neurogen import FourierImage, ROIActivation, synthesize

    encoder, _, _ = clip_encoder
    result = synthesize(FourierImage(32), encoder, [ROIActivation(0, name="roi0")], steps=12, n_seeds=2, lr=0.1,
                        progress=False)
    assert result.images.shape[0] == 2
    assert np.all(result.best_value > result.history[:, 0] + 1e-3), (result.history[:, 0], result.best_value)


def test_cortex2image_trains_on_clip_embeddings_and_reconstructs(tiny_clip):
    """A Cortex2Semantic training run in CLIP space: loss falls and the decoded embedding identifies."""
    from cortex2image import CLIPSemanticSpace, fit_reconstructor
    from cortex2image.metrics import feature_identification
    from neurogen import FourierImage
    from neurokit.mesh.levels import n_vertices

    paths, _ = tiny_clip
    space = CLIPSemanticSpace(TINY, pretrained=paths["plain"])
    rng = np.random.default_rng(3)
    imgs = rng.uniform(size=(48, 32, 32, 3)).astype(np.float32)
    emb = space.embed(imgs)
    level = 2
    mixing = rng.normal(size=(emb.shape[1], 2 * n_vertices(level)))
    responses = (emb @ mixing + 0.05 * rng.normal(size=(48, mixing.shape[1]))).astype(np.float32)
    model = fit_reconstructor(responses, imgs, level=level, generator=FourierImage(16), semantic_space=space,
                              semantic_epochs=25, detail_epochs=1, patience=None, semantic_dropout=0.0, lr=3e-3,
                              trunk=dict(coarse_level=1, channels=[8, 16], attention_dim=32, attention_depth=1,
                                         num_heads=2), progress=False, seed=0)
    history = [e["train_loss"] for e in model.info["history"]["semantic"]["epochs"]]
    assert history[-1] < 0.8 * history[0], history
    rec = model.reconstruct(responses[:12], n_samples=1, seed=0)
    assert rec.images.shape == (12, 16, 16, 3) and rec.semantic.shape == (12, emb.shape[1])
    assert feature_identification(emb[:12], rec.semantic).mean() > 0.75


def test_clip_two_way_identification_metric(tiny_clip, images):
    from cortex2image.metric_networks import MetricNetwork
    from cortex2image.metrics import score_reconstructions

    paths, _ = tiny_clip
    clip = MetricNetwork("clip", paths["wrapped"], clip_model=TINY)
    noisy = np.clip(images + np.random.default_rng(4).normal(0, 0.05, images.shape), 0, 1).astype(np.float32)
    scores = score_reconstructions(images, noisy, feature_spaces={"CLIP": clip}, seed=0)
    assert scores.scores["CLIP 2-way"] > 0.9 > 0.7 > scores.baseline["CLIP 2-way"]

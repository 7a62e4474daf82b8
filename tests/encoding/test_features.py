"""Tests of the image feature extractors (encoding.features)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import data as skdata

from encoding.features import (
    EXTRACTORS,
    EfficientNetLite0Extractor,
    EfficientNetLite2Extractor,
    FeatureExtractor,
    OpenCLIPExtractor,
    TorchModuleExtractor,
    as_image_tensor,
    first_tensor,
    import_open_clip,
    load_efficientnet_lite0,
    pool_activation,
    square_resize,
)
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    ImageShapeError,
    InvalidParameterError,
    NotFittedError,
    OptionalDependencyError,
)


@pytest.fixture(scope="module")
def effnet() -> EfficientNetLite0Extractor:
    return EfficientNetLite0Extractor(input_size=96)


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((5, 40, 48, 3), dtype=np.float32)


def _photo(name: str) -> np.ndarray:
    return getattr(skdata, name)().astype(np.float32)[None] / 255.0


# ----------------------------------------------------------------------------- EfficientNet correctness
@pytest.mark.parametrize(
    "name, classes",
    [
        ("chelsea", {281, 282, 283, 284, 285, 287}),  # cats (tabby, tiger cat, Persian, Siamese, Egyptian, lynx)
        ("coffee", {967, 968}),  # espresso, cup
        ("rocket", {657, 744}),  # missile, projectile
    ],
)
def test_efficientnet_classifies_real_photos(name, classes):
    ext = EfficientNetLite0Extractor()  # 224 px, as trained
    logits = ext.extract(_photo(name), layers="logits", progress=False)["logits"][0]
    top5 = set(np.argsort(-logits)[:5].tolist())
    assert classes & top5, f"{name}: top-5 {sorted(top5)} holds none of {sorted(classes)}"
    assert int(np.argmax(logits)) in classes


def test_random_weights_do_not_classify():
    ext = EfficientNetLite0Extractor(weights=None)
    logits = ext.extract(_photo("chelsea"), layers="logits", progress=False)["logits"][0]
    assert int(np.argmax(logits)) not in {281, 282, 283, 284, 285}  # sanity: the test above can fail


def test_weights_round_trip_through_safetensors(tmp_path, effnet):
    from safetensors.torch import save_file

    path = tmp_path / "lite0.safetensors"
    save_file({k: v.contiguous() for k, v in effnet.module.state_dict().items()}, str(path))
    model = load_efficientnet_lite0(path)
    original = effnet.module.state_dict()
    assert all(torch.equal(v, original[k]) for k, v in model.state_dict().items())
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # same (folded) path on both sides: identical results
        torch.testing.assert_close(model(x), effnet.module(x), rtol=0, atol=0)


def test_bad_weights_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_efficientnet_lite0(tmp_path / "missing.pth")
    bad = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(3)}, bad)
    with pytest.raises(CheckpointError, match="not an EfficientNet-Lite0"):
        load_efficientnet_lite0(bad)


# ----------------------------------------------------------------------------- folded (fast) inference path
ALL_LAYERS = list(EfficientNetLite0Extractor.layers)


def _assert_layers_close(a: dict, b: dict, rtol: float = 1e-4) -> None:
    for layer in ALL_LAYERS:
        x, y = np.asarray(a[layer]), np.asarray(b[layer])
        assert x.shape == y.shape, layer
        scale = float(np.abs(x).max())
        assert scale > 0, layer
        err = float(np.abs(x - y).max()) / scale
        assert err < rtol, f"{layer}: folded vs unfolded max error {err:.2e} of the layer's max |value|"


@pytest.fixture(scope="module")
def unfused() -> EfficientNetLite0Extractor:
    return EfficientNetLite0Extractor(input_size=96, fuse=False)


@pytest.mark.parametrize("size", [64, 67])  # even and odd sizes: asymmetric and symmetric 'same' padding
def test_folded_matches_unfolded_on_random_images(effnet, unfused, size):
    x = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(size)) * 2 - 1  # normalised pixels
    assert effnet.module.fuse and not unfused.module.fuse
    with torch.no_grad():
        assert effnet.module.uses_folded() and not unfused.module.uses_folded()
        fast = effnet.module.forward_layers(x, ALL_LAYERS)
        slow = unfused.module.forward_layers(x, ALL_LAYERS)
    _assert_layers_close({k: v.numpy() for k, v in fast.items()}, {k: v.numpy() for k, v in slow.items()})
    for layer in ("stage3", "head"):
        assert fast[layer].is_contiguous()  # channels-last maps are handed back in the usual layout


def test_folded_matches_unfolded_on_real_photos(effnet, unfused):
    photos = np.concatenate([square_resize(torch.from_numpy(_photo(n)).permute(0, 3, 1, 2), 128)
                             .permute(0, 2, 3, 1).numpy() for n in ("chelsea", "coffee")])
    fast = effnet.extract(photos, ALL_LAYERS, progress=False)
    slow = unfused.extract(photos, ALL_LAYERS, progress=False)
    _assert_layers_close(fast, slow)
    grid_fast = effnet.extract(photos, "stage4", pooling="grid", progress=False)["stage4"]
    grid_slow = unfused.extract(photos, "stage4", pooling="grid", progress=False)["stage4"]
    np.testing.assert_allclose(grid_fast, grid_slow, rtol=1e-4, atol=1e-4 * np.abs(grid_slow).max())


def test_folded_path_gradients_reach_pixels_only(effnet, unfused):
    # A fixed input: folding changes activations by ~1e-6 relative, and for a few random inputs that
    # moves a ReLU6 unit across its kink, which changes pixel gradients by design (seen for 2 of 12
    # seeds). The test was flaky with the global RNG, whose state depends on the tests run before it.
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    grads = []
    for ext in (effnet, unfused):
        xi = x.clone().requires_grad_(True)
        out = ext.forward_features(xi, ["stage3", "pool"])
        (out["stage3"].square().mean() + out["pool"].sum()).backward()
        grads.append(xi.grad)
    assert effnet.module.uses_folded()  # parameters are frozen: the folded path runs under autograd too
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-3, atol=1e-4 * float(grads[1].abs().max()))
    assert all(p.grad is None for p in effnet.module.parameters())


def test_folded_path_only_when_exact():
    model = load_efficientnet_lite0(None)  # eval mode, parameters require grad
    assert model.fuse and not model.uses_folded()  # autograd must reach the parameters
    with torch.no_grad():
        assert model.uses_folded()
        model.train()
        assert not model.uses_folded()  # training batch norm uses batch statistics
    model.eval()
    x = torch.randn(2, 3, 40, 40)
    out = model(x)
    out.sum().backward()
    assert model._conv_stem.weight.grad is not None and model._bn0.weight.grad is not None


def test_folded_cache_tracks_weights_and_keeps_state_dict(effnet, tmp_path):
    torch.manual_seed(0)
    model = load_efficientnet_lite0(None)
    keys = list(model.state_dict())
    x = torch.randn(2, 3, 48, 48)
    with torch.inference_mode():  # the cache built here must also serve autograd later
        before = model(x)
    assert list(model.state_dict()) == keys  # folded copies are not part of the state
    model.load_state_dict(effnet.module.state_dict())
    with torch.no_grad():
        after = model(x)
        expected = effnet.module(x)
        assert not torch.allclose(before, after)
        torch.testing.assert_close(after, expected)
        model._bn1.running_mean.add_(1.0)  # an in-place buffer change invalidates the cache
        model.fuse = False
        literal = model(x)
        model.fuse = True
        torch.testing.assert_close(model(x), literal, rtol=1e-4, atol=1e-4)
    model.double()  # dtype changes too
    with torch.no_grad():
        assert model(x.double()).dtype == torch.float64
    model.float().requires_grad_(False)
    xi = x.clone().requires_grad_(True)
    model(xi).sum().backward()
    assert xi.grad is not None and xi.grad.abs().sum() > 0


def test_kept_activations_are_not_overwritten(effnet):
    x = effnet.preprocess(np.random.default_rng(3).random((2, 48, 48, 3), dtype=np.float32))
    with torch.no_grad():
        alone = {name: effnet.module.forward_layers(x, [name])[name] for name in ("stem", "stage1", "stage2")}
        together = effnet.module.forward_layers(x, ["stem", "stage1", "stage2", "logits"])
    for name, value in alone.items():
        torch.testing.assert_close(together[name], value, rtol=0, atol=0)


# ----------------------------------------------------------------------------- shapes, layers, pooling
def test_layer_shapes_and_pooling(effnet, images):
    feats = effnet.extract(images, layers=["stage2", "stage7", "pool", "logits"], progress=False)
    assert [k for k in feats] == ["stage2", "stage7", "pool", "logits"]
    assert feats["stage2"].shape == (5, 24)
    assert feats["stage7"].shape == (5, 320)
    assert feats["pool"].shape == (5, 1280)
    assert feats["logits"].shape == (5, 1000)
    assert all(v.dtype == np.float32 for v in feats.values())
    maps = effnet.forward_features(images, ["stage3"])["stage3"]
    assert tuple(maps.shape) == (5, 40, 12, 12)  # 96 px / 8
    none = effnet.extract(images, "stage3", pooling="none", progress=False)["stage3"]
    assert none.shape == (5, 40 * 12 * 12)
    grid = effnet.extract(images, "stage3", pooling="grid", grid_size=2, progress=False)["stage3"]
    assert grid.shape == (5, 40 * 4)
    avg = effnet.extract(images, "stage3", pooling="avg", progress=False)["stage3"]
    mx = effnet.extract(images, "stage3", pooling="max", progress=False)["stage3"]
    np.testing.assert_allclose(avg, maps.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grid.reshape(5, 40, 4).mean(-1), avg, rtol=1e-4, atol=1e-5)
    assert (mx >= avg - 1e-6).all()


def test_pool_activation_tokens_and_vectors():
    tokens = torch.arange(24.0).reshape(2, 3, 4)
    torch.testing.assert_close(pool_activation(tokens, "avg"), tokens.mean(1))
    torch.testing.assert_close(pool_activation(tokens, "max"), tokens[:, -1])
    assert pool_activation(tokens, "none").shape == (2, 12)
    vec = torch.ones(2, 7)
    assert pool_activation(vec, "grid") is vec
    with pytest.raises(InvalidParameterError, match="pooling"):
        pool_activation(vec, "median")


def test_batching_and_determinism(effnet, images):
    a = effnet.extract(images, "stage4", batch_size=2, progress=False)["stage4"]
    b = effnet.extract(images, "stage4", batch_size=5, progress=False)["stage4"]
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    c = effnet.extract(images, "stage4", batch_size=2, progress=False)["stage4"]
    np.testing.assert_array_equal(a, c)


def test_numpy_and_torch_inputs_agree(effnet, images):
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2)
    a = effnet.extract(images, "pool", progress=False)["pool"]
    b = effnet.extract(tensor, "pool", progress=False)["pool"]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    u8 = (images * 255).round().astype(np.uint8)
    c = effnet.extract(u8, "pool", progress=False)["pool"]
    np.testing.assert_allclose(a, c, atol=0.05)


def test_early_exit_matches_full_forward(effnet, images):
    shallow = effnet.forward_features(images, ["stage2"])["stage2"]
    both = effnet.forward_features(images, ["stage2", "logits"])
    torch.testing.assert_close(shallow, both["stage2"])


def test_forward_features_is_differentiable(effnet):
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    out = effnet.forward_features(x, ["stage5", "pool"])
    (out["stage5"].mean() + out["pool"].sum()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in effnet.module.parameters())


def test_pca_is_fitted_once_and_reused(images):
    ext = EfficientNetLite0Extractor(input_size=64)
    first = ext.extract(images, "stage6", pca=3, progress=False)["stage6"]
    assert first.shape == (5, 3)
    pca = ext.pca_["stage6"]
    again = ext.extract(images[:2], "stage6", pca=3, progress=False)["stage6"]
    assert ext.pca_["stage6"] is pca
    np.testing.assert_allclose(again, first[:2], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(first.mean(0), 0, atol=1e-4)  # centred on the fitting data
    ext.reset_pca()
    with pytest.raises(NotFittedError):
        ext.transform_pca({"stage6": np.zeros((1, 192))})
    with pytest.raises(DataValidationError, match="at least 10"):
        ext.extract(images, "stage6", pca=10, progress=False)


def test_progress_bar(effnet, images, capsys):
    effnet.extract(images, "stage2", batch_size=2, progress=True)
    err = capsys.readouterr().err
    assert "EfficientNetLite0Extractor" in err and "3/3" in err
    effnet.extract(images, "stage2", batch_size=2, progress=False)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 4, 3), np.float32), "single image"),
        (np.zeros((2, 3, 16, 16), np.float32), "channels-first"),
        (np.full((1, 16, 16, 3), 255.0, np.float32), "divide by 255"),
        (np.full((1, 16, 16, 3), -0.5, np.float32), r"\[0, 1\]"),
        (np.zeros((1, 4, 4, 3), np.float32), "too small"),
        (np.zeros((0, 16, 16, 3), np.float32), "zero images"),
        (np.full((1, 16, 16, 3), np.nan, np.float32), "NaN"),
        (torch.zeros(1, 16, 16, 3), "channels-last"),
    ],
)
def test_image_validation(bad, match):
    with pytest.raises(ImageShapeError, match=match):
        as_image_tensor(bad)


def test_argument_validation(effnet, images):
    with pytest.raises(InvalidParameterError, match="unknown layer"):
        effnet.extract(images, "stage9", progress=False)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        effnet.extract(images, batch_size=0, progress=False)
    with pytest.raises(InvalidParameterError, match="pooling"):
        effnet.extract(images, pooling="sum", progress=False)
    with pytest.raises(InvalidParameterError, match="pca"):
        effnet.extract(images, pca=0, progress=False)
    with pytest.raises(InvalidParameterError, match="input_size"):
        EfficientNetLite0Extractor(weights=None, input_size=8)


def test_square_resize_crops_centre():
    x = torch.zeros(1, 3, 10, 20)
    x[..., :, 5:15] = 1.0
    y = square_resize(x, 10)
    assert tuple(y.shape) == (1, 3, 10, 10)
    assert float(y.min()) == 1.0


# ----------------------------------------------------------------------------- any torch module
class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.block = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Conv2d(4, 6, 3, stride=2, padding=1))
        self.fc = torch.nn.Linear(6, 2)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        h = self.block(self.conv1(x))
        return self.fc(h.mean(dim=(2, 3)))


def test_registered_extractors_are_rebuilt_from_their_configs(effnet, images):
    from encoding.feature_store import extractor_fingerprint

    config = EXTRACTORS.config_of(effnet)
    assert config == {"class": "EfficientNetLite0Extractor", "weights": "imagenet", "input_size": 96, "fuse": True}
    rebuilt = EXTRACTORS.build(config, device="cpu")
    assert type(rebuilt) is EfficientNetLite0Extractor and extractor_fingerprint(rebuilt) == extractor_fingerprint(effnet)
    np.testing.assert_array_equal(rebuilt.extract(images, ["pool"], progress=False)["pool"],
                                  effnet.extract(images, ["pool"], progress=False)["pool"])
    lite2 = EfficientNetLite2Extractor(weights=None, input_size=64, fuse=False)
    assert EXTRACTORS.config_of(lite2) == {"class": "EfficientNetLite2Extractor", "weights": None, "input_size": 64,
                                           "fuse": False}
    assert type(EXTRACTORS.build(EXTRACTORS.config_of(lite2))) is EfficientNetLite2Extractor
    assert sorted(EXTRACTORS) == ["EfficientNetLite0Extractor", "EfficientNetLite2Extractor", "OpenCLIPExtractor"]
    with pytest.raises(CheckpointError, match="unknown feature extractor 'TorchModuleExtractor'"):
        EXTRACTORS.build({"class": "TorchModuleExtractor"})


def test_first_tensor_unwraps_hook_outputs():
    t = torch.zeros(2)
    assert first_tensor(t) is t and first_tensor((t, 1)) is t and first_tensor([[t]]) is t
    assert first_tensor({"last_hidden_state": t}) is t
    for bad in (None, (), {}, ["x"]):
        with pytest.raises(DataValidationError, match="not a tensor"):
            first_tensor(bad)


def test_torch_module_extractor_hooks(images):
    torch.manual_seed(0)
    net = _Net()
    ext = TorchModuleExtractor(net, {"c1": "conv1", "c2": "block.1", "out": ""}, input_size=32)
    assert isinstance(ext, FeatureExtractor)
    assert ext.layers == ("c1", "c2", "out")
    feats = ext.extract(images, progress=False)
    assert feats["c1"].shape == (5, 4) and feats["c2"].shape == (5, 6) and feats["out"].shape == (5, 2)
    x = ext.preprocess(images)
    with torch.no_grad():
        expected = net(x).numpy()
        c1 = net.conv1(x).mean(dim=(2, 3)).numpy()
    np.testing.assert_allclose(feats["out"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feats["c1"], c1, rtol=1e-5, atol=1e-6)
    # hooks are removed after each call
    assert all(not m._forward_hooks for m in net.modules())


def test_torch_module_extractor_is_differentiable_and_validates():
    net = _Net()
    ext = TorchModuleExtractor(net, ["conv1", "block.1"], input_size=16)
    x = torch.rand(2, 3, 20, 20, requires_grad=True)
    ext.forward_features(x, "block.1")["block.1"].sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(InvalidParameterError, match="no submodule"):
        TorchModuleExtractor(net, ["conv9"])
    with pytest.raises(InvalidParameterError, match="nn.Module"):
        TorchModuleExtractor(lambda x: x, ["a"])


def test_torch_module_stop_early_skips_deeper_layers():
    net = _Net()
    ext = TorchModuleExtractor(net, ["conv1", "fc"], input_size=16)
    called = []
    handle = net.fc.register_forward_hook(lambda *a: called.append(1))
    ext.forward_features(torch.rand(1, 3, 16, 16), "conv1")
    assert called == []
    ext.forward_features(torch.rand(1, 3, 16, 16), "fc")
    assert called == [1]
    handle.remove()


# ----------------------------------------------------------------------------- open_clip
@pytest.mark.parametrize("failure, words", [
    (ImportError("No module named 'open_clip'"), "pip install open_clip_torch"),
    (RuntimeError("operator torchvision::nms does not exist"), "torchvision==0.29.1"),
])
def test_open_clip_import_error_is_explained(failure, words, monkeypatch):
    """Where open_clip is missing or torchvision mismatches torch, the error says how to fix it."""
    import sys

    class Failing:
        def find_spec(self, name, path=None, target=None):
            if name == "open_clip":
                raise failure
            return None

    monkeypatch.delitem(sys.modules, "open_clip", raising=False)
    monkeypatch.setattr(sys, "meta_path", [Failing(), *sys.meta_path])
    with pytest.raises(OptionalDependencyError, match="open_clip") as info:
        import_open_clip()
    assert words in str(info.value)


def test_open_clip_random_model_and_checkpoint(tmp_path):
    open_clip = import_open_clip()  # part of the test environment: never skipped
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "patch_size": 8, "head_width": 16},
        "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1},
    }
    import json

    (tmp_path / "Tiny-ViT.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(tmp_path / "Tiny-ViT.json")
    torch.manual_seed(0)
    ext = OpenCLIPExtractor("Tiny-ViT")
    assert ext.layers == ("block0", "block1", "embedding")
    imgs = np.random.default_rng(0).random((3, 40, 40, 3), dtype=np.float32)
    feats = ext.extract(imgs, ["block1", "embedding"], progress=False)
    assert feats["embedding"].shape == (3, 16) and feats["block1"].shape == (3, 32)
    tokens = ext.forward_features(imgs, "block0")["block0"]
    assert tuple(tokens.shape) == (3, 1 + 16, 32)
    ckpt = tmp_path / "tiny.pt"
    torch.save(ext.module.state_dict(), ckpt)
    ext2 = OpenCLIPExtractor("Tiny-ViT", pretrained=ckpt)
    np.testing.assert_allclose(ext2.extract(imgs, progress=False)["embedding"], feats["embedding"], rtol=1e-5, atol=1e-6)

"""The field's metric networks: torchvision architectures with random weights saved to local files."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from cortex2image.metric_networks import (
    METRIC_NETWORKS,
    MetricNetwork,
    distance_spaces,
    identification_spaces,
    load_state_dict,
)
from cortex2image.metrics import feature_distance, score_reconstructions
from neurokit.exceptions import CheckpointError, InvalidParameterError

TORCHVISION = [name for name, spec in METRIC_NETWORKS.items() if spec.architecture != "open_clip"]


def _random_weights(name: str, folder, **save) -> tuple:
    import torchvision

    spec = METRIC_NETWORKS[name]
    torch.manual_seed(0)
    model = torchvision.models.get_model(spec.architecture, weights=None, **dict(spec.builder_kwargs)).eval()
    state = model.state_dict()
    path = folder / f"{spec.architecture}.pth"
    torch.save(state, path)
    return model, state, path


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(6, 48, 48, 3)).astype(np.float32)


@pytest.mark.parametrize("name", TORCHVISION)
def test_each_network_reads_its_published_layer_from_local_weights(name, tmp_path, images):
    from torchvision.models.feature_extraction import create_feature_extractor

    images = images[:3]
    model, state, path = _random_weights(name, tmp_path)
    if name == "swav":  # SwAV's checkpoint: DataParallel prefix, projection head, prototypes, no classifier
        state = {"module." + k: v for k, v in state.items() if not k.startswith("fc.")}
        state["module.projection_head.0.weight"] = torch.zeros(8, 2048)
        state["module.prototypes.weight"] = torch.zeros(3, 8)
        path = tmp_path / "swav_800ep_pretrain.pth.tar"
        torch.save(state, path)
    net = MetricNetwork(name, path, batch_size=4)
    feats = net(images)
    spec = METRIC_NETWORKS[name]
    reference = create_feature_extractor(model, return_nodes={spec.layer: "f"}).eval()
    with torch.no_grad():
        expected = reference(net._preprocess(images))["f"].flatten(1).double().numpy()
    np.testing.assert_allclose(feats, expected, rtol=1e-4, atol=1e-5)
    assert feats.shape[0] == 3 and np.isfinite(feats).all()
    assert np.array_equal(net(images), feats)  # deterministic (eval mode)


def test_safetensors_weights_give_the_same_features(tmp_path, images):
    from safetensors.torch import save_file

    _, state, path = _random_weights("alexnet-5", tmp_path)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "alexnet.safetensors"))
    a = MetricNetwork("alexnet-5", path)(images)
    b = MetricNetwork("alexnet-5", tmp_path / "alexnet.safetensors")(images)
    assert np.array_equal(a, b)


class _Payload:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_bad_weight_files_get_the_toolkits_errors(tmp_path):
    _, state, path = _random_weights("alexnet-2", tmp_path)
    with pytest.raises(CheckpointError, match="not found"):
        MetricNetwork("alexnet-2", tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match="not inception_v3 weights"):
        MetricNetwork("inception-v3", path)
    bad_shape = dict(state)
    bad_shape["classifier.6.weight"] = torch.zeros(10, 4096)
    torch.save(bad_shape, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="does not fit"):
        MetricNetwork("alexnet-2", tmp_path / "bad.pth")
    (tmp_path / "evil.pth").write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        load_state_dict(tmp_path / "evil.pth")
    (tmp_path / "cut.pth").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable weights file"):
        MetricNetwork("alexnet-2", tmp_path / "cut.pth")
    torch.save({"epoch": 3}, tmp_path / "nostate.pth")
    with pytest.raises(CheckpointError, match="state dict of tensors"):
        load_state_dict(tmp_path / "nostate.pth")
    with pytest.raises(InvalidParameterError, match="not a metric network"):
        MetricNetwork("vgg16", path)


def test_identification_and_distance_tables_beside_the_shuffled_baseline(tmp_path, images):
    _, _, a_path = _random_weights("alexnet-5", tmp_path)
    _, _, e_path = _random_weights("efficientnet-b1", tmp_path)
    nets = {"AlexNet(5)": MetricNetwork("alexnet-5", a_path), "EffNet-B": MetricNetwork("efficientnet-b1", e_path)}
    assert list(identification_spaces(nets)) == ["AlexNet(5)"] and list(distance_spaces(nets)) == ["EffNet-B"]
    rng = np.random.default_rng(1)
    seen = rng.uniform(size=(10, 48, 48, 3)).astype(np.float32)
    recon = np.clip(seen + rng.normal(0, 0.03, seen.shape), 0, 1).astype(np.float32)
    scores = score_reconstructions(seen, recon, feature_spaces=identification_spaces(nets),
                                   distance_spaces=distance_spaces(nets), seed=0)
    assert scores.scores["AlexNet(5) 2-way"] > scores.baseline["AlexNet(5) 2-way"]
    assert scores.scores["EffNet-B distance"] < scores.baseline["EffNet-B distance"]
    feats = nets["EffNet-B"](seen)
    assert np.allclose(feature_distance(feats, feats), 0.0, atol=1e-9)

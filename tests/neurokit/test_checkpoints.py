import json

import numpy as np
import pytest
import torch

from neurokit import __version__
from neurokit.checkpoints import (
    checkpoint_paths,
    load_checkpoint,
    load_module_state,
    read_checkpoint_metadata,
    save_checkpoint,
    save_module,
)
from neurokit.exceptions import CheckpointError


def _tensors():
    g = torch.Generator().manual_seed(0)
    return {
        "w": torch.randn(4, 3, generator=g),
        "b": torch.arange(5, dtype=torch.int64),
        "half": torch.randn(2, 2, generator=g).half(),
        "roi": np.arange(6, dtype=np.float32).reshape(2, 3),
    }


def test_round_trip_with_provenance(tmp_path):
    tensors = _tensors()
    cfg = {"alpha": np.float64(0.5), "layers": [64, 32], "name": "ridge"}
    st, js = save_checkpoint(tmp_path / "enc", tensors, cfg, mesh_level=5, seed=7)
    assert st.name == "enc.safetensors" and js.name == "enc.json"
    assert not st.read_bytes().startswith(b"\x80")  # not a pickle
    loaded, config = load_checkpoint(tmp_path / "enc.safetensors")
    assert config == {"alpha": 0.5, "layers": [64, 32], "name": "ridge"}
    assert set(loaded) == set(tensors)
    for k in ("w", "b", "half"):
        assert isinstance(loaded[k], torch.Tensor) and loaded[k].dtype == tensors[k].dtype
        assert torch.equal(loaded[k], tensors[k])
    assert isinstance(loaded["roi"], np.ndarray) and np.array_equal(loaded["roi"], tensors["roi"])
    prov = read_checkpoint_metadata(tmp_path / "enc")["provenance"]
    assert prov["toolkit_version"] == __version__ and prov["torch_version"] == torch.__version__
    assert prov["mesh_level"] == 5 and prov["seed"] == 7 and len(prov["sha256"]) == 64
    assert prov["created"].endswith("+00:00")
    # a folder holds <folder>/checkpoint.*
    save_checkpoint(tmp_path, {"x": torch.ones(2)}, {})
    assert (tmp_path / "checkpoint.safetensors").exists()
    assert checkpoint_paths(tmp_path / "a.json") == (tmp_path / "a.safetensors", tmp_path / "a.json")


def test_tamper_and_missing_files(tmp_path):
    st, js = save_checkpoint(tmp_path / "m", _tensors(), {"k": 1})
    raw = bytearray(st.read_bytes())
    raw[-1] ^= 0xFF
    st.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "m")
    st.write_bytes(bytes(raw[:40]))
    with pytest.raises(CheckpointError, match="m.safetensors"):
        load_checkpoint(tmp_path / "m")
    # corrupt but with a matching hash (metadata rewritten) is still caught by the parser
    meta = json.loads(js.read_text())
    import hashlib

    meta["provenance"]["sha256"] = hashlib.sha256(bytes(raw[:40])).hexdigest()
    js.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "m")
    st.unlink()
    with pytest.raises(CheckpointError, match="tensor file is missing"):
        load_checkpoint(tmp_path / "m")
    with pytest.raises(CheckpointError, match="metadata file is missing"):
        load_checkpoint(tmp_path / "nothing")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="bad.json"):
        load_checkpoint(tmp_path / "bad")


def test_mismatched_pair_is_detected(tmp_path):
    save_checkpoint(tmp_path / "a", {"x": torch.ones(3)}, {})
    save_checkpoint(tmp_path / "b", {"x": torch.zeros(3)}, {})
    (tmp_path / "a.safetensors").write_bytes((tmp_path / "b.safetensors").read_bytes())
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(tmp_path / "a")
    # and names/shapes are checked against the JSON even when the hash agrees
    meta = json.loads((tmp_path / "b.json").read_text())
    meta["provenance"]["tensors"]["x"]["shape"] = [4]
    (tmp_path / "b.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="'x'"):
        load_checkpoint(tmp_path / "b")


def test_failed_write_leaves_old_checkpoint_intact(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "c", {"x": torch.ones(3)}, {"v": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(CheckpointError, match="JSON serialisable"):
        save_checkpoint(tmp_path / "c", {"x": torch.zeros(3)}, {"v": object()})
    import neurokit.io.atomic as atomic

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "c", {"x": torch.zeros(3)}, {"v": 2})
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # same files, same bytes, no temporaries
    tensors, cfg = load_checkpoint(tmp_path / "c")
    assert cfg == {"v": 1} and torch.equal(tensors["x"], torch.ones(3))


def test_invalid_inputs(tmp_path):
    with pytest.raises(CheckpointError, match="non-empty"):
        save_checkpoint(tmp_path / "x", {}, {})
    with pytest.raises(CheckpointError, match="'s'"):
        save_checkpoint(tmp_path / "x", {"s": np.array(["a"])}, {})
    with pytest.raises(CheckpointError, match="list"):
        save_checkpoint(tmp_path / "x", {"s": [1, 2]}, {})
    assert list(tmp_path.iterdir()) == []


class Tied(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(10, 4)
        self.out = torch.nn.Linear(4, 10, bias=False)
        self.out.weight = self.emb.weight  # tied
        self.norm = torch.nn.BatchNorm1d(4)
        self.proj = torch.nn.Linear(4, 4)
        self.register_buffer("view", self.proj.weight.detach()[:2])  # overlapping, not identical


def test_module_round_trip_with_shared_tensors(tmp_path):
    torch.manual_seed(0)
    m = Tied()
    m.norm.running_mean.fill_(0.25)
    save_module(m, tmp_path / "tied", {"n": 10}, seed=3)
    meta = read_checkpoint_metadata(tmp_path / "tied")
    assert meta["provenance"]["aliases"] == {"out.weight": "emb.weight"}
    assert meta["config"]["module_class"].endswith("Tied")
    torch.manual_seed(1)
    m2 = Tied()
    cfg = load_module_state(m2, tmp_path / "tied")
    assert cfg["n"] == 10
    for (k, a), (_, b) in zip(m.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k
    assert m2.out.weight is m2.emb.weight  # still tied after loading


def test_module_mismatch(tmp_path):
    save_module(torch.nn.Linear(3, 2), tmp_path / "lin")
    with pytest.raises(CheckpointError, match="shapes"):
        load_module_state(torch.nn.Linear(4, 2), tmp_path / "lin")
    with pytest.raises(CheckpointError, match="missing"):
        load_module_state(torch.nn.Sequential(torch.nn.Linear(3, 2)), tmp_path / "lin")
    lin = torch.nn.Linear(3, 2)
    cfg = load_module_state(lin, tmp_path / "lin", strict=False)
    assert "module_class" in cfg
    with pytest.raises(CheckpointError, match="nn.Module"):
        save_module({"w": 1}, tmp_path / "x")


def test_config_values_json_cannot_write_go_through_the_one_json_fallback(tmp_path):
    """neurokit.report.json_default writes a checkpoint config: numpy values, paths, sets (sorted), small arrays;
    an array over 10,000 values is refused (it belongs in the tensors)."""
    from pathlib import Path

    import numpy as np

    config = {"n": np.int64(3), "where": Path("a") / "b", "names": {"b", "a"}, "small": np.arange(3)}
    save_checkpoint(tmp_path / "c", {"x": torch.ones(1)}, config)
    assert load_checkpoint(tmp_path / "c")[1] == {"n": 3, "where": str(Path("a") / "b"), "names": ["a", "b"],
                                                 "small": [0, 1, 2]}
    with pytest.raises(CheckpointError, match="10000"):
        save_checkpoint(tmp_path / "d", {"x": torch.ones(1)}, {"big": np.zeros(10_001)})

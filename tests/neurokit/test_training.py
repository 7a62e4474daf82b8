"""Tests of neurokit.training in one process: sampling, metric, checkpoints, Trainer, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from neurokit.exceptions import CheckpointError, DataValidationError, InvalidParameterError, OutputExistsError
from neurokit.training import (
    StreamingPearson,
    Trainer,
    TrainingHistory,
    epoch_batches,
    fit_model,
    list_training_states,
    load_training_state,
    mean_pearson_r,
    save_training_state,
    shard,
)
from neurokit.training.state import decode, encode


def data(n=96, n_features=6, n_targets=4, noise=0.3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    w = rng.normal(size=(n_features, n_targets)).astype(np.float32)
    y = (x @ w + noise * rng.normal(size=(n, n_targets))).astype(np.float32)
    return (x[:72], y[:72]), (x[72:], y[72:])


def make_model(dropout: float = 0.0, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Dropout(dropout), nn.Linear(16, 4))


def trainer(tmp_path=None, **kw) -> Trainer:
    base = dict(max_epochs=6, batch_size=10, lr=0.02, patience=None, progress=False, seed=3,
                run_dir=tmp_path, warmup_fraction=0.1)
    base.update(kw)
    return Trainer(**base)


# --------------------------------------------------------------------------- sampling


def test_epoch_batches_are_deterministic_permutations():
    a = epoch_batches(23, 5, seed=1, epoch=4)
    b = epoch_batches(23, 5, seed=1, epoch=4)
    c = epoch_batches(23, 5, seed=1, epoch=5)
    assert [len(x) for x in a] == [5, 5, 5, 5, 3]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(torch.cat(a), torch.cat(c))
    assert sorted(torch.cat(a).tolist()) == list(range(23))
    assert [len(x) for x in epoch_batches(23, 5, 1, 0, drop_last=True)] == [5] * 4
    assert torch.equal(torch.cat(epoch_batches(7, 3, 0, 0, shuffle=False)), torch.arange(7))
    with pytest.raises(InvalidParameterError):
        epoch_batches(10, 0, 0, 0)


@pytest.mark.parametrize("n,world", [(10, 3), (2, 4), (8, 2)])
def test_shard_partitions_in_rank_order(n, world):
    idx = torch.arange(100, 100 + n)
    parts = [shard(idx, r, world) for r in range(world)]
    assert torch.equal(torch.cat(parts), idx)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(InvalidParameterError):
        shard(idx, world, world)


# --------------------------------------------------------------------------- metric


def test_streaming_pearson_matches_numpy_and_merges_exactly():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(50, 3))
    p = t + rng.normal(size=(50, 3))
    p[:, 2] = 1.0  # constant prediction -> r = 0 by convention
    ref = [np.corrcoef(p[:, j], t[:, j])[0, 1] for j in range(2)] + [0.0]
    acc = StreamingPearson()
    for chunk in np.array_split(np.arange(50), 4):
        acc.update(torch.from_numpy(p[chunk]), torch.from_numpy(t[chunk]))
    np.testing.assert_allclose(acc.per_target().numpy(), ref, atol=1e-12)
    assert mean_pearson_r(torch.from_numpy(p), torch.from_numpy(t)) == pytest.approx(np.mean(ref))
    # "all-reduce" of two halves = the full-set correlation
    a, b = StreamingPearson(), StreamingPearson()
    a.update(torch.from_numpy(p[:20]), torch.from_numpy(t[:20]))
    b.update(torch.from_numpy(p[20:]), torch.from_numpy(t[20:]))
    assert a.compute(lambda s: s + b.stats) == pytest.approx(np.mean(ref), abs=1e-12)
    with pytest.raises(DataValidationError):
        StreamingPearson().compute()


# --------------------------------------------------------------------------- checkpoint state


def test_optimizer_state_roundtrips_through_safetensors_and_json(tmp_path):
    model = make_model()
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.8, 0.95))
    model(torch.randn(4, 6)).sum().backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "nan": float("nan"), "t": (1, "a")}
    save_training_state(tmp_path, 1, state)
    epoch, back = load_training_state(tmp_path)
    assert epoch == 1 and back["t"] == (1, "a") and np.isnan(back["nan"])
    o = back["optimizer"]
    assert o["param_groups"][0]["betas"] == (0.8, 0.95)
    for k, v in opt.state_dict()["state"].items():
        for name, tensor in v.items():
            assert torch.equal(o["state"][k][name], tensor)
    opt2 = torch.optim.AdamW(model.parameters(), lr=0.1)
    opt2.load_state_dict(o)  # accepted by torch
    with pytest.raises(CheckpointError, match="cannot store"):
        encode({"x": object()}, "s", {})
    with pytest.raises(CheckpointError, match="missing"):
        decode({"__tensor__": "nope"}, {})


def test_training_state_written_by_the_previous_version_loads(tmp_path):
    """A run folder as the previous version wrote it (files made here by hand) still resumes."""
    import json

    from safetensors.torch import save_file

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    save_file({"s.model.w": torch.arange(3.0)}, str(folder / "epoch-0002.safetensors"),
              metadata={"format": "neurokit.training.checkpoint/1"})
    state = {"__dict__": [["model", {"__dict__": [["w", {"__tensor__": "s.model.w"}]]}],
                          ["patience_left", 4], ["lr", {"__float__": "inf"}]]}
    (folder / "epoch-0002.json").write_text(json.dumps({"format": "neurokit.training.checkpoint/1", "epoch": 2,
                                                        "state": state}))
    assert list_training_states(tmp_path) == [2]
    epoch, back = load_training_state(tmp_path)
    assert epoch == 2 and back["patience_left"] == 4 and back["lr"] == float("inf")
    assert torch.equal(back["model"]["w"], torch.arange(3.0))


def test_checkpoints_are_pruned_and_corruption_is_reported(tmp_path):
    for e in range(1, 5):
        save_training_state(tmp_path, e, {"e": e}, keep=2)
    assert list_training_states(tmp_path) == [3, 4]
    # nothing but the kept checkpoints: no temporary files left behind
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "epoch-0003.json", "epoch-0003.safetensors", "epoch-0004.json", "epoch-0004.safetensors"]
    (tmp_path / "checkpoints" / "epoch-0004.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_training_state(tmp_path)
    (tmp_path / "checkpoints" / "epoch-0003.json").write_text("{")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_training_state(tmp_path, 3)
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        load_training_state(tmp_path / "empty")


# --------------------------------------------------------------------------- Trainer


def test_trainer_learns_and_writes_history(tmp_path):
    train, val = data()
    model = make_model()
    hist = trainer(tmp_path, max_epochs=15).fit(model, train, val)
    assert isinstance(hist, TrainingHistory) and hist.finished and not hist.stopped_early
    assert len(hist.epochs) == 15
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert hist.best_score > 0.9
    on_disk = json.loads((tmp_path / "history.json").read_text())
    assert on_disk == json.loads(json.dumps(hist.to_dict()))
    # the final weights on disk are the best epoch's, restored into the model
    final = load_file(str(tmp_path / "model.safetensors"))
    assert all(torch.equal(final[k], v) for k, v in model.state_dict().items())
    assert torch.equal(final["0.weight"], load_file(str(tmp_path / "best.safetensors"))["0.weight"])
    # warmup then cosine decay of the learning rate
    lrs = [e["lr"] for e in hist.epochs]
    assert lrs[-1] < lrs[2] and lrs[-1] == pytest.approx(0.0, abs=1e-3)


def test_resume_after_pause_gives_identical_weights(tmp_path):
    train, val = data()
    ref = make_model(dropout=0.2)
    ref_hist = trainer(tmp_path / "a").fit(ref, train, val)
    paused = make_model(dropout=0.2)
    h1 = trainer(tmp_path / "b", max_epochs_this_run=2).fit(paused, train, val)
    assert not h1.finished and len(h1.epochs) == 2
    resumed = make_model(dropout=0.2, seed=99)  # fresh process: different init, state comes from the checkpoint
    h2 = trainer(tmp_path / "b", resume=True).fit(resumed, train, val)
    assert h2.finished and h2.to_dict() == ref_hist.to_dict()
    for k, v in ref.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k


def shrink_first_layer(model: nn.Module, epoch: int) -> None:
    """An epoch-start hook that changes the weights deterministically (like a closed-form refit)."""
    with torch.no_grad():
        model[0].weight.mul_(0.9)


def test_epoch_start_hook_runs_before_every_epoch_and_resumes_identically(tmp_path):
    train, val = data()
    seen = []

    def hook(model, epoch):
        seen.append(epoch)
        shrink_first_layer(model, epoch)

    ref = make_model()
    trainer(tmp_path / "a", on_epoch_start=hook).fit(ref, train, val)
    assert seen == list(range(6))
    plain = make_model()
    trainer(None).fit(plain, train, val)
    assert not torch.equal(plain[0].weight, ref[0].weight)  # the hook did act on the training
    paused = make_model()
    trainer(tmp_path / "b", on_epoch_start=shrink_first_layer, max_epochs_this_run=3).fit(paused, train, val)
    resumed = make_model(seed=7)
    trainer(tmp_path / "b", on_epoch_start=shrink_first_layer, resume=True).fit(resumed, train, val)
    for k, v in ref.state_dict().items():
        assert torch.equal(resumed.state_dict()[k], v), k


class Crash(RuntimeError):
    pass


def test_resume_after_a_crash_mid_epoch(tmp_path):
    train, val = data()
    calls = {"n": 0}

    def crashing_mse(pred, target):
        calls["n"] += 1
        if calls["n"] == 8 * 3 + 4:  # 8 batches per epoch: dies inside epoch 4
            raise Crash("simulated kill")
        return nn.functional.mse_loss(pred, target)

    ref = make_model()
    trainer(tmp_path / "a", max_epochs=5).fit(ref, train, val)
    run = make_model()
    with pytest.raises(Crash):
        trainer(tmp_path / "b", max_epochs=5, loss=crashing_mse).fit(run, train, val)
    assert list_training_states(tmp_path / "b")[-1] == 3
    run = make_model(seed=5)
    trainer(tmp_path / "b", max_epochs=5, resume=True).fit(run, train, val)
    for k, v in ref.state_dict().items():
        assert torch.equal(run.state_dict()[k], v), k


def test_early_stopping_with_custom_metric_restores_best(tmp_path):
    train, val = data()
    scores = iter([0.1, 0.5, 0.4, 0.45, 0.3, 0.9])
    model = make_model()
    hist = trainer(tmp_path, max_epochs=6, patience=2, metric=lambda p, t: next(scores)).fit(model, train, val)
    assert hist.stopped_early and hist.finished and len(hist.epochs) == 4
    assert hist.best_epoch == 2 and hist.best_score == 0.5
    best = load_file(str(tmp_path / "best.safetensors"))
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())
    # resuming a finished run trains nothing more
    again = trainer(tmp_path, max_epochs=6, patience=2, resume=True).fit(make_model(), train, val)
    assert len(again.epochs) == 4


def test_fit_model_without_validation_or_run_dir_and_bf16_cpu():
    train, _ = data()
    model = make_model()
    hist = fit_model(model, train, None, max_epochs=3, batch_size=16, lr=0.01, progress=False, precision="bf16")
    assert hist.best_score is None and hist.best_epoch == 3 and len(hist.epochs) == 3
    assert all(np.isfinite(hist.train_loss))


def test_trainer_refuses_to_overwrite_and_mismatched_resume(tmp_path):
    train, val = data()
    trainer(tmp_path, max_epochs=2).fit(make_model(), train, val)
    with pytest.raises(OutputExistsError, match="resume=True"):
        trainer(tmp_path, max_epochs=2).fit(make_model(), train, val)
    with pytest.raises(CheckpointError, match="batch_size"):
        trainer(tmp_path, max_epochs=3, batch_size=7, resume=True).fit(make_model(), train, val)
    with pytest.raises(CheckpointError, match="does not match"):
        trainer(tmp_path, max_epochs=2, resume=True).fit(nn.Linear(6, 4), train, val)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"schedule": "step"}, "schedule"),
        ({"precision": "fp8"}, "precision"),
        ({"loss": "huber"}, "loss"),
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
        ({"resume": True}, "run_dir"),
        ({"on_epoch_start": 3}, "on_epoch_start"),
    ],
)
def test_trainer_validates_hyperparameters(kw, match):
    train, val = data()
    with pytest.raises(InvalidParameterError, match=match):
        trainer(**kw).fit(make_model(), train, val)


def test_trainer_validates_data():
    x = np.zeros((10, 6), np.float32)
    with pytest.raises(DataValidationError, match="same number of samples"):
        trainer().fit(make_model(), (x, np.zeros((9, 4), np.float32)))
    with pytest.raises(DataValidationError, match="pair"):
        trainer().fit(make_model(), x)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trainer_cuda_mixed_precision(tmp_path):
    train, val = data()
    for precision in ("bf16", "fp16"):
        hist = trainer(tmp_path / precision, max_epochs=10, device="cuda", precision=precision).fit(
            make_model(), train, val
        )
        assert hist.best_score > 0.8

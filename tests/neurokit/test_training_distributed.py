"""DDP under torchrun: 2 CPU processes (gloo) == 1 process with the same global batch, and resume.

Each test launches ``python -m torch.distributed.run --standalone
--nproc_per_node 2 -m neurokit.training`` as a subprocess on tiny data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from neurokit.training import load_training_state
from neurokit.training.__main__ import main

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed unavailable")

COMMON = ["--epochs", "4", "--batch-size", "15", "--lr", "0.05", "--model", "mlp", "--hidden", "8",
          "--no-progress", "--device", "cpu", "--precision", "fp32", "--seed", "7", "--keep-checkpoints", "10"]  # keep all: compare epoch by epoch



@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(76, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 3)) + 0.3 * rng.normal(size=(76, 3))).astype(np.float32)
    np.save(root / "x.npy", x)
    np.save(root / "y.npy", y)
    return root


def run(args, nproc=None, target=("-m", "neurokit.training")):
    """Run ``target`` (a module or a script) with ``args``, under torchrun with ``nproc`` ranks if given."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("RANK", None), env.pop("WORLD_SIZE", None), env.pop("LOCAL_RANK", None)
    launcher = [] if nproc is None else ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    cmd = [sys.executable, *launcher, *target, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def weights(run_dir):
    return load_file(str(run_dir / "model.safetensors"))


def test_two_processes_match_one_and_resume_matches_uninterrupted(arrays):
    data = ["--features", str(arrays / "x.npy"), "--targets", str(arrays / "y.npy")]
    single, ddp = arrays / "single", arrays / "ddp"
    # the single-process reference runs the same CLI code in this process (saves a launch)
    assert main([*data, *COMMON, "--run-dir", str(single)]) == 0
    # 2 ranks, killed (paused) after epoch 2, then resumed: 2 torchrun launches
    out = run([*data, *COMMON, "--run-dir", str(ddp), "--max-epochs-this-run", "2"], nproc=2)
    assert out.stdout.count("paused after 2 epochs") == 1  # only rank 0 prints
    assert not (ddp / "model.safetensors").exists()
    # 61 training samples, global batch 15: shards 8/7 and a last batch of 1 (one rank idle)
    _, s2 = load_training_state(single, 2)
    _, d2 = load_training_state(ddp, 2)
    for k, v in s2["model"].items():
        torch.testing.assert_close(d2["model"][k], v, rtol=1e-5, atol=1e-6)
    run([*data, *COMMON, "--run-dir", str(ddp), "--resume"], nproc=2)
    a, b = weights(single), weights(ddp)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-5, atol=1e-6)
    ha = json.loads((single / "history.json").read_text())
    hb = json.loads((ddp / "history.json").read_text())
    assert len(hb["epochs"]) == len(ha["epochs"]) == 4
    np.testing.assert_allclose([e["val_score"] for e in hb["epochs"]], [e["val_score"] for e in ha["epochs"]], rtol=1e-5)
    np.testing.assert_allclose([e["train_loss"] for e in hb["epochs"]], [e["train_loss"] for e in ha["epochs"]], rtol=1e-5)


LEFTOVER_THREADS = """
import os
import torch
from torch import nn
from neurokit.training import Trainer


def thread_names():
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as f:
                names.append(f.read().strip())
        except FileNotFoundError:  # the thread ended meanwhile
            pass
    return sorted(names)


during = []
model = nn.Linear(5, 3)
x, y = torch.randn(40, 5), torch.randn(40, 3)
Trainer(max_epochs=2, batch_size=10, progress=False, device="cpu", seed=0,
        on_epoch_start=lambda m, epoch: during.append(thread_names())).fit(model, (x, y), (x[:10], y[:10]))
print(f"rank {os.environ['RANK']} during {during[-1]} after {thread_names()}")
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc to list threads")
def test_fit_under_ddp_leaves_no_process_group_threads(tmp_path):
    # regression: DDP imported torch.distributed.nn.functional after init_process_group, whose
    # `group=group.WORLD` defaults pinned the group; gloo's threads outlived the interpreter and
    # ~1 run in 40 aborted at exit (SIGABRT) after finishing. Freed groups leave no gloo threads.
    script = tmp_path / "fit.py"
    script.write_text(LEFTOVER_THREADS)
    proc = run([], nproc=2, target=(str(script),))
    # the two ranks print concurrently, so their lines may run together: match each report, not each line
    reports = re.findall(r"rank (\d) during (\[[^\]]*\]) after (\[[^\]]*\])", proc.stdout)
    assert sorted(rank for rank, _, _ in reports) == ["0", "1"], proc.stdout
    for rank, during, after in reports:
        assert "gloo" in during, (rank, during)  # the check can see gloo's threads while the group lives ...
        assert "gloo" not in after, (rank, after)  # ... and none are left once fit() has destroyed it


def test_cli_reports_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros(5, np.float32))
    assert main(["--features", str(bad), "--targets", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    assert "2-D array" in capsys.readouterr().err
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert main(["--features", str(pickled), "--targets", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    assert "not a plain .npy" in capsys.readouterr().err

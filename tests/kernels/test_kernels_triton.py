"""The Triton sigmoid-attention kernels, run on CPU through Triton's interpreter.

Triton chooses between compiling and interpreting a kernel when the kernel is
defined, so ``TRITON_INTERPRET=1`` must be set before ``kernels.triton_sigmoid``
is imported. Other test modules in this pytest process may already have
imported it (or triton) without the variable, so each check runs
``tests/kernels/kernels_interpreter_check.py`` in a fresh Python process, one per
dtype (so ``pytest -n 2`` can run them side by side).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).with_name("kernels_interpreter_check.py")
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("triton") is None, reason="triton is not installed (pip install triton)"
)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_kernels_match_float64_reference_under_interpreter(dtype):
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1")
    # The script's folder, not the checkout, heads its sys.path: make this checkout's packages win.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dtype", dtype],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"interpreter check failed for {dtype}:\n{report}"
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok", "FAIL"))]
    # 10 cases x (output, dq, dk, dv), all checked and all passing.
    assert len(lines) == 40 and all(line.startswith("ok") for line in lines), report
    tanh = [line for line in result.stdout.splitlines() if line.startswith("tanh-vs-exact")]
    # 2 tanh cases x 4 quantities within TANH_BOUND of the exact-sigmoid kernels.
    assert len(tanh) == 8 and all(line.startswith("tanh-vs-exact ok") for line in tanh), report


def _config(block_m, block_n, warps, stages):
    import triton

    return triton.Config({"BLOCK_M": block_m, "BLOCK_N": block_n}, num_warps=warps, num_stages=stages)


def test_prune_configs_drops_what_cannot_fit():
    from kernels.triton_sigmoid import prune_configs

    big, medium, small = _config(128, 128, 8, 3), _config(128, 64, 4, 3), _config(32, 32, 4, 2)
    problem = dict(kernel="fwd", head_dim=128, elem_bytes=2, n_queries=4096, n_keys=4096)
    # (128 + 3 * 2 * 128) rows x 128 x 2 bytes = 229376 bytes: fits an H100 (232448), not 99 KiB.
    assert prune_configs([big, medium, small], **problem, shared_memory_bytes=232448) == [big, medium, small]
    assert prune_configs([big, medium, small], **problem, shared_memory_bytes=101376) == [small]
    # Registers: a 128 x 128 tile with head dim 128 on 4 warps holds 256 float32 values per thread.
    assert prune_configs([_config(128, 128, 4, 1), small], **problem, shared_memory_bytes=None) == [small]
    # Head dim 40 pads to 64, which halves the footprint; float32 doubles it.
    d40 = dict(problem, head_dim=40)
    assert prune_configs([medium, small], **d40, shared_memory_bytes=101376) == [medium, small]
    assert prune_configs([medium, small], **dict(d40, elem_bytes=4), shared_memory_bytes=101376) == [small]
    # Short sequences: tiles longer than the (power-of-two rounded) sequence only compute padding.
    short = dict(problem, n_queries=20, n_keys=4096)
    assert prune_configs([big, medium, small], **short, shared_memory_bytes=None) == [small]
    assert prune_configs([big, medium, small], **dict(short, kernel="dkdv"), shared_memory_bytes=None) == [small]
    # Nothing fits: the smallest shared-memory footprint is kept so the autotuner has a config.
    assert prune_configs([big, medium], **dict(problem, n_queries=5, n_keys=5), shared_memory_bytes=None) == [medium]


def test_autotune_hook_prunes_and_can_take_one_config(monkeypatch):
    import kernels.triton_sigmoid as ts

    if ts.INTERPRET:
        pytest.skip("the kernels were defined for the interpreter (no autotuner)")
    prune = ts._fwd_kernel.early_config_prune
    args = {"Q": torch.empty(1, dtype=torch.float16), "head_dim": 64, "n_queries": 20, "n_keys": 20}
    assert [c.kwargs["BLOCK_M"] for c in prune(ts._FWD_CONFIGS, args, BLOCK_D=64)] == [32]
    args.update(n_queries=4096, n_keys=4096)
    assert len(prune(ts._FWD_CONFIGS, args, BLOCK_D=64)) == len(ts._FWD_CONFIGS)
    monkeypatch.setenv("NEUROKIT_TRITON_AUTOTUNE", "0")
    assert prune(ts._FWD_CONFIGS, args, BLOCK_D=64) == ts._FWD_CONFIGS[:1]


def test_check_script_refuses_to_run_compiled_on_cpu():
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dtype", "float32"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "TRITON_INTERPRET=1" in result.stderr

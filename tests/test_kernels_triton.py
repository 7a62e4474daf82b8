"""The Triton sigmoid-attention kernels, run on CPU through Triton's interpreter.

Triton chooses between compiling and interpreting a kernel when the kernel is
defined, so ``TRITON_INTERPRET=1`` must be set before ``kernels.triton_sigmoid``
is imported. Other test modules in this pytest process may already have
imported it (or triton) without the variable, so each check runs
``tests/kernels_interpreter_check.py`` in a fresh Python process, one per
dtype (so ``pytest -n 2`` can run them side by side).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("kernels_interpreter_check.py")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("triton") is None, reason="triton is not installed (pip install triton)"
)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_kernels_match_float64_reference_under_interpreter(dtype):
    env = dict(os.environ, TRITON_INTERPRET="1", OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--dtype", dtype],
        env=env,
        cwd=SCRIPT.parent.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, f"interpreter check failed for {dtype}:\n{report}"
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok", "FAIL"))]
    # 6 cases x (output, dq, dk, dv), all checked and all passing.
    assert len(lines) == 24 and all(line.startswith("ok") for line in lines), report


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

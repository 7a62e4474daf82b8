"""The attention benchmark script runs its tiny CPU configuration and writes its JSON table."""

from __future__ import annotations

import json

import pytest
import torch
from tests.benchmark_scripts import load_benchmark

@pytest.fixture(scope="module")
def bench():
    return load_benchmark("attention")


def test_flop_convention(bench):
    full = bench.attention_flops(2, 3, 128, 64, False, "fwd")
    assert full == 4 * 2 * 3 * 128**2 * 64
    assert bench.attention_flops(2, 3, 128, 64, True, "fwd") == full / 2
    assert bench.attention_flops(2, 3, 128, 64, False, "bwd") == 2.5 * full
    assert bench.attention_flops(2, 3, 128, 64, True, "fwd+bwd") == 3.5 * full / 2


def test_tiny_cpu_run_writes_table(bench, tmp_path, capsys):
    out = tmp_path / "sub" / "attention.json"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = bench.main([
            "--device", "cpu", "--seqs", "128", "--head-dims", "64", "--causal", "true",
            "--providers", "sigmoid-torch", "sigmoid-naive", "--batch-tokens", "128", "--model-dim", "128",
            "--warmup", "1", "--rep", "1", "--output", str(out),
        ])  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    table = json.loads(out.read_text())
    assert table["peak_tflops"] == 989.0 and len(table["rows"]) == 6  # 2 providers x 3 modes
    for row in table["rows"]:
        assert row["error"] is None and row["ms"] > 0 and row["tflops"] > 0
        assert row["batch"] == 1 and row["heads"] == 2 and row["causal"] is True
        assert row["peak_fraction"] == pytest.approx(row["tflops"] / 989.0)
    assert "sigmoid-naive" in capsys.readouterr().out
    assert not list(out.parent.glob(".attention-*"))  # no temporary file left behind


def test_triton_provider_refused_on_cpu(bench):
    assert bench.main(["--device", "cpu", "--providers", "sigmoid-triton", "--seqs", "128"]) == 2

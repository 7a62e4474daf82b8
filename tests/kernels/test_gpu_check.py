"""benchmarks/gpu_check.py: its CPU dry run writes a JSON and a markdown report with every part."""

from __future__ import annotations

import json

import pytest
import torch
from tests.benchmark_scripts import load_benchmark

@pytest.fixture(scope="module")
def gpu_check():
    return load_benchmark("gpu_check")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_dry_run_writes_every_part(gpu_check, tmp_path, capsys):
    out = tmp_path / "report"
    report = gpu_check.run(out, dry_run=True)
    assert sorted(p.name for p in out.iterdir()) == ["gpu_check.json", "gpu_check.md", "gpu_tests.log", "gpu_tests.xml"]
    saved = json.loads((out / "gpu_check.json").read_text())
    assert saved == json.loads(json.dumps(report)) and saved["dry_run"] is True
    parts = saved["parts"]
    assert list(parts) == list(gpu_check.PARTS)
    assert all(part["status"] == "done" and part["cut"] is None for part in parts.values()), parts

    tests = parts["tests"]  # the GPU tests, every one skipping (CUDA hidden in the dry run)
    assert tests["returncode"] == 0 and tests["counts"]["failed"] == 0 and tests["counts"]["error"] == 0
    assert tests["counts"]["skipped"] == len(tests["rows"]) >= 30
    assert any("test_tanh_sigmoid_error_is_bounded" in row["test"] for row in tests["rows"])

    rows = parts["attention"]["rows"]
    assert len(rows) == 3 * 2 * 2  # modes x causal x seqs
    assert [r["mode"] for r in rows[:4]] == ["fwd"] * 4  # every forward first
    for r in rows:
        assert r["ours_ms"] > 0 and r["sdpa_ms"] > 0 and r["speedup_vs_sdpa"] == pytest.approx(r["sdpa_ms"] / r["ours_ms"])
        assert r["ours_peak_fraction"] == pytest.approx(r["ours_tflops"] / 989.0)
        assert ("ours-tanh_ms" in r) == (r["mode"] == "fwd")
    assert parts["attention"]["providers"]["sdpa"] == "sdpa-math"

    assert [r["level"] for r in parts["meshconv"]["rows"]] == [2, 3]
    assert all(r["ours_ms"] > 0 and r["per_operator_ms"] > 0 for r in parts["meshconv"]["rows"])
    training = parts["training"]["rows"]
    assert [r["model"] for r in training] == ["SurfaceMeshEncoder", "Cortex2Image"]
    assert all(r["images_per_s"] > 0 and r["precision"] == "fp32" for r in training), training

    md = (out / "gpu_check.md").read_text()
    for name in gpu_check.PARTS:
        assert f"| {name} | done |" in md and f"## {name}" in md
    assert md.count("| fwd |") == 4 and "test_modules_train_on_gpu_in_bf16" in md
    assert "[attention] fwd" in capsys.readouterr().out


def test_spent_budget_cuts_a_part_and_says_so(gpu_check, tmp_path):
    report = gpu_check.run(tmp_path, dry_run=True, parts=("meshconv",), budgets={"meshconv": 0})
    part = report["parts"]["meshconv"]
    assert part["status"] == "cut" and part["rows"] == [] and "before level 2" in part["cut"]
    md = (tmp_path / "gpu_check.md").read_text()
    assert "| meshconv | cut |" in md and "| attention | not run |" in md


def test_command_line(gpu_check, tmp_path, capsys):
    with pytest.raises(SystemExit):
        gpu_check.main([str(tmp_path), "--budget", "nopart=3"])
    if not torch.cuda.is_available():
        assert gpu_check.main([str(tmp_path)]) == 2
        assert "--dry-run" in capsys.readouterr().err

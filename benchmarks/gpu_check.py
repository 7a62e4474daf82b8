"""One prepared GPU check: kernel tests, attention vs flash SDPA, MeshConv, AMP training.

Meant for a short loan of a CUDA machine (an H100/H200 with its own torch and
Triton, no network): one command, under 8 minutes, that writes everything to
one folder. It runs four parts, each stopped at its own time budget (checked
between shapes, so a slow part never eats the others' time; a part that was
cut says so in the table):

``tests``
    ``pytest -m gpu tests/kernels/test_kernels_gpu.py``: kernel accuracy in
    bf16/fp16 up to 16k tokens against a float32 reference (odd shapes, GQA,
    causal, padding, the ``tanh`` sigmoid) and the modules training in bf16,
    with ``NEUROKIT_TRITON_AUTOTUNE=0`` (the first fitting tile configuration,
    no tuning: fewer compilations). The errors the tests measure come back
    through their JUnit report.
``attention``
    :mod:`benchmarks.attention` (imported, not copied): our kernels (exact
    and ``tanh`` sigmoid) against PyTorch's flash SDPA, forward, backward and
    forward + backward, head dims 64 and 128, sequences 1k-16k, causal and
    not; TFLOP/s, the fraction of the 989 TFLOP/s bf16 peak, and our speed
    over SDPA's against the 1.15x target. Every forward first, so a cut
    leaves the complete forward table.
``meshconv``
    :mod:`benchmarks.meshconv`: MeshConv forward + backward at levels 5-7
    against the per-operator baseline (``NaiveMeshConv``).
``training``
    One training epoch (``neurokit.training.Trainer``, AMP: bf16 autocast on
    CUDA) of :class:`encoding.SurfaceMeshEncoder` and of Cortex2Image
    (:func:`cortex2image.training.fit_reconstructor`, one semantic and one
    detail epoch) on small random data, in images per second.

Outputs, rewritten atomically after every part (so a killed run leaves the
parts done so far): ``OUT_DIR/gpu_check.json`` and ``OUT_DIR/gpu_check.md``,
plus the tests' ``OUT_DIR/gpu_tests.xml`` and ``OUT_DIR/gpu_tests.log``.

``--dry-run`` runs the same code on tiny shapes on the CPU, with the PyTorch
fallback in place of the Triton kernels and SDPA's math backend in place of
flash (what CI runs, ``tests/kernels/test_gpu_check.py``).

Usage::

    bash benchmarks/gpu_check.sh OUT_DIR           # on the CUDA machine
    python benchmarks/gpu_check.py OUT_DIR --dry-run
    python benchmarks/gpu_check.py OUT_DIR --parts attention --budget attention=120
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a file, this folder comes first on sys.path, where benchmarks/cortex2image.py would
# shadow the cortex2image package; the sibling scripts are loaded by path instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
TARGET_SPEEDUP = 1.15
"""Our forward's speed over flash SDPA's that the kernels aim for."""

PARTS = ("tests", "attention", "meshconv", "training")


def _load_sibling(name: str):
    """Import ``benchmarks/<name>.py`` under a private module name (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_gpu_check_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Budget:
    """Wall-clock budget of one part, checked between shapes.

    Parameters
    ----------
    seconds : float
        Time the part may take.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.start = time.perf_counter()
        self.cut: str | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def left(self) -> float:
        return self.seconds - self.elapsed()

    def spent(self, what: str) -> bool:
        """True (and remember ``what`` was cut) once the budget is used up."""
        if self.left() <= 0 and self.cut is None:
            self.cut = f"budget of {self.seconds:.0f} s spent before {what}"
        return self.cut is not None


def plan(dry_run: bool) -> dict:
    """Shapes, providers and budgets (seconds) of every part, for the GPU or the CPU dry run."""
    if dry_run:
        return dict(
            device="cpu",
            budgets=dict(tests=120, attention=60, meshconv=60, training=120),
            tests=dict(pattern="tests/kernels/test_kernels_gpu.py"),
            attention=dict(
                providers={"ours": "sigmoid-torch", "ours-tanh": "sigmoid-torch-tanh", "sdpa": "sdpa-math"},
                dtype="float32", head_dims=[16], seqs=[32, 64], causal=[False, True],
                modes=["fwd", "bwd", "fwd+bwd"], batch_tokens=64, model_dim=32, warmup=1, rep=1,
                tanh_modes=["fwd"],
            ),
            meshconv=dict(levels=[2, 3], batch=2, channels=4, repeats=1),
            training=dict(encoder=dict(target_level=2, query_level=1, image_size=32, dim=8, n_images=8, batch=4),
                          cortex2image=dict(level=2, image_size=32, n_images=8, batch=4)),
        )  # fmt: skip
    return dict(
        device="cuda",
        budgets=dict(tests=150, attention=180, meshconv=40, training=50),
        tests=dict(pattern="tests/kernels/test_kernels_gpu.py"),
        attention=dict(
            providers={"ours": "sigmoid-triton", "ours-tanh": "sigmoid-triton-tanh", "sdpa": "sdpa-flash"},
            dtype="bfloat16", head_dims=[64, 128], seqs=[1024, 2048, 4096, 8192, 16384], causal=[False, True],
            modes=["fwd", "bwd", "fwd+bwd"], batch_tokens=16384, model_dim=2048, warmup=10, rep=30,
            tanh_modes=["fwd"],
        ),
        meshconv=dict(levels=[5, 6, 7], batch=16, channels=32, repeats=5),
        training=dict(encoder=dict(target_level=5, query_level=2, image_size=96, dim=32, n_images=256, batch=32),
                      cortex2image=dict(level=5, image_size=64, n_images=256, batch=32)),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------- tests


_VERBOSE_LINE = re.compile(r"^(\S+::\S+)\s+(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)")


def run_tests(cfg: dict, budget: Budget, out_dir: Path, dry_run: bool) -> dict:
    """Run the GPU tests in a subprocess stopped at the budget; outcomes and measured errors per test."""
    xml_path, log_path = out_dir / "gpu_tests.xml", out_dir / "gpu_tests.log"
    cmd = [sys.executable, "-m", "pytest", cfg["pattern"], "-m", "gpu", "-v", "-rs", "-p", "no:cacheprovider",
           f"--junitxml={xml_path}"]  # fmt: skip
    # Accuracy does not need tuned tiles: one configuration per problem kind saves the compilations.
    env = dict(os.environ, PYTHONUNBUFFERED="1", NEUROKIT_TRITON_AUTOTUNE="0")
    if dry_run:  # the same command, every test skipping as on a machine without CUDA
        env["CUDA_VISIBLE_DEVICES"] = ""
    print(f"[tests] {' '.join(cmd[2:])} (budget {budget.seconds:.0f} s)", flush=True)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            proc.wait(timeout=max(1.0, budget.left()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            budget.cut = f"pytest stopped at the budget of {budget.seconds:.0f} s"
    log_text = log_path.read_text()
    rows = {m.group(1): dict(test=m.group(1), outcome=m.group(2).lower(), errors=None)
            for m in map(_VERBOSE_LINE.match, log_text.splitlines()) if m}  # fmt: skip
    if xml_path.exists() and budget.cut is None:
        for case in ET.parse(xml_path).getroot().iter("testcase"):
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            row = rows.setdefault(name, dict(test=name, outcome="passed", errors=None))
            for prop in case.iter("property"):
                if prop.get("name") == "max_abs_errors":
                    row["errors"] = json.loads(prop.get("value"))
    summary = log_text.strip().splitlines()[-1] if log_text.strip() else ""
    counts = {k: sum(r["outcome"] == k for r in rows.values()) for k in ("passed", "failed", "skipped", "error")}
    return dict(rows=list(rows.values()), counts=counts, summary=summary, returncode=proc.returncode)


# ----------------------------------------------------------------------------------------- attention


def run_attention(cfg: dict, budget: Budget, device: torch.device) -> dict:
    """Time our attention and SDPA per (mode, head dim, causal, seq); forward first."""
    bench = _load_sibling("attention")
    dtype = bench.DTYPES[cfg["dtype"]]
    rows = []
    for mode in cfg["modes"]:
        for head_dim in cfg["head_dims"]:
            for causal in cfg["causal"]:
                for seq in cfg["seqs"]:
                    if budget.spent(f"{mode} d={head_dim} causal={causal} seq={seq}"):
                        return dict(rows=rows)
                    heads = max(1, cfg["model_dim"] // head_dim)
                    batch = max(1, cfg["batch_tokens"] // seq)
                    row = dict(mode=mode, head_dim=head_dim, causal=causal, seq=seq, batch=batch, heads=heads)
                    flops = bench.attention_flops(batch, heads, seq, head_dim, causal, mode)
                    for label, provider in cfg["providers"].items():
                        if label == "ours-tanh" and mode not in cfg["tanh_modes"]:
                            continue
                        try:
                            ms = bench.bench_one(provider, mode, batch, heads, seq, head_dim, causal, dtype, device,
                                                 cfg["warmup"], cfg["rep"])  # fmt: skip
                        except (RuntimeError, ValueError, NotImplementedError) as exc:  # OOM is a RuntimeError
                            row[f"{label}_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                            continue
                        finally:
                            if device.type == "cuda":
                                torch.cuda.empty_cache()
                        row[f"{label}_ms"] = ms
                        row[f"{label}_tflops"] = flops / (ms * 1e-3) / 1e12
                    if "ours_ms" in row and "sdpa_ms" in row:
                        row["speedup_vs_sdpa"] = row["sdpa_ms"] / row["ours_ms"]
                        if "ours-tanh_ms" in row:
                            row["tanh_speedup_vs_sdpa"] = row["sdpa_ms"] / row["ours-tanh_ms"]
                    if "ours_tflops" in row:
                        row["ours_peak_fraction"] = row["ours_tflops"] / bench.H100_BF16_PEAK_TFLOPS
                    rows.append(row)
                    print(f"[attention] {_attention_line(row)}", flush=True)
    return dict(rows=rows, peak_tflops=bench.H100_BF16_PEAK_TFLOPS, providers=cfg["providers"], dtype=cfg["dtype"])


def _attention_line(row: dict) -> str:
    def ms(label):
        return f"{row[label + '_ms']:.3f}" if label + "_ms" in row else row.get(label + "_error", "-")

    ratio = f"{row['speedup_vs_sdpa']:.2f}x" if "speedup_vs_sdpa" in row else "-"
    return (f"{row['mode']:7s} d={row['head_dim']:<3d} causal={row['causal']!s:5s} seq={row['seq']:<6d} "
            f"ours {ms('ours')} ms, tanh {ms('ours-tanh')} ms, sdpa {ms('sdpa')} ms, ours/sdpa speed {ratio}")  # fmt: skip


# ------------------------------------------------------------------------------------------ meshconv


def run_meshconv(cfg: dict, budget: Budget, device: torch.device) -> dict:
    """MeshConv forward + backward against the per-operator baseline, per level."""
    mc = _load_sibling("meshconv")
    from neurokit.mesh.operators import mesh_operators
    from neurokit.nn import MeshConv

    rows = []
    for level in cfg["levels"]:
        if budget.spent(f"level {level}"):
            break
        ops = [mesh_operators(level, hemi) for hemi in ("left", "right")]
        conv = MeshConv(cfg["channels"], cfg["channels"], operators=ops, level=level).to(device)
        naive = mc.NaiveMeshConv(conv, ops)
        naive.ops = [[m.to(device) for m in hemi] for hemi in naive.ops]
        x = torch.randn(cfg["batch"], cfg["channels"], conv.n_vertices, device=device, requires_grad=True)
        with torch.no_grad():
            torch.testing.assert_close(naive(x), conv(x), rtol=1e-3, atol=1e-3)
        ours = mc.bench(conv, x, cfg["repeats"])
        base = mc.bench(naive, x, cfg["repeats"])
        row = dict(level=level, vertices=conv.n_vertices, batch=cfg["batch"], channels=cfg["channels"],
                   ours_ms=1e3 * ours, per_operator_ms=1e3 * base, speedup=base / ours,
                   samples_per_s=cfg["batch"] / ours)  # fmt: skip
        rows.append(row)
        print(f"[meshconv] level {level}: ours {row['ours_ms']:.2f} ms, per-operator {row['per_operator_ms']:.2f} ms "
              f"({row['speedup']:.1f}x), {row['samples_per_s']:.1f} samples/s", flush=True)  # fmt: skip
    return dict(rows=rows)


# ------------------------------------------------------------------------------------------ training


def _train_encoder(cfg: dict, device: torch.device) -> dict:
    from encoding.mesh_encoder import SurfaceMeshEncoder
    from neurokit.mesh.levels import n_vertices

    rng = np.random.default_rng(0)
    n, size = cfg["n_images"], cfg["image_size"]
    images = rng.random((n, size, size, 3), dtype=np.float32)
    responses = rng.standard_normal((n, 2 * n_vertices(cfg["target_level"]))).astype(np.float32)
    enc = SurfaceMeshEncoder(target_level=cfg["target_level"], query_level=cfg["query_level"], image_size=size,
                             dim=cfg["dim"], max_epochs=1, joint_epochs=1, batch_size=cfg["batch"],
                             validation_fraction=0.0, refit_readout=False, weights=None, device=device,
                             progress=False)  # fmt: skip
    start = time.perf_counter()
    enc.fit(images, responses)
    _sync(device)
    return dict(model="SurfaceMeshEncoder", epochs=1, images=n, seconds=time.perf_counter() - start,
                detail=f"levels {cfg['query_level']}->{cfg['target_level']}, {size} px, includes the frozen "
                       "backbone's tokens")  # fmt: skip


def _train_cortex2image(cfg: dict, device: torch.device) -> dict:
    from cortex2image.semantic import EfficientNetSemanticSpace
    from cortex2image.training import fit_reconstructor
    from neurokit.mesh.levels import n_vertices

    rng = np.random.default_rng(0)
    n, size = cfg["n_images"], cfg["image_size"]
    images = rng.random((n, size, size, 3), dtype=np.float32)
    responses = rng.standard_normal((n, 2 * n_vertices(cfg["level"]))).astype(np.float32)
    start = time.perf_counter()
    fit_reconstructor(responses, images, level=cfg["level"], semantic_space=EfficientNetSemanticSpace(input_size=size),
                      semantic_epochs=1, detail_epochs=1, val_fraction=0.0, patience=None,
                      batch_size=cfg["batch"], device=device, progress=False)  # fmt: skip
    _sync(device)
    return dict(model="Cortex2Image", epochs=2, images=n, seconds=time.perf_counter() - start,
                detail=f"level {cfg['level']}, one semantic + one detail epoch, {size} px, includes the "
                       "semantic embedding of the images")  # fmt: skip


def run_training(cfg: dict, budget: Budget, device: torch.device) -> dict:
    """One AMP epoch of each model (bf16 autocast on CUDA through the Trainer; fp32 on CPU)."""
    precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device.type == "cuda" else "fp32"
    rows = []
    for name, model, fn in (("encoder", "SurfaceMeshEncoder", _train_encoder),
                            ("cortex2image", "Cortex2Image", _train_cortex2image)):  # fmt: skip
        if budget.spent(model):
            break
        try:
            row = fn(cfg[name], device)
        except Exception as exc:  # a missing optional package must not stop the other model
            row = dict(model=model, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}")
        else:
            row["images_per_s"] = row["images"] * row["epochs"] / row["seconds"]
        row["precision"] = precision
        rows.append(row)
        print(f"[training] {row}", flush=True)
    return dict(rows=rows)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------------------------------- report


def _fmt(value, spec: str = ".3g") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return format(value, spec) if math.isfinite(value) else str(value)
    return str(value)


def render_markdown(report: dict) -> str:
    """The report as markdown: a summary of the parts, then one table per part."""
    lines = [f"# GPU check{' (dry run: CPU, PyTorch fallback, SDPA math)' if report['dry_run'] else ''}", "",
             f"device: {report['device']}; torch {report['torch']}; triton {report['triton']}; "
             f"started {report['started']}", "",
             "| part | status | seconds | budget (s) | note |", "|---|---|---|---|---|"]  # fmt: skip
    for name in PARTS:
        part = report["parts"].get(name)
        if part is None:
            lines.append(f"| {name} | not run | - | - | - |")
            continue
        note = part.get("cut") or part.get("error") or ""
        lines.append(f"| {name} | {part['status']} | {part['seconds']:.1f} | {part['budget_s']:.0f} | {note} |")
    parts = report["parts"]
    if "tests" in parts and "rows" in parts["tests"]:
        t = parts["tests"]
        lines += ["", "## tests", "", f"{t['summary']}", "", "| test | outcome | max abs error (kernel / PyTorch same precision) |",
                  "|---|---|---|"]  # fmt: skip
        for row in t["rows"]:
            errs = row.get("errors") or {}
            text = ", ".join(f"{k} {v[0]:.2e} / {v[1]:.2e}" for k, v in errs.items()) or "-"
            lines.append(f"| `{row['test']}` | {row['outcome']} | {text} |")
    if "attention" in parts and "rows" in parts["attention"]:
        a = parts["attention"]
        peak = a.get("peak_tflops", 989.0)
        names = a.get("providers", {})
        lines += ["", "## attention", "",
                  f"ours = `{names.get('ours')}`, ours-tanh = `{names.get('ours-tanh')}`, sdpa = `{names.get('sdpa')}`, "
                  f"{a.get('dtype')}; TFLOP/s by the FlashAttention convention; % of the {peak:g} TFLOP/s bf16 peak; "
                  f"speed = SDPA ms / our ms (target {TARGET_SPEEDUP}x)", "",
                  "| mode | d | causal | seq | B x H | ours ms | ours TFLOP/s | % peak | tanh TFLOP/s | SDPA TFLOP/s "
                  "| speed vs SDPA | tanh speed | vs target |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in a["rows"]:
            speed = r.get("speedup_vs_sdpa")
            verdict = "-" if speed is None else ("met" if speed >= TARGET_SPEEDUP else
                                                 f"short by {100 * (1 - speed / TARGET_SPEEDUP):.0f}%")  # fmt: skip
            lines.append(
                f"| {r['mode']} | {r['head_dim']} | {r['causal']} | {r['seq']} | {r['batch']} x {r['heads']} "
                f"| {_fmt(r.get('ours_ms')) if 'ours_ms' in r else r.get('ours_error', '-')} | {_fmt(r.get('ours_tflops'))} "
                f"| {_fmt(None if r.get('ours_peak_fraction') is None else 100 * r['ours_peak_fraction'], '.1f')} "
                f"| {_fmt(r.get('ours-tanh_tflops'))} | {_fmt(r.get('sdpa_tflops')) if 'sdpa_ms' in r else r.get('sdpa_error', '-')} "
                f"| {_fmt(speed, '.2f')} | {_fmt(r.get('tanh_speedup_vs_sdpa'), '.2f')} | {verdict} |"
            )  # fmt: skip
    if "meshconv" in parts and "rows" in parts["meshconv"]:
        lines += ["", "## meshconv (forward + backward)", "",
                  "| level | vertices | batch x channels | ours ms | per-operator ms | speedup | samples/s |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in parts["meshconv"]["rows"]:
            lines.append(f"| {r['level']} | {r['vertices']} | {r['batch']} x {r['channels']} | {r['ours_ms']:.2f} "
                         f"| {r['per_operator_ms']:.2f} | {r['speedup']:.1f}x | {r['samples_per_s']:.1f} |")  # fmt: skip
    if "training" in parts and "rows" in parts["training"]:
        lines += ["", "## training (one epoch)", "", "| model | precision | images | epochs | seconds | images/s | note |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in parts["training"]["rows"]:
            lines.append(f"| {r['model']} | {r['precision']} | {r.get('images', '-')} | {r.get('epochs', '-')} "
                         f"| {_fmt(r.get('seconds'), '.2f')} | {_fmt(r.get('images_per_s'), '.1f')} "
                         f"| {r.get('error') or r.get('detail', '')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: Path) -> None:
    """Write ``gpu_check.json`` and ``gpu_check.md`` into ``out_dir``, each atomically."""
    from neurokit.io import atomic_write_text

    atomic_write_text(out_dir / "gpu_check.json", json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / "gpu_check.md", render_markdown(report))


# --------------------------------------------------------------------------------------------- main


def _environment(device: torch.device) -> dict:
    try:
        import triton

        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return dict(device=name, torch=torch.__version__, triton=triton_version, python=platform.python_version())


def run(out_dir: Path, *, dry_run: bool = False, parts: tuple[str, ...] = PARTS,
        budgets: dict[str, float] | None = None) -> dict:  # fmt: skip
    """Run the chosen parts in order and write the report after each; returns the report.

    Parameters
    ----------
    out_dir : Path
        Folder for ``gpu_check.json``, ``gpu_check.md`` and the test logs (created).
    dry_run : bool
        Tiny shapes on the CPU with the PyTorch fallback and SDPA's math backend.
    parts : tuple of str
        Subset of ``PARTS``, run in that order.
    budgets : dict, optional
        Seconds per part, overriding the plan's.

    Returns
    -------
    dict
        The report written to ``gpu_check.json``.
    """
    cfg = plan(dry_run)
    budgets = {**cfg["budgets"], **(budgets or {})}
    device = torch.device(cfg["device"])
    out_dir.mkdir(parents=True, exist_ok=True)
    report = dict(dry_run=dry_run, started=time.strftime("%Y-%m-%d %H:%M:%S %Z"), budgets_s=budgets,
                  **_environment(device), parts={})  # fmt: skip
    runners: dict[str, Callable[[Budget], dict]] = {
        "tests": lambda b: run_tests(cfg["tests"], b, out_dir, dry_run),
        "attention": lambda b: run_attention(cfg["attention"], b, device),
        "meshconv": lambda b: run_meshconv(cfg["meshconv"], b, device),
        "training": lambda b: run_training(cfg["training"], b, device),
    }
    for name in parts:
        budget = Budget(budgets[name])
        print(f"== {name} (budget {budget.seconds:.0f} s)", flush=True)
        try:
            result = runners[name](budget)
            status = "cut" if budget.cut else "done"
        except Exception as exc:  # one broken part must not lose the others
            traceback.print_exc()
            result, status = dict(error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"), "error"
        report["parts"][name] = dict(status=status, seconds=budget.elapsed(), budget_s=budget.seconds,
                                     cut=budget.cut, **result)  # fmt: skip
        write_report(report, out_dir)
        print(f"== {name}: {status} in {budget.elapsed():.1f} s", flush=True)
    print(f"wrote {out_dir / 'gpu_check.json'} and {out_dir / 'gpu_check.md'}", flush=True)
    return report


def _budget_arg(text: str) -> tuple[str, float]:
    name, _, seconds = text.partition("=")
    if name not in PARTS or not seconds:
        raise argparse.ArgumentTypeError(f"expected PART=SECONDS with PART one of {PARTS}, got {text!r}")
    return name, float(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder for gpu_check.json / gpu_check.md (created)")
    parser.add_argument("--dry-run", action="store_true", help="tiny shapes on CPU (PyTorch fallback, SDPA math)")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--budget", type=_budget_arg, action="append", default=[], metavar="PART=SECONDS",
                        help="override one part's time budget")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print("no CUDA device: run on a GPU machine, or pass --dry-run", file=sys.stderr)
        return 2
    run(args.out_dir, dry_run=args.dry_run, parts=tuple(args.parts), budgets=dict(args.budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())

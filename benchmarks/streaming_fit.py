"""Benchmark: the streamed whole-brain ridge fit against the in-memory fit, at full NSD size.

NSD mode (default) writes a synthetic NSD subject with the NSD-layout writer
(``--sessions`` x 750 trials; 40 sessions = 30,000 trials of 10,000 images, 3
repeats, 1,000 shared) at ``--level`` (6: all 81,924 vertices, about 10 GB of
betas; 7: 327,684 vertices, about 1 GB per session), then fits it

1. in memory: :func:`encoding.from_nsd.fit_subject_encoder_from_nsd`
   (skipped with a note when its estimated peak does not fit in the
   machine's available memory, or with ``--no-in-memory``);
2. streamed: :func:`encoding.streaming.fit_streaming_ridge` with
   ``--max-memory``;

each in its own child process, started with the tree's pages dropped from
the page cache (``posix_fadvise``), and reports wall time, the child's peak
resident memory as the OS measures it (``VmHWM``; ``ru_maxrss`` from
``wait4`` agrees), and bytes read (``/proc/<pid>/io``: ``read_bytes`` from the
disk, ``rchar`` through read calls). The betas carry a known low-rank signal
so the held-out r is a sanity check.

``--ridge-big`` measures the ridge solver alone at NSD size (9,000 images x
1,280 features -> 327,684 targets, the ``--big`` case of
``benchmarks/ridge.py``) with the targets streamed from a ``.npy`` on disk.

Usage::

    python benchmarks/streaming_fit.py --dir /data/tmp --level 6 --sessions 40
    python benchmarks/streaming_fit.py --dir /data/tmp --level 7 --sessions max   # as many as the disk allows
    python benchmarks/streaming_fit.py --dir /data/tmp --ridge-big
    python benchmarks/streaming_fit.py --dir /tmp --level 4 --sessions 3 --features 64   # quick check

The data are written under a fresh folder in ``--dir`` and deleted afterwards
unless ``--keep``; at least ``--leave-free`` GB (default 15) of disk is left free.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRIALS = 750
GB = 1e9


# ------------------------------------------------------------------------------------ writing
def _betas_bytes(level: int, sessions: int) -> int:
    from neurokit.mesh.levels import n_vertices

    return sessions * TRIALS * 2 * n_vertices(level) * 4


def _write_nsd(root: Path, level: int, sessions: int, n_features: int, seed: int = 0) -> None:
    """NSD tree with betas = features[:, :8] @ G + noise (per-vertex SNR varies), and the features."""
    from tqdm.auto import tqdm

    from neurokit.datasets import NSDDesign, NSDWriter
    from neurokit.mesh.levels import n_vertices

    n_images = sessions * TRIALS // 3
    design = NSDDesign.simulate(n_subjects=1, n_images=n_images, n_shared=min(1000, n_images // 10), n_repeats=3,
                                trials_per_session=TRIALS, seed=seed)
    writer = NSDWriter(root)
    writer.write_design(design)
    rng = np.random.default_rng(seed)
    ids = design.subjectim[0]
    features = rng.standard_normal((ids.size, n_features), dtype=np.float32)
    np.save(root.parent / "features.npy", features)
    np.save(root.parent / "feature_ids.npy", ids)
    nv = 2 * n_vertices(level)
    k = min(8, n_features)
    G = rng.standard_normal((k, nv), dtype=np.float32) * rng.uniform(0.0, 1.0, nv).astype(np.float32)
    pos = {int(i): j for j, i in enumerate(ids)}
    trial_ids = design.trial_nsd_ids(1)
    for s in tqdm(range(sessions), desc=f"writing level {level}", unit="session"):
        rows = np.array([pos[int(i)] for i in trial_ids[s * TRIALS : (s + 1) * TRIALS]])
        betas = rng.standard_normal((TRIALS, nv), dtype=np.float32)
        betas += features[rows, :k] @ G
        writer.write_betas_session(1, s + 1, betas)
        del betas


def _write_ridge_big(folder: Path, n: int, p: int, t: int, n_test: int, seed: int = 0) -> None:
    """X (n, p), Y (n, t) and held-out X_test, Y_test as .npy, Y written block of rows by block (bounded memory)."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + n_test, p), dtype=np.float32)
    np.save(folder / "X.npy", X[:n])
    np.save(folder / "X_test.npy", X[n:])
    k = min(8, p)
    G = rng.standard_normal((k, t), dtype=np.float32) * rng.uniform(0.0, 1.0, t).astype(np.float32)
    for name, rows in (("Y.npy", np.arange(n)), ("Y_test.npy", np.arange(n, n + n_test))):
        with open(folder / name, "wb") as fh:
            np.lib.format.write_array_header_1_0(
                fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
                     "shape": (rows.size, t)})
            for b in tqdm(range(0, rows.size, 250), desc=f"writing {name}", unit="block"):
                r = rows[b : b + 250]
                block = X[r, :k] @ G
                if name == "Y.npy":
                    block += rng.standard_normal(block.shape, dtype=np.float32)
                fh.write(np.ascontiguousarray(block).data)


def _drop_cache(folder: Path) -> None:
    """Evict the files under ``folder`` from the page cache (so every run reads from disk)."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fdatasync(fd)  # dirty pages cannot be dropped
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


# ------------------------------------------------------------------------------------ measured children
def _child(argv: list[str]) -> None:
    """Run one measured fit in this (child) process; print its measurements as JSON on the last line."""
    args = json.loads(argv[0])
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    t0 = time.perf_counter()
    if args["mode"] == "in-memory":
        from encoding.from_nsd import fit_subject_encoder_from_nsd

        feats = (np.load(args["feature_ids"]), np.load(args["features"]))
        _, info = fit_subject_encoder_from_nsd(args["root"], 1, features=feats, level=args["level"], progress=False)
        r = info.test_r
        chunks = ""
    else:
        from encoding.ridge import DEFAULT_ALPHAS
        from encoding.streaming import ArrayTargets, fit_streaming_ridge, load_streaming_ridge

        if args["mode"] == "streamed":
            from encoding.from_nsd import NSDTargets

            feats = (np.load(args["feature_ids"]), np.load(args["features"]))
            src = NSDTargets(args["root"], 1, feats, level=args["level"])
            X, X_test = src.X_train, src.X_test
        else:  # ridge-big: targets streamed from .npy files
            folder = Path(args["root"])
            src = ArrayTargets(folder / "Y.npy", folder / "Y_test.npy")
            X, X_test = np.load(folder / "X.npy"), np.load(folder / "X_test.npy")
        alphas = np.logspace(-1, 5, 10) if args["mode"] == "ridge-big" else DEFAULT_ALPHAS  # as benchmarks/ridge.py
        report = fit_streaming_ridge(X, src, args["output"], X_test=X_test, max_memory=args["max_memory"],
                                     alphas=alphas, progress=False)
        _, info = load_streaming_ridge(args["output"], verify=False)
        r = np.asarray(info["test_r"])
        chunks = f"{report.n_chunks} x {report.chunk_size}"
    seconds = time.perf_counter() - t0
    status = Path("/proc/self/status").read_text()
    hwm = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))) * 1024
    io_stats = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    print(json.dumps({"seconds": seconds, "vmhwm": hwm, "read_bytes": int(io_stats["read_bytes"]),
                      "rchar": int(io_stats["rchar"]), "median_r": float(np.nanmedian(r)), "chunks": chunks}))


def _measure(spec: dict, data: Path) -> dict:
    _drop_cache(data)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    env.setdefault("OMP_NUM_THREADS", "1")
    repo = str(Path(__file__).resolve().parents[1])  # the child imports this checkout's packages
    env["PYTHONPATH"] = os.pathsep.join([repo, *filter(None, [env.get("PYTHONPATH")])])
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(var, None)
    t0 = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as err:
        proc = subprocess.Popen([sys.executable, __file__, "--child", json.dumps(spec)], stdout=subprocess.PIPE,
                                stderr=err, text=True, env=env)
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, rusage = os.wait4(proc.pid, 0)  # this child's own peak (ru_maxrss, KiB on Linux)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{spec['mode']} fit failed (exit {proc.returncode}):\n{err.read()[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["process_wall"] = wall
    result["ru_maxrss"] = rusage.ru_maxrss * 1024
    return result


def _in_memory_estimate(level: int, sessions: int, n_features: int) -> int:
    """Peak of the in-memory path: responses, their training copy, weights, one solver batch, the reader's session."""
    from neurokit.mesh.levels import n_vertices

    nv = 2 * n_vertices(level)
    n_images = sessions * TRIALS // 3
    return int(nv * (n_images * 4 * 2 + n_features * 4 + TRIALS * 20) + 1.5e9)


def _available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable"):
            return int(line.split()[1]) * 1024
    return 0


# ------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        _child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, required=True, help="where the synthetic data are written")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--sessions", default="40", help="sessions of 750 trials, or 'max' (what the disk allows, <= 40)")
    parser.add_argument("--features", type=int, default=1280)
    parser.add_argument("--max-memory", default="2GB", help="budget of the streamed fit")
    parser.add_argument("--no-in-memory", action="store_true", help="skip the in-memory fit")
    parser.add_argument("--ridge-big", action="store_true", help="ridge solver alone: 9,000 x 1,280 -> 327,684")
    parser.add_argument("--ridge-shape", type=int, nargs=3, default=(9000, 1280, 327_684), metavar=("N", "P", "T"),
                        help="--ridge-big: samples, features, targets")
    parser.add_argument("--leave-free", type=float, default=15.0, help="GB of disk to leave free")
    parser.add_argument("--keep", action="store_true", help="keep the written data")
    parser.add_argument("--out", type=Path, default=None, help="also save the table (and JSON) under this stem")
    args = parser.parse_args(argv)

    args.dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.dir).free
    if args.ridge_big:
        n, p, t = args.ridge_shape
        n_test = 300
        need = (n + n_test) * t * 4 * 1.0 + 2 * t * p * 4  # targets + result (+ chunk files before assembly)
        what = f"ridge solver: {n:,} x {p:,} -> {t:,} targets streamed from .npy ({n * t * 4 / GB:.1f} GB)"
    else:
        per_session = _betas_bytes(args.level, 1)
        from neurokit.mesh.levels import n_vertices

        result_bytes = 2 * 2 * n_vertices(args.level) * args.features * 4
        if args.sessions == "max":
            sessions = int(min(40, (free - args.leave_free * GB - result_bytes) // per_session))
        else:
            sessions = int(args.sessions)
        if sessions < 3:
            print(f"not enough disk under {args.dir}: {free / GB:.1f} GB free, need {args.leave_free} GB left plus "
                  f"{3 * per_session / GB:.1f} GB for 3 sessions")
            return 1
        need = sessions * per_session + result_bytes
        what = (f"NSD level {args.level}: {2 * n_vertices(args.level):,} vertices, {sessions} sessions x {TRIALS} = "
                f"{sessions * TRIALS:,} trials ({sessions * TRIALS // 3:,} images), {args.features} features, "
                f"{sessions * per_session / GB:.1f} GB of betas")
    if free - need < args.leave_free * GB:
        print(f"refusing: {what} needs {need / GB:.1f} GB and {args.dir} has {free / GB:.1f} GB free "
              f"(leaving {args.leave_free} GB)")
        return 1
    print(f"{what}; disk {free / GB:.1f} GB free; load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}",
          flush=True)

    work = Path(tempfile.mkdtemp(prefix="streaming_bench_", dir=args.dir))
    rows = []
    try:
        t0 = time.perf_counter()
        if args.ridge_big:
            _write_ridge_big(work, n, p, t, n_test)
            data = work
        else:
            data = work / "nsd"
            _write_nsd(data, args.level, sessions, args.features)
        print(f"wrote the data in {time.perf_counter() - t0:.0f} s", flush=True)
        base = {"root": str(data), "features": str(work / "features.npy"), "feature_ids": str(work / "feature_ids.npy"),
                "level": args.level, "max_memory": args.max_memory}
        modes = ["ridge-big"] if args.ridge_big else ["streamed"]
        if not args.ridge_big and not args.no_in_memory:
            est = _in_memory_estimate(args.level, sessions, args.features)
            if est < _available() - 3 * 2**30:
                modes.insert(0, "in-memory")
            else:
                print(f"in-memory fit skipped: estimated peak {est / 2**30:.1f} GiB, available "
                      f"{_available() / 2**30:.1f} GiB (less 3 GiB margin)", flush=True)
        for mode in modes:
            output = work / f"result-{mode}"
            res = _measure(dict(base, mode=mode, output=str(output)), data)
            res["mode"] = mode
            rows.append(res)
            print(f"  {mode:<10s} {res['seconds']:8.1f} s  peak {res['vmhwm'] / 2**30:6.2f} GiB  "
                  f"read {res['read_bytes'] / GB:6.2f} GB (rchar {res['rchar'] / GB:6.2f} GB)  "
                  f"median r {res['median_r']:.3f}  {res['chunks']}  load {os.getloadavg()[0]:.2f}", flush=True)
            shutil.rmtree(output, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    header = f"{'path':<12s}{'wall s':>9s}{'peak RSS GiB':>14s}{'ru_maxrss GiB':>15s}{'disk read GB':>14s}" \
             f"{'rchar GB':>10s}{'median r':>10s}  chunks (n x size)"
    lines = [what, f"max_memory={args.max_memory}; uptime load {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs",
             header]
    for res in rows:
        maxrss = res["ru_maxrss"] / 2**30 if res["ru_maxrss"] else float("nan")
        lines.append(f"{res['mode']:<12s}{res['seconds']:9.1f}{res['vmhwm'] / 2**30:14.2f}{maxrss:15.2f}"
                     f"{res['read_bytes'] / GB:14.2f}{res['rchar'] / GB:10.2f}{res['median_r']:10.3f}  {res['chunks']}")
    if len(rows) == 2:
        lines.append(f"streamed / in-memory wall time: {rows[1]['seconds'] / rows[0]['seconds']:.2f}x; "
                     f"peak memory: {rows[1]['vmhwm'] / rows[0]['vmhwm']:.2f}x")
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        Path(f"{args.out}.txt").write_text(table + "\n")
        Path(f"{args.out}.json").write_text(json.dumps({"what": what, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

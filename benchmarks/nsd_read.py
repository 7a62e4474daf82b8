"""Benchmark: streamed NSD reads against a plain nibabel load of the same files.

Writes a synthetic subject at full fsaverage (level 7, 163,842 vertices per
hemisphere) with ``--sessions`` sessions of ``--trials`` trials using the
NSD-layout writer, then times

1. ``nibabel``: loading every session file whole (``nib.load(...).get_fdata``),
   the naive way;
2. ``NSD.responses`` at ``--level`` (default 6: the first 40,962 vertices),
   z-scored and repeat-averaged;
3. ``NSD.responses`` on an nsdgeneral-sized ROI (``--roi-fraction`` of the
   vertices, scattered) at level 7.

It reports throughput (MB of betas on disk per second) and the peak resident
memory increase of each step (``resource.getrusage`` in a child process, so the
steps do not share a high-water mark).

Usage::

    python benchmarks/nsd_read.py --sessions 2 --trials 750
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _write(root: Path, sessions: int, trials: int, roi_fraction: float, seed: int = 0) -> None:
    from neurokit.datasets import NSDDesign, NSDWriter
    from neurokit.mesh.levels import n_vertices

    v = n_vertices(7)
    n_images = sessions * trials // 3
    design = NSDDesign.simulate(
        n_subjects=1, n_images=n_images, n_shared=min(100, n_images), n_repeats=3, trials_per_session=trials,
        n_stimuli=max(n_images, 1000), seed=seed,
    )
    writer = NSDWriter(root)
    writer.write_design(design)
    rng = np.random.default_rng(seed)
    for s in range(1, sessions + 1):
        writer.write_betas_session(1, s, rng.standard_normal((trials, 2 * v), dtype=np.float32))
    labels = (rng.random(2 * v) < roi_fraction).astype(np.int32)
    writer.write_roi(1, "nsdgeneral", labels)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _child(task: str, root: str, level: int, queue) -> None:
    import nibabel as nib

    from neurokit.datasets import NSD

    base = _peak_mb()
    t0 = time.perf_counter()
    if task == "nibabel":
        nsd = NSD(root)
        for s in nsd.sessions(1):
            for hemi in ("lh", "rh"):
                data = nib.load(nsd.layout.betas(1, s, hemi)).get_fdata(dtype=np.float32)
                del data
        shape = None
    elif task == "level":
        shape = NSD(root).responses(1, level=level).data.shape
    else:
        shape = NSD(root).responses(1, rois="nsdgeneral").data.shape
    queue.put((time.perf_counter() - t0, _peak_mb() - base, _peak_mb(), shape))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--trials", type=int, default=750, help="trials per session (NSD: 750)")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--roi-fraction", type=float, default=0.12, help="nsdgeneral is ~12%% of fsaverage")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary folder)")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="nsd_bench_", dir=args.dir))
    try:
        t0 = time.perf_counter()
        _write(root, args.sessions, args.trials, args.roi_fraction)
        size_mb = sum(p.stat().st_size for p in root.rglob("*.mgh")) / 1e6
        print(f"wrote {args.sessions} sessions x {args.trials} trials at level 7: {size_mb:,.0f} MB "
              f"of betas in {time.perf_counter() - t0:.1f} s")
        ctx = mp.get_context("spawn")
        for task, label in (
            ("nibabel", "nibabel load of every file (whole)"),
            ("level", f"NSD.responses level {args.level} (z-score + average)"),
            ("roi", f"NSD.responses nsdgeneral-like ROI at level 7 ({args.roi_fraction:.0%})"),
        ):
            queue = ctx.Queue()
            proc = ctx.Process(target=_child, args=(task, str(root), args.level, queue))
            proc.start()
            seconds, peak_delta, peak, shape = queue.get()
            proc.join()
            extra = f", result {shape}" if shape else ""
            print(f"{label:<60s} {seconds:7.2f} s  {size_mb / seconds:8.0f} MB/s  "
                  f"peak RSS +{peak_delta:,.0f} MB (total {peak:,.0f} MB){extra}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: bootstrap CI of the median over vertices of per-vertex Pearson r over test images.

Times :func:`neurokit.statistics.bootstrap_ci` on synthetic responses
``(n_items, n_vertices)`` two ways:

* ``fast``    - :class:`neurokit.statistics.PearsonStatistic` (all ``n_boot``
  resamples from item counts, 64 at a time);
* ``generic`` - a plain callable ``median(pearson_r(y, pred))`` recomputed on
  resampled rows, timed on ``--generic-boot`` resamples and scaled to ``n_boot``
  (it is linear in the number of resamples).

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bootstrap.py --items 1000 --vertices 5000 --n-boot 1000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurokit.metrics import pearson_r
from neurokit.statistics import PearsonStatistic, bootstrap_ci


def _median_r(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.median(pearson_r(y_true, y_pred)))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="test images")
    parser.add_argument("--vertices", type=int, default=5000, help="vertices")
    parser.add_argument("--n-boot", type=int, default=1000, help="resamples of the fast path")
    parser.add_argument("--generic-boot", type=int, default=100, help="resamples timed on the generic path (0: skip)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    y = rng.normal(size=(args.items, args.vertices))
    pred = 0.4 * y + rng.normal(size=y.shape)

    t0 = time.perf_counter()
    fast = bootstrap_ci(PearsonStatistic(), y, pred, n_boot=args.n_boot)
    row = {"items": args.items, "vertices": args.vertices, "n_boot": args.n_boot,
           "fast_s": time.perf_counter() - t0, "value": fast.value, "low": fast.low, "high": fast.high}
    if args.generic_boot:
        t0 = time.perf_counter()
        bootstrap_ci(_median_r, y, pred, n_boot=args.generic_boot)
        row["generic_s"] = (time.perf_counter() - t0) * args.n_boot / args.generic_boot
    print(f"{args.items} items x {args.vertices} vertices, n_boot={args.n_boot}: median r = {fast.value:.4f} "
          f"[{fast.low:.4f}, {fast.high:.4f}]")
    print(f"  fast path (PearsonStatistic): {row['fast_s']:.2f} s")
    if "generic_s" in row:
        print(f"  generic callable: {row['generic_s']:.1f} s (timed on {args.generic_boot} resamples, scaled)")
    return row


if __name__ == "__main__":
    main()

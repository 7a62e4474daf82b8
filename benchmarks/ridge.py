"""Benchmark: RidgeEncoder against himalaya's RidgeCV and scikit-learn's RidgeCV.

Default mode fits, side by side, one ridge per target with its own alpha on
synthetic data with a known linear model and a signal-to-noise ratio that
varies across targets (log-uniform from 0.01 to 10)::

    python benchmarks/ridge.py                        # 5,000 x 1,000 -> 20,000 targets, 10 alphas
    python benchmarks/ridge.py --targets 2000         # quicker
    python benchmarks/ridge.py --device cuda          # our encoder on a GPU (the others stay on CPU)

and prints fit time, mean held-out Pearson r and our speed-up. himalaya
(CPU torch backend, ``torch_cpu`` or ``torch`` by release; its default 5-fold CV) and scikit-learn
(``RidgeCV(alpha_per_target=True)``, efficient leave-one-out) are skipped
with a note when not installed, or with ``--skip himalaya sklearn``.

``--big`` fits NSD-sized data (9,000 images x 1,280 features -> 327,684
fsaverage vertices; about 12 GB of float32 responses) with our encoder only
and reports the process's peak resident memory, which target batching keeps
at the responses plus about 2 GB (weights and one batch). With the targets
streamed from a ``.npy`` file chunk by chunk instead
(``benchmarks/streaming_fit.py --ridge-big``) the peak is about 2 GB in all.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np
import torch

from encoding.ridge import RidgeEncoder
from neurokit.metrics import pearson_r


def _peak_rss_gib() -> float:
    """Peak resident set size of this process so far, GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def synthetic(n_train: int, n_test: int, n_features: int, n_targets: int, seed: int, batch: int = 4096):
    """Known linear model plus noise, built in batches of targets (float32).

    Returns X_train, Y_train, X_test, Y_test_clean (noise-free held-out responses)
    and the per-target SNR (signal variance / noise variance).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, n_features), dtype=np.float32)
    snr = np.exp(rng.uniform(np.log(0.01), np.log(10.0), n_targets)).astype(np.float32)
    Y = np.empty((n_train, n_targets), dtype=np.float32)
    Y_test = np.empty((n_test, n_targets), dtype=np.float32)
    scale = np.float32(1.0 / np.sqrt(n_features))
    for b0 in range(0, n_targets, batch):
        b1 = min(b0 + batch, n_targets)
        W = rng.standard_normal((n_features, b1 - b0), dtype=np.float32) * scale  # signal variance ~1
        signal = X @ W
        noise = rng.standard_normal((n_train, b1 - b0), dtype=np.float32) / np.sqrt(snr[b0:b1])
        Y[:, b0:b1] = signal[:n_train] + noise
        Y_test[:, b0:b1] = signal[n_train:]
    return X[:n_train], Y, X[n_train:], Y_test, snr


def _run(name, fit, predict, X_test, Y_test):
    t0 = time.perf_counter()
    fit()
    seconds = time.perf_counter() - t0
    r = pearson_r(Y_test, np.asarray(predict(X_test), dtype=np.float64))
    print(f"  {name:<34s} fit {seconds:8.2f} s   mean held-out r {r.mean():.4f}", flush=True)
    return {"fit_s": seconds, "mean_r": float(r.mean()), "r": r}


def compare(args) -> dict:
    alphas = np.logspace(-1, 5, args.alphas)
    print(
        f"data: {args.samples:,} samples x {args.features:,} features -> {args.targets:,} targets, "
        f"{args.alphas} alphas, {args.test_samples:,} held-out samples; torch threads {torch.get_num_threads()}",
        flush=True,
    )
    X, Y, X_test, Y_test, _ = synthetic(args.samples, args.test_samples, args.features, args.targets, args.seed)
    results = {}

    ours = RidgeEncoder(alphas, cv=args.cv, device=args.device)
    results["ours"] = _run(f"RidgeEncoder (cv={args.cv}, {args.device})", lambda: ours.fit(X, Y), ours.predict,
                           X_test, Y_test)

    if "himalaya" not in args.skip:
        try:
            from himalaya.backend import set_backend
            from himalaya.ridge import RidgeCV as HimalayaRidgeCV
        except ImportError:
            print("  himalaya: not installed, skipped (pip install himalaya)")
        else:
            from himalaya.backend import ALL_BACKENDS

            # the CPU torch backend is "torch_cpu" in some himalaya releases, "torch" in others
            name = "torch_cpu" if "torch_cpu" in ALL_BACKENDS else "torch"
            backend = set_backend(name, on_error="raise")
            him = HimalayaRidgeCV(alphas=alphas, fit_intercept=True)
            results["himalaya"] = _run(
                f"himalaya RidgeCV ({name}, 5-fold)",
                lambda: him.fit(X, Y),
                lambda Xt: backend.to_numpy(him.predict(Xt)),
                X_test,
                Y_test,
            )

    if "sklearn" not in args.skip:
        from sklearn.linear_model import RidgeCV

        skl = RidgeCV(alphas=alphas, alpha_per_target=True)
        results["sklearn"] = _run("sklearn RidgeCV (LOO, per target)", lambda: skl.fit(X, Y), skl.predict,
                                  X_test, Y_test)

    summary = {"ours_fit_s": results["ours"]["fit_s"], "ours_mean_r": results["ours"]["mean_r"]}
    for other in ("himalaya", "sklearn"):
        if other in results:
            dr = results["ours"]["mean_r"] - results[other]["mean_r"]
            speedup = results[other]["fit_s"] / results["ours"]["fit_s"]
            worst = float(np.abs(results["ours"]["r"] - results[other]["r"]).max())
            print(f"  vs {other:<9s} speed-up x{speedup:6.1f}   mean r difference {dr:+.4f} "
                  f"(max per target {worst:.4f})")
            summary[f"{other}_fit_s"] = results[other]["fit_s"]
            summary[f"{other}_mean_r"] = results[other]["mean_r"]
            summary[f"speedup_vs_{other}"] = speedup
    summary["peak_rss_gib"] = _peak_rss_gib()
    print(f"  peak resident memory {summary['peak_rss_gib']:.2f} GiB")
    return summary


def big(args) -> dict:
    n, p, t = args.samples, args.features, args.targets
    print(f"big: {n:,} samples x {p:,} features -> {t:,} targets (responses {n * t * 4 / 2**30:.1f} GiB float32), "
          f"device {args.device}", flush=True)
    X, Y, X_test, Y_test, _ = synthetic(n, args.test_samples, p, t, args.seed)
    data_gib = _peak_rss_gib()
    enc = RidgeEncoder(np.logspace(-1, 5, args.alphas), cv=args.cv, device=args.device, verbose=True)
    t0 = time.perf_counter()
    enc.fit(X, Y)
    seconds = time.perf_counter() - t0
    peak = _peak_rss_gib()
    r = enc.score(X_test, Y_test)
    print(f"  fit {seconds:.1f} s, mean held-out r {r.mean():.4f}, peak resident memory {peak:.2f} GiB "
          f"(after building the data {data_gib:.2f} GiB)")
    return {"fit_s": seconds, "mean_r": float(r.mean()), "peak_rss_gib": peak, "data_rss_gib": data_gib}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", action="store_true", help="NSD-sized fit (our encoder only) and peak memory")
    parser.add_argument("--samples", type=int, default=None, help="training samples (5,000; --big 9,000)")
    parser.add_argument("--features", type=int, default=None, help="features (1,000; --big 1,280)")
    parser.add_argument("--targets", type=int, default=None, help="targets (20,000; --big 327,684)")
    parser.add_argument("--test-samples", type=int, default=None, help="held-out samples (1,000; --big 300)")
    parser.add_argument("--alphas", type=int, default=10, help="number of alphas, log-spaced 0.1..1e5")
    parser.add_argument("--cv", default="gcv", help="our encoder's criterion: gcv, loo or a fold count")
    parser.add_argument("--device", default="cpu", help="torch device for our encoder")
    parser.add_argument("--skip", nargs="*", default=[], choices=["himalaya", "sklearn"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the summary to this JSON file")
    args = parser.parse_args(argv)
    defaults = (9000, 1280, 327_684, 300) if args.big else (5000, 1000, 20_000, 1000)
    for name, value in zip(("samples", "features", "targets", "test_samples"), defaults):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.cv not in ("gcv", "loo"):
        args.cv = int(args.cv)
    summary = big(args) if args.big else compare(args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

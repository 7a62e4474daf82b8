"""``python -m encoding.streaming``: a streamed whole-brain ridge fit from the command line, also under torchrun."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from encoding.ridge import DEFAULT_ALPHAS
from encoding.streaming.fit import fit_streaming_ridge
from encoding.streaming.targets import ArrayTargets
from neurokit.exceptions import DataValidationError


def _load_npy(path: str, what: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataValidationError(f"{what}: cannot read {path} as a .npy array ({exc})") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m encoding.streaming``: a streamed whole-brain fit, also under ``torchrun``."""
    parser = argparse.ArgumentParser(
        prog="python -m encoding.streaming",
        description="Whole-brain ridge fit streamed over chunks of vertices (run under torchrun for several ranks).",
    )
    parser.add_argument("--output", required=True, help="result folder")
    parser.add_argument("--nsd-root", help="NSD root (with --subject)")
    parser.add_argument("--subject", type=int, help="1-based NSD subject")
    parser.add_argument("--level", type=int, default=None, help="fsaverage level to read (default: the files')")
    parser.add_argument("--rois", nargs="*", default=None, help="fit only these ROIs (e.g. nsdgeneral)")
    parser.add_argument("--sessions", type=int, nargs="*", default=None, help="1-based sessions (default: all)")
    parser.add_argument("--features", required=True,
                        help=".npy features: with --nsd-root, row k = NSD id k (or --feature-ids); else the "
                             "training features of --targets")
    parser.add_argument("--feature-ids", default=None, help=".npy of the 0-based NSD id of each --features row")
    parser.add_argument("--targets", default=None, help=".npy training responses (n_train, n_targets), without NSD")
    parser.add_argument("--test-features", default=None, help=".npy held-out features (with --targets)")
    parser.add_argument("--test-targets", default=None, help=".npy held-out responses (with --targets)")
    parser.add_argument("--alphas", type=float, nargs="*", default=None, help="ridge penalties (default 1e-2..1e6)")
    parser.add_argument("--cv", default="gcv", help="gcv, loo or a number of folds")
    parser.add_argument("--max-memory", default=None, help="memory budget per process, e.g. 2GB (default 2 GiB)")
    parser.add_argument("--chunk-size", type=int, default=None, help="targets per chunk instead of --max-memory")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (each rank on cuda:LOCAL_RANK)")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--resume", action="store_true", help="continue the fit in --output")
    parser.add_argument("--keep-chunks", action="store_true", help="keep the per-chunk files")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    cv: str | int = args.cv if args.cv in ("gcv", "loo") else int(args.cv) if args.cv.isdigit() else args.cv
    X_test = None
    if args.nsd_root is not None:
        from encoding.from_nsd import NSDTargets

        if args.subject is None or args.targets is not None:
            parser.error("--nsd-root needs --subject and no --targets")
        X = _load_npy(args.features, "--features")
        ids = np.arange(X.shape[0]) if args.feature_ids is None else _load_npy(args.feature_ids, "--feature-ids")
        source = NSDTargets(args.nsd_root, args.subject, (ids, X), level=args.level, rois=args.rois,
                            sessions=args.sessions)
        X, X_test = source.X_train, source.X_test
    elif args.targets is not None:
        source = ArrayTargets(args.targets, args.test_targets)
        X = _load_npy(args.features, "--features")
        if args.test_features is not None:
            X_test = _load_npy(args.test_features, "--test-features")
    else:
        parser.error("give --nsd-root and --subject, or --targets")
    report = fit_streaming_ridge(
        X, source, args.output, X_test=X_test, alphas=DEFAULT_ALPHAS if args.alphas is None else args.alphas, cv=cv,
        dtype=args.dtype, device=args.device, max_memory=args.max_memory, chunk_size=args.chunk_size,
        resume=args.resume, keep_chunks=args.keep_chunks, progress=not args.no_progress,
    )
    if report.rank == 0:
        print(f"{args.output}: {report.n_chunks} chunks of {report.chunk_size} targets; this run fitted "
              f"{len(report.fitted)} on rank 0 ({len(report.redone)} redone), kept {len(report.reused)}; "
              f"{'complete' if report.complete else 'incomplete'} in {report.seconds:.1f} s", flush=True)
    return 0


__all__ = ["main"]

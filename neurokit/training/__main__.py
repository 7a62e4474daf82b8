"""Command line: train a linear or MLP encoder from features to responses, optionally under torchrun.

Examples
--------
One process::

    python -m neurokit.training --features X.npy --targets Y.npy --run-dir runs/a

Two data-parallel processes with the same global batch (gloo on CPU, NCCL on GPU)::

    torchrun --standalone --nproc_per_node 2 -m neurokit.training \\
        --features X.npy --targets Y.npy --run-dir runs/a

``X.npy`` is (n_samples, n_features), ``Y.npy`` (n_samples, n_targets), e.g.
image features and fsaverage responses; files are read without unpickling.
The final weights go to ``<run-dir>/model.safetensors``, the history to
``<run-dir>/history.json``; ``--resume`` continues an interrupted run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from neurokit.exceptions import DataValidationError, FileFormatError, NeurokitError
from neurokit.training.trainer import PRECISIONS, SCHEDULES, Trainer


def build_model(kind: str, n_features: int, n_targets: int, hidden: int, seed: int) -> nn.Module:
    """The encoder the command line trains, initialised from ``seed``.

    Parameters
    ----------
    kind : {"linear", "mlp"}
        A linear map, or Linear -> GELU -> Linear with ``hidden`` units.
    n_features, n_targets, hidden : int
    seed : int
        Initialisation seed (all ranks build the same model).
    """
    torch.manual_seed(seed)
    if kind == "linear":
        return nn.Linear(n_features, n_targets)
    return nn.Sequential(nn.Linear(n_features, hidden), nn.GELU(), nn.Linear(hidden, n_targets))


def _load(path: str, name: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise DataValidationError(f"{name}: {path} does not exist") from err
    except ValueError as err:
        raise FileFormatError(f"{name}: {path} is not a plain .npy array ({err})") from err
    if not isinstance(arr, np.ndarray) or arr.ndim != 2:
        raise DataValidationError(f"{name}: {path} must hold a 2-D array (n_samples, n), got {getattr(arr, 'shape', arr)}")
    return arr.astype(np.float32, copy=False)


def parser() -> argparse.ArgumentParser:
    """Argument parser of ``python -m neurokit.training``."""
    p = argparse.ArgumentParser(prog="python -m neurokit.training", description=__doc__.split("\n\n")[0])
    p.add_argument("--features", required=True, help=".npy (n_samples, n_features)")
    p.add_argument("--targets", required=True, help=".npy (n_samples, n_targets)")
    p.add_argument("--val-features", help=".npy held-out features (default: split off --val-fraction)")
    p.add_argument("--val-targets", help=".npy held-out targets")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held-out share when no validation files are given")
    p.add_argument("--model", choices=("linear", "mlp"), default="linear")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--max-epochs-this-run", type=int, help="pause after this many epochs (resume later)")
    p.add_argument("--keep-checkpoints", type=int, default=2, help="epoch checkpoints kept on disk")
    p.add_argument("--batch-size", type=int, default=64, help="global batch size (split across ranks)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--schedule", choices=SCHEDULES, default="cosine")
    p.add_argument("--warmup-fraction", type=float, default=0.05)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--precision", choices=PRECISIONS, default="auto")
    p.add_argument("--device")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parser().parse_args(argv)
    try:
        x = _load(args.features, "--features")
        y = _load(args.targets, "--targets")
        if (args.val_features is None) != (args.val_targets is None):
            raise DataValidationError("give both --val-features and --val-targets, or neither")
        if args.val_features is not None:
            val = (_load(args.val_features, "--val-features"), _load(args.val_targets, "--val-targets"))
            train = (x, y)
        else:
            if not 0 < args.val_fraction < 1:
                raise DataValidationError(f"--val-fraction must be in (0, 1), got {args.val_fraction}")
            order = np.random.default_rng(args.seed).permutation(len(x))
            n_val = max(1, int(round(args.val_fraction * len(x))))
            val = (x[order[:n_val]], y[order[:n_val]])
            train = (x[order[n_val:]], y[order[n_val:]])
        model = build_model(args.model, x.shape[1], y.shape[1], args.hidden, args.seed)
        trainer = Trainer(
            max_epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
            schedule=args.schedule, warmup_fraction=args.warmup_fraction, patience=args.patience,
            precision=args.precision, device=args.device, seed=args.seed, run_dir=Path(args.run_dir),
            resume=args.resume, keep_checkpoints=args.keep_checkpoints, max_epochs_this_run=args.max_epochs_this_run, progress=not args.no_progress,
        )
        history = trainer.fit(model, train, val)
    except NeurokitError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", 0)) == 0:
        state = "finished" if history.finished else "paused"
        print(f"{state} after {len(history.epochs)} epochs; best val r {history.best_score} (epoch {history.best_epoch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``neurokit demo``: its command-line flags (one per :class:`DemoSettings` field) and the command."""

from __future__ import annotations

import argparse
from typing import Any

from cortex2image.demo.pipeline import STAGES, run_demo
from cortex2image.demo.settings import DemoSettings

__all__ = ["add_arguments", "settings_from_args", "command", "register"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every demo flag (one per :class:`DemoSettings` field, plus ``--stages``) to ``parser``."""
    d = DemoSettings()
    parser.add_argument("--output", default=d.output, help="output folder (default: %(default)s)")
    parser.add_argument("--subjects", type=int, default=d.n_subjects, dest="n_subjects",
                        help="simulated subjects; the last is the 'new' one (default: %(default)s)")
    parser.add_argument("--images", type=int, default=d.n_images, dest="n_images",
                        help="images per subject (default: %(default)s)")
    parser.add_argument("--shared", type=int, default=d.n_shared, dest="n_shared",
                        help="images every subject saw, the test set (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=d.image_size, help="stimulus size in pixels")
    parser.add_argument("--ensemble-images", type=int, default=d.ensemble_images,
                        help="images of the new subject for its personalized encoder (default: %(default)s)")
    parser.add_argument("--neurogen-rois", nargs="+", default=list(d.neurogen_rois),
                        help="ROIs to synthesise images for (default: %(default)s)")
    parser.add_argument("--neurogen-steps", type=int, default=d.neurogen_steps, help="optimisation steps")
    parser.add_argument("--neurogen-seeds", type=int, default=d.neurogen_seeds, help="seeds per ROI")
    parser.add_argument("--c2i-epochs", type=int, default=d.c2i_epochs, help="Cortex2Image training epochs")
    parser.add_argument("--c2i-samples", type=int, default=d.c2i_samples,
                        help="reconstructions sampled per test image (reranked by brain correlation)")
    parser.add_argument("--c2i-world-seeds", type=int, default=d.c2i_world_seeds,
                        help="world seeds Cortex2Image is trained and scored on, the main one included (each one more "
                             "training; default: %(default)s)")
    parser.add_argument("--metric-network", action="append", default=[], dest="metric_networks",
                        metavar="NAME=PATH",
                        help="score the reconstructions also in this metric network of the field's table (alexnet-2, "
                             "alexnet-5, inception-v3, clip, efficientnet-b1, swav) from a local weight file; "
                             "repeatable")
    parser.add_argument("--world-seeds", type=int, default=d.world_seeds,
                        help="world seeds of the encoder, ensemble and NeuroGen claims, the main one included "
                             "(default: %(default)s)")
    parser.add_argument("--bootstrap", type=int, default=d.n_boot, dest="n_boot",
                        help="bootstrap resamples of every confidence interval (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--device", default=d.device, help="torch device (cpu, cuda)")
    parser.add_argument("--feature-chunk", type=int, default=d.feature_chunk,
                        help="stimuli per resumable chunk of the features stage (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--force", action="store_true", help="redo every stage instead of resuming")
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=None,
                        help="run only up to these stages")


def settings_from_args(args: argparse.Namespace) -> DemoSettings:
    """The :class:`DemoSettings` of parsed ``neurokit demo`` arguments."""
    return DemoSettings(
        output=args.output, n_subjects=args.n_subjects, n_images=args.n_images, n_shared=args.n_shared,
        image_size=args.image_size, ensemble_images=args.ensemble_images,
        neurogen_rois=tuple(args.neurogen_rois), neurogen_steps=args.neurogen_steps,
        neurogen_seeds=args.neurogen_seeds, c2i_epochs=args.c2i_epochs, c2i_samples=args.c2i_samples,
        c2i_world_seeds=args.c2i_world_seeds, metric_networks=tuple(args.metric_networks),
        world_seeds=args.world_seeds, n_boot=args.n_boot, seed=args.seed,
        device=args.device, feature_chunk=args.feature_chunk, progress=not args.no_progress, force=args.force,
    )


def command(args: argparse.Namespace) -> int:
    """Run ``neurokit demo`` with parsed arguments; returns the exit status."""
    results = run_demo(settings_from_args(args), stages=args.stages)
    report = results.get("report", {}).get("html")
    print(f"[demo] finished; report: {report}" if report else "[demo] finished")
    return 0


def register(subparsers: Any) -> None:
    """Add ``neurokit demo`` (entry point of the ``neurokit.commands`` group)."""
    parser = subparsers.add_parser("demo", help="the whole pipeline on the embedded default data, offline")
    add_arguments(parser)
    parser.set_defaults(func=command)

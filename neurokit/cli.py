"""The ``neurokit`` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurokit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, devices and offline assets")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        from neurokit import __version__

        print(f"neurokit {__version__}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

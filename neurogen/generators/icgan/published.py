"""IC-GAN's published checkpoint layout: archives or folders of ``G_ema_<suffix>.pth`` (+ ``state_dict_<suffix>.pth``).

Reading goes through ``torch.load(..., weights_only=True)`` only: :func:`published_files` lists an
archive (read in place, one streaming pass) or folder, :func:`choose_checkpoint` picks the suffix,
:func:`read_state_dict` reads the generator's tensors and :func:`resolve_architecture` finds the
architecture (a given config, a ``weights_only``-readable ``state_dict_*.pth``, or the experiment's
name in :data:`~neurogen.generators.icgan.PUBLISHED_ARCHITECTURES`).
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from neurokit.exceptions import CheckpointError, InvalidParameterError
from neurogen.generators.icgan.architecture import PUBLISHED_ARCHITECTURES, icgan_architecture

__all__ = ["WEIGHTS_PATTERN", "STATE_PATTERN", "ARCHIVE_SUFFIXES", "Opener", "archive_stem", "published_files",
           "choose_checkpoint", "read_state_dict", "resolve_architecture", "state_mismatch"]

#: File names inside a published experiment folder (``<suffix>`` is e.g. ``best0``).
WEIGHTS_PATTERN = re.compile(r"^G_ema(?:_(?P<suffix>[A-Za-z0-9]+))?\.pth$")
STATE_PATTERN = re.compile(r"^state_dict(?:_[A-Za-z0-9]+)?\.pth$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")

Opener = Callable[[], IO[bytes]]


def archive_stem(path: Path) -> str | None:
    for suffix in ARCHIVE_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def published_files(path: Path) -> tuple[dict[str, tuple[str, Opener]], str, str]:
    """``{file name: (label for messages, opener)}`` of the experiment folder, its name, and ``path`` as text."""
    origin = str(path)
    if archive_stem(path) is not None and path.is_file():
        # One streaming pass; only the generator and state files are kept (not D, G or optimiser states).
        contents: dict[str, bytes] = {}
        try:
            with tarfile.open(path, "r|*") as tar:
                for member in tar:
                    name = Path(member.name).name
                    if member.isfile() and (WEIGHTS_PATTERN.match(name) or STATE_PATTERN.match(name)):
                        handle = tar.extractfile(member)
                        contents[member.name] = handle.read() if handle is not None else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise CheckpointError(f"{path}: not a readable tar archive ({exc})") from exc
        folders = sorted({str(Path(m).parent) for m in contents if WEIGHTS_PATTERN.match(Path(m).name)})
        if not folders:
            raise CheckpointError(f"{path}: the archive holds no G_ema*.pth (an IC-GAN BigGAN archive has "
                                  "<experiment>/G_ema_best0.pth)")
        if len(folders) > 1:
            raise CheckpointError(f"{path}: G_ema*.pth files in several folders ({', '.join(folders)})")
        files = {Path(m).name: (f"{path}:{m}", (lambda data=data: io.BytesIO(data)))
                 for m, data in contents.items() if str(Path(m).parent) == folders[0]}
        experiment = Path(folders[0]).name if folders[0] not in ("", ".") else archive_stem(path) or ""
        return files, experiment, origin
    if not path.is_dir():
        raise CheckpointError(
            f"{path}: not an IC-GAN archive ({', '.join(ARCHIVE_SUFFIXES)}) or folder; a published model is e.g. "
            "icgan_biggan_imagenet_res256.tar.gz, or the folder it unpacks to"
        )
    def has_weights(folder: Path) -> bool:
        return any(WEIGHTS_PATTERN.match(p.name) for p in folder.iterdir())

    folder = path
    if not has_weights(path):  # the folder the archive was unpacked into
        inner = [d for d in sorted(path.iterdir()) if d.is_dir() and has_weights(d)]
        if not inner:
            raise CheckpointError(f"{path}: no G_ema*.pth here nor in a sub-folder")
        if len(inner) > 1:
            raise CheckpointError(
                f"{path}: several sub-folders hold a G_ema*.pth ({', '.join(d.name for d in inner)}); name one"
            )
        folder = inner[0]
    files = {p.name: (str(p), (lambda p=p: open(p, "rb"))) for p in folder.iterdir() if p.is_file()}
    return files, folder.name, origin


def choose_checkpoint(files: Mapping[str, Any], checkpoint: str | None, origin: str) -> str:
    suffixes = sorted((m.group("suffix") or "") for name in files if (m := WEIGHTS_PATTERN.match(name)))
    if checkpoint is not None:
        if checkpoint not in suffixes:
            raise CheckpointError(f"{origin}: no checkpoint {checkpoint!r} (found: "
                                  f"{', '.join(repr(s) for s in suffixes) or 'none'})")
        return checkpoint
    if len(suffixes) > 1:
        raise CheckpointError(
            f"{origin}: several generator checkpoints ({', '.join(repr(s) for s in suffixes)}); pass checkpoint=... "
            "(IC-GAN's own loader picks the one with the lower best_FID in state_dict_<suffix>.pth)"
        )
    return suffixes[0]


def _torch_load(label: str, opener: Opener) -> Any:
    try:
        with opener() as handle:
            return torch.load(handle, map_location="cpu", weights_only=True)
    except Exception as exc:  # refused pickles, corrupt zip, truncated files: all unreadable
        raise CheckpointError(f"{label}: cannot read with torch.load(weights_only=True) ({exc})") from exc


def read_state_dict(label: str, opener: Opener) -> dict[str, torch.Tensor]:
    state = _torch_load(label, opener)
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{label}: not a state dict (a non-empty mapping from names to tensors)")
    return dict(state)


def resolve_architecture(
    config: Mapping[str, Any] | str | os.PathLike | None,
    state_file: tuple[str, Opener] | None,
    experiment: str,
    origin: str,
) -> dict[str, Any]:
    if isinstance(config, Mapping):
        return icgan_architecture(config)
    if config is not None:
        config_path = Path(os.fspath(config))
        try:
            loaded = json.loads(config_path.read_text(encoding="utf-8"))
            return icgan_architecture(loaded)
        except (OSError, ValueError) as exc:  # unreadable, bad JSON, or InvalidParameterError
            raise CheckpointError(f"{config_path}: not a valid IC-GAN config ({exc})") from exc
    if state_file is not None:
        label, opener = state_file
        try:
            state = _torch_load(label, opener)
        except CheckpointError:
            state = None  # IC-GAN's own state_dict pickles nn.ReLU objects: weights_only refuses it
        if isinstance(state, Mapping) and isinstance(state.get("config"), Mapping):
            try:
                return icgan_architecture(state["config"])
            except InvalidParameterError as exc:
                raise CheckpointError(f"{label}: not a supported IC-GAN config ({exc})") from exc
    if experiment in PUBLISHED_ARCHITECTURES:
        return icgan_architecture(PUBLISHED_ARCHITECTURES[experiment])
    raise CheckpointError(
        f"{origin}: cannot tell the architecture of experiment {experiment!r} (not one of "
        f"{', '.join(PUBLISHED_ARCHITECTURES)}, and no state_dict_*.pth readable with weights_only=True); "
        "pass config= (a dict or IC-GAN's JSON config file)"
    )


def state_mismatch(network: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
              for k in sorted(set(state) & set(expected)) if state[k].shape != expected[k].shape]
    parts = []
    for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            parts.append(f"{len(items)} {title}, first: {', '.join(items[:3])}")
    return "; ".join(parts)

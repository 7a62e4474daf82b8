"""Safe checkpoints: tensors in safetensors, config and provenance in JSON, no pickle.

A checkpoint ``<stem>`` is two files written atomically:

``<stem>.safetensors``
    the tensors (safetensors format: a JSON header plus raw buffers; reading
    it never executes code);
``<stem>.json``
    ``{"config": ..., "provenance": ...}`` where provenance records the toolkit,
    torch, numpy and Python versions, the mesh level, the seed, the UTC
    creation time, the SHA-256 of the safetensors file and, per tensor, its
    dtype, shape and whether it was a numpy array (so it comes back as one).

:func:`load_checkpoint` re-hashes the tensor file and refuses a checkpoint
whose hash, tensor names, dtypes or shapes disagree with its JSON.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.exceptions import CheckpointError
from neurokit.io.atomic import atomic_write_bytes, atomic_write_text
from neurokit.report import json_default

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "checkpoint_paths",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint_metadata",
    "save_module",
    "load_module_state",
    "load_state",
]

FORMAT = "neurokit-checkpoint"
FORMAT_VERSION = 1
_DEFAULT_STEM = "checkpoint"
#: JSON fallback of a checkpoint's config: sets as sorted lists, arrays of at most 10,000 values (bigger ones
#: belong in the tensors).
_config_json_default = functools.partial(json_default, max_array_size=10_000, sets=True)


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """The ``(safetensors, json)`` file pair a checkpoint path names.

    Parameters
    ----------
    path : str or path-like
        An existing folder (the checkpoint is ``<folder>/checkpoint.*``), a stem
        (``runs/encoder`` -> ``runs/encoder.safetensors`` + ``runs/encoder.json``)
        or either file of the pair.
    """
    p = Path(os.fspath(path))
    if p.is_dir():
        p = p / _DEFAULT_STEM
    elif p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def _to_torch(name: str, value: Any):
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu(), "torch"
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" and value.dtype != np.bool_:
            raise CheckpointError(f"tensors[{name!r}]: numpy dtype {value.dtype} cannot be stored in safetensors")
        try:
            # read-only arrays (memory-mapped results) are copied: torch wants writable memory
            value = np.ascontiguousarray(value) if value.flags.writeable else np.array(value, order="C")
            return torch.from_numpy(value), "numpy"
        except TypeError as exc:
            raise CheckpointError(f"tensors[{name!r}]: numpy dtype {value.dtype} is not supported by torch") from exc
    raise CheckpointError(f"tensors[{name!r}]: expected a torch.Tensor or numpy array, got {type(value).__name__}")


def _dedupe(tensors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Keep one copy of tensors that are the same view of the same storage; map the rest to it."""
    kept: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for name in sorted(tensors):
        t = tensors[name]
        if t.numel() == 0:
            kept[name] = t.contiguous()
            continue
        key = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        kept[name] = t
    # tensors that overlap a storage without being identical views must be copied apart
    by_storage: dict[int, list[str]] = {}
    for name, t in kept.items():
        if t.numel():
            by_storage.setdefault(t.untyped_storage().data_ptr(), []).append(name)
    for names in by_storage.values():
        for name in names[1:] if len(names) > 1 else []:
            kept[name] = kept[name].clone()
    return {k: v.contiguous() for k, v in kept.items()}, aliases


def save_checkpoint(
    path: str | os.PathLike,
    tensors: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    mesh_level: int | None = None,
    seed: int | None = None,
) -> tuple[Path, Path]:
    """Save tensors and a JSON config with provenance, atomically, without pickle.

    Parameters
    ----------
    path : str or path-like
        Folder, stem or either file name (see :func:`checkpoint_paths`).
    tensors : mapping of str to torch.Tensor or numpy.ndarray
        Arrays to store; tensors are moved to CPU. Tensors sharing storage
        (tied weights) are stored once and restored as separate tensors with
        equal values (:func:`load_module_state` re-ties them by loading into
        the module).
    config : mapping
        JSON-serialisable hyperparameters (numpy scalars, small arrays, paths
        and sets are converted).
    mesh_level : int, optional
        fsaverage level the model works on, recorded in the provenance.
    seed : int, optional
        Random seed of the run, recorded in the provenance.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The ``.safetensors`` and ``.json`` files written.

    Raises
    ------
    CheckpointError
        If a tensor cannot be stored or the config is not JSON-serialisable;
        nothing is written then.

    Notes
    -----
    Each file is replaced atomically; the tensor file is written first, so an
    interruption between the two leaves a pair whose hash disagrees, which
    :func:`load_checkpoint` detects rather than loading mismatched files.
    """
    import torch
    from safetensors.torch import save as st_save

    from neurokit import __version__

    if not isinstance(tensors, Mapping) or not tensors:
        raise CheckpointError("tensors: expected a non-empty mapping of names to tensors")
    if not isinstance(config, Mapping):
        raise CheckpointError(f"config: expected a mapping, got {type(config).__name__}")
    converted: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    for name, value in tensors.items():
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"tensors: names must be non-empty strings, got {name!r}")
        converted[name], kinds[name] = _to_torch(name, value)
    stored, aliases = _dedupe(converted)
    try:
        payload = st_save(stored)
    except Exception as exc:  # safetensors raises ValueError / SafetensorError on bad input
        raise CheckpointError(f"{path}: cannot serialise tensors ({type(exc).__name__}: {exc})") from exc
    st_path, json_path = checkpoint_paths(path)
    provenance = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "toolkit_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "mesh_level": None if mesh_level is None else int(mesh_level),
        "seed": None if seed is None else int(seed),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "safetensors_file": st_path.name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "tensors": {
            name: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "kind": kinds[name]}
            for name, t in converted.items()
        },
        "aliases": aliases,
    }
    try:
        text = json.dumps({"config": dict(config), "provenance": provenance}, indent=2, default=_config_json_default,
                          allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"config: not JSON serialisable ({exc}); store arrays as tensors instead") from exc
    atomic_write_bytes(st_path, payload)
    atomic_write_text(json_path, text + "\n")
    return st_path, json_path


def read_checkpoint_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint's JSON (``{"config": ..., "provenance": ...}``) without loading tensors.

    Raises
    ------
    CheckpointError
        If the JSON file is missing, unreadable or not a neurokit checkpoint.
    """
    _, json_path = checkpoint_paths(path)
    if not json_path.exists():
        raise CheckpointError(f"{json_path}: checkpoint metadata file is missing")
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{json_path}: cannot read checkpoint metadata ({exc})") from exc
    prov = meta.get("provenance") if isinstance(meta, dict) else None
    if not isinstance(prov, dict) or prov.get("format") != FORMAT or "config" not in meta:
        raise CheckpointError(f"{json_path}: not a {FORMAT} metadata file")
    if int(prov.get("format_version", 0)) > FORMAT_VERSION:
        raise CheckpointError(
            f"{json_path}: checkpoint format version {prov['format_version']} is newer than this toolkit "
            f"understands ({FORMAT_VERSION}); upgrade neurokit"
        )
    return meta


def load_checkpoint(
    path: str | os.PathLike, *, device: str = "cpu", verify: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or path-like
        Folder, stem or either file name (see :func:`checkpoint_paths`).
    device : str, default 'cpu'
        Device for the torch tensors.
    verify : bool, default True
        Check the SHA-256 of the tensor file against the JSON.

    Returns
    -------
    tensors : dict of str to torch.Tensor or numpy.ndarray
        Arrays saved from numpy come back as numpy arrays.
    config : dict
        The config as saved (provenance: :func:`read_checkpoint_metadata`).

    Raises
    ------
    CheckpointError
        If a file is missing or corrupt, the hash does not match, or the
        tensors disagree with the JSON (names, dtypes, shapes).
    """
    from safetensors.torch import load as st_load

    st_path, json_path = checkpoint_paths(path)
    meta = read_checkpoint_metadata(path)
    prov = meta["provenance"]
    if not st_path.exists():
        raise CheckpointError(f"{st_path}: checkpoint tensor file is missing (its metadata {json_path.name} exists)")
    payload = st_path.read_bytes()
    if verify and hashlib.sha256(payload).hexdigest() != prov.get("sha256"):
        raise CheckpointError(
            f"{st_path}: SHA-256 does not match {json_path.name}; the file was modified, truncated or "
            "belongs to another checkpoint"
        )
    try:
        stored = st_load(payload)
    except Exception as exc:  # SafetensorError is not importable under a stable name
        raise CheckpointError(f"{st_path}: corrupt safetensors file ({type(exc).__name__}: {exc})") from exc
    aliases: dict[str, str] = prov.get("aliases", {})
    expected: dict[str, dict] = prov.get("tensors", {})
    missing = [n for n in expected if n not in stored and aliases.get(n) not in stored]
    extra = [n for n in stored if n not in expected]
    if missing or extra:
        raise CheckpointError(f"{st_path}: tensors do not match {json_path.name} (missing {missing}, unexpected {extra})")
    tensors: dict[str, Any] = {}
    for name, info in expected.items():
        t = stored[name] if name in stored else stored[aliases[name]]
        if str(t.dtype).removeprefix("torch.") != info["dtype"] or list(t.shape) != info["shape"]:
            raise CheckpointError(
                f"{st_path}: tensor {name!r} is {t.dtype} {list(t.shape)} but {json_path.name} says "
                f"{info['dtype']} {info['shape']}"
            )
        if info.get("kind") == "numpy":
            tensors[name] = t.numpy().copy()
        else:
            tensors[name] = t.clone().to(device) if name in aliases else t.to(device)
    return tensors, meta["config"]


def save_module(
    module: Any,
    path: str | os.PathLike,
    config: Mapping[str, Any] | None = None,
    *,
    mesh_level: int | None = None,
    seed: int | None = None,
) -> tuple[Path, Path]:
    """Save a ``torch.nn.Module``'s state dict (parameters and buffers) as a checkpoint.

    Parameters
    ----------
    module : torch.nn.Module
    path : str or path-like
        Folder, stem or either file name.
    config : mapping, optional
        Hyperparameters needed to rebuild the module; the module's class is
        added as ``config["module_class"]`` unless given.
    mesh_level, seed : int, optional
        Recorded in the provenance.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise CheckpointError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    cfg = dict(config or {})
    cfg.setdefault("module_class", f"{type(module).__module__}.{type(module).__qualname__}")
    state = module.state_dict(keep_vars=False)
    return save_checkpoint(path, dict(state), cfg, mesh_level=mesh_level, seed=seed)


def load_module_state(module: Any, path: str | os.PathLike, *, strict: bool = True) -> dict[str, Any]:
    """Load a checkpoint's tensors into ``module`` (in place) and return its config.

    Parameters
    ----------
    module : torch.nn.Module
        A module built with the same architecture.
    path : str or path-like
        Folder, stem or either file name.
    strict : bool, default True
        Require the checkpoint's names to match the module's state dict
        exactly (as :meth:`torch.nn.Module.load_state_dict`).

    Returns
    -------
    dict
        The saved config.

    Raises
    ------
    CheckpointError
        On missing/unexpected names (when ``strict``) or shape mismatches,
        naming the tensors, and on every error of :func:`load_checkpoint`.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise CheckpointError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    tensors, config = load_checkpoint(path)
    load_state(module, tensors, where=str(path), strict=strict)
    return config


def load_state(module: Any, tensors: Mapping[str, Any], *, where: str, strict: bool = True) -> None:
    """Copy ``tensors`` into ``module`` (in place), checking names and shapes first.

    The last step of :func:`load_module_state`, public for a loader that must
    read the config before it can build the module (:func:`load_checkpoint`,
    build the module, then this).

    Parameters
    ----------
    module : torch.nn.Module
        A module built with the checkpoint's architecture.
    tensors : mapping of str to array or tensor
        The checkpoint's tensors (as :func:`load_checkpoint` returns them).
    where : str
        The file they came from, named in errors.
    strict : bool, default True
        Require the names to match the module's state dict exactly.

    Raises
    ------
    CheckpointError
        On shape mismatches, and on missing/unexpected names when ``strict``.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise CheckpointError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    own = module.state_dict()
    state = {k: torch.as_tensor(v) for k, v in tensors.items()}
    shape_errors = [
        f"{k}: checkpoint {tuple(v.shape)} vs module {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    if shape_errors:
        raise CheckpointError(f"{where}: shapes do not match the module: " + "; ".join(shape_errors))
    if strict:
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise CheckpointError(
                f"{where}: state does not match {type(module).__name__} (missing {missing}, unexpected {unexpected}); "
                "pass strict=False to load the overlap"
            )
    else:
        state = {k: v for k, v in state.items() if k in own}
    module.load_state_dict(state, strict=strict)

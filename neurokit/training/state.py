"""Training state (model, optimizer, scheduler, RNG and trainer state after an epoch) for exact resume.

This is not a model checkpoint: :mod:`neurokit.checkpoints` stores the flat
tensors and config of a finished model with provenance and a hash, while a
training state stores the *nested* state of a run in progress (optimizer
moments, scheduler, grad scaler, RNG states, history), one per epoch, so
that :class:`neurokit.training.Trainer` resumes exactly. Both are
safetensors + JSON, written atomically, never unpickled.

The training state of epoch ``e`` is two files in ``<run_dir>/checkpoints``:
``epoch-000e.safetensors`` (every tensor: model weights, optimizer moments,
RNG states) and ``epoch-000e.json`` (everything else: epoch, best score,
history, scheduler and grad-scaler state, the non-tensor structure of the
optimizer state with references to its tensors). The JSON is written last, so
its presence marks a complete checkpoint.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from neurokit.exceptions import CheckpointError
from neurokit.io.atomic import atomic_path, atomic_write_bytes

FORMAT = "neurokit.training.checkpoint/1"
_NAME = re.compile(r"^epoch-(\d+)\.json$")


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=1, allow_nan=True).encode())


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save a flat dict of tensors with safetensors, atomically (CPU, contiguous copies)."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file, raising :class:`CheckpointError` on a missing or corrupt file."""
    try:
        return load_file(str(path))
    except FileNotFoundError as err:
        raise CheckpointError(f"{path}: checkpoint tensors not found") from err
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from err


def encode(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Turn nested state (dicts with any keys, lists, tuples, tensors, numbers) into JSON.

    Tensors move into ``tensors`` under keys derived from ``prefix`` and are
    replaced by ``{"__tensor__": key}``.
    """
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[encode(k, f"{prefix}.k{i}", tensors), encode(v, f"{prefix}.{k}", tensors)]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    raise CheckpointError(f"cannot store a {type(obj).__name__} at {prefix!r} in a checkpoint")


def decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`encode`."""
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            key = obj["__tensor__"]
            if key not in tensors:
                raise CheckpointError(f"checkpoint JSON refers to tensor {key!r}, missing from its safetensors file")
            return tensors[key]
        if "__dict__" in obj:
            return {decode(k, tensors): decode(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(decode(v, tensors) for v in obj["__tuple__"])
        if "__float__" in obj:
            return float(obj["__float__"])
        raise CheckpointError(f"unexpected object in checkpoint JSON: keys {sorted(obj)}")
    return obj


def training_state_paths(run_dir: Path, epoch: int) -> tuple[Path, Path]:
    """(safetensors, JSON) paths of the checkpoint after ``epoch`` (1-based)."""
    base = Path(run_dir) / "checkpoints" / f"epoch-{epoch:04d}"
    return base.with_suffix(".safetensors"), base.with_suffix(".json")


def list_training_states(run_dir: Path) -> list[int]:
    """Epochs with a complete training state (JSON and tensors present), ascending."""
    folder = Path(run_dir) / "checkpoints"
    if not folder.is_dir():
        return []
    epochs = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m and p.with_suffix(".safetensors").is_file():
            epochs.append(int(m.group(1)))
    return sorted(epochs)


def save_training_state(run_dir: Path, epoch: int, state: dict[str, Any], keep: int | None = 2) -> Path:
    """Write the training state of ``epoch`` and prune all but the ``keep`` newest.

    Parameters
    ----------
    run_dir : path
        Run folder; checkpoints go to ``run_dir / "checkpoints"``.
    epoch : int
        Completed epoch (1-based).
    state : dict
        Nested state (see :func:`encode`).
    keep : int or None
        Number of checkpoints to keep (None keeps all).

    Returns
    -------
    Path of the JSON file.
    """
    tensors: dict[str, torch.Tensor] = {}
    meta = {"format": FORMAT, "epoch": epoch, "state": encode(state, "s", tensors)}
    st_path, js_path = training_state_paths(run_dir, epoch)
    atomic_save_tensors(st_path, tensors, metadata={"format": FORMAT})
    atomic_write_json(js_path, meta)
    if keep is not None:
        for old in list_training_states(run_dir)[:-keep]:
            for p in training_state_paths(run_dir, old)[::-1]:
                p.unlink(missing_ok=True)
    return js_path


def load_training_state(run_dir: Path, epoch: int | None = None) -> tuple[int, dict[str, Any]]:
    """Read a training state (by default the newest complete one).

    Returns
    -------
    (epoch, state)

    Raises
    ------
    CheckpointError
        If there is none, or its files are corrupt or of another format.
    """
    epochs = list_training_states(run_dir)
    if epoch is None:
        if not epochs:
            raise CheckpointError(f"{Path(run_dir) / 'checkpoints'}: no complete checkpoint to resume from")
        epoch = epochs[-1]
    st_path, js_path = training_state_paths(run_dir, epoch)
    try:
        meta = json.loads(js_path.read_text())
    except FileNotFoundError as err:
        raise CheckpointError(f"{js_path}: checkpoint not found") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{js_path}: corrupt checkpoint JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{js_path}: expected format {FORMAT!r}, got {meta.get('format') if isinstance(meta, dict) else meta!r}")
    return int(meta["epoch"]), decode(meta["state"], load_tensors(st_path))


__all__ = [
    "FORMAT",
    "atomic_save_tensors",
    "atomic_write_json",
    "decode",
    "encode",
    "list_training_states",
    "load_tensors",
    "load_training_state",
    "save_training_state",
    "training_state_paths",
]

"""Save and load fitted linear encoders (safetensors + JSON, never pickle).

An estimator is stored as its hyperparameters (``get_params``, JSON) plus its
fitted attributes (names ending in ``_``): arrays go to safetensors, scalars
to JSON. Loading rebuilds the estimator from a fixed registry of classes, so
a file can never make the loader import or run arbitrary code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.checkpoints import load_checkpoint, save_checkpoint
from neurokit.exceptions import CheckpointError, NotFittedError

from encoding.ridge import RidgeEncoder

#: Classes :func:`load_encoder` can rebuild, by name.
ENCODER_CLASSES: dict[str, type] = {"RidgeEncoder": RidgeEncoder}


def _fitted_attributes(estimator: Any) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(estimator).items()
        if name.endswith("_") and not name.startswith("_")
    }


def save_encoder(encoder: Any, path: str | os.PathLike, *, metadata: dict[str, Any] | None = None) -> Path:
    """Save a fitted encoder to ``<path>.safetensors`` + ``<path>.json`` atomically.

    Parameters
    ----------
    encoder : RidgeEncoder
        A fitted estimator whose class is in :data:`ENCODER_CLASSES`.
    path : path-like
        Checkpoint stem (or folder).
    metadata : dict, optional
        Extra JSON-able information stored with it (subject, feature settings, ...).

    Returns
    -------
    Path
        The safetensors file written.
    """
    name = type(encoder).__name__
    if ENCODER_CLASSES.get(name) is not type(encoder):
        raise CheckpointError(f"cannot save a {name}: supported encoders are {sorted(ENCODER_CLASSES)}")
    fitted = _fitted_attributes(encoder)
    if not fitted:
        raise NotFittedError(f"this {name} is not fitted yet; call fit before saving it")
    arrays = {k: np.asarray(v) for k, v in fitted.items() if isinstance(v, np.ndarray)}
    scalars = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in fitted.items() if k not in arrays}
    params = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
              for k, v in encoder.get_params(deep=False).items()}
    config = {"class": name, "params": params, "scalars": scalars, "metadata": dict(metadata or {})}
    tensor_path, _ = save_checkpoint(path, arrays, config)
    return Path(tensor_path)


def load_encoder(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """Load an encoder saved by :func:`save_encoder`; return ``(encoder, metadata)``."""
    arrays, config = load_checkpoint(path)
    name = config.get("class")
    cls = ENCODER_CLASSES.get(name)
    if cls is None:
        raise CheckpointError(f"{path}: unknown encoder class {name!r}; supported: {sorted(ENCODER_CLASSES)}")
    params = dict(config.get("params", {}))
    if params.get("alphas") is not None:
        params["alphas"] = np.asarray(params["alphas"], dtype=np.float64)
    encoder = cls(**params)
    for key, value in {**config.get("scalars", {}), **arrays}.items():
        setattr(encoder, key, np.asarray(value) if isinstance(value, np.ndarray) else value)
    return encoder, dict(config.get("metadata", {}))

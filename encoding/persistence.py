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

from neurokit.checkpoints import checkpoint_paths, load_checkpoint, save_checkpoint
from neurokit.exceptions import CheckpointError, NotFittedError
from neurokit.validation import is_real

from encoding.ridge import RidgeEncoder

#: Classes :func:`load_encoder` can rebuild, by name.
ENCODER_CLASSES: dict[str, type] = {"RidgeEncoder": RidgeEncoder}

#: The fitted attributes (what ``fit`` sets) :func:`load_encoder` restores, by class name; nothing else is set.
FITTED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "RidgeEncoder": frozenset({"coef_", "intercept_", "best_alphas_", "cv_errors_", "rank_", "n_features_in_"}),
}

_JSON_SCALARS = (bool, int, float, str, type(None))


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


def _checked_params(where: Path, cls: type, params: Any) -> dict[str, Any]:
    """Hyperparameters from a checkpoint: known names of ``cls``, JSON scalars or lists of numbers."""
    if not isinstance(params, dict):
        raise CheckpointError(f"{where}: 'params' must be a JSON object, got {type(params).__name__}")
    known = set(cls().get_params(deep=False))
    unknown = sorted(set(params) - known)
    if unknown:
        raise CheckpointError(
            f"{where}: unknown hyperparameter(s) {unknown} for {cls.__name__}; expected some of {sorted(known)}"
        )
    for name, value in params.items():
        if not (isinstance(value, _JSON_SCALARS) or (isinstance(value, list) and all(map(is_real, value)))):
            raise CheckpointError(
                f"{where}: hyperparameter {name!r} of {cls.__name__} holds {type(value).__name__}; "
                "expected a number, string, boolean, null or a list of numbers"
            )
    params = dict(params)
    if params.get("alphas") is not None:
        params["alphas"] = np.asarray(params["alphas"], dtype=np.float64)
    return params


def _checked_state(where: Path, name: str, cls: type, scalars: Any, arrays: dict[str, Any]) -> dict[str, Any]:
    """Fitted attributes from a checkpoint: names ``fit`` sets (never a method or class attribute)."""
    if not isinstance(scalars, dict):
        raise CheckpointError(f"{where}: 'scalars' must be a JSON object, got {type(scalars).__name__}")
    allowed = FITTED_ATTRIBUTES[name]
    for key in [*scalars, *arrays]:
        if key not in allowed or hasattr(cls, key):
            raise CheckpointError(
                f"{where}: {key!r} is not a fitted attribute of {name}; expected some of {sorted(allowed)}"
            )
    for key, value in scalars.items():
        if not isinstance(value, _JSON_SCALARS):
            raise CheckpointError(
                f"{where}: fitted attribute {key!r} holds {type(value).__name__}; expected a number, string, "
                "boolean or null (arrays are stored as tensors)"
            )
    return {**scalars, **arrays}


def load_encoder(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """Load an encoder saved by :func:`save_encoder`; return ``(encoder, metadata)``.

    Parameters
    ----------
    path : path-like
        Checkpoint stem (or folder, or either file).

    Returns
    -------
    encoder : RidgeEncoder
        Rebuilt from its hyperparameters, with its fitted attributes set.
    metadata : dict
        What was passed to :func:`save_encoder`.

    Raises
    ------
    CheckpointError
        If a file is missing or corrupt, the class is not in
        :data:`ENCODER_CLASSES`, a hyperparameter is not one of the class's
        or not a JSON scalar / list of numbers, or a stored attribute is not
        one of :data:`FITTED_ATTRIBUTES` (so a file can never shadow a
        method) or holds anything but a scalar or an array.
    """
    arrays, config = load_checkpoint(path)
    where = checkpoint_paths(path)[1]
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: 'config' must be a JSON object, got {type(config).__name__}")
    name = config.get("class")
    cls = ENCODER_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise CheckpointError(f"{where}: unknown encoder class {name!r}; supported: {sorted(ENCODER_CLASSES)}")
    params = _checked_params(where, cls, config.get("params", {}))
    state = _checked_state(where, name, cls, config.get("scalars", {}), arrays)
    metadata = config.get("metadata", {})
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{where}: 'metadata' must be a JSON object, got {type(metadata).__name__}")
    encoder = cls(**params)
    for key, value in state.items():
        setattr(encoder, key, np.asarray(value) if isinstance(value, np.ndarray) else value)
    return encoder, dict(metadata)

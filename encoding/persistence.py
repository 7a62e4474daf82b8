"""Save and load fitted encoders (safetensors + JSON, never pickle) through one registry.

:data:`ENCODER_CLASSES` is the encoder family's :class:`neurokit.registry.Registry`:
every encoder checkpoint names its class under the one config key
``"class"``, and loading only ever rebuilds a registered class, so a file can
never make the loader import or run arbitrary code.

A linear encoder (:class:`~encoding.ridge.RidgeEncoder`) is stored by
:func:`save_encoder` as its hyperparameters (``get_params``, JSON) plus its
fitted attributes (names ending in ``_``): arrays go to safetensors, scalars
to JSON. An encoder with its own checkpoint layout
(:class:`~encoding.mesh_encoder.SurfaceMeshEncoder`: ``save`` and a
``from_checkpoint`` classmethod) registers itself too, so
:func:`load_encoder` reads either kind of file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.checkpoints import checkpoint_paths, load_checkpoint, save_checkpoint
from neurokit.exceptions import CheckpointError, NotFittedError
from neurokit.registry import Registry
from neurokit.validation import is_real

from encoding.ridge import RidgeEncoder

#: The encoder family: the classes :func:`load_encoder` can rebuild, by the name in a checkpoint's ``"class"``.
ENCODER_CLASSES = Registry("encoder")
ENCODER_CLASSES.register("RidgeEncoder")(RidgeEncoder)

#: The fitted attributes (what ``fit`` sets) :func:`load_encoder` restores, by class name; nothing else is set.
#: The encoders listed here are the ones :func:`save_encoder` writes.
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


def encoder_state(encoder: Any, *, metadata: dict[str, Any] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The in-memory state of a fitted encoder: what :func:`save_encoder` writes.

    Parameters
    ----------
    encoder : RidgeEncoder
        A fitted estimator whose class is in :data:`ENCODER_CLASSES` and :data:`FITTED_ATTRIBUTES`.
    metadata : dict, optional
        Extra JSON-able information kept with it (subject, feature settings, ...).

    Returns
    -------
    arrays : dict of str to ndarray
        The fitted array attributes (names ending in ``_``), dtypes unchanged.
    config : dict
        JSON-able: ``{"class", "params", "scalars", "metadata"}``; :func:`encoder_from_state` reads it back.

    Raises
    ------
    CheckpointError
        If the encoder's class is not one :func:`save_encoder` writes.
    NotFittedError
        If the encoder is not fitted.
    """
    registered = any(cls is type(encoder) for cls in ENCODER_CLASSES.values())
    name = ENCODER_CLASSES.name_of(encoder) if registered else type(encoder).__name__
    if name not in FITTED_ATTRIBUTES:
        own = " (it saves itself: call its save method)" if registered else ""
        raise CheckpointError(f"cannot save a {name}{own}: supported encoders are {sorted(FITTED_ATTRIBUTES)}")
    fitted = _fitted_attributes(encoder)
    if not fitted:
        raise NotFittedError(f"this {name} is not fitted yet; call fit before saving it")
    arrays = {k: np.asarray(v) for k, v in fitted.items() if isinstance(v, np.ndarray)}
    scalars = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in fitted.items() if k not in arrays}
    params = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
              for k, v in encoder.get_params(deep=False).items()}
    config = {"class": name, "params": params, "scalars": scalars, "metadata": dict(metadata or {})}
    return arrays, config


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
    tensor_path, _ = save_checkpoint(path, *encoder_state(encoder, metadata=metadata))
    return Path(tensor_path)


def _checked_params(where: str, cls: type, params: Any) -> dict[str, Any]:
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


def _checked_state(where: str, name: str, cls: type, scalars: Any, arrays: dict[str, Any]) -> dict[str, Any]:
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


def encoder_from_state(arrays: dict[str, Any], config: Any, *, where: str = "encoder") -> tuple[Any, dict[str, Any]]:
    """Rebuild an encoder from its in-memory state (:func:`encoder_state`'s output, or a registered encoder's
    own layout).

    Parameters
    ----------
    arrays : dict of str to array
        The stored arrays.
    config : dict
        The stored JSON config (its ``"class"`` names a class of :data:`ENCODER_CLASSES`).
    where : str
        What the state came from, for error messages.

    Returns
    -------
    encoder : RidgeEncoder or another registered encoder
    metadata : dict
        The metadata kept with it (empty for an encoder with its own layout).

    Raises
    ------
    CheckpointError
        As :func:`load_encoder`.
    """
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: 'config' must be a JSON object, got {type(config).__name__}")
    name = config.get("class")
    if not isinstance(name, str) or name not in ENCODER_CLASSES:
        raise CheckpointError(f"{where}: unknown encoder class {name!r}; supported: {sorted(ENCODER_CLASSES)}")
    name = ENCODER_CLASSES.resolve(config, where=where)  # older names (aliases) -> the registered one
    cls = ENCODER_CLASSES[name]
    if name not in FITTED_ATTRIBUTES:  # an encoder with its own checkpoint layout
        return cls.from_checkpoint(arrays, config, where=where), {}
    params = _checked_params(where, cls, config.get("params", {}))
    state = _checked_state(where, name, cls, config.get("scalars", {}), arrays)
    metadata = config.get("metadata", {})
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{where}: 'metadata' must be a JSON object, got {type(metadata).__name__}")
    encoder = cls(**params)
    for key, value in state.items():
        setattr(encoder, key, np.asarray(value) if isinstance(value, np.ndarray) else value)
    return encoder, dict(metadata)


def load_encoder(path: str | os.PathLike) -> tuple[Any, dict[str, Any]]:
    """Load an encoder saved by :func:`save_encoder` (or by a registered encoder's own ``save``).

    Parameters
    ----------
    path : path-like
        Checkpoint stem (or folder, or either file).

    Returns
    -------
    encoder : RidgeEncoder or another registered encoder
        Rebuilt from its hyperparameters, with its fitted attributes set (an
        encoder with its own layout is rebuilt by its ``from_checkpoint``).
    metadata : dict
        What was passed to :func:`save_encoder` (empty for an encoder with its own layout).

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
    return encoder_from_state(arrays, config, where=str(checkpoint_paths(path)[1]))

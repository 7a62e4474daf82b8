"""Argument and data checks of the linear encoders (ridge, ensemble, streamed fits).

Data problems (shapes, non-finite values, sample counts) raise
:class:`~neurokit.exceptions.DataValidationError`; bad solver options
(``alphas``, ``dtype``, ``device``, ``cv``) raise
:class:`~neurokit.exceptions.InvalidParameterError`. Every message names the
caller and the argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import validate_data

from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.surface_data import check_finite
from neurokit.validation import is_integer

__all__ = [
    "check_alphas",
    "check_targets",
    "validate_features",
    "check_finite_fast",
    "check_dtype",
    "check_device",
    "check_cv_mode",
]

_DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


def check_alphas(alphas: Any, *, name: str = "alphas") -> np.ndarray:
    """Validate a grid of regularisation strengths.

    Parameters
    ----------
    alphas : float or sequence of float
        Positive, finite values.
    name : str
        Argument name used in the error message.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,), float64

    Raises
    ------
    InvalidParameterError
        If ``alphas`` is empty, not numeric, or has a value that is not positive and finite.
    """
    try:
        arr = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} must be positive numbers, got {alphas!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"{name} must be a non-empty 1-D sequence of positive numbers, got {alphas!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidParameterError(f"{name} must all be positive and finite, got {arr.tolist()}")
    return arr


def check_targets(y: Any, n_samples: int | None, *, where: str, name: str = "y") -> np.ndarray:
    """Validate responses without copying a float array.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    n_samples : int or None
        Number of samples ``y`` must have (that of ``X``); None skips the check.
    where : str
        Caller, for error messages (e.g. ``"RidgeEncoder.fit"``).
    name : str
        Argument name, for error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Floating-point (integers and booleans are converted to float64).

    Raises
    ------
    DataValidationError
        ``y`` is None, not numeric, not 1-D/2-D, empty, or has the wrong number of samples.
    NonFiniteDataError
        ``y`` holds NaN or infinite values.
    """
    if y is None:
        raise DataValidationError(f"{where} requires y to be passed, but the target y is None")
    if hasattr(y, "toarray") or hasattr(y, "tocsr"):
        raise DataValidationError(f"{where}: {name} must be a dense array, got a sparse matrix")
    arr = np.asarray(y)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"{where}: {name} must be numeric, got dtype object") from exc
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "c":
        raise DataValidationError(f"{where}: {name} must be real numbers; Complex data not supported")
    if arr.dtype.kind != "f":
        raise DataValidationError(f"{where}: {name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise DataValidationError(
            f"{where}: {name} must have shape (n_samples,) or (n_samples, n_targets), got {arr.shape}"
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise DataValidationError(
            f"{where}: X has {n_samples} samples but {name} has {arr.shape[0]}; they must match"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise DataValidationError(f"{where}: {name} has 0 targets (shape {arr.shape})")
    check_finite_fast(arr, f"{where}: {name}")
    return arr


def validate_features(estimator: Any, X: Any, *, reset: bool, where: str) -> np.ndarray:
    """scikit-learn's ``validate_data`` (float32 kept, ints to float64), then our finiteness check.

    scikit-learn's ValueErrors (wrong number of features, empty, 1-D, complex, strings)
    come back as :class:`DataValidationError` with the same text, prefixed by ``where``.
    """
    try:
        X = validate_data(estimator, X, dtype=[np.float64, np.float32], ensure_all_finite=False, reset=reset)
    except DataValidationError:
        raise
    except ValueError as exc:
        raise DataValidationError(f"{where}: {exc}") from exc
    check_finite_fast(X, f"{where}: X")
    return X


def check_finite_fast(a: np.ndarray, what: str) -> None:
    """Raise NonFiniteDataError if ``a`` holds NaN/inf, with O(1) extra memory when it does not."""
    if a.dtype.kind not in "fc":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(a, dtype=np.float64)
    if np.isfinite(total):
        return
    check_finite(a, what)  # raises, naming the first bad index (sum may also overflow on finite data)


def check_dtype(dtype: Any) -> tuple[type, torch.dtype]:
    """The NumPy and torch dtypes of ``dtype`` ('float32' or 'float64'); InvalidParameterError otherwise."""
    try:
        key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    except TypeError:
        key = None
    if key not in _DTYPES:
        raise InvalidParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return _DTYPES[key]


def check_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device``; InvalidParameterError if it names none, or CUDA without one."""
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise InvalidParameterError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device={device!r} was asked for but torch sees no CUDA device")
    return dev


def check_cv_mode(cv: Any) -> str:
    """How ``cv`` scores alphas: ``"gcv"``, ``"loo"`` or ``"kfold"`` (an int >= 2 or a splitter).

    Raises
    ------
    InvalidParameterError
        Any other string, an int below 2, a bool, or an object that is neither a splitter nor iterable.
    """
    if isinstance(cv, str):
        if cv not in ("gcv", "loo"):
            raise InvalidParameterError(f"cv must be 'gcv', 'loo', an int >= 2 or a splitter, got {cv!r}")
        return cv
    if is_integer(cv):
        if cv < 2:
            raise InvalidParameterError(f"cv must be at least 2 folds, got {cv}")
        return "kfold"
    if hasattr(cv, "split") or hasattr(cv, "__iter__"):
        return "kfold"
    raise InvalidParameterError(f"cv must be 'gcv', 'loo', an int >= 2 or a splitter, got {cv!r}")

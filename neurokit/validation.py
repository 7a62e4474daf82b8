"""Argument checks shared by every package: one idea of an integer, a real, an option and an array.

Every public function and estimator validates its arguments at the edge with
these checks, so that the same bad value gets the same error everywhere:

- a bad *parameter* (a hyperparameter, option, count or flag given by the user)
  raises :class:`~neurokit.exceptions.InvalidParameterError`;
- bad *data* (an array with the wrong shape, dtype or non-finite values)
  raises :class:`~neurokit.exceptions.DataValidationError`.

Each message names the argument and says what was expected. An integer is
anything with ``__index__`` (Python ``int``, ``numpy.int64``, a 0-d integer
tensor) that is not a ``bool``; a real is any :class:`numbers.Real` (integers
included) that is not a ``bool``.

This module depends only on :mod:`neurokit.exceptions` and NumPy, so the
low-level ``kernels`` package can use it too.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError

__all__ = [
    "is_integer",
    "is_real",
    "check_int",
    "check_real",
    "check_bool",
    "check_option",
    "check_array",
]


def is_integer(value: Any) -> bool:
    """True when ``value`` is an integer in the toolkit's sense: has ``__index__`` and is not a bool."""
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        value.__index__()
    except (AttributeError, TypeError, RuntimeError, ValueError):
        return False
    return True


def is_real(value: Any) -> bool:
    """True when ``value`` is a real number (integers included) that is not a bool."""
    if isinstance(value, (bool, np.bool_)):
        return False
    return isinstance(value, numbers.Real) or is_integer(value)


def _bounds_text(minimum: float | None, maximum: float | None, include_minimum: bool = True,
                 include_maximum: bool = True) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if include_minimum else '>'} {minimum}")
    if maximum is not None:
        parts.append(f"{'<=' if include_maximum else '<'} {maximum}")
    return " and ".join(parts)


def _int_expectation(minimum: int | None, maximum: int | None) -> str:
    if minimum == 1 and maximum is None:
        return "a positive integer"
    if minimum == 0 and maximum is None:
        return "a non-negative integer"
    bounds = _bounds_text(minimum, maximum)
    return f"an integer {bounds}" if bounds else "an integer"


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
              allow_none: bool = False) -> int | None:
    """Return ``value`` as a Python ``int`` after checking it is an integer within bounds.

    Parameters
    ----------
    value : object
        The argument as the user gave it.
    name : str
        The argument's name, used in the error message.
    minimum, maximum : int, optional
        Inclusive bounds.
    allow_none : bool, default False
        Accept ``None`` (and return it).

    Returns
    -------
    int or None

    Raises
    ------
    InvalidParameterError
        ``value`` is not an integer (bools are not), or is out of bounds.
    """
    if value is None and allow_none:
        return None
    expected = _int_expectation(minimum, maximum)
    if not is_integer(value):
        none = " or None" if allow_none else ""
        raise InvalidParameterError(f"{name} must be {expected}{none}, got {value!r}")
    out = int(value.__index__())
    if (minimum is not None and out < minimum) or (maximum is not None and out > maximum):
        raise InvalidParameterError(f"{name} must be {expected}, got {out!r}")
    return out


def check_real(value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None,
               include_minimum: bool = True, include_maximum: bool = True, finite: bool = True,
               allow_none: bool = False) -> float | None:
    """Return ``value`` as a Python ``float`` after checking it is a real number within bounds.

    Parameters
    ----------
    value : object
        The argument as the user gave it.
    name : str
        The argument's name, used in the error message.
    minimum, maximum : float, optional
        Bounds, inclusive unless ``include_minimum`` / ``include_maximum`` is False.
    finite : bool, default True
        Refuse NaN and infinities.
    allow_none : bool, default False
        Accept ``None`` (and return it).

    Returns
    -------
    float or None

    Raises
    ------
    InvalidParameterError
        ``value`` is not a real number (bools are not), not finite, or out of bounds.
    """
    if value is None and allow_none:
        return None
    bounds = _bounds_text(minimum, maximum, include_minimum, include_maximum)
    expected = ("a finite real number" if finite else "a real number") + (f" {bounds}" if bounds else "")
    if not is_real(value):
        none = " or None" if allow_none else ""
        raise InvalidParameterError(f"{name} must be {expected}{none}, got {value!r}")
    out = float(value)
    if finite and not math.isfinite(out):
        raise InvalidParameterError(f"{name} must be {expected}, got {value!r}")
    if math.isnan(out):
        raise InvalidParameterError(f"{name} must be {expected}, got {value!r}")
    too_low = minimum is not None and (out < minimum if include_minimum else out <= minimum)
    too_high = maximum is not None and (out > maximum if include_maximum else out >= maximum)
    if too_low or too_high:
        raise InvalidParameterError(f"{name} must be {expected}, got {value!r}")
    return out


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a ``bool`` after checking it is one (``numpy.bool_`` included).

    Raises
    ------
    InvalidParameterError
        ``value`` is not a bool (``0`` and ``1`` are not).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _same_option(value: Any, choice: Any) -> bool:
    if isinstance(value, (bool, np.bool_)) != isinstance(choice, (bool, np.bool_)):
        return False
    try:
        return bool(value == choice)
    except (TypeError, ValueError):
        return False


def check_option(value: Any, name: str, options: Iterable[Any]) -> Any:
    """Return ``value`` after checking it is one of ``options``.

    Parameters
    ----------
    value : object
        The argument as the user gave it.
    name : str
        The argument's name, used in the error message.
    options : iterable
        The accepted values (compared with ``==``; a dict's keys).

    Raises
    ------
    InvalidParameterError
        ``value`` is not one of ``options``.
    """
    choices = list(options)
    if not any(_same_option(value, choice) for choice in choices):
        raise InvalidParameterError(f"{name} must be one of {choices!r}, got {value!r}")
    return value


def check_array(value: Any, name: str, *, ndim: int | Iterable[int] | None = None,
                shape: tuple[int | None, ...] | None = None, dtype: Any = None, finite: bool = False,
                min_rows: int | None = None) -> np.ndarray:
    """Return ``value`` as a NumPy array after checking its dimensions, shape and contents.

    Parameters
    ----------
    value : array-like
        The data as the user gave it.
    name : str
        The argument's name (or the file it came from), used in the error message.
    ndim : int or iterable of int, optional
        The accepted numbers of dimensions.
    shape : tuple of int or None, optional
        The expected shape; ``None`` entries match any size. Implies ``ndim``.
    dtype : dtype-like, optional
        Convert to this dtype (e.g. ``np.float64``); a value that cannot be
        converted is an error.
    finite : bool, default False
        Refuse NaN and infinities.
    min_rows : int, optional
        The least size of the first axis.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    DataValidationError
        Wrong number of dimensions or shape, not convertible, or too few rows.
    NonFiniteDataError
        ``finite`` is True and the array holds NaN or infinite values.
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        want = f" of dtype {np.dtype(dtype)}" if dtype is not None else ""
        raise DataValidationError(f"{name} must be an array{want}, got {type(value).__name__}: {err}") from None
    if shape is not None:
        ndim = len(shape)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise DataValidationError(f"{name} must be {want}, got shape {arr.shape}")
    if shape is not None and any(want is not None and got != want for got, want in zip(arr.shape, shape)):
        expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise DataValidationError(f"{name} must have shape {expected}, got {arr.shape}")
    if min_rows is not None and (arr.ndim == 0 or arr.shape[0] < min_rows):
        got = arr.shape[0] if arr.ndim else 0
        raise DataValidationError(f"{name} must have at least {min_rows} rows, got {got}")
    if finite and arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        raise NonFiniteDataError(f"{name} holds NaN or infinite values")
    return arr

"""Declarative parameter constraints for the encoders, checked with :mod:`neurokit.validation`.

An estimator lists what each constructor argument may be in one table (the
way scikit-learn's ``_parameter_constraints`` does) and checks every argument
against it in one place, :func:`validate_parameters`. A bad value raises
:class:`~neurokit.exceptions.InvalidParameterError` whose message names the
estimator and the argument and says what was expected.

Examples
--------
>>> from encoding.parameters import Integer, Real, validate_parameters
>>> table = {"dim": Integer(minimum=1), "lr": Real(minimum=0, include_minimum=False)}
>>> validate_parameters("Model", {"dim": 4, "lr": 1e-3}, table)
{'dim': 4, 'lr': 0.001}
>>> validate_parameters("Model", {"dim": True, "lr": 1e-3}, table)
Traceback (most recent call last):
...
neurokit.exceptions.InvalidParameterError: Model: dim must be a positive integer, got True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from neurokit.mesh.levels import MAX_LEVEL
from neurokit.validation import check_bool, check_int, check_option, check_real

__all__ = ["Integer", "Real", "Boolean", "Option", "Level", "validate_parameters"]


@dataclass(frozen=True)
class Integer:
    """An integer (anything with ``__index__``, not a bool) within inclusive bounds, returned as ``int``."""

    minimum: int | None = None
    maximum: int | None = None
    allow_none: bool = False

    def check(self, value: Any, name: str) -> int | None:
        """Return ``value`` as an ``int`` (or None), raising InvalidParameterError naming ``name``."""
        return check_int(value, name, minimum=self.minimum, maximum=self.maximum, allow_none=self.allow_none)


@dataclass(frozen=True)
class Real:
    """A finite real number (not a bool) within bounds, returned as ``float``."""

    minimum: float | None = None
    maximum: float | None = None
    include_minimum: bool = True
    include_maximum: bool = True
    allow_none: bool = False

    def check(self, value: Any, name: str) -> float | None:
        """Return ``value`` as a ``float`` (or None), raising InvalidParameterError naming ``name``."""
        return check_real(value, name, minimum=self.minimum, maximum=self.maximum,
                          include_minimum=self.include_minimum, include_maximum=self.include_maximum,
                          allow_none=self.allow_none)


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False`` (``numpy.bool_`` included; ``0`` and ``1`` are not)."""

    def check(self, value: Any, name: str) -> bool:
        """Return ``value`` as a ``bool``, raising InvalidParameterError naming ``name``."""
        return check_bool(value, name)


@dataclass(frozen=True)
class Option:
    """One of a fixed set of values."""

    options: tuple[Any, ...]

    def check(self, value: Any, name: str) -> Any:
        """Return ``value`` unchanged, raising InvalidParameterError naming ``name`` if it is not an option."""
        return check_option(value, name, self.options)


@dataclass(frozen=True)
class Level:
    """An fsaverage mesh level, an integer in ``0..neurokit.mesh.levels.MAX_LEVEL``."""

    def check(self, value: Any, name: str) -> int:
        """Return ``value`` as an ``int`` level, raising InvalidParameterError naming ``name``."""
        return check_int(value, name, minimum=0, maximum=MAX_LEVEL)


def validate_parameters(owner: str, values: Mapping[str, Any], constraints: Mapping[str, Any],
                        *, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Check ``values`` against ``constraints`` and return the checked (normalised) values.

    Parameters
    ----------
    owner : str
        The estimator or function, named first in error messages.
    values : mapping
        Argument name -> value as given by the user.
    constraints : mapping
        Argument name -> constraint (an object with ``check(value, name)``,
        such as :class:`Integer`, :class:`Real`, :class:`Boolean`,
        :class:`Option` or :class:`Level`).
    names : iterable of str, optional
        The arguments to check (default: every key of ``constraints``).

    Returns
    -------
    dict
        Name -> checked value (integers as ``int``, reals as ``float``).

    Raises
    ------
    InvalidParameterError
        A value breaks its constraint; the message reads
        ``"<owner>: <name> must be ..., got <value>"``.
    """
    return {name: constraints[name].check(values[name], f"{owner}: {name}")
            for name in (constraints if names is None else names)}

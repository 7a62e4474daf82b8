"""The one validation layer: integers, reals, bools, options and arrays."""

import numpy as np
import pytest
import torch

from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError
from neurokit.validation import check_array, check_bool, check_int, check_option, check_real, is_integer, is_real


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), torch.tensor(3)])
def test_integers_are_anything_with_index(value):
    assert is_integer(value)
    out = check_int(value, "n", minimum=1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, np.bool_(False), 3.0, "3", None, [3], torch.tensor([1, 2])])
def test_non_integers_are_refused_with_the_name(value):
    assert not is_integer(value)
    with pytest.raises(InvalidParameterError, match="n_steps must be a positive integer"):
        check_int(value, "n_steps", minimum=1)


def test_integer_bounds_and_none():
    assert check_int(None, "seed", minimum=0, allow_none=True) is None
    with pytest.raises(InvalidParameterError, match="seed must be a non-negative integer or None"):
        check_int("x", "seed", minimum=0, allow_none=True)
    with pytest.raises(InvalidParameterError, match=r"level must be an integer >= 2 and <= 7, got 8"):
        check_int(8, "level", minimum=2, maximum=7)
    assert check_int(7, "level", minimum=2, maximum=7) == 7
    with pytest.raises(InvalidParameterError, match="positive"):
        check_int(0, "n", minimum=1)


def test_reals():
    assert check_real(2, "alpha") == 2.0 and type(check_real(np.float32(0.5), "alpha")) is float
    assert is_real(np.float16(1)) and not is_real(True)
    for bad in [True, "0.1", float("nan"), float("inf"), None]:
        with pytest.raises(InvalidParameterError, match="alpha must be a finite real number"):
            check_real(bad, "alpha")
    assert check_real(float("inf"), "margin", finite=False) == float("inf")
    with pytest.raises(InvalidParameterError):
        check_real(float("nan"), "margin", finite=False)
    with pytest.raises(InvalidParameterError, match=r"> 0 and < 1"):
        check_real(0.0, "p", minimum=0, maximum=1, include_minimum=False, include_maximum=False)
    assert check_real(1.0, "p", minimum=0, maximum=1) == 1.0
    assert check_real(None, "p", allow_none=True) is None


def test_bools_and_options():
    assert check_bool(np.bool_(True), "flag") is True
    for bad in [0, 1, "yes", None]:
        with pytest.raises(InvalidParameterError, match="flag must be True or False"):
            check_bool(bad, "flag")
    assert check_option("lh", "hemi", ("lh", "rh")) == "lh"
    with pytest.raises(InvalidParameterError, match=r"hemi must be one of \['lh', 'rh'\], got 'left'"):
        check_option("left", "hemi", ("lh", "rh"))
    with pytest.raises(InvalidParameterError):
        check_option(True, "k", (1, 2))  # True == 1, but a bool is not the option 1
    with pytest.raises(InvalidParameterError):
        check_option(np.zeros(2), "k", (0, 1))
    assert check_option(2, "k", {1: "a", 2: "b"}) == 2


def test_arrays():
    arr = check_array([[1, 2], [3, 4]], "X", ndim=2, dtype=np.float32)
    assert arr.dtype == np.float32 and arr.shape == (2, 2)
    with pytest.raises(DataValidationError, match=r"X must be 1-D or 3-D, got shape \(2, 2\)"):
        check_array(arr, "X", ndim=(1, 3))
    with pytest.raises(DataValidationError, match=r"X must have shape \(any, 3\), got \(2, 2\)"):
        check_array(arr, "X", shape=(None, 3))
    with pytest.raises(DataValidationError, match="at least 3 rows"):
        check_array(arr, "X", min_rows=3)
    with pytest.raises(NonFiniteDataError, match="Y holds NaN"):
        check_array([1.0, np.nan], "Y", finite=True)
    with pytest.raises(DataValidationError, match="Z must be an array of dtype float64"):
        check_array(["a", "b"], "Z", dtype=np.float64)

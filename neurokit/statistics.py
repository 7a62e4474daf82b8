"""Bootstrap confidence intervals, paired differences and equivalence tests over test items.

Every function resamples *test items* (images, trials: the rows along ``axis``)
with replacement and recomputes a statistic on each resample, so a statistic
such as "median over vertices of the per-vertex Pearson r over the test images"
gets an interval that reflects which images happened to be in the test set.
All arrays are resampled with the *same* item indices, so paired comparisons
(two models scored on the same images) keep their pairing and the interval of a
difference is narrower than the two separate intervals suggest.

The resampling indices depend only on ``seed``, the number of items and
``n_boot``: two calls with the same three draw the same resamples, which is what
makes :class:`BootstrapDistribution` objects of two statistics subtractable.

Intervals are bootstrap *percentile* intervals (the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of the resampled statistic, numpy's linear
interpolation); no bias correction or acceleration (BCa) is applied. They
describe how the statistic varies with the choice of test items; they do not
remove a statistic's small-sample bias. That matters for "median over
vertices of per-vertex r" when vertices are many and their noise independent:
Pearson r's O(1/n_items) bias then exceeds the interval's width. Measured on
synthetic responses (true r = 0.371 at every vertex, independent noise,
``n_boot`` 200-400): 120 items x 3,000 vertices, the 95 % interval covered the
true value in 32 of 40 repetitions; 120 x 20,000 in 0 of 20, and missed its
own estimate in 5 of 20 (BC and BCa intervals covered 4 of 20: bias correction
does not fix this); 1,000 x 3,000, 19 of 20. Paired differences of two models
scored on the same items cancel most of the bias (the interval of the
difference between two equally good models covered 0 in 15 of 15 at 120 x
20,000), so compare models through :func:`paired_difference_ci` and
:func:`equivalence_test` rather than through separate intervals.

A statistic is any callable taking the (resampled) arrays and returning one
number; it is called once per resample. :class:`PearsonStatistic` is the fast
path for the common "reduction over targets of per-target Pearson r": it
implements :meth:`~PearsonStatistic.resampled`, which evaluates a batch of
resamples at once from per-item sufficient statistics (matrix products of item
counts with the items' values, squares and cross products), with the same
result as recomputing from resampled rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError
from neurokit.validation import check_bool, check_int, check_option, check_real, is_integer

__all__ = [
    "BootstrapCI",
    "BootstrapDistribution",
    "EquivalenceResult",
    "PearsonStatistic",
    "bootstrap_distribution",
    "bootstrap_ci",
    "paired_difference_ci",
    "equivalence_test",
    "combine_seeds",
]

#: Resamples drawn (and, on the fast path, evaluated) per step. A constant, so
#: the random stream -- hence every interval -- depends on ``seed`` alone.
_BATCH = 64
#: Bytes of item moments the fast path holds per vertex chunk.
_CHUNK_BYTES = 64 * 2**20
_MIN_BOOT = 100


class BootstrapCI(NamedTuple):
    """A point estimate and its confidence interval: ``value, low, high = ci``."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class EquivalenceResult:
    """Outcome of a two one-sided tests (TOST) equivalence test on a bootstrap difference.

    Attributes
    ----------
    difference : float
        Statistic a minus statistic b on the original items.
    ci : tuple of (float, float)
        Percentile bootstrap interval of the difference at confidence ``1 - 2 * alpha``.
    margin : float
        Equivalence margin (same units as the statistic); the differences in
        ``(-margin, margin)`` count as equivalent.
    alpha : float
        Level of each one-sided test.
    equivalent : bool
        True iff the whole interval lies strictly inside ``(-margin, margin)``.
    """

    difference: float
    ci: tuple[float, float]
    margin: float
    alpha: float
    equivalent: bool

    def to_dict(self) -> dict[str, Any]:
        return {"difference": self.difference, "ci": list(self.ci), "margin": self.margin,
                "alpha": self.alpha, "equivalent": self.equivalent}


@dataclass(frozen=True, eq=False)
class BootstrapDistribution:
    """A statistic on the original items and on each bootstrap resample of them.

    Attributes
    ----------
    value : float
        The statistic on the original items.
    samples : ndarray of shape (n_boot,)
        The statistic on each resample.
    seed : int or None
        Seed the resamples were drawn with; ``None`` for a combination
        (:func:`combine_seeds`) or for a difference of distributions of
        different items.
    n_items : int or None
        Number of items resampled (``None`` as for ``seed``).

    Notes
    -----
    ``a - b`` is the distribution of the paired difference when ``a`` and ``b``
    were drawn with the same ``seed``, ``n_items`` and ``n_boot`` (hence the
    same resamples); otherwise it raises :class:`DataValidationError`.
    """

    value: float
    samples: np.ndarray
    seed: int | None = None
    n_items: int | None = None

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples, dtype=np.float64)
        if samples.ndim != 1 or samples.size == 0:
            raise DataValidationError(f"BootstrapDistribution: samples must be a non-empty 1-D array, got shape "
                                      f"{samples.shape}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "value", float(self.value))

    @property
    def n_boot(self) -> int:
        return int(self.samples.shape[0])

    def ci(self, confidence: float = 0.95) -> BootstrapCI:
        """Percentile interval at ``confidence``, with :attr:`value` as the estimate."""
        _check_confidence(confidence, "confidence")
        low, high = np.quantile(self.samples, [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])
        return BootstrapCI(float(self.value), float(low), float(high))

    def equivalence(self, margin: float, alpha: float = 0.05) -> EquivalenceResult:
        """TOST on this distribution read as a difference ``a - b``.

        Equivalent iff its ``1 - 2 alpha`` percentile interval lies strictly
        inside ``(-margin, margin)``.

        Raises
        ------
        InvalidParameterError
            If ``margin`` is not positive and finite or ``alpha`` is not in (0, 0.5).
        """
        _check_tost(margin, alpha)
        value, low, high = self.ci(1.0 - 2.0 * float(alpha))
        return EquivalenceResult(value, (low, high), float(margin), float(alpha),
                                 bool(-margin < low and high < margin))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``value``, ``samples`` as a list, ``seed``, ``n_items``), e.g. for a stage record."""
        return {"value": self.value, "samples": self.samples.tolist(), "seed": self.seed, "n_items": self.n_items}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "BootstrapDistribution":
        """Read :meth:`to_dict`'s output back.

        Raises
        ------
        DataValidationError
            If keys are missing or unknown, or the numbers are not finite.
        """
        keys = {"value", "samples", "seed", "n_items"}
        if not isinstance(data, Mapping) or set(data) != keys:
            raise DataValidationError(f"BootstrapDistribution: expected exactly the keys {sorted(keys)}, got "
                                      f"{sorted(data) if isinstance(data, Mapping) else type(data).__name__}")
        samples = np.asarray(data["samples"], dtype=np.float64)
        value = float(data["value"])
        if samples.ndim != 1 or samples.size < _MIN_BOOT or not np.all(np.isfinite(samples)) \
                or not np.isfinite(value):
            raise DataValidationError(f"BootstrapDistribution: 'samples' must be at least {_MIN_BOOT} finite "
                                      "numbers and 'value' finite")
        ints = [data[k] for k in ("seed", "n_items")]
        if any(v is not None and (not is_integer(v) or v < 0) for v in ints):
            raise DataValidationError(f"BootstrapDistribution: 'seed' and 'n_items' must be ints or null, got {ints}")
        return cls(value, samples, *ints)

    def __sub__(self, other: "BootstrapDistribution") -> "BootstrapDistribution":
        if not isinstance(other, BootstrapDistribution):
            return NotImplemented
        if self.seed is None or (self.seed, self.n_items, self.n_boot) != (other.seed, other.n_items, other.n_boot):
            raise DataValidationError(
                "BootstrapDistribution: a paired difference needs both distributions drawn with the same seed, "
                f"number of items and n_boot, got (seed, n_items, n_boot) = {(self.seed, self.n_items, self.n_boot)} "
                f"and {(other.seed, other.n_items, other.n_boot)}"
            )
        return BootstrapDistribution(self.value - other.value, self.samples - other.samples, self.seed, self.n_items)


class PearsonStatistic:
    """Reduction over targets (vertices) of the per-target Pearson r over items: the fast bootstrap path.

    ``PearsonStatistic()(y_true, y_pred)`` is ``median(pearson_r(y_true, y_pred))``
    (with :func:`neurokit.metrics.pearson_r`'s ``zero_variance='zero'``
    convention: a target constant over the items scores 0). Passed to the
    functions of this module it is evaluated on 64 resamples at a time from
    item counts (see :meth:`resampled`), with results equal to recomputing on
    resampled rows up to rounding.

    Parameters
    ----------
    reduce : {'median', 'mean'}, default 'median'
        How per-target correlations become one number.
    true, pred : int, default 0 and 1
        Positions, among the arrays given to the bootstrap function, of the
        measured and the predicted responses, so one call can compare models:
        ``paired_difference_ci(PearsonStatistic(pred=1), PearsonStatistic(pred=2), y, pred_a, pred_b)``.
    """

    def __init__(self, reduce: Literal["median", "mean"] = "median", *, true: int = 0, pred: int = 1) -> None:
        self.reduce = check_option(reduce, "PearsonStatistic: reduce", ("median", "mean"))
        self.true = check_int(true, "PearsonStatistic: true", minimum=0)
        self.pred = check_int(pred, "PearsonStatistic: pred", minimum=0)

    def __repr__(self) -> str:
        return f"PearsonStatistic(reduce={self.reduce!r}, true={self.true}, pred={self.pred})"

    def __call__(self, *arrays: np.ndarray) -> float:
        n = np.shape(arrays[self.true])[0] if len(arrays) > self.true else 0
        return float(self.resampled(np.ones((1, n)), *arrays)[0])

    def resampled(self, counts: np.ndarray, *arrays: np.ndarray) -> np.ndarray:
        """The statistic on many resamples at once.

        Parameters
        ----------
        counts : ndarray of shape (n_resamples, n_items)
            How often each item occurs in each resample (each row sums to a
            positive total; a bootstrap row sums to ``n_items``).
        *arrays : ndarray of shape (n_items, n_targets) or (n_items,)
            The arrays the bootstrap function was given; ``arrays[true]`` and
            ``arrays[pred]`` are used.

        Returns
        -------
        ndarray of shape (n_resamples,)
        """
        if max(self.true, self.pred) >= len(arrays):
            raise DataValidationError(
                f"{self!r}: needs at least {max(self.true, self.pred) + 1} arrays, got {len(arrays)}"
            )
        yt, yp = (np.asarray(arrays[i], dtype=np.float64) for i in (self.true, self.pred))
        yt, yp = (a[:, None] if a.ndim == 1 else a for a in (yt, yp))
        if yt.shape != yp.shape or yt.ndim != 2:
            raise DataValidationError(
                f"{self!r}: arrays[{self.true}] and arrays[{self.pred}] must be (n_items, n_targets) of one shape, "
                f"got {yt.shape} and {yp.shape}"
            )
        weights = np.asarray(counts, dtype=np.float64)
        weights = weights / weights.sum(axis=1, keepdims=True)
        n_items, n_targets = yt.shape
        r = np.empty((weights.shape[0], n_targets))
        chunk = max(1, _CHUNK_BYTES // (5 * 8 * max(n_items, 1)))
        scale = np.finfo(np.float64).eps * n_items
        for start in range(0, n_targets, chunk):
            x = yt[:, start:start + chunk]
            y = yp[:, start:start + chunk]
            x = x - x.mean(0)
            y = y - y.mean(0)
            mx, my = weights @ x, weights @ y
            vx = weights @ (x * x) - mx * mx
            vy = weights @ (y * y) - my * my
            cov = weights @ (x * y) - mx * my
            const = (vx <= scale * np.abs(x).max(0) ** 2) | (vy <= scale * np.abs(y).max(0) ** 2)
            with np.errstate(invalid="ignore", divide="ignore"):
                r[:, start:start + chunk] = np.where(const, 0.0, cov / np.sqrt(np.where(const, 1.0, vx * vy)))
        np.clip(r, -1.0, 1.0, out=r)
        return np.median(r, axis=1) if self.reduce == "median" else r.mean(axis=1)


def _check_tost(margin: Any, alpha: Any) -> None:
    check_real(margin, "margin", minimum=0, include_minimum=False)
    check_real(alpha, "alpha", minimum=0, maximum=0.5, include_minimum=False, include_maximum=False)


def _check_confidence(confidence: Any, name: str) -> None:
    check_real(confidence, name, minimum=0, maximum=1, include_minimum=False, include_maximum=False)


def _validate(arrays: Sequence[Any], axis: int, n_boot: int, seed: Any) -> tuple[list[np.ndarray], int]:
    check_int(n_boot, "n_boot", minimum=_MIN_BOOT)
    check_int(seed, "seed", minimum=0)
    check_int(axis, "axis")
    if not arrays:
        raise DataValidationError("arrays: the statistic needs at least one array to resample")
    out: list[np.ndarray] = []
    n_items = None
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        if a.ndim == 0 or not -a.ndim <= axis < a.ndim:
            raise DataValidationError(f"arrays[{i}]: has shape {a.shape}, no axis {axis} to resample items along")
        if np.issubdtype(a.dtype, np.number) and not np.all(np.isfinite(a)):
            raise NonFiniteDataError(
                f"arrays[{i}]: contains {int(np.size(a) - np.isfinite(a).sum())} NaN or infinite values; "
                "drop or impute them before bootstrapping"
            )
        if n_items is None:
            n_items = a.shape[axis]
        elif a.shape[axis] != n_items:
            raise DataValidationError(
                f"arrays[{i}]: has {a.shape[axis]} items along axis {axis}, arrays[0] has {n_items}"
            )
        out.append(a)
    assert n_items is not None
    if n_items < 2:
        raise DataValidationError(f"arrays: need at least 2 items along axis {axis} to resample, got {n_items}")
    return out, n_items


def _as_number(value: Any, statistic: Any) -> float:
    value = np.asarray(value, dtype=np.float64)
    if value.size != 1:
        raise DataValidationError(f"statistic {statistic!r} must return one number, got shape {value.shape}")
    return float(value.reshape(()))


def _distributions(
    statistics: Sequence[Callable[..., float]],
    arrays: Sequence[Any],
    n_boot: int,
    seed: int,
    axis: int,
    progress: bool,
) -> list[BootstrapDistribution]:
    """Every statistic on the original items and on the same ``n_boot`` resamples."""
    for i, s in enumerate(statistics):
        if not callable(s):
            raise InvalidParameterError(f"statistic {i} must be callable, got {type(s).__name__}")
    check_bool(progress, "progress")
    arrays, n_items = _validate(arrays, axis, n_boot, seed)
    fast = [hasattr(s, "resampled") for s in statistics]
    if any(fast) and axis not in (0, -arrays[0].ndim):
        raise InvalidParameterError(
            f"axis must be 0 for statistics with a resampled() fast path, got {axis}; move the item axis first"
        )
    values = [_as_number(s(*arrays), s) for s in statistics]
    samples = np.empty((len(statistics), n_boot))
    rng = np.random.default_rng(int(seed))
    steps = range(0, n_boot, _BATCH)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="bootstrap", unit="batch")
    for start in steps:
        idx = rng.integers(0, n_items, size=(min(_BATCH, n_boot - start), n_items))
        if any(fast):
            rows = np.arange(idx.shape[0])[:, None] * n_items
            counts = np.bincount((idx + rows).ravel(), minlength=idx.size).reshape(idx.shape)
        for k, s in enumerate(statistics):
            if fast[k]:
                samples[k, start:start + idx.shape[0]] = s.resampled(counts, *arrays)
        slow = [k for k in range(len(statistics)) if not fast[k]]
        for j, row in enumerate(idx if slow else ()):
            resample = [np.take(a, row, axis=axis) for a in arrays]
            for k in slow:
                samples[k, start + j] = _as_number(statistics[k](*resample), statistics[k])
    out = []
    for k, s in enumerate(statistics):
        bad = int(np.size(samples[k]) - np.isfinite(samples[k]).sum())
        if not np.isfinite(values[k]) or bad:
            raise DataValidationError(
                f"statistic {s!r} is not finite on the original items ({values[k]}) or on {bad} of {n_boot} "
                "resamples (a resample repeats items, e.g. leaving a column constant); make it return a finite "
                "number for any resample"
            )
        out.append(BootstrapDistribution(values[k], samples[k], int(seed), n_items))
    return out


def bootstrap_distribution(
    statistic: Callable[..., float],
    *arrays: Any,
    n_boot: int = 2000,
    seed: int = 0,
    axis: int = 0,
    progress: bool = False,
) -> BootstrapDistribution:
    """The statistic on the original items and on ``n_boot`` resamples of them.

    Parameters
    ----------
    statistic : callable
        ``statistic(*arrays) -> float``; recomputed on every resample. An object
        with a ``resampled(counts, *arrays)`` method (:class:`PearsonStatistic`)
        is evaluated in batches through it instead.
    *arrays : array-like
        Arrays with the items along ``axis`` (the same number in each), e.g.
        measured responses ``(n_images, n_vertices)`` and predictions of the same
        shape. Numeric arrays must be finite (:class:`NonFiniteDataError`
        otherwise: drop or impute NaN first).
    n_boot : int, default 2000
        Number of resamples (at least 100).
    seed : int, default 0
        Seed of the resampling indices.
    axis : int, default 0
        Item axis of every array.
    progress : bool, default False
        Show a tqdm bar over batches of resamples.

    Returns
    -------
    BootstrapDistribution

    Raises
    ------
    DataValidationError
        If the arrays disagree in their number of items, have fewer than 2, or
        the statistic is not one finite number on some resample.
    InvalidParameterError
        If ``n_boot < 100``, ``seed`` is not a non-negative int, or ``statistic``
        is not callable.
    """
    return _distributions([statistic], arrays, n_boot, seed, axis, progress)[0]


def bootstrap_ci(
    statistic: Callable[..., float],
    *arrays: Any,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    axis: int = 0,
) -> BootstrapCI:
    """Statistic and its percentile bootstrap interval over resampled items.

    Parameters are those of :func:`bootstrap_distribution`, plus
    ``confidence`` in (0, 1) (default 0.95).

    Returns
    -------
    BootstrapCI
        ``(value, low, high)``: the statistic on the original items and the
        ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of its
        resampled values.

    Examples
    --------
    >>> import numpy as np
    >>> from neurokit.statistics import bootstrap_ci
    >>> x = np.random.default_rng(0).normal(size=100)
    >>> value, low, high = bootstrap_ci(np.mean, x, n_boot=500)
    >>> bool(low < value < high)
    True
    """
    _check_confidence(confidence, "confidence")
    return bootstrap_distribution(statistic, *arrays, n_boot=n_boot, seed=seed, axis=axis).ci(confidence)


def paired_difference_ci(
    statistic_a: Callable[..., float],
    statistic_b: Callable[..., float],
    *arrays: Any,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    axis: int = 0,
) -> BootstrapCI:
    """``statistic_a - statistic_b`` and its percentile interval, both evaluated on the same resamples.

    Both statistics receive all ``arrays`` (resampled with the same indices);
    parameters as in :func:`bootstrap_ci`.

    Returns
    -------
    BootstrapCI
        The difference on the original items and its interval.
    """
    _check_confidence(confidence, "confidence")
    a, b = _distributions([statistic_a, statistic_b], arrays, n_boot, seed, axis, False)
    return (a - b).ci(confidence)


def equivalence_test(
    statistic_a: Callable[..., float],
    statistic_b: Callable[..., float],
    *arrays: Any,
    margin: float,
    alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    axis: int = 0,
) -> EquivalenceResult:
    """Two one-sided tests (TOST) of ``|statistic_a - statistic_b| < margin`` by the bootstrap.

    The paired difference's percentile interval at confidence ``1 - 2 alpha``
    (90 % for ``alpha = 0.05``) is computed on shared resamples; the statistics
    are declared equivalent iff that whole interval lies inside
    ``(-margin, margin)``, which rejects both one-sided nulls
    (difference <= -margin, difference >= margin) at level ``alpha``.

    Parameters
    ----------
    margin : float
        Largest difference (in the statistic's units) that counts as no difference;
        positive.
    alpha : float, default 0.05
        Level of each one-sided test, in (0, 0.5).

    Other parameters are those of :func:`bootstrap_ci`.

    Returns
    -------
    EquivalenceResult
    """
    _check_tost(margin, alpha)
    a, b = _distributions([statistic_a, statistic_b], arrays, n_boot, seed, axis, False)
    return (a - b).equivalence(margin, alpha)


def combine_seeds(distributions: Sequence[BootstrapDistribution]) -> BootstrapDistribution:
    """One distribution for a statistic measured under several training seeds.

    The value is the mean of the per-seed values; the resampled values are the
    element-wise mean of the per-seed resampled values, i.e. the bootstrap
    distribution of the seed-averaged statistic. When every seed was scored on
    the same items with the same bootstrap ``seed`` (the same resamples), this
    resamples items once for all seeds (paired across seeds); when seeds were
    scored on different items, it resamples each item set independently.
    Either way the interval (``.ci()``) covers test-item sampling for *these*
    trained models; it does not estimate the spread over further training
    seeds (two or three seeds cannot), which is why claims also list the
    per-seed values.

    Parameters
    ----------
    distributions : sequence of BootstrapDistribution
        One per seed, all with the same ``n_boot``; differences (``a - b``) are
        fine.

    Returns
    -------
    BootstrapDistribution
        With ``seed`` and ``n_items`` kept when all inputs share them (so
        combined distributions of two statistics can still be subtracted),
        ``None`` otherwise.

    Raises
    ------
    DataValidationError
        If ``distributions`` is empty, holds something else, or the ``n_boot`` differ.
    """
    distributions = list(distributions)
    if not distributions:
        raise DataValidationError("distributions: need at least one per-seed BootstrapDistribution")
    for i, d in enumerate(distributions):
        if not isinstance(d, BootstrapDistribution):
            raise DataValidationError(f"distributions[{i}]: expected a BootstrapDistribution, got {type(d).__name__}")
        if d.n_boot != distributions[0].n_boot:
            raise DataValidationError(
                f"distributions[{i}]: has n_boot={d.n_boot}, distributions[0] has {distributions[0].n_boot}"
            )
    keys = {(d.seed, d.n_items) for d in distributions}
    seed, n_items = keys.pop() if len(keys) == 1 else (None, None)
    return BootstrapDistribution(
        float(np.mean([d.value for d in distributions])),
        np.mean([d.samples for d in distributions], axis=0),
        seed,
        n_items,
    )

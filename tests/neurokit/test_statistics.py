"""neurokit.statistics: bootstrap intervals over test items, paired differences, TOST, seed combination."""

from __future__ import annotations

import numpy as np
import pytest

from neurokit.exceptions import DataValidationError, InvalidParameterError, NonFiniteDataError
from neurokit.metrics import pearson_r
from neurokit.statistics import (
    BootstrapCI,
    BootstrapDistribution,
    EquivalenceResult,
    PearsonStatistic,
    bootstrap_ci,
    bootstrap_distribution,
    combine_seeds,
    equivalence_test,
    paired_difference_ci,
)


def _median_r(y_true, y_pred):
    return float(np.median(pearson_r(y_true, y_pred)))


def _responses(n_items=60, n_targets=40, signal=0.6, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n_items, n_targets))
    return y, signal * y + rng.normal(size=(n_items, n_targets))


def test_percentile_interval_of_a_normal_mean_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(12)
    covered = 0
    for rep in range(200):
        x = rng.normal(loc=3.0, scale=2.0, size=40)
        value, low, high = bootstrap_ci(np.mean, x, n_boot=200, seed=rep)
        assert low <= value <= high and value == pytest.approx(x.mean())
        covered += low <= 3.0 <= high
    assert 0.90 <= covered / 200 <= 0.99


def test_interval_width_shrinks_like_one_over_root_n():
    rng = np.random.default_rng(3)
    widths = []
    for n in (50, 800):
        _, low, high = bootstrap_ci(np.mean, rng.normal(size=n), n_boot=400)
        widths.append(high - low)
    # sd/sqrt(n): 2 * 1.96 / sqrt(50) = 0.55 and / sqrt(800) = 0.14
    assert widths[0] == pytest.approx(0.55, rel=0.25) and widths[1] == pytest.approx(0.14, rel=0.25)


def test_the_pearson_fast_path_equals_recomputing_from_resampled_rows():
    y, pred = _responses()
    y[:, 3] = 1.5  # a constant vertex scores 0 on both paths
    for reduce, generic in (("median", _median_r), ("mean", lambda a, b: float(np.mean(pearson_r(a, b))))):
        fast = bootstrap_distribution(PearsonStatistic(reduce), y, pred, n_boot=150, seed=4)
        slow = bootstrap_distribution(generic, y, pred, n_boot=150, seed=4)
        assert fast.value == pytest.approx(slow.value, abs=1e-12)
        np.testing.assert_allclose(fast.samples, slow.samples, rtol=0, atol=1e-12)
        assert np.ptp(fast.samples) > 0.01


def test_pearson_statistic_resampled_takes_any_item_counts():
    y, pred = _responses(n_items=12, n_targets=7, seed=4)
    counts = np.array([[3, 0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 1], [1] * 12])  # rows sum to 8 and 12
    got = PearsonStatistic("mean").resampled(counts, y, pred)
    rows = np.repeat(np.arange(12), counts[0])
    assert got[0] == pytest.approx(np.mean(pearson_r(y[rows], pred[rows])), abs=1e-12)
    assert got[1] == pytest.approx(np.mean(pearson_r(y, pred)), abs=1e-12)


def test_pearson_statistic_reads_the_arrays_it_is_pointed_at():
    y, pred = _responses(seed=1)
    noise = np.random.default_rng(9).normal(size=y.shape)
    stat = PearsonStatistic(true=0, pred=2)
    assert stat(y, noise, pred) == pytest.approx(_median_r(y, pred))
    with pytest.raises(DataValidationError, match="at least 3 arrays"):
        bootstrap_ci(stat, y, pred, n_boot=100)
    with pytest.raises(InvalidParameterError, match="reduce"):
        PearsonStatistic("max")


def test_items_are_resampled_along_axis():
    y, pred = _responses(n_items=30, n_targets=5, seed=2)
    rows = bootstrap_ci(_median_r, y, pred, n_boot=100, seed=1)
    cols = bootstrap_ci(lambda a, b: _median_r(a.T, b.T), y.T, pred.T, n_boot=100, seed=1, axis=1)
    assert cols == pytest.approx(rows)
    with pytest.raises(InvalidParameterError, match="axis must be 0"):
        bootstrap_ci(PearsonStatistic(), y.T, pred.T, n_boot=100, axis=1)


def test_the_same_seed_gives_the_same_interval_and_another_seed_another():
    y, pred = _responses(seed=5)
    first = bootstrap_ci(PearsonStatistic(), y, pred, n_boot=300, seed=7)
    assert bootstrap_ci(PearsonStatistic(), y, pred, n_boot=300, seed=7) == first
    assert bootstrap_ci(PearsonStatistic(), y, pred, n_boot=300, seed=8) != first
    assert isinstance(first, BootstrapCI) and first.low < first.value < first.high


def test_a_paired_difference_is_much_narrower_than_unpaired_when_items_are_correlated():
    rng = np.random.default_rng(0)
    item = rng.normal(scale=3.0, size=200)  # shared per-item difficulty dominates both scores
    a = item + rng.normal(scale=0.3, size=200) + 0.2
    b = item + rng.normal(scale=0.3, size=200)

    def mean_of(i):
        return lambda *arrays: float(arrays[i].mean())

    value, low, high = paired_difference_ci(mean_of(0), mean_of(1), a, b, n_boot=500)
    assert value == pytest.approx(a.mean() - b.mean())
    assert 0.0 < low < value < high  # the 0.2 shift is detected
    unpaired = bootstrap_distribution(np.mean, a, n_boot=500, seed=1).samples - bootstrap_distribution(
        np.mean, b, n_boot=500, seed=2).samples
    u_low, u_high = np.quantile(unpaired, [0.025, 0.975])
    assert u_low < 0.0  # not detected without pairing
    assert high - low < 0.25 * (u_high - u_low)


def test_tost_says_equivalent_for_equal_statistics_and_not_for_a_shift_beyond_the_margin():
    y, pred = _responses(n_items=120, seed=3)
    same = equivalence_test(PearsonStatistic(pred=1), PearsonStatistic(pred=2), y, pred, pred.copy(),
                            margin=0.05, n_boot=300)
    assert isinstance(same, EquivalenceResult) and same.equivalent and same.difference == 0.0

    rng = np.random.default_rng(1)
    worse = pred + 2.0 * rng.normal(size=pred.shape)  # median r drops by far more than 0.05
    shifted = equivalence_test(PearsonStatistic(pred=1), PearsonStatistic(pred=2), y, pred, worse,
                               margin=0.05, n_boot=300)
    assert not shifted.equivalent and shifted.difference > 0.05
    assert shifted.alpha == 0.05 and shifted.margin == 0.05
    # the interval is the paired difference's 90 % interval (1 - 2 alpha)
    ci90 = paired_difference_ci(PearsonStatistic(pred=1), PearsonStatistic(pred=2), y, pred, worse,
                                n_boot=300, confidence=0.90)
    assert shifted.ci == pytest.approx((ci90.low, ci90.high))
    assert shifted.to_dict()["equivalent"] is False
    with pytest.raises(InvalidParameterError, match="margin"):
        equivalence_test(np.mean, np.median, y[:, 0], margin=0.0, n_boot=100)
    with pytest.raises(InvalidParameterError, match="alpha"):
        equivalence_test(np.mean, np.median, y[:, 0], margin=0.1, alpha=0.5, n_boot=100)


def test_a_margin_just_inside_the_interval_is_not_equivalent():
    d = BootstrapDistribution(0.0, np.linspace(-0.1, 0.1, 1001), seed=0, n_items=10)
    _, low, high = d.ci(0.90)
    assert not d.equivalence(margin=0.5 * high).equivalent
    assert d.equivalence(margin=1.01 * high).equivalent


def test_combine_seeds_averages_values_and_resamples_and_keeps_pairing():
    y, pred = _responses(seed=6)
    rng = np.random.default_rng(2)
    a = [bootstrap_distribution(PearsonStatistic(), y, pred + 0.3 * rng.normal(size=y.shape), n_boot=200)
         for _ in range(3)]
    combined = combine_seeds(a)
    assert combined.value == pytest.approx(np.mean([d.value for d in a]))
    np.testing.assert_allclose(combined.samples, np.mean([d.samples for d in a], axis=0))
    assert (combined.seed, combined.n_items) == (0, 60)
    base = bootstrap_distribution(PearsonStatistic(), y, pred, n_boot=200)
    diff = combine_seeds([d - base for d in a])
    np.testing.assert_allclose((combined - base).samples, diff.samples)
    # the seed-averaged interval is no wider than the widest per-seed one
    width = [c.high - c.low for c in (d.ci() for d in [*a, combined])]
    assert width[-1] <= max(width[:-1]) + 1e-12
    with pytest.raises(DataValidationError, match=r"distributions\[1\].*n_boot"):
        combine_seeds([a[0], bootstrap_distribution(PearsonStatistic(), y, pred, n_boot=100)])
    with pytest.raises(DataValidationError, match="at least one"):
        combine_seeds([])
    with pytest.raises(DataValidationError, match="same seed"):
        _ = a[0] - bootstrap_distribution(PearsonStatistic(), y, pred, n_boot=200, seed=1)


def test_input_errors_name_the_argument():
    x = np.arange(10.0)
    with pytest.raises(DataValidationError, match=r"arrays\[1\].*9 items"):
        bootstrap_ci(lambda a, b: 0.0, x, x[:9], n_boot=100)
    with pytest.raises(InvalidParameterError, match="n_boot"):
        bootstrap_ci(np.mean, x, n_boot=99)
    for confidence in (0.0, 1.0, 95):
        with pytest.raises(InvalidParameterError, match="confidence"):
            bootstrap_ci(np.mean, x, n_boot=100, confidence=confidence)
    with pytest.raises(DataValidationError, match="at least 2 items"):
        bootstrap_ci(np.mean, x[:1], n_boot=100)
    with pytest.raises(NonFiniteDataError, match=r"arrays\[0\].*1 NaN"):
        bootstrap_ci(np.mean, np.r_[x, np.nan], n_boot=100)
    with pytest.raises(DataValidationError, match="one number"):
        bootstrap_ci(lambda a: a, x, n_boot=100)
    with pytest.raises(DataValidationError, match="not finite"):  # undefined on resamples that repeat one item
        bootstrap_ci(lambda a: float("nan") if np.ptp(a) == 0 else 1.0, x[:3], n_boot=100)
    with pytest.raises(InvalidParameterError, match="callable"):
        bootstrap_ci("mean", x, n_boot=100)
    with pytest.raises(InvalidParameterError, match="seed"):
        bootstrap_ci(np.mean, x, n_boot=100, seed=-1)
    with pytest.raises(DataValidationError, match="at least one array"):
        bootstrap_ci(np.mean, n_boot=100)


def test_the_bootstrap_benchmark_runs_both_paths_at_a_tiny_size():
    from tests.benchmark_scripts import load_benchmark

    row = load_benchmark("bootstrap").main(["--items", "40", "--vertices", "30", "--n-boot", "128",
                                            "--generic-boot", "100"])
    assert row["low"] <= row["value"] <= row["high"] and row["fast_s"] > 0 and row["generic_s"] > 0


def test_a_distribution_survives_a_json_round_trip_and_stays_pairable():
    import json

    y, pred = _responses(seed=8)
    a = bootstrap_distribution(PearsonStatistic(), y, pred, n_boot=100)
    b = BootstrapDistribution.from_dict(json.loads(json.dumps(a.to_dict())))
    assert b.value == a.value and np.array_equal(b.samples, a.samples) and (b.seed, b.n_items) == (0, 60)
    assert np.all((b - a).samples == 0)
    with pytest.raises(DataValidationError, match="keys"):
        BootstrapDistribution.from_dict({"value": 0.1})
    with pytest.raises(DataValidationError, match="finite"):
        BootstrapDistribution.from_dict({**a.to_dict(), "samples": [float("nan")] * 100})
    with pytest.raises(DataValidationError, match="ints or null"):
        BootstrapDistribution.from_dict({**a.to_dict(), "seed": 1.5})

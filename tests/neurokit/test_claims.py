"""neurokit.claims: holds is computed from the intervals, both ways; JSON round trip; validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from neurokit.claims import Claim, check_claims, summarize_claims
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.statistics import BootstrapDistribution, PearsonStatistic, bootstrap_distribution


@pytest.fixture(scope="module")
def models():
    """Per-seed distributions of median r for a good model, a copy of it, a worse one, on the same test items."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=(120, 50))
    good = 0.6 * y + rng.normal(size=y.shape)

    def dist(pred, seed=0):
        return bootstrap_distribution(PearsonStatistic(), y, pred, n_boot=300, seed=seed)

    return {
        "good": [dist(good + 0.05 * rng.normal(size=y.shape)) for _ in range(2)],
        "same": [dist(good)],
        "worse": [dist(good + 1.5 * rng.normal(size=y.shape)) for _ in range(2)],
        "elsewhere": [dist(good, seed=5)],  # other resamples: not pairable
        "y": y,
    }


def test_greater_than_holds_against_a_worse_model_and_chance_and_not_against_itself(models):
    claim = Claim.greater_than("good_beats_worse", "The good model predicts better than the worse one.",
                               models["good"], {"worse": models["worse"], "chance": 0.0})
    assert claim.holds and claim.passes == {"worse": True, "chance": True}
    assert claim.value == pytest.approx(np.mean([d.value for d in models["good"]]))
    assert claim.seeds == [d.value for d in models["good"]] and len(claim.seeds) == 2
    assert claim.comparison["differences"]["worse"]["ci"][0] > 0
    assert claim.ci[0] <= claim.value <= claim.ci[1]

    mirrored = Claim.greater_than("worse_beats_good", "The worse model predicts better.", models["worse"],
                                  {"good": models["good"]})
    assert not mirrored.holds and mirrored.passes == {"good": False}
    assert Claim.less_than("worse_below_good", "The worse model predicts worse.", models["worse"],
                           {"good": models["good"]}).holds
    assert not Claim.less_than("good_below_worse", "x.", models["good"], {"worse": models["worse"]}).holds


def test_baselines_on_other_resamples_are_compared_by_interval_separation(models):
    claim = Claim.greater_than("vs_other", "Better than the same model scored on other resamples.",
                               models["good"], {"elsewhere": models["elsewhere"], "worse": models["worse"]})
    assert "elsewhere" not in claim.comparison["differences"] and "worse" in claim.comparison["differences"]
    assert not claim.passes["elsewhere"] and claim.passes["worse"] and not claim.holds
    assert "intervals separated" in claim.rule("elsewhere")
    with pytest.raises(DataValidationError, match="needs baselines\\['elsewhere'\\] drawn on the claim's resamples"):
        Claim.equivalent("eq", "x.", models["good"], {"elsewhere": models["elsewhere"]}, margin=0.1)


def test_equivalent_follows_the_tost_both_ways(models):
    eq = Claim.equivalent("copy_equals_good", "The copy is as good as the model.", models["same"],
                          {"good": models["good"]}, margin=0.02, note="2 seeds in the demo; the acceptance test runs 3")
    assert eq.holds and eq.comparison["difference_confidence"] == pytest.approx(0.90)
    low, high = eq.comparison["differences"]["good"]["ci"]
    assert -0.02 < low and high < 0.02
    not_eq = Claim.equivalent("worse_equals_good", "The worse model is as good.", models["worse"],
                              {"good": models["good"]}, margin=0.02)
    assert not not_eq.holds
    with pytest.raises(InvalidParameterError, match="alpha"):
        Claim.equivalent("a", "x.", models["good"], {"good": models["good"]}, margin=0.02, alpha=0.6)


def test_not_below_is_non_inferiority_with_a_margin(models):
    worse_by = models["good"][0].value - models["worse"][0].value
    assert worse_by > 0.05
    assert Claim.not_below("nb", "x.", models["worse"], {"good": models["good"]}, margin=3 * worse_by).holds
    assert not Claim.not_below("nb", "x.", models["worse"], {"good": models["good"]}, margin=0.01).holds
    assert Claim.not_below("nb", "x.", models["good"], {"worse": models["worse"]}, margin=0.0).holds


def test_holds_is_computed_from_the_numbers_not_given():
    comparison = {"kind": "greater_than", "against": ["b"], "confidence": 0.95, "difference_confidence": 0.95,
                  "margin": None, "differences": {"b": {"value": 0.1, "ci": [-0.01, 0.2]}}}
    claim = Claim("a", "A beats b.", 0.5, [0.4, 0.6], {"b": {"value": 0.4, "ci": [0.3, 0.5]}}, [0.5], comparison)
    assert claim.holds is False  # the difference's interval reaches below 0
    with pytest.raises(TypeError):
        Claim("a", "A beats b.", 0.5, [0.4, 0.6], {"b": {"value": 0.4, "ci": [0.3, 0.5]}}, [0.5], comparison,
              holds=True)
    data = claim.to_dict()
    data["holds"] = True
    with pytest.raises(DataValidationError, match="disagrees with its numbers"):
        Claim.from_dict(data)
    data = claim.to_dict()
    data["comparison"]["differences"]["b"]["ci"][0] = 0.01
    assert Claim.from_dict({**data, "holds": True, "comparison": {**data["comparison"], "passes": {"b": True}}}).holds


@pytest.mark.parametrize("kind, claim_ci, holds", [
    ("greater_than", [0.45, 0.6], False),  # overlaps the baseline's [0.3, 0.5]
    ("greater_than", [0.51, 0.6], True),
    ("less_than", [0.2, 0.35], False),
    ("less_than", [0.2, 0.29], True),
])
def test_without_a_paired_difference_the_intervals_must_be_separated(kind, claim_ci, holds):
    comparison = {"kind": kind, "against": ["b"], "confidence": 0.95, "difference_confidence": 0.95,
                  "margin": None, "differences": {}}
    value = sum(claim_ci) / 2
    claim = Claim("a", "A vs b.", value, claim_ci, {"b": {"value": 0.4, "ci": [0.3, 0.5]}}, [value], comparison)
    assert claim.holds is holds and "intervals separated" in claim.explain()


def test_an_estimate_outside_its_percentile_interval_is_kept_and_flagged():
    comparison = {"kind": "greater_than", "against": ["b"], "confidence": 0.95, "difference_confidence": 0.95,
                  "margin": None, "differences": {}}
    baselines = {"b": {"value": 0.2, "ci": [0.1, 0.3]}}
    outside = Claim("a", "A beats b.", 0.5, [0.51, 0.6], baselines, [0.5], comparison)
    assert outside.estimate_outside_ci and outside.holds
    assert not Claim("a", "A beats b.", 0.55, [0.51, 0.6], baselines, [0.55], comparison).estimate_outside_ci


def test_to_dict_has_the_json_shape_and_round_trips(models):
    claim = Claim.equivalent("copy_equals_good", "The copy is as good as the model.", models["same"],
                             {"good": models["good"], "chance": 0.0}, margin=0.02, against=["good"], note="n")
    data = json.loads(json.dumps(claim.to_dict()))
    assert list(data)[:7] == ["id", "statement", "value", "ci", "baselines", "seeds", "holds"]
    assert set(data["baselines"]) == {"good", "chance"} and data["baselines"]["chance"] == {"value": 0.0,
                                                                                           "ci": [0.0, 0.0]}
    assert set(data["baselines"]["good"]) == {"value", "ci"} and len(data["ci"]) == 2
    assert data["holds"] is True and data["comparison"]["passes"] == {"good": True}
    assert "TOST" in data["comparison"]["rule"]["good"]
    again = Claim.from_dict(data)
    assert again == claim and again.to_dict() == claim.to_dict()


@pytest.mark.parametrize("change, match", [
    (lambda d: d.update(ci=[1.0, 0.9]), "low <= high"),
    (lambda d: d.update(value=float("nan")), "finite"),
    (lambda d: d.update(id="has space"), "id must match"),
    (lambda d: d.update(statement="two\nlines"), "one non-empty line"),
    (lambda d: d["comparison"].update(against=["nobody"]), "nobody"),
    (lambda d: d["comparison"].update(kind="bigger"), "kind"),
    (lambda d: d["comparison"].update(margin=None), "margin"),
    (lambda d: d["comparison"].update(differences={}), "paired difference for every baseline"),
    (lambda d: d["baselines"]["good"].update(ci=[0.0]), "low, high"),
    (lambda d: d.pop("seeds"), "keys"),
])
def test_malformed_claims_are_rejected_naming_the_field(models, change, match):
    data = Claim.equivalent("c", "x.", models["same"], {"good": models["good"]}, margin=0.02).to_dict()
    change(data)
    with pytest.raises(DataValidationError, match=match):
        Claim.from_dict(data)


def test_constructor_input_errors(models):
    with pytest.raises(DataValidationError, match="against names"):
        Claim.greater_than("a", "x.", models["good"], {"worse": models["worse"]}, against=["best"])
    with pytest.raises(DataValidationError, match="one per seed"):
        Claim.greater_than("a", "x.", [0.5, 0.6], {"worse": models["worse"]})
    with pytest.raises(DataValidationError, match="has 5 seeds"):
        Claim.greater_than("a", "x.", models["good"], {"worse": models["worse"] * 2 + models["same"]})
    with pytest.raises(InvalidParameterError, match="margin must be a finite real number >= 0"):
        Claim.not_below("a", "x.", models["good"], {"worse": models["worse"]}, margin=-0.1)
    with pytest.raises(InvalidParameterError, match="> 0"):
        Claim.equivalent("a", "x.", models["good"], {"worse": models["worse"]}, margin=0.0)
    with pytest.raises(DataValidationError, match="non-empty mapping"):
        Claim.greater_than("a", "x.", models["good"], {})


def test_check_claims_wants_unique_ids_and_reads_dicts(models):
    a = Claim.greater_than("a", "x.", models["good"], {"worse": models["worse"]})
    b = Claim.greater_than("b", "y.", models["worse"], {"good": models["good"]})
    assert check_claims([a, b.to_dict()]) == [a, b]
    with pytest.raises(DataValidationError, match=r"claims\[1\].*'a'"):
        check_claims([a, a])
    with pytest.raises(DataValidationError, match=r"claims\[0\]"):
        check_claims([3])


def test_summary_sentence_counts_and_names_what_does_not_hold(models):
    good = Claim.greater_than("good_vs_worse", "x.", models["good"], {"worse": models["worse"]})
    bad = Claim.equivalent("worse_vs_good", "y.", models["worse"], {"good": models["good"], "chance": 0.0},
                           margin=0.02)
    text = summarize_claims([good, bad])
    assert text.startswith("1 of 2 claims hold on this world; worse_vs_good does not: ")
    assert "good_vs_worse" not in text and "claim - good" in text and "fails" in text
    assert summarize_claims([good]) == "1 of 1 claim holds on this world."
    assert summarize_claims([], "here") == "No claims are made here."
    d = BootstrapDistribution(0.3, np.full(100, 0.3), seed=0, n_items=5)
    tied = Claim.greater_than("tied", "z.", d, {"same": d})
    assert not tied.holds  # an interval touching 0 does not exclude it


def test_the_examples_in_the_docstrings_run():
    import doctest

    import neurokit.claims
    import neurokit.statistics

    for module in (neurokit.claims, neurokit.statistics):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__

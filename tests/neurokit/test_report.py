"""neurokit.report: sections, tables, figures, the JSON of numbers, and claims."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from neurokit.report import Report, json_default
from neurokit.claims import Claim
from neurokit.exceptions import DataValidationError
from neurokit.statistics import BootstrapDistribution


def _distribution(center, spread=0.01, seed=0):
    samples = center + spread * np.random.default_rng(seed).standard_normal(500)
    return BootstrapDistribution(center, samples, seed=0, n_items=30)


@pytest.fixture
def claims():
    good, worse = _distribution(0.5), _distribution(0.3, seed=1)
    return [
        Claim.greater_than("good_vs_worse", "The good model beats the worse one & chance.", [good, good],
                           {"worse": worse, "chance": 0.0}),
        Claim.equivalent("worse_vs_good", "The worse model is as good as the good one.", worse, {"good": good},
                         margin=0.05, note="2 seeds in the demo; the acceptance test runs 3"),
    ]


def test_report_writes_numbers_and_claims_to_json(tmp_path, claims):
    report = Report(tmp_path, "test report")
    report.numbers = {"a": np.float32(0.5), "arr": np.arange(3), "path": tmp_path}
    report.claims = claims
    html_path, json_path = report.write()
    data = json.loads(json_path.read_text())
    assert data["a"] == 0.5 and data["arr"] == [0, 1, 2] and data["path"] == str(tmp_path)
    assert [c["id"] for c in data["claims"]] == ["good_vs_worse", "worse_vs_good"]
    assert [c["holds"] for c in data["claims"]] == [True, False]
    assert [Claim.from_dict(c) for c in data["claims"]] == claims

    report.claims = []
    _, json_path = report.write()
    assert json.loads(json_path.read_text())["claims"] == []


def test_html_puts_the_claims_first_with_ids_values_and_verdicts(tmp_path, claims):
    report = Report(tmp_path, "test report")
    report.section("1. Other numbers").table("t", ["model", "r", "ok"], [["ridge", 0.25, True]])
    report.claims = claims
    report.write()
    page = (tmp_path / "report.html").read_text()
    assert page.index("Claims on this world") < page.index("1. Other numbers")
    assert "1 of 2 claims hold on this world; worse_vs_good does not: " in page
    for claim in claims:
        assert f'<th scope="row">{claim.id}</th>' in page
    assert "beats the worse one &amp; chance." in page  # escaped
    assert page.count('class="claim-holds"><span aria-hidden="true">✓</span> holds') == 1
    assert page.count('class="claim-fails"><span aria-hidden="true">✗</span> does not hold') == 1
    assert '0.500 <span class="ci">[' in page  # value [CI]
    assert '0.000 <span class="ci">[0.000, 0.000]' in page  # a fixed baseline
    assert "2 seeds in the demo" in page and "TOST" in page and "estimate outside" not in page
    header = re.search(r'<tr>(<th scope="col">.*?)</tr>', page).group(1)
    assert re.findall(r">([^<]+)</th>", header) == ["id", "statement", "value [CI]", "baselines", "seeds",
                                                    "verdict"]
    # every baseline listed in its claim's row, by name, with its value and interval
    for claim in claims:
        row = page[page.index(f'<th scope="row">{claim.id}</th>'):]
        row = row[: row.index("</tr>")]
        for name in claim.baselines:
            assert f'<span class="name">{name}</span>' in row
    assert "td.claim-fails" in page and "td.claim-holds" in page  # styled, and readable without colour


def test_an_estimate_outside_its_interval_is_marked(tmp_path):
    biased = BootstrapDistribution(0.5, 0.52 + 0.001 * np.random.default_rng(0).standard_normal(500), seed=0,
                                   n_items=30)
    report = Report(tmp_path, "biased")
    report.claims = [Claim.greater_than("biased", "A biased statistic beats chance.", biased, {"chance": 0.0})]
    assert report.claims[0].estimate_outside_ci
    report.write()
    assert "estimate outside its interval" in (tmp_path / "report.html").read_text()


def test_a_report_without_claims_has_no_claims_section(tmp_path):
    report = Report(tmp_path, "plain")
    report.section("only").text("hello")
    html_path, _ = report.write()
    assert "Claims on" not in html_path.read_text() and "hello" in html_path.read_text()


def test_claims_must_be_unique_and_not_clash_with_numbers(tmp_path, claims):
    report = Report(tmp_path, "bad")
    report.claims = [claims[0], claims[0]]
    with pytest.raises(DataValidationError, match="unique"):
        report.write()
    report.claims = claims
    report.numbers = {"claims": 1}
    with pytest.raises(DataValidationError, match="reserved"):
        report.write()
    assert not (tmp_path / "report.json").exists()


def test_missing_figures_and_unknown_json_types_are_errors(tmp_path):
    report = Report(tmp_path, "figures")
    report.section("s").figure(tmp_path / "missing.png")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        report.write()
    with pytest.raises(TypeError, match="set"):
        json_default({1})


def test_compare_reports_finds_every_differing_value_and_only_those():
    from neurokit.report import compare_reports

    a = {"settings": {"output": "/x", "seed": 0}, "m": {"r": [0.1, 0.2], "n": 3, "nan": float("nan")},
         "claims": [{"id": "a", "holds": True}]}
    assert compare_reports(a, json.loads(json.dumps(a))) == []  # NaN equals NaN
    b = {"settings": {"output": "/y", "seed": 0}, "m": {"r": [0.1, 0.2000001], "n": 3.0, "new": 1, "nan": 0.0},
         "claims": [{"id": "a", "holds": False}]}
    assert compare_reports(a, b) == ["m.r[1]", "m.n", "m.nan", "m.new", "claims[0].holds"]
    assert compare_reports(a, b, exclude=()) == ["settings.output", "m.r[1]", "m.n", "m.nan", "m.new",
                                                  "claims[0].holds"]
    assert compare_reports(a, b, exclude=("settings.output", "m.*")) == ["claims[0].holds"]
    assert compare_reports(a, {**a, "m": {**a["m"], "r": [0.1]}}) == ["m.r"]  # a list of another length


def test_compare_reports_reads_files_and_folders(tmp_path):
    from neurokit.report import compare_reports

    report = Report(tmp_path, "t")
    report.numbers = {"x": np.float64(1.5)}
    report.write()
    assert compare_reports(tmp_path, tmp_path / "report.json") == []
    assert compare_reports(tmp_path, {"x": 2.0, "claims": []}) == ["x"]
    with pytest.raises(DataValidationError, match="cannot read"):
        compare_reports(tmp_path / "nothing", tmp_path)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DataValidationError, match="not a JSON report"):
        compare_reports(tmp_path / "bad.json", tmp_path)


def test_json_default_options_write_sets_and_cap_arrays_only_when_asked():
    from pathlib import Path

    assert json_default({"b", "a"}, sets=True) == ["a", "b"]
    assert json_default(np.zeros(4), max_array_size=4) == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="at most 3"):
        json_default(np.zeros(4), max_array_size=3)
    assert json_default(Path("x") / "y") == str(Path("x") / "y")

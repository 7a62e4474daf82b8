"""`neurokit demo` end to end at tiny settings: every stage runs, the report is written, a rerun resumes."""

from __future__ import annotations

import json

import numpy as np

import pytest

from cortex2image.demo import DemoSettings, run_demo
from neurokit.cli import main
from neurokit.exceptions import DataValidationError

pytestmark = pytest.mark.slow

TINY = dict(n_subjects=3, n_images=60, n_shared=20, ensemble_images=20, neurogen_steps=3, neurogen_seeds=1,
            c2i_epochs=1, c2i_samples=2, progress=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    results = run_demo(DemoSettings(output=str(out), **TINY), log=lines.append)
    return out, results, lines


def test_every_stage_runs_and_the_report_has_real_numbers(demo_run):
    out, results, lines = demo_run
    assert all("running" in line for line in lines if line.startswith("[demo]") and "done" not in line)
    html = (out / "report.html").read_text()
    for heading in ("1. Ridge encoders per subject", "2. Personalized ensemble encoder", "3. NeuroGen"):
        assert heading in html
    numbers = json.loads((out / "report.json").read_text())
    ens = numbers["ensemble"]
    assert ens["n_few"] == 20 and ens["subject"] == 3
    assert 0.0 < ens["ensemble_over_full_roi_mean_r"] < 2.0
    for subject in ("1", "2", "3"):
        assert -1.0 <= numbers["encoders"]["subjects"][subject]["median_r_visual"] <= 1.0
    assert set(numbers["neurogen"]["per_roi"]) == {"FFA-1", "EBA", "PPA"}
    for figure in ("noise-ceiling.png", "encoder-accuracy.png", "ensemble-vs-full.png", "neurogen-vs-natural.png"):
        assert (out / "figures" / figure).stat().st_size > 1000
        assert f"figures/{figure}" in html


def test_a_second_run_reuses_finished_stages_and_a_changed_setting_reruns_dependents(demo_run):
    out, first, _ = demo_run
    lines: list[str] = []
    again = run_demo(DemoSettings(output=str(out), **TINY), log=lines.append)
    assert sum("reusing" in line for line in lines) == len(again) - 1  # all but the report
    assert again["ensemble"] == first["ensemble"]
    lines.clear()
    run_demo(DemoSettings(output=str(out), **{**TINY, "ensemble_images": 25}), stages=["ensemble"],
             log=lines.append)
    assert any(line.startswith("[demo] ensemble: running") for line in lines)
    assert any(line.startswith("[demo] encoders: reusing") for line in lines)


def test_bad_settings_are_refused_before_any_work(tmp_path, capsys):
    with pytest.raises(DataValidationError, match="--subjects"):
        run_demo(DemoSettings(output=str(tmp_path / "x"), n_subjects=1))
    assert main(["demo", "--output", str(tmp_path / "y"), "--shared", "700"]) == 1
    assert "--shared" in capsys.readouterr().err


def test_stored_features_are_the_encoders_feature_layout(demo_run):
    """The features stage must lay features out as ImageEncoder does (layer order), or NeuroGen's
    differentiable encoder would disagree with the ridge encoders it wraps."""
    from cortex2image.demo import DemoRun
    from encoding.image_encoder import image_features

    out, _, _ = demo_run
    run = DemoRun(DemoSettings(output=str(out), **TINY), out)
    features_model, _ = run.ground_truth()
    ids = run.nsd().image_ids(1)[:4]
    expected = image_features(features_model.extractor, run.nsd().images(ids, size=run.settings.image_size),
                              features_model.extract_kwargs)
    np.testing.assert_allclose(run.features_of(ids), expected, rtol=1e-4, atol=1e-4)

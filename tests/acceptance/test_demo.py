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
            c2i_epochs=2, c2i_samples=2, c2i_world_seeds=2, feature_chunk=64, world_seeds=2, n_boot=200,
            progress=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One uninterrupted run at tiny settings: ``(folder, results, log lines, report.json numbers)``."""
    out = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    results = run_demo(DemoSettings(output=str(out), **TINY), log=lines.append)
    return out, results, lines, _numbers(out)


def test_every_stage_runs_and_the_report_has_real_numbers(demo_run):
    out, results, lines, _ = demo_run
    assert all("running" in line for line in lines if line.startswith("[demo]") and "done" not in line)
    html = (out / "report.html").read_text()
    for heading in ("1. Ridge encoders per subject", "2. Personalized ensemble encoder", "3. NeuroGen",
                    "4. Cortex2Image"):
        assert heading in html
    numbers = json.loads((out / "report.json").read_text())
    ens = numbers["ensemble"]
    assert ens["n_few"] == 20 and ens["subject"] == 3 and "distributions" not in ens
    assert -1.0 <= ens["summary"]["median_r"]["ensemble.ensemble"] <= 1.0
    # every claim with its baselines, CIs, per-seed values and a computed verdict
    claims = {c["id"]: c for c in numbers["claims"]}
    assert set(claims) == {"encoder_accuracy", "ensemble_vs_full", "ensemble_private_tuning",
                           "neurogen_FFA-1", "neurogen_EBA", "neurogen_PPA", "reconstruction_identification",
                           "reconstruction_pixcorr", "reconstruction_ssim"}
    assert set(claims["reconstruction_ssim"]["baselines"]) == {"mean_image", "nearest_neighbour", "ridge_pixels",
                                                               "shuffled"}
    assert {"oracle", "mismatched_features"} <= set(claims["encoder_accuracy"]["baselines"])
    assert set(claims["ensemble_vs_full"]["baselines"]) == {"full_data", "same_few_images", "cohort_average"}
    assert set(claims["neurogen_EBA"]["baselines"]) == {"natural_max_true", "natural_best_predicted_true"}
    for claim in claims.values():
        assert len(claim["seeds"]) == 2 and isinstance(claim["holds"], bool)
        assert claim["ci"][0] <= claim["ci"][1]
    assert numbers["world_seeds"] == [0, 1]
    assert "Claims on this simulated world" in html and "encoder_accuracy" in html
    for subject in ("1", "2", "3"):
        assert -1.0 <= numbers["encoders"]["subjects"][subject]["median_r_visual"] <= 1.0
    assert set(numbers["neurogen"]["per_roi"]) == {"FFA-1", "EBA", "PPA"}
    c2i = numbers["cortex2image"]
    assert c2i["n_test"] == 20 and c2i["world_seeds"] == [0, 1] and set(c2i["worlds"]) == {"1"}
    assert set(c2i["evaluation"]["mean"]) == {"EfficientNet-Lite2 2-way", "PixCorr", "SSIM",
                                              "brain correlation (ground truth)", "brain correlation (encoder)"}
    assert "distributions" not in c2i["evaluation"] and "claims" not in c2i
    assert 0.0 <= c2i["semantic_identification"] <= 1.0
    assert len(list((out / "cortex2image" / "reconstructions").glob("recon_*.png"))) == 20
    index = json.loads((out / "cortex2image" / "reconstructions" / "reconstruction.json").read_text())
    assert index["nsd_ids"] == c2i["evaluation"]["nsd_ids"] and len(index["nsd_id_of_file"]) == 20
    assert "nearest-neighbour retrieval" in html and "ridge to pixels" in html
    for figure in ("noise-ceiling.png", "encoder-accuracy.png", "ensemble-vs-full.png", "neurogen-vs-natural.png",
                   "reconstructions.png"):
        assert (out / "figures" / figure).stat().st_size > 1000
        assert f"figures/{figure}" in html


def test_the_written_reconstructions_rescore_to_the_stages_numbers(demo_run):
    from cortex2image.evaluation import evaluate_reconstruction_folder

    out, _, _, numbers = demo_run
    stage = numbers["cortex2image"]["evaluation"]
    again, _ = evaluate_reconstruction_folder(out / "cortex2image" / "reconstructions", out / "nsd")
    assert set(again.per_image) == set(stage["mean"]) - {"brain correlation (encoder)"}  # no encoder on disk
    for metric, by_method in again.per_image.items():
        for method, scores in by_method.items():  # only PNG quantisation differs
            if "2-way" in metric:  # a two-way trial may flip where two distractors are nearly as close
                assert abs(scores.mean() - stage["mean"][metric][method]) < 0.03
            else:  # the ground truth's contrast energy is the most sensitive (measured up to 0.021)
                atol = 0.04 if "ground truth" in metric else 0.02
                np.testing.assert_allclose(scores, stage["per_image"][metric][method], atol=atol)


def test_a_second_run_reuses_finished_stages_and_a_changed_setting_reruns_dependents(demo_run):
    out, first, _, _ = demo_run
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
    with pytest.raises(DataValidationError, match="--c2i-world-seeds"):
        run_demo(DemoSettings(output=str(tmp_path / "z"), c2i_world_seeds=0))
    with pytest.raises(DataValidationError, match="NAME one of"):
        run_demo(DemoSettings(output=str(tmp_path / "w"), metric_networks=("alexnet-9=/nowhere",)))
    with pytest.raises(DataValidationError, match="no weight file"):
        run_demo(DemoSettings(output=str(tmp_path / "w"), metric_networks=("alexnet-2=/nowhere",)))
    assert main(["demo", "--output", str(tmp_path / "y"), "--shared", "700"]) == 1
    assert "--shared" in capsys.readouterr().err


def test_stored_features_are_the_encoders_feature_layout(demo_run):
    """The features stage must lay features out as ImageEncoder does (layer order), or NeuroGen's
    differentiable encoder would disagree with the ridge encoders it wraps."""
    from cortex2image.demo import DemoRun
    from encoding.image_encoder import image_features

    out, _, _, _ = demo_run
    from encoding.features.defaults import DEFAULT_FEATURES, default_extractor, mismatched_extractor

    run = DemoRun(DemoSettings(output=str(out), **TINY), out)
    ids = run.nsd().image_ids(1)[:4]
    images = run.nsd().images(ids, size=run.settings.image_size)
    expected = image_features(default_extractor(run.settings.image_size), images, DEFAULT_FEATURES)
    np.testing.assert_allclose(run.features_of(ids), expected, rtol=1e-4, atol=1e-4)
    mismatched = image_features(mismatched_extractor(run.settings.image_size), images, DEFAULT_FEATURES)
    np.testing.assert_allclose(run.mismatched_of(ids), mismatched, rtol=1e-4, atol=1e-4)
    assert not np.allclose(run.features_of(ids), run.mismatched_of(ids))


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1200,7200")  # the claims table alone is ~3,000 px


def test_report_renders_with_its_figures_in_headless_chromium(demo_run, tmp_path):
    """A screenshot of report.html in headless Chromium shows the page with its figures, not a blank page."""
    import shutil
    import subprocess

    from PIL import Image

    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless Chromium on this machine (apt-get install chromium to run this check)")
    out, _, _, _ = demo_run
    shot = tmp_path / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    (out / "report.html").as_uri()], check=True, capture_output=True, timeout=120)
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float32)
    assert pixels.shape[:2] == (7200, 1200)
    # Text alone leaves the page almost white; the surface maps and image grids add large dark, coloured areas.
    dark = (pixels.mean(axis=2) < 100).mean()
    colourful = (pixels.max(axis=2) - pixels.min(axis=2) > 60).mean()
    assert dark > 0.02 and colourful > 0.01, (dark, colourful)


#: The command-line spelling of TINY.
TINY_FLAGS = ["--subjects", "3", "--images", "60", "--shared", "20", "--ensemble-images", "20",
              "--neurogen-steps", "3", "--neurogen-seeds", "1", "--c2i-epochs", "2", "--c2i-samples", "2",
              "--c2i-world-seeds", "2",
              "--feature-chunk", "64", "--world-seeds", "2", "--bootstrap", "200", "--no-progress"]


def _demo_until(out, appears, sig):
    """Start ``neurokit demo`` in a subprocess, send ``sig`` once a file matching ``appears`` exists."""
    import subprocess
    import sys

    from tests.processes import signal_when

    import signal

    # Ctrl-C as from an interactive shell, even when the tests run in a script's background (SIGINT ignored)
    proc = subprocess.Popen([sys.executable, "-m", "neurokit.cli", "demo", "--output", str(out), *TINY_FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    stdout, stderr = signal_when(proc, lambda: bool(list(out.glob(appears))), sig, what=appears)
    return proc.returncode, stdout, stderr


def _numbers(folder):
    numbers = json.loads((folder / "report.json").read_text())
    numbers["settings"].pop("output")
    return numbers


def test_a_demo_stopped_in_each_stage_resumes_where_it_stopped_with_an_identical_report(demo_run, tmp_path):
    """Killed (SIGKILL) in features, interrupted (Ctrl-C) in encoders, terminated (SIGTERM) in cortex2image
    training: each next run continues from the last finished chunk / subject / epoch, and the final
    report.json equals that of an uninterrupted run with the same settings."""
    import signal

    out = tmp_path / "stopped"
    _demo_until(out, "stages/feature-store/*/chunks.json", signal.SIGKILL)
    assert not (out / "stages" / "features.json").exists()

    status, stdout, stderr = _demo_until(out, "stages/encoders/subj01.json", signal.SIGINT)
    assert "already in the feature store" in stdout
    assert status == 130 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "neurokit demo: interrupted; run the same command again to resume"
    assert not (out / "stages" / "encoders.json").exists()

    status, stdout, stderr = _demo_until(out, "stages/cortex2image-training-*/semantic/checkpoints/*.safetensors",
                                         signal.SIGTERM)
    assert "[demo] encoders: reusing subject 1" in stdout and "[demo] encoders: running" in stdout
    assert status == 143 and "Traceback" not in stderr and "terminated" in stderr
    assert not (out / "stages" / "cortex2image.json").exists()

    lines: list[str] = []
    run_demo(DemoSettings(output=str(out), **TINY), log=lines.append)
    assert "[demo] cortex2image: running" in lines
    assert not [p for p in out.rglob("*") if p.name.startswith((".tmp-", ".old-"))]
    assert _numbers(out) == demo_run[3]  # the uninterrupted run's report


def test_the_demo_never_writes_into_a_folder_of_someone_elses(tmp_path):
    from neurokit.exceptions import OutputExistsError

    (tmp_path / "analysis.py").write_text("print('mine')")
    with pytest.raises(OutputExistsError, match="did not write"):
        run_demo(DemoSettings(output=str(tmp_path), **TINY))
    assert [p.name for p in tmp_path.iterdir()] == ["analysis.py"]

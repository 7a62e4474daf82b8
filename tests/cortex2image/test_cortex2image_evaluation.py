"""Reconstructions scored beside their baselines: per-image scores, intervals, claims, the report's sentence and
the folder round trip (PNG files + index -> the same numbers from the NSD root alone)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cortex2image.baselines import nearest_neighbour_baseline
from cortex2image.evaluation import (
    BASELINES,
    IDENTIFICATION,
    METHODS,
    REQUIRED_IDENTIFICATION,
    ReconstructionEvaluation,
    baseline_verdict,
    evaluate_from_nsd,
    evaluate_reconstruction,
    evaluate_reconstruction_folder,
    metric_table,
    read_reconstruction_folder,
    reconstruction_claims,
)
from neurokit.claims import Claim
from neurokit.exceptions import DataValidationError, FileFormatError

SIDE = 16
N_BOOT = 200


def _flat(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, dtype=np.float64).reshape(len(images), -1)


def _thumbnails(images: np.ndarray) -> np.ndarray:
    """A cheap identification 'network' for any image size: 8 x 8 thumbnails, flattened."""
    from skimage.transform import resize

    return _flat(resize(np.asarray(images), (len(images), 8, 8, 3), anti_aliasing=True))


@pytest.fixture(scope="module")
def world():
    """Smooth random images, responses linear in their pixels plus noise, and that linear map as the 'brain'."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    basis = np.stack([np.cos(np.pi * (a * xx + b * yy))[..., None] * rng.uniform(0.2, 1, size=3)
                      for a, b in rng.integers(0, 4, size=(8, 2))])
    images = np.tensordot(rng.normal(size=(190, 8)), basis, axes=1)
    images = ((images - images.min()) / (images.max() - images.min())).astype(np.float32)
    weights = rng.normal(size=(SIDE * SIDE * 3, 200)) / SIDE
    responses = _flat(images) @ weights + 0.5 * rng.normal(size=(len(images), 200))
    return {"train_images": images[:150], "seen": images[150:], "train": responses[:150], "test": responses[150:],
            "brain": lambda imgs: _flat(imgs) @ weights, "ids": np.arange(150, 190)}


def _evaluate(world, recon):
    return evaluate_reconstruction(world["seen"], recon, nsd_ids=world["ids"], train_responses=world["train"],
                                   train_images=world["train_images"], test_responses=world["test"],
                                   brain=world["brain"], identification=_flat, seed=0)


def test_every_method_is_scored_on_every_metric_and_a_perfect_reconstruction_wins(world):
    evaluation, images = _evaluate(world, world["seen"])
    assert set(images) == set(METHODS)
    assert list(evaluation.per_image) == [IDENTIFICATION, "PixCorr", "SSIM", "brain correlation (ground truth)"]
    for by_method in evaluation.per_image.values():
        assert set(by_method) == set(METHODS) and all(v.shape == (40,) for v in by_method.values())
    means = {m: {k: float(v.mean()) for k, v in by.items()} for m, by in evaluation.per_image.items()}
    assert means["PixCorr"]["reconstruction"] == pytest.approx(1.0)
    assert means[IDENTIFICATION]["mean_image"] == pytest.approx(0.5)  # one image for all: exactly chance
    assert means["brain correlation (ground truth)"]["reconstruction"] == pytest.approx(1.0)
    assert means[IDENTIFICATION]["nearest_neighbour"] > 0.8  # the responses carry the image: retrieval works
    assert abs(means["PixCorr"]["shuffled"]) < 0.2
    claims = reconstruction_claims([evaluation.distributions(N_BOOT)], [0], subject=1, n_test=40)
    assert [c.id for c in claims] == ["reconstruction_identification", "reconstruction_pixcorr",
                                      "reconstruction_ssim"]
    for claim in claims:
        assert set(BASELINES) <= set(claim.baselines) and claim.comparison["against"] == list(claim.baselines)
        assert claim.holds, claim.explain(failing_only=True)
        assert Claim.from_dict(claim.to_dict()).holds
    assert claims[0].baselines["required"] == {"value": REQUIRED_IDENTIFICATION,
                                               "ci": [REQUIRED_IDENTIFICATION, REQUIRED_IDENTIFICATION]}
    assert "No baseline beats the reconstruction" in baseline_verdict([evaluation.distributions(N_BOOT)],
                                                                       evaluation.higher_is_better)


def test_a_reconstruction_that_is_only_retrieval_or_shuffled_fails_its_claims(world):
    retrieved, _ = nearest_neighbour_baseline(world["train"], world["train_images"], world["test"])
    evaluation, _ = _evaluate(world, retrieved)
    claims = {c.id: c for c in reconstruction_claims([evaluation.distributions(N_BOOT)], [0], subject=1, n_test=40)}
    for claim in claims.values():  # equal to a baseline is not better than it
        assert not claim.holds and not claim.passes["nearest_neighbour"]
    rng = np.random.default_rng(5)
    wrong, _ = _evaluate(world, world["seen"][np.roll(np.arange(40), 7)] * 0.9 + 0.05 * rng.random((40, 1, 1, 1)))
    dists = wrong.distributions(N_BOOT)
    claims = reconstruction_claims([dists], [0], subject=1, n_test=40)
    assert not any(c.holds for c in claims)
    sentence = baseline_verdict([dists], wrong.higher_is_better)
    assert "nearest-neighbour retrieval beats the reconstruction on" in sentence.lower()
    assert "ridge to pixels beats the reconstruction on" in sentence


def _constructed(identification: float, pixcorr: float, baseline: float, rng: np.random.Generator,
                 n: int = 60) -> ReconstructionEvaluation:
    def scores(level: float) -> np.ndarray:
        return np.clip(level + 0.05 * rng.normal(size=n), 0, 1)

    per_image = {IDENTIFICATION: {"reconstruction": scores(identification)},
                 "PixCorr": {"reconstruction": scores(pixcorr)}, "SSIM": {"reconstruction": scores(pixcorr)}}
    for by_method in per_image.values():
        by_method.update({b: scores(baseline) for b in BASELINES})
    return ReconstructionEvaluation(np.arange(n), per_image, {m: True for m in per_image})


def test_identification_must_also_reach_the_required_level():
    rng = np.random.default_rng(0)
    worlds = [_constructed(0.70, 0.4, 0.5, rng).distributions(N_BOOT) for _ in range(2)]
    claims = {c.id: c for c in reconstruction_claims(worlds, [0, 1], subject=8, n_test=60)}
    ident = claims["reconstruction_identification"]
    assert all(ident.passes[b] for b in BASELINES)  # beats every baseline ...
    assert not ident.passes["required"] and not ident.holds  # ... but is below 0.80
    assert claims["reconstruction_pixcorr"].holds is False  # 0.4 < 0.5: the baselines win
    assert len(ident.seeds) == 2 and "2 world seed(s) (0, 1)" in ident.note
    worlds = [_constructed(0.90, 0.6, 0.5, rng).distributions(N_BOOT) for _ in range(2)]
    claims = reconstruction_claims(worlds, [0, 1], subject=8, n_test=60)
    assert all(c.holds for c in claims)


def test_table_and_verdict_follow_the_metric_direction():
    rng = np.random.default_rng(1)
    evaluation = _constructed(0.9, 0.6, 0.5, rng)
    evaluation.per_image["distance"] = {m: np.full(60, 0.3) + 0.01 * rng.normal(size=60) for m in METHODS}
    evaluation.per_image["distance"]["ridge_pixels"] -= 0.2  # lower is better: ridge wins
    evaluation.higher_is_better["distance"] = False
    dists = [evaluation.distributions(N_BOOT)]
    header, rows = metric_table(dists)
    assert header[1:] == ["reconstruction", "mean training image", "nearest-neighbour retrieval",
                          "ridge to pixels", "shuffled pairs"]
    assert [r[0] for r in rows] == [IDENTIFICATION, "PixCorr", "SSIM", "distance"]
    value, interval = rows[1][1].split(" ", 1)
    assert float(value) == pytest.approx(evaluation.per_image["PixCorr"]["reconstruction"].mean(), abs=1e-3)
    low, high = (float(x) for x in interval.strip("[]").split(","))
    assert low < float(value) < high
    header, rows = metric_table(dists, differences=True)
    assert header[1] == "reconstruction - mean training image" and len(rows[0]) == 1 + len(BASELINES)
    assert rows[0][1].startswith("+0.4")  # 0.9 - 0.5
    assert baseline_verdict(dists, evaluation.higher_is_better).startswith(
        "Ridge to pixels beats the reconstruction on distance")
    other = _constructed(0.9, 0.6, 0.5, rng).distributions(N_BOOT)  # a world that measured no distance
    assert [r[0] for r in metric_table([dists[0], other])[1]] == [IDENTIFICATION, "PixCorr", "SSIM"]
    with pytest.raises(DataValidationError, match="at least one world"):
        reconstruction_claims([], [], subject=1, n_test=1)


@pytest.fixture(scope="module")
def nsd_tree(tmp_path_factory, make_cohort):
    cohort = make_cohort(n_subjects=1, n_images=60, n_shared=20, level=3, image_size=32, seed=0)
    return cohort.write(tmp_path_factory.mktemp("nsd") / "nsd", progress=False)


def test_a_written_folder_rescored_from_the_nsd_root_gives_the_stages_numbers(nsd_tree, tmp_path):
    from cortex2image.cli import write_reconstruction
    from cortex2image.reconstructor import Reconstruction
    from neurokit.datasets import NSD

    nsd = NSD(nsd_tree)
    ids = nsd.shared1000
    rng = np.random.default_rng(0)
    # at 24 pixels, the stored stimuli at 32: the metrics resize the reconstructions to the seen images
    recon = np.clip(0.7 * nsd.images(ids, size=24) + 0.3 * rng.random((len(ids), 24, 24, 3)), 0, 1).astype(np.float32)
    result = Reconstruction(recon, recon[:, None], np.zeros(len(ids), int), np.zeros((len(ids), 4), np.float32))
    folder = write_reconstruction(result, tmp_path / "rec", record={"subject": 1}, nsd_ids=ids)
    index = json.loads((folder / "reconstruction.json").read_text())
    assert index["nsd_id_of_file"] == {f"recon_{i:04d}.png": int(k) for i, k in enumerate(ids)}
    images, read_ids, _ = read_reconstruction_folder(folder)
    np.testing.assert_array_equal(read_ids, ids)
    assert np.abs(images - recon).max() <= 0.5 / 255 + 1e-6  # PNG quantisation only

    stage, _ = evaluate_from_nsd(recon, ids, nsd, 1, identification=_thumbnails, seed=0)
    again, _ = evaluate_reconstruction_folder(folder, nsd_tree, identification=_thumbnails, seed=0)
    assert list(again.per_image) == list(stage.per_image)
    assert "brain correlation (ground truth)" in stage.per_image  # the simulated ground truth was found
    for metric, by_method in stage.per_image.items():
        for method, scores in by_method.items():
            np.testing.assert_allclose(again.per_image[metric][method], scores, atol=0.02,
                                       err_msg=f"{metric} / {method}")
    assert again.details == stage.details
    with pytest.raises(DataValidationError, match="did not see"):
        evaluate_from_nsd(recon, ids + 10_000, nsd, 1, identification=_thumbnails)
    (folder / "reconstruction.json").write_text(json.dumps({"files": index["files"]}))
    with pytest.raises(FileFormatError, match="nsd_ids"):
        read_reconstruction_folder(folder)


def test_a_metric_network_the_user_names_is_scored_in_its_direction(world, tmp_path):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    path = tmp_path / "efficientnet_b1.pth"
    torch.save(torchvision.models.get_model("efficientnet_b1", weights=None).state_dict(), path)
    n = 6
    evaluation, _ = evaluate_reconstruction(
        world["seen"][:n], world["seen"][:n], nsd_ids=world["ids"][:n], train_responses=world["train"],
        train_images=world["train_images"], test_responses=world["test"][:n], identification=_flat,
        metric_networks={"efficientnet-b1": path})
    assert list(evaluation.per_image) == [IDENTIFICATION, "efficientnet-b1 distance", "PixCorr", "SSIM"]
    assert evaluation.higher_is_better["efficientnet-b1 distance"] is False
    np.testing.assert_allclose(evaluation.per_image["efficientnet-b1 distance"]["reconstruction"], 0.0, atol=1e-6)

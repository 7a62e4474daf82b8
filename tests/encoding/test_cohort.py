"""Tests of the simulated cohort (encoding.simulation)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encoding.simulation import (
    Anatomy,
    Cohort,
    SimulatedBrain,
    SimulatedSubject,
    category_labels,
    estimate_ncsnr,
    load_ground_truth,
    save_ground_truth,
    simulate_cohort,
)
from encoding.simulation.rois import CATEGORY_ROIS, EARLY_AREAS, fsaverage5_geometry
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    MeshUnavailableError,
    OutputExistsError,
)
from neurokit.metrics import ncsnr_to_noise_ceiling, pearson_r

SMALL = dict(n_subjects=3, n_images=120, n_shared=30, level=4, seed=0, progress=False)


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return simulate_cohort(**SMALL)


def _visual(masks):
    vis = np.zeros_like(masks["nsdgeneral"])
    for name, m in masks.items():
        if name != "nsdgeneral":
            vis |= m
    return vis


def test_structure(cohort):
    assert len(cohort.subjects) == 3 and cohort.n_vertices == 2 * 2562
    assert cohort.images.shape == (30 + 3 * 90, 96, 96, 3)
    assert cohort.design.subjectim.shape == (3, 120)
    np.testing.assert_array_equal(cohort.image_ids(2)[:30], cohort.shared_ids)
    masks = cohort.roi_masks(1)
    for name in (*EARLY_AREAS, *sum(CATEGORY_ROIS.values(), ())):
        assert masks[name].sum() > 0, name
        assert not (masks[name] & ~masks["nsdgeneral"]).any(), f"{name} outside nsdgeneral"
    # early areas on the occipital pole, both hemispheres
    half = cohort.n_vertices // 2
    assert masks["V1v"][:half].any() and masks["V1v"][half:].any()
    with pytest.raises(DataValidationError, match="subject"):
        cohort.subject(4)
    assert cohort.subject(np.int64(2)) is cohort.subject(2)  # one idea of an integer


def test_roi_placement_is_anatomical():
    geo = fsaverage5_geometry()["left"]
    s = geo["sphere"] / 100.0
    anat = Anatomy.template("left")
    ret = anat.retinotopy(s)
    pial = geo["pial"]
    v1 = pial[np.isin(ret["area"], [0, 1])].mean(0)
    assert v1[1] < -70  # occipital
    ffa = pial[anat.category_distance(s)["FFA-1"] < anat.radii["FFA-1"]].mean(0)
    assert ffa[2] < 0 and -75 < ffa[1] < -40  # ventral temporal
    # left hemisphere sees the right visual field; dorsal V1 sees the lower field
    assert (ret["x"][ret["area"] >= 0] >= 0).all()
    assert np.median(ret["y"][ret["area"] == EARLY_AREAS.index("V1d")]) < 0
    assert np.median(ret["y"][ret["area"] == EARLY_AREAS.index("V1v")]) > 0


def test_determinism_per_seed(cohort):
    small = dict(SMALL, n_subjects=1, n_images=30, n_shared=30)
    a, b = simulate_cohort(**small), simulate_cohort(**small)
    c = simulate_cohort(**dict(small, seed=1))
    np.testing.assert_array_equal(a.trials(1), b.trials(1))
    np.testing.assert_array_equal(a.subject(1).labels["floc-faces"], b.subject(1).labels["floc-faces"])
    assert not np.allclose(a.clean_responses(1), c.clean_responses(1))


def test_noise_ceilings_inside_vs_outside(cohort):
    subj = cohort.subject(1)
    masks = subj.roi_masks()
    ncsnr = estimate_ncsnr(cohort.trials(1), cohort.design.masterordering, cohort.params.trials_per_session)
    nc = ncsnr_to_noise_ceiling(ncsnr, 3)
    vis = _visual(masks)
    assert 10 <= np.median(nc[vis]) <= 70
    assert np.percentile(nc[vis], 90) <= 85
    assert np.median(nc[~masks["nsdgeneral"]]) < 3
    true_nc = subj.noise_ceiling(3)
    assert 30 <= np.median(true_nc[vis]) <= 70
    assert (true_nc[~masks["nsdgeneral"]] == 0).all()
    assert 10 <= np.percentile(true_nc[masks["nsdgeneral"]], 5) <= 25
    assert np.corrcoef(nc[masks["nsdgeneral"]], true_nc[masks["nsdgeneral"]])[0, 1] > 0.7
    # the clean response is in noise-SD units: its variance over the reference images is snr^2
    clean = cohort.clean_responses(1, np.arange(len(cohort.images)))
    np.testing.assert_allclose(np.median(clean[:, vis].std(0) / subj.snr[vis]), 1.0, atol=0.1)
    assert np.abs(clean[:, ~masks["nsdgeneral"]]).max() == 0


def test_face_rois_prefer_faces(cohort):
    is_face = cohort.labels["is_face"]
    assert is_face.any() and (~is_face).any()
    means = cohort.subject(1).roi_mean_response(cohort.images, ["FFA-1", "FFA-2", "OFA", "PPA"])
    for roi in ("FFA-1", "FFA-2", "OFA"):
        r = means[roi]
        assert r[is_face].mean() - r[~is_face].mean() > 0.5 * r.std(), roi
    assert means["PPA"][is_face].mean() < means["FFA-1"][is_face].mean()


def test_subjects_differ_but_correlate(cohort):
    shared = cohort.shared_ids
    r1, r2 = cohort.clean_responses(1, shared), cohort.clean_responses(2, shared)
    m1, m2 = cohort.roi_masks(1), cohort.roi_masks(2)
    assert any((m1[n] != m2[n]).any() for n in ("FFA-1", "V1v", "PPA"))  # shifted borders
    for roi in ("V1d", "FFA-1", "PPA"):
        c = np.corrcoef(r1[:, m1[roi]].mean(1), r2[:, m2[roi]].mean(1))[0, 1]
        assert 0.3 < c < 0.995, (roi, c)
    vis = _visual(m1) & _visual(m2)
    per_vertex = pearson_r(r1[:, vis], r2[:, vis])
    assert 0.2 < np.nanmedian(per_vertex) < 0.99


def test_clean_response_any_image_numpy_and_torch(cohort):
    subj = cohort.subject(1)
    rng = np.random.default_rng(0)
    imgs = rng.random((2, 64, 64, 3), dtype=np.float32)  # e.g. a GAN's 64 x 64 output
    a = subj.clean_response(imgs)
    assert a.shape == (2, cohort.n_vertices) and np.isfinite(a).all()
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).clone().requires_grad_(True)
    b = subj.clean_response(x)
    np.testing.assert_allclose(b.detach().numpy(), a, rtol=1e-3, atol=1e-3)
    b[:, subj.roi_masks()["FFA-1"]].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # cached-feature path agrees with the image path
    ids = cohort.image_ids(1)[:3]
    np.testing.assert_allclose(subj.clean_response(cohort.images[ids]), cohort.clean_responses(1, ids),
                               rtol=1e-3, atol=1e-3)


@pytest.fixture(scope="module")
def linear_cohort() -> Cohort:
    return simulate_cohort(**{**SMALL, "n_images": 60, "n_shared": 15}, world="linear-lite0")


@pytest.mark.parametrize("world", ["soc-lite2", "linear-lite0"])
def test_ground_truth_round_trip(world, cohort, linear_cohort, tmp_path):
    cohort = cohort if world == "soc-lite2" else linear_cohort
    path = cohort.save_ground_truth(tmp_path / "sub" / "gt")
    assert sorted(p.name for p in path.parent.iterdir()) == ["gt.json", "gt.safetensors"]  # atomic: no temporaries
    # a write that fails leaves the previous files as they were
    before = {p.name: p.read_bytes() for p in path.parent.iterdir()}
    with pytest.raises(TypeError):  # the JSON is made before either file is replaced
        save_ground_truth(path, cohort.features, cohort.subjects[:1], {"params": object()})
    assert {p.name: p.read_bytes() for p in path.parent.iterdir()} == before
    features, subjects, meta = load_ground_truth(path)
    assert meta["params"]["seed"] == 0 and meta["params"]["world"] == world and len(subjects) == 3
    assert isinstance(subjects[0], SimulatedBrain if world == "soc-lite2" else SimulatedSubject)
    imgs = cohort.images[:4]
    np.testing.assert_allclose(subjects[1].clean_response(imgs), cohort.subject(2).clean_response(imgs), atol=1e-5)
    for k, v in cohort.subject(2).labels.items():
        np.testing.assert_array_equal(subjects[1].labels[k], v)
    with pytest.raises(CheckpointError, match="not found"):
        load_ground_truth(tmp_path / "missing")


def test_written_tree_reads_back_with_nsd_reader(cohort, tmp_path):
    nsd_mod = pytest.importorskip("neurokit.datasets.nsd")
    root = cohort.write(tmp_path / "nsd", progress=False)
    with pytest.raises(OutputExistsError):
        cohort.write(root, progress=False)
    nsd = nsd_mod.NSD(root)
    assert list(nsd.subjects) == [1, 2, 3]
    res = nsd.responses(2)
    # our own preparation: z-score per session, average repeats
    trials = cohort.trials(2)
    tps = cohort.params.trials_per_session
    z = np.concatenate([(b - b.mean(0)) / np.where(b.std(0) > 0, b.std(0), 1) for b in np.split(trials, len(trials) // tps)])
    mo = cohort.design.masterordering
    avg = np.zeros((cohort.params.n_images, z.shape[1]))
    np.add.at(avg, mo, z)
    avg /= np.bincount(mo)[:, None]
    ids = cohort.image_ids(2)
    order = np.argsort(ids)
    np.testing.assert_array_equal(res.nsd_ids, ids[order])
    inside = cohort.roi_masks(2)["nsdgeneral"]
    np.testing.assert_allclose(res.data[:, inside], avg[order][:, inside], atol=1e-3)
    # the averaged data track the ground truth where the signal is strong
    clean = cohort.clean_responses(2, res.nsd_ids)
    strong = cohort.subject(2).snr > 0.6
    assert np.nanmedian(pearson_r(clean[:, strong], res.data[:, strong])) > 0.6
    labels, names = nsd.roi_labels(2, "floc-faces")
    np.testing.assert_array_equal(labels, cohort.subject(2).labels["floc-faces"])
    assert "FFA-1" in names.values()
    # the in-memory preparation is the reader's own
    mem = cohort.responses(2)
    np.testing.assert_array_equal(mem.nsd_ids, res.nsd_ids)
    np.testing.assert_allclose(mem.data[:, inside], res.data[:, inside], atol=1e-3)
    np.testing.assert_allclose(mem.noise_ceiling[inside], res.noise_ceiling[inside], atol=0.5)
    # and the tree rebuilds the cohort, replicates included
    from encoding.simulation import load_cohort

    again = load_cohort(root)
    np.testing.assert_allclose(again.clean_responses(2), cohort.clean_responses(2), atol=1e-5)
    np.testing.assert_allclose(again.replicate(5).clean_responses(1), cohort.replicate(5).clean_responses(1),
                               atol=1e-5)
    assert again.params == cohort.params
    np.testing.assert_array_equal(again.labels["photo"], cohort.labels["photo"])


def test_validation():
    with pytest.raises(MeshUnavailableError, match="level"):
        simulate_cohort(level=6, progress=False)
    with pytest.raises(InvalidParameterError, match="n_shared"):
        simulate_cohort(n_images=10, n_shared=20, progress=False)
    with pytest.raises(InvalidParameterError, match="trials_per_session"):
        simulate_cohort(n_images=10, n_shared=5, trials_per_session=7, progress=False)
    with pytest.raises(DataValidationError, match="stimuli"):
        simulate_cohort(n_subjects=1, n_images=10, n_shared=5,
                        stimuli=(np.zeros((3, 32, 32, 3), np.float32), {"is_face": np.zeros(3, bool)}), progress=False)


def test_worlds_and_their_parameters_are_checked():
    tiny = dict(n_subjects=2, n_images=20, n_shared=10, level=3, image_size=32, seed=0, progress=False)
    lite0 = simulate_cohort(**tiny, world="soc-lite0")
    assert lite0.features.network == "efficientnet-lite0" and lite0.params.world == "soc-lite0"
    lite2 = simulate_cohort(**tiny)
    assert lite2.features.network == "efficientnet-lite2"
    assert not np.allclose(lite0.clean_responses(1), lite2.clean_responses(1))
    with pytest.raises(InvalidParameterError, match="world must be one of"):
        simulate_cohort(**tiny, world="linear-lite2")
    with pytest.raises(InvalidParameterError, match="private_fraction"):
        simulate_cohort(**tiny, private_fraction=1.5)
    with pytest.raises(InvalidParameterError, match="noise_correlation"):
        simulate_cohort(**tiny, noise_correlation=1.0)
    with pytest.raises(InvalidParameterError, match="roi_displacement"):
        simulate_cohort(**tiny, roi_displacement=-1.0)


def test_category_labels():
    out = category_labels({"category": np.array(["face", "scene", "person", "car"])}, 4)
    np.testing.assert_array_equal(out["face"], [1, 0, 0, 0])
    np.testing.assert_array_equal(out["place"], [0, 1, 0, 0])
    np.testing.assert_array_equal(out["body"], [0, 0, 1, 0])
    with pytest.raises(DataValidationError, match="one entry per image"):
        category_labels({"is_face": np.zeros(3, bool)}, 4)


def test_simulate_trials_noise_model():
    """The trial noise on its own: unit variance, a share spatially smooth, one baseline per session, seeded."""
    from encoding.simulation.noise import simulate_trials
    from neurokit.mesh.levels import n_vertices

    level, tps = 3, 200
    clean = np.zeros((4 * tps, 2 * n_vertices(level)), np.float32)
    amplitude = np.full(clean.shape[1], 2.0, np.float32)

    def draw(rho, seed=0):
        return simulate_trials(clean, amplitude, np.random.default_rng(seed), rho, tps, level)

    a, b = draw(0.4), draw(0.4)
    assert a.dtype == np.float32 and a.shape == clean.shape and np.array_equal(a, b)
    assert not np.array_equal(a, draw(0.4, seed=1))
    sessions = a.reshape(4, tps, -1)
    within = sessions - sessions.mean(1, keepdims=True)  # the session baselines removed
    assert abs(within.std() / 2.0 - 1.0) < 0.05  # unit-variance noise times the amplitude
    # smooth noise correlates neighbouring vertices; white noise does not
    sphere = fsaverage5_geometry()["left"]["sphere"][: n_vertices(level)]
    nearest = [int(np.argsort(np.linalg.norm(sphere - sphere[i], axis=1))[1]) for i in range(20)]

    def neighbours(x):  # mean correlation of a vertex with its nearest vertex (left hemisphere)
        return np.mean([np.corrcoef(x[:, i], x[:, j])[0, 1] for i, j in enumerate(nearest)])

    assert neighbours(within.reshape(-1, clean.shape[1])) > 0.2
    white = draw(0.0).reshape(4, tps, -1)
    assert abs(neighbours((white - white.mean(1, keepdims=True)).reshape(-1, clean.shape[1]))) < 0.1

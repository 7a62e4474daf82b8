"""NSD reader and NSD-layout writer on small synthetic trees (fsaverage level 2)."""

from __future__ import annotations

import gzip
import warnings

import nibabel as nib
import numpy as np
import pytest
import scipy.io

from neurokit.datasets import NSD, NSDDesign, NSDLayout, NSDWriter, read_ctab, read_design, write_nsd_layout
from neurokit.exceptions import (
    DatasetNotFoundError,
    DataValidationError,
    FileFormatError,
    InvalidParameterError,
    VertexCountError,
)
from neurokit.mesh.levels import n_vertices

LEVEL = 2
V = n_vertices(LEVEL)  # 162 per hemisphere
T = 15  # trials per session
N_IMAGES = 30
N_REPEATS = 3
N_SESSIONS = N_IMAGES * N_REPEATS // T  # 6


def _labels(rng):
    faces = np.zeros(2 * V, dtype=np.int32)
    faces[10:20] = 1  # OFA (lh)
    faces[30:45] = 2  # FFA-1 (lh)
    faces[V + 5 : V + 25] = 2  # FFA-1 (rh)
    general = np.zeros(2 * V, dtype=np.int32)
    general[rng.choice(2 * V, 100, replace=False)] = 1
    return {"floc-faces": faces, "nsdgeneral": general}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("nsd")
    rng = np.random.default_rng(0)
    design = NSDDesign.simulate(
        n_subjects=2, n_images=N_IMAGES, n_shared=6, n_repeats=N_REPEATS, trials_per_session=T, n_stimuli=80, seed=1
    )
    betas = rng.normal(2.0, 3.0, size=(N_SESSIONS, T, 2 * V)).astype(np.float32)
    # signal shared by repeats, so the noise ceiling is not trivial
    signal = rng.normal(size=(N_IMAGES, 2 * V)).astype(np.float32)
    betas += 2 * signal[design.masterordering].reshape(N_SESSIONS, T, 2 * V)
    betas[2, :, 7] = np.nan  # a vertex without data in one session
    stimuli = rng.integers(0, 256, size=(80, 12, 12, 3), dtype=np.uint8)
    rois = _labels(rng)
    ncsnr = rng.random(2 * V).astype(np.float32)
    write_nsd_layout(
        root, design=design, betas={1: betas}, rois={1: rois}, stimuli=stimuli, ncsnr={1: ncsnr}
    )
    return {"root": root, "design": design, "betas": betas, "stimuli": stimuli, "rois": rois, "ncsnr": ncsnr}


def _direct(betas, design, subject=1):
    """Straightforward z-scoring, averaging and noise ceiling."""
    z = np.empty_like(betas, dtype=np.float64)
    for s in range(betas.shape[0]):
        x = betas[s].astype(np.float64)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN vertex
            z[s] = (x - np.nanmean(x, 0)) / np.nanstd(x, 0)
    z = z.reshape(-1, betas.shape[-1])
    ids = design.subjectim[subject - 1][design.masterordering[: z.shape[0]]]
    uniq = np.unique(ids)
    avg = np.stack([z[ids == i].mean(0) for i in uniq])
    var = np.stack([z[ids == i].var(0, ddof=1) for i in uniq if (ids == i).sum() >= 2])
    v = var.mean(0)
    ncsnr = np.sqrt(np.maximum(0, 1 - v)) / np.sqrt(v)
    counts = np.array([(ids == i).sum() for i in uniq])
    nc = 100 * ncsnr**2 / (ncsnr**2 + np.mean(1 / counts))
    return z, ids, uniq, avg, ncsnr, nc


# ------------------------------------------------------------------------------------
# writer and layout
# ------------------------------------------------------------------------------------
def test_design_file_is_one_based_like_nsd(tree):
    path = NSDLayout(tree["root"]).expdesign
    raw = scipy.io.loadmat(path)
    d = tree["design"]
    assert raw["masterordering"].shape == (1, d.masterordering.size)
    assert raw["subjectim"].shape == d.subjectim.shape
    np.testing.assert_array_equal(raw["masterordering"][0], d.masterordering + 1)
    np.testing.assert_array_equal(raw["subjectim"], d.subjectim + 1)
    np.testing.assert_array_equal(raw["sharedix"][0], d.sharedix + 1)
    back = read_design(path)
    np.testing.assert_array_equal(back.masterordering, d.masterordering)
    np.testing.assert_array_equal(back.subjectim, d.subjectim)


def test_betas_files_have_nsd_layout(tree):
    img = nib.load(NSDLayout(tree["root"]).betas(1, 3, "rh"))
    assert img.shape == (V, 1, 1, T)
    np.testing.assert_array_equal(np.asarray(img.dataobj)[:, 0, 0, :].T, tree["betas"][2][:, V:])


def test_simulated_design_properties():
    d = NSDDesign.simulate(n_subjects=3, n_images=20, n_shared=5, n_repeats=3, trials_per_session=10, n_stimuli=60)
    assert np.all(np.bincount(d.masterordering) == 3)
    for s in range(3):
        np.testing.assert_array_equal(d.subjectim[s, :5], d.sharedix)
    assert len(np.unique(d.subjectim)) == 5 + 3 * 15
    with pytest.raises(InvalidParameterError, match="trials_per_session"):
        NSDDesign.simulate(n_images=20, n_repeats=3, trials_per_session=7, n_shared=5, n_stimuli=1000)


def test_ctab_and_writer_validation(tmp_path):
    w = NSDWriter(tmp_path)
    paths = w.write_roi(1, "floc-places", np.r_[np.zeros(12, int), np.ones(12, int) * 3])
    assert read_ctab(paths[-1]) == {0: "Unknown", 1: "OPA", 2: "PPA", 3: "RSC"}
    with pytest.raises(DataValidationError, match="indices"):
        w.write_roi(1, "floc-places", np.full(24, 9))
    with pytest.raises(VertexCountError):
        w.write_betas_session(1, 1, np.zeros((3, 25)))
    # no temporary files left behind
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


# ------------------------------------------------------------------------------------
# reader
# ------------------------------------------------------------------------------------
def test_trials_and_image_ids(tree):
    nsd = NSD(tree["root"])
    d = tree["design"]
    assert nsd.subjects == [1]
    assert nsd.sessions(1) == list(range(1, N_SESSIONS + 1))
    info = nsd.trials(1, sessions=[2])
    np.testing.assert_array_equal(info["trial"], np.arange(T, 2 * T))
    np.testing.assert_array_equal(info["nsd_id"], d.subjectim[0][d.masterordering[T : 2 * T]])
    np.testing.assert_array_equal(info["session"], 2)
    np.testing.assert_array_equal(nsd.shared1000, np.sort(d.sharedix))
    train, test = nsd.split(1)
    assert set(test) == set(d.sharedix) and not set(train) & set(d.sharedix)
    assert train.size + test.size == N_IMAGES


def test_responses_match_direct_computation(tree):
    nsd = NSD(tree["root"])
    z, ids, uniq, avg, ncsnr, nc = _direct(tree["betas"], tree["design"])
    r = nsd.responses(1)
    assert r.level == LEVEL and r.data.shape == (N_IMAGES, 2 * V) and r.data.dtype == np.float32
    np.testing.assert_array_equal(r.nsd_ids, uniq)
    np.testing.assert_array_equal(r.n_repeats, 3)
    np.testing.assert_array_equal(r.shared, np.isin(uniq, tree["design"].sharedix))
    np.testing.assert_allclose(r.data, avg, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(r.ncsnr, ncsnr, rtol=1e-4)
    np.testing.assert_allclose(r.noise_ceiling, nc, rtol=1e-4)
    assert np.flatnonzero(r.nan_vertices).tolist() == [7]
    # the published-ncsnr path
    np.testing.assert_allclose(nsd.published_ncsnr(1), tree["ncsnr"], rtol=1e-6)


def test_single_trials_and_session_subset(tree):
    nsd = NSD(tree["root"])
    z, ids, *_ = _direct(tree["betas"], tree["design"])
    r = nsd.responses(1, average=False, sessions=[1, 4])
    rows = np.r_[0:T, 3 * T : 4 * T]
    np.testing.assert_allclose(r.data, z[rows], rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(r.nsd_ids, ids[rows])
    np.testing.assert_array_equal(r.trials, rows)


def test_vertex_selection_level_mask_and_roi(tree):
    nsd = NSD(tree["root"])
    full = nsd.responses(1)
    coarse = nsd.responses(1, level=1)
    n1 = n_vertices(1)
    np.testing.assert_allclose(coarse.data, np.c_[full.data[:, :n1], full.data[:, V : V + n1]], rtol=1e-6)
    np.testing.assert_allclose(
        coarse.to_surface().data, full.to_surface().to_level(1).data, rtol=1e-6
    )
    mask = np.zeros(2 * V, bool)
    mask[[3, 50, V + 1, V + 100]] = True
    sub = nsd.responses(1, mask=mask)
    np.testing.assert_array_equal(sub.vertices, [3, 50, V + 1, V + 100])
    np.testing.assert_allclose(sub.data, full.data[:, mask], rtol=1e-6)
    ffa = nsd.responses(1, rois="FFA-1")
    np.testing.assert_array_equal(ffa.vertices, np.flatnonzero(tree["rois"]["floc-faces"] == 2))
    fam = nsd.responses(1, rois=["floc-faces"])
    np.testing.assert_array_equal(fam.vertices, np.flatnonzero(tree["rois"]["floc-faces"] > 0))
    with pytest.raises(DataValidationError, match="boolean"):
        nsd.responses(1, mask=np.ones(10, bool))
    with pytest.raises(DataValidationError, match="unknown ROI"):
        nsd.responses(1, rois="nonsense")
    with pytest.raises(VertexCountError, match="finer"):
        nsd.responses(1, level=3)


def test_roi_means(tree):
    nsd = NSD(tree["root"])
    full = nsd.responses(1)
    means = nsd.roi_means(1, ["OFA", "floc-faces/FFA-1", "nsdgeneral"])
    labels = tree["rois"]
    for j, m in enumerate([labels["floc-faces"] == 1, labels["floc-faces"] == 2, labels["nsdgeneral"] == 1]):
        np.testing.assert_allclose(means.data[:, j], np.nanmean(full.data[:, m], 1), rtol=1e-5)
        assert means.n_vertices[j] == m.sum()
    np.testing.assert_array_equal(means.nsd_ids, full.nsd_ids)


def test_images_ids_and_resize(tree):
    nsd = NSD(tree["root"])
    ids = np.array([5, 0, 5, 79])
    imgs = nsd.images(ids)
    assert imgs.shape == (4, 12, 12, 3) and imgs.dtype == np.float32
    np.testing.assert_allclose(imgs, tree["stimuli"][ids] / 255.0, atol=1e-6)
    small = nsd.images(ids, size=6)
    assert small.shape == (4, 6, 6, 3) and 0 <= small.min() and small.max() <= 1
    with pytest.raises(DataValidationError, match="0-based"):
        nsd.images([80])


def test_partial_read_reads_only_requested_vertices(tmp_path, monkeypatch):
    """Reading level 0 of a level-4 file must not read the whole file."""
    nv = n_vertices(4)
    design = NSDDesign.simulate(n_subjects=1, n_images=20, n_shared=2, n_repeats=3, trials_per_session=60, n_stimuli=30)
    write_nsd_layout(tmp_path, design=design, betas={1: np.random.default_rng(0).normal(size=(1, 60, 2 * nv))})
    read = []

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            out = self.f.read(n)
            read.append(len(out))
            return out

        def readinto(self, b):
            n = self.f.readinto(b)
            read.append(n)
            return n

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

    import builtins

    real_open = builtins.open

    def counting_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        return Counting(f) if str(file).endswith(".mgh") and "b" in mode else f

    monkeypatch.setattr(builtins, "open", counting_open)
    r = NSD(tmp_path).responses(1, level=0)
    assert r.data.shape == (20, 24)
    file_size = NSDLayout(tmp_path).betas(1, 1, "lh").stat().st_size
    assert sum(read) < 0.1 * 2 * file_size


# ------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------
def _copy_tree(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_missing_root_and_session(tree, tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROKIT_NSD_DIR", raising=False)
    with pytest.raises(DatasetNotFoundError, match="NSD root"):
        NSD(tmp_path / "nowhere")
    monkeypatch.setenv("NEUROKIT_NSD_DIR", str(tree["root"]))
    assert NSD().root == tree["root"]
    root = _copy_tree(tree["root"], tmp_path / "copy")
    NSDLayout(root).betas(1, 3, "lh").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"session 3 is missing, expected .*lh\.betas_session03\.mgh"):
        NSD(root).responses(1)
    with pytest.raises(DatasetNotFoundError, match="session 3"):
        NSD(root).responses(1, sessions=[3])
    # sessions without a gap still read
    assert NSD(root).responses(1, sessions=[1, 2]).data.shape[1] == 2 * V


def test_truncated_mgh(tree, tmp_path):
    root = _copy_tree(tree["root"], tmp_path / "copy")
    path = NSDLayout(root).betas(1, 2, "rh")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"rh\.betas_session02\.mgh: truncated"):
        NSD(root).responses(1)
    path.write_bytes(b"garbage")
    with pytest.raises(FileFormatError, match="rh.betas_session02.mgh"):
        NSD(root).responses(1)


def test_label_with_wrong_vertex_count(tree, tmp_path):
    root = _copy_tree(tree["root"], tmp_path / "copy")
    path = NSDLayout(root).roi_label(1, "floc-faces", "lh")
    nib.save(nib.MGHImage(np.zeros((100, 1, 1), np.int32), np.eye(4)), path)
    with pytest.raises(VertexCountError, match=r"lh\.floc-faces_fsaverage\.mgz.*100 vertices"):
        NSD(root).responses(1, rois="FFA-1")
    NSDLayout(root).roi_ctab(1, "nsdgeneral").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"nsdgeneral\.mgz\.ctab"):
        NSD(root).roi_mask(1, "nsdgeneral", LEVEL)


def test_design_without_masterordering(tree, tmp_path):
    root = _copy_tree(tree["root"], tmp_path / "copy")
    path = NSDLayout(root).expdesign
    raw = scipy.io.loadmat(path)
    scipy.io.savemat(path, {"subjectim": raw["subjectim"], "sharedix": raw["sharedix"]})
    with pytest.raises(FileFormatError, match="nsd_expdesign.mat: NSD design file lacks the variable.*masterordering"):
        NSD(root).responses(1)
    path.write_bytes(gzip.compress(b"not a mat file"))
    with pytest.raises(FileFormatError, match="nsd_expdesign.mat"):
        NSD(root).trials(1)
    path.unlink()
    with pytest.raises(DatasetNotFoundError, match="expected .*nsd_expdesign.mat"):
        NSD(root).trials(1)


def test_volume_betas_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    betas = rng.normal(0, 5, size=(4, 5, 3, 7))
    NSDWriter(tmp_path).write_volume_betas(2, 1, betas)
    layout = NSDLayout(tmp_path)
    assert nib.load(layout.volume_betas(2, 1)).get_data_dtype() == np.int16
    back = NSD(tmp_path).volume_betas(2, 1)
    np.testing.assert_allclose(back, betas, atol=0.5 / 300 + 1e-6)
    with pytest.raises(DatasetNotFoundError, match="betas_session02.nii.gz"):
        NSD(tmp_path).volume_betas(2, 2)


def _bad_crc(path):
    raw = bytearray(path.read_bytes())
    raw[-8] ^= 0x01  # the gzip member's CRC-32
    path.write_bytes(bytes(raw))


def test_gzip_files_are_checked_to_the_end(tmp_path):
    """Volumetric betas (.nii.gz) and ROI labels (.mgz) with a bad CRC are refused (nibabel alone accepted them)."""
    rng = np.random.default_rng(4)
    NSDWriter(tmp_path).write_volume_betas(1, 1, rng.normal(0, 5, size=(30, 30, 30, 4)))
    _bad_crc(NSDLayout(tmp_path).volume_betas(1, 1))
    with pytest.raises(FileFormatError, match="betas_session01.nii.gz: corrupt gzip"):
        NSD(tmp_path).volume_betas(1, 1)
    nv = n_vertices(5)
    root = tmp_path / "rois"
    write_nsd_layout(root, rois={1: {"floc-faces": rng.integers(0, 3, size=2 * nv).astype(np.int32)}})
    labels = NSD(root).roi_labels(1, "floc-faces")[0]
    assert labels.shape == (2 * nv,) and labels.dtype == np.int32
    _bad_crc(NSDLayout(root).roi_label(1, "floc-faces", "rh"))
    with pytest.raises(FileFormatError, match=r"rh\.floc-faces_fsaverage\.mgz: corrupt gzip"):
        NSD(root).roi_labels(1, "floc-faces")


def test_published_ncsnr_needs_an_fsaverage_vertex_count(tree, tmp_path):
    root = _copy_tree(tree["root"], tmp_path / "copy")
    path = NSDLayout(root).ncsnr(1, "lh")
    nib.save(nib.MGHImage(np.ones((V + 1, 1, 1), np.float32), np.eye(4)), path)  # was read as its first V values
    with pytest.raises(VertexCountError, match=r"lh\.ncsnr\.mgh"):
        NSD(root).published_ncsnr(1)


def test_dataset_root_order(tmp_path, monkeypatch):
    from neurokit.datasets.roots import dataset_root

    monkeypatch.setenv("NK_TEST_ROOT", str(tmp_path / "from-env"))
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn"))
    assert dataset_root(tmp_path / "given", "NK_TEST_ROOT", "nsd") == tmp_path / "given"
    assert dataset_root(None, "NK_TEST_ROOT", "nsd") == tmp_path / "from-env"
    monkeypatch.delenv("NK_TEST_ROOT")
    assert dataset_root(None, "NK_TEST_ROOT", "nsd") == tmp_path / "nilearn" / "nsd"
    monkeypatch.delenv("NILEARN_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dataset_root(None, "NK_TEST_ROOT", "algonauts2023") == tmp_path / "nilearn_data" / "algonauts2023"


def test_zscore_columns_ignores_nan_and_blanks_constant_columns():
    from neurokit.datasets.nsd_preparation import zscore_columns

    x = np.array([[1.0, 5.0, np.nan], [3.0, 5.0, 2.0], [np.nan, 5.0, 4.0]], dtype=np.float32)
    z = zscore_columns(x.copy())
    np.testing.assert_allclose(z[:, 0], [-1.0, 1.0, np.nan])
    assert np.isnan(z[:, 1]).all()  # constant column
    np.testing.assert_allclose(z[1:, 2], [-1.0, 1.0])

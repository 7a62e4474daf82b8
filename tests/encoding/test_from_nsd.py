"""Tests of encoding.from_nsd: fitting a subject's encoder from an NSD tree (a tiny simulated cohort on disk)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from encoding.from_nsd import NSDEncoderInfo, fit_subject_encoder_from_nsd, nsd_image_features
from encoding.image_encoder import ImageEncoder, image_features
from encoding.ridge import RidgeEncoder
from neurokit.datasets import NSD
from neurokit.exceptions import DataValidationError, DatasetNotFoundError, InvalidParameterError
from neurokit.metrics import pearson_r
from neurokit.mesh.levels import n_vertices

from encoding.features import DEFAULT_FEATURES, default_extractor  # noqa: E402

TINY = dict(n_subjects=2, n_images=100, n_shared=20, level=3, image_size=64, seed=3, progress=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, make_cohort):
    """A 2-subject level-3 cohort written as an NSD tree, with every stimulus's features."""
    cohort = make_cohort(**TINY)
    root = cohort.write(tmp_path_factory.mktemp("nsd") / "nsd", progress=False)
    nsd = NSD(root)
    ids = np.arange(len(cohort.images))
    kw = DEFAULT_FEATURES
    X = nsd_image_features(nsd, ids, default_extractor(64), kw, image_size=64, chunk_size=64)
    return cohort, nsd, (ids, X)


@pytest.fixture(scope="module")
def image_fit(tiny):
    """Subject 1 fitted through the image path (stimuli read and featurised), as a differentiable module."""
    cohort, nsd, _ = tiny
    return _fit(tiny, features=None, extractor=default_extractor(64),
                extract_kwargs=DEFAULT_FEATURES, image_size=64, as_module=True)


def _fit(tiny, **kwargs):
    cohort, nsd, feats = tiny
    kwargs.setdefault("features", feats)
    return fit_subject_encoder_from_nsd(nsd, 1, alphas=np.logspace(-1, 5, 7), progress=False, **kwargs)


def test_nsd_image_features_match_image_features(tiny):
    cohort, nsd, (ids, X) = tiny
    ext, kw = default_extractor(64), DEFAULT_FEATURES
    pick = np.array([5, 0, 17, 5])  # any order, repeats allowed
    expected = image_features(ext, nsd.images(pick, size=64), kw)
    got = nsd_image_features(nsd.root, pick, ext, kw, image_size=64, chunk_size=3)  # a root path works too
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(X[pick], expected, rtol=1e-5, atol=1e-5)
    assert X.dtype == np.float32 and X.shape == (len(cohort.images), expected.shape[1])
    with pytest.raises(DataValidationError, match="nsd_ids"):
        nsd_image_features(nsd, np.array([0.5]), ext, kw)
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        nsd_image_features(nsd, pick, ext, kw, chunk_size=0)


def test_fit_from_images_reports_held_out_accuracy(tiny, image_fit):
    cohort, nsd, feats = tiny
    enc, info = image_fit
    assert isinstance(enc, ImageEncoder) and isinstance(info, NSDEncoderInfo)
    nv = 2 * n_vertices(3)
    assert enc.n_targets == nv and info.vertices.tolist() == list(range(nv))
    np.testing.assert_array_equal(info.test_ids, np.sort(cohort.shared_ids))
    np.testing.assert_array_equal(info.train_ids, np.sort(cohort.image_ids(1)[20:]))
    assert info.image_size == 64 and info.extract_kwargs["layers"] == ["stage3", "pool"]
    # the differentiable encoder reproduces the reported held-out accuracy
    resp = nsd.responses(1)
    test = np.isin(resp.nsd_ids, info.test_ids)
    pred = enc.predict(nsd.images(info.test_ids, size=64))
    np.testing.assert_allclose(pearson_r(resp.data[test], pred), info.test_r, atol=2e-3)
    x = torch.from_numpy(nsd.images(info.test_ids[:1], size=64)).permute(0, 3, 1, 2).requires_grad_(True)
    enc(x)[0, :10].sum().backward()
    assert x.grad.abs().sum() > 0
    # accuracy follows the signal: strong-SNR vertices are predicted, silent ones are not
    subj = cohort.subject(1)
    strong, silent = subj.snr > 0.6, ~subj.roi_masks()["nsdgeneral"]
    # 80 training images of a world no model shares: measured 0.24 (0.5+ on the linear world); chance is 0
    assert np.median(info.test_r[strong]) > 0.15
    assert abs(np.median(info.test_r[silent])) < 0.15
    assert info.summary(strong)["median_noise_normalized"] > 3 * np.nanmedian(info.noise_normalized[silent])
    # noise ceiling: NSD's formula on the 3-repeat test averages, tracking the true ceiling
    assert np.corrcoef(info.noise_ceiling[strong], subj.noise_ceiling(3)[strong])[0, 1] > 0.5
    assert np.all((info.noise_ceiling >= 0) & (info.noise_ceiling <= 100))


def test_precomputed_features_give_the_same_fit(tiny, image_fit):
    cohort, nsd, feats = tiny
    ridge, info = _fit(tiny)
    enc, info2 = image_fit
    assert isinstance(ridge, RidgeEncoder)
    np.testing.assert_allclose(info.test_r, info2.test_r, atol=1e-4)
    X = feats[1][info.test_ids]
    np.testing.assert_allclose(ridge.predict(X), enc.readout(torch.from_numpy(X)).detach().numpy(), atol=1e-3)
    assert info.extract_kwargs == {} and info.image_size is None
    s = info.summary()
    assert s["n_train"] == 80 and s["n_test"] == 20 and s["n_vertices"] == 2 * n_vertices(3)
    # precomputed features must cover every image used
    ids, X = feats
    with pytest.raises(DataValidationError, match="no precomputed features"):
        _fit(tiny, features=(ids[:50], X[:50]))
    with pytest.raises(DataValidationError, match="shape"):
        _fit(tiny, features=(ids, X[:-1]))
    with pytest.raises(InvalidParameterError, match="pair"):
        _fit(tiny, features=X)


def test_train_subset_level_and_rois(tiny):
    cohort, nsd, feats = tiny
    own = np.sort(cohort.image_ids(1)[20:])
    _, info = _fit(tiny, train=own[::2][::-1], level=2, rois="nsdgeneral")
    np.testing.assert_array_equal(info.train_ids, own[::2])
    assert info.level == 2
    inside = cohort.subject(1).roi_masks()["nsdgeneral"]
    coarse = np.concatenate([inside[: n_vertices(2)], inside[n_vertices(3) : n_vertices(3) + n_vertices(2)]])
    np.testing.assert_array_equal(info.vertices, np.flatnonzero(coarse))
    assert info.test_r.shape == info.noise_ceiling.shape == (coarse.sum(),)


def test_pca_is_fitted_on_training_images_only(tiny):
    from encoding.features import EfficientNetLite0Extractor

    cohort, nsd, _ = tiny
    ext = EfficientNetLite0Extractor(input_size=64)
    kw = {"layers": ["stage3", "pool"], "pooling": "avg", "pca": 8}
    own = np.sort(cohort.image_ids(1)[20:])[:30]
    enc, info = _fit(tiny, features=None, extractor=ext, extract_kwargs=kw, train=own, image_size=64,
                     as_module=True)
    assert info.n_features == 16 and info.extract_kwargs["pca"] == 8
    assert {layer: p.n_samples_ for layer, p in ext.pca_.items()} == {"stage3": 30, "pool": 30}
    np.testing.assert_allclose(ext.pca_["pool"].mean_, image_features(ext, nsd.images(own, size=64),
                                                                      {"layers": ["pool"]}).mean(0), atol=1e-4)
    assert enc(torch.rand(2, 3, 64, 64)).shape == (2, 2 * n_vertices(3))


def test_nan_vertices_are_reported_and_zeroed(tiny, tmp_path):
    import nibabel as nib

    cohort, nsd, feats = tiny
    root = shutil.copytree(nsd.root, tmp_path / "nsd")
    copy = NSD(root)
    path = copy.layout.betas(1, 1, "lh")
    img = nib.load(path)
    data = np.asarray(img.dataobj).copy()
    data[7] = 1.0  # constant in session 1: z-scoring gives NaN
    data[9, ..., 4] = np.nan  # one NaN beta
    nib.save(nib.MGHImage(data, img.affine, img.header), path)
    ridge, info = fit_subject_encoder_from_nsd(copy, 1, features=feats, progress=False)
    assert info.nan_vertices[[7, 9]].all() and info.nan_vertices.sum() == 2
    assert info.test_r[7] == 0 and info.test_r[9] == 0
    assert np.isfinite(ridge.coef_).all()
    assert info.summary()["n_vertices"] == 2 * n_vertices(3) - 2


def test_validation(tiny, tmp_path):
    cohort, nsd, feats = tiny
    with pytest.raises(DataValidationError, match="shared1000"):
        _fit(tiny, train=cohort.shared_ids[:5])
    with pytest.raises(DataValidationError, match="did not see"):
        _fit(tiny, train=cohort.image_ids(2)[30:40])
    with pytest.raises(DataValidationError, match="at least 2"):
        _fit(tiny, train=cohort.image_ids(1)[20:21])
    with pytest.raises(InvalidParameterError, match="train"):
        _fit(tiny, train="all")
    with pytest.raises(InvalidParameterError, match="extractor"):
        _fit(tiny, as_module=True)
    with pytest.raises(InvalidParameterError, match="nsd_or_root"):
        fit_subject_encoder_from_nsd(42, 1)
    with pytest.raises(DatasetNotFoundError):
        fit_subject_encoder_from_nsd(tmp_path / "missing", 1)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        _fit(tiny, batch_size=0)
    _, info = _fit(tiny)
    with pytest.raises(DataValidationError, match="mask"):
        info.summary(np.ones(3, bool))

"""encoding.image_encoder: the differentiable image -> response encoder equals the numpy path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from encoding import EfficientNetLite0Extractor, PersonalizedEnsembleEncoder, RidgeEncoder
from encoding.image_encoder import ImageEncoder, check_extract_kwargs, fit_image_encoder, image_features
from neurokit.exceptions import DataValidationError, InvalidParameterError, NotFittedError

KW = {"layers": ["stage2", "stage3"], "pooling": "grid", "grid_size": 2}


@pytest.fixture(scope="module")
def extractor():
    # the packaged ImageNet weights (realistic feature scales) at a small input size: fast
    return EfficientNetLite0Extractor(input_size=32)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.random((24, 40, 48, 3), dtype=np.float32)  # not square: the extractor crops
    targets = rng.standard_normal((24, 7)).astype(np.float32)
    return images, targets


def _torch_predict(encoder: ImageEncoder, images: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return encoder(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()


@pytest.mark.parametrize("kw", [KW, {"layers": "stage3", "pooling": "avg"}, {"layers": ["stage2"], "pooling": "max"}])
def test_torch_path_equals_ridge_predict_on_extracted_features(extractor, data, kw):
    images, targets = data
    X = image_features(extractor, images, kw)
    ridge = RidgeEncoder(alphas=[1e-2, 1.0, 1e2]).fit(X, targets)
    encoder = ImageEncoder(extractor, kw, ridge)
    expected = ridge.predict(X)
    assert encoder.n_targets == 7 and encoder.features(torch.rand(1, 3, 32, 32)).shape[1] == X.shape[1]
    np.testing.assert_allclose(_torch_predict(encoder, images), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(encoder.predict(images, batch_size=5), expected, rtol=1e-4, atol=1e-4)


def test_extractor_pca_pipeline_and_ensemble_are_reproduced(extractor, data):
    images, targets = data
    ext = EfficientNetLite0Extractor(input_size=32)  # its own PCA state
    kw = {**KW, "pca": 6}
    with pytest.raises(NotFittedError, match="no fitted PCA"):
        ImageEncoder(ext, kw, RidgeEncoder().fit(np.zeros((3, 12)) + np.arange(3)[:, None], np.arange(3.0)))
    X = image_features(ext, images, kw)  # fits the extractor's PCA on these images
    assert X.shape == (24, 12)
    pipe = make_pipeline(StandardScaler(), PCA(5, whiten=True), RidgeEncoder(alphas=[0.1, 10.0])).fit(X, targets)
    enc = ImageEncoder(ext, kw, pipe)
    np.testing.assert_allclose(enc.predict(images), pipe.predict(X), rtol=1e-4, atol=1e-4)
    # personalised ensemble over two "subjects'" ridge encoders
    Xf = image_features(extractor, images, KW)
    sources = [RidgeEncoder(alphas=[a]).fit(Xf, targets + s) for s, a in ((0.0, 1.0), (1.0, 100.0))]
    ensemble = PersonalizedEnsembleEncoder(sources).fit(Xf, targets * 0.5)
    enc = ImageEncoder(extractor, KW, ensemble)
    assert enc.n_targets == 7
    np.testing.assert_allclose(enc.predict(images), ensemble.predict(Xf), rtol=1e-4, atol=1e-4)


def test_gradients_reach_pixels_not_weights_and_network_stays_in_eval(extractor, data):
    images, targets = data
    enc = fit_image_encoder(extractor, images, targets[:, 0], extract_kwargs=KW)
    assert enc.n_targets == 1
    x = torch.rand(3, 3, 36, 36, requires_grad=True)
    out = enc(x)
    assert out.shape == (3, 1)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.parameters())
    enc.train()
    assert enc.training and not enc.network.training  # batch norm keeps its running statistics
    np.testing.assert_allclose(enc.predict(images[:4])[:, 0], enc.predict(images)[:4, 0], rtol=1e-5, atol=1e-5)
    assert enc.training  # predict restores the mode
    assert "stage2" in repr(enc) and "n_targets=1" in repr(enc)


def test_fit_image_encoder_learns_a_linear_function_of_the_features(extractor):
    rng = np.random.default_rng(1)
    images = rng.random((40, 32, 32, 3), dtype=np.float32)
    X = image_features(extractor, images, KW)
    Xc = X - X.mean(0)
    Y = Xc @ np.linalg.svd(Xc, full_matrices=False)[2][:3].T  # the leading feature directions
    enc = fit_image_encoder(extractor, images[:30], Y[:30], extract_kwargs=KW,
                            regressor=RidgeEncoder(alphas=np.logspace(-3, 3, 7)))
    r = [np.corrcoef(enc.predict(images[30:])[:, k], Y[30:, k])[0, 1] for k in range(3)]
    assert min(r) > 0.9


def test_validation_errors_name_the_problem(extractor, data):
    images, targets = data
    X = image_features(extractor, images, KW)
    ridge = RidgeEncoder().fit(X, targets)
    with pytest.raises(InvalidParameterError, match="unknown key"):
        ImageEncoder(extractor, {**KW, "batch": 3}, ridge)
    with pytest.raises(InvalidParameterError, match="unknown layer"):
        check_extract_kwargs(extractor, {"layers": ["conv5"]})
    with pytest.raises(InvalidParameterError, match="pooling"):
        check_extract_kwargs(extractor, {"pooling": "mean"})
    with pytest.raises(InvalidParameterError, match="grid_size"):
        check_extract_kwargs(extractor, {"grid_size": 0})
    with pytest.raises(InvalidParameterError, match="FeatureExtractor"):
        ImageEncoder(torch.nn.Identity(), KW, ridge)
    with pytest.raises(InvalidParameterError, match="to_torch_module"):
        ImageEncoder(extractor, KW, LinearRegression().fit(X, targets))
    with pytest.raises(InvalidParameterError, match="StandardScaler or PCA"):
        from sklearn.preprocessing import PolynomialFeatures

        ImageEncoder(extractor, KW, make_pipeline(PolynomialFeatures(1), RidgeEncoder()).fit(X, targets))
    with pytest.raises(NotFittedError, match="not fitted"):
        ImageEncoder(extractor, KW, RidgeEncoder())
    wrong = ImageEncoder(extractor, {**KW, "grid_size": 1}, ridge)  # fewer features than the ridge saw
    with pytest.raises(DataValidationError, match="fitted on"):
        wrong.predict(images[:2])
    enc = ImageEncoder(extractor, KW, ridge)
    with pytest.raises(InvalidParameterError, match="batch_size"):
        enc.predict(images, batch_size=0)
    with pytest.raises(DataValidationError, match="channels-last"):
        enc(torch.rand(2, 32, 32, 3))

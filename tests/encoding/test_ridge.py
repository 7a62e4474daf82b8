"""Tests of encoding.ridge.RidgeEncoder: against brute force, scikit-learn and itself."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.exceptions
import torch
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from encoding.ridge import (
    DEFAULT_ALPHAS,
    EstimatorNotFittedError,
    RidgeEncoder,
    check_alphas,
    check_targets,
)
from neurokit.exceptions import (
    DataValidationError,
    InvalidParameterError,
    NonFiniteDataError,
    NotFittedError,
)

ALPHAS = np.logspace(-2, 4, 7)


def _problem(n=60, p=15, t=25, seed=0):
    """Known linear model, noise level growing across targets (so best alphas differ)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ rng.standard_normal((p, p)) * 0.5 + rng.standard_normal(p)
    W = rng.standard_normal((p, t))
    noise = rng.standard_normal((n, t)) * np.geomspace(0.05, 30.0, t)
    Y = X @ W + 3.0 + noise
    return X, Y


@parametrize_with_checks([RidgeEncoder(), RidgeEncoder(cv="loo", dtype="float64"), RidgeEncoder(cv=3)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- criteria vs brute force
def _hat(X, alpha, fit_intercept):
    n = X.shape[0]
    Xc = X - X.mean(0) if fit_intercept else X
    H = Xc @ np.linalg.solve(Xc.T @ Xc + alpha * np.eye(X.shape[1]), Xc.T)
    if fit_intercept:
        H += np.full((n, n), 1.0 / n)
    return H


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gcv_matches_explicit_hat_matrix(fit_intercept):
    X, Y = _problem()
    n = X.shape[0]
    enc = RidgeEncoder(ALPHAS, cv="gcv", dtype="float64", fit_intercept=fit_intercept).fit(X, Y)
    brute = np.empty((ALPHAS.size, Y.shape[1]))
    for a, alpha in enumerate(ALPHAS):
        H = _hat(X, alpha, fit_intercept)
        resid = Y - H @ Y
        brute[a] = (resid**2).mean(0) / (1 - np.trace(H) / n) ** 2
    np.testing.assert_allclose(enc.cv_errors_, brute, rtol=1e-8)
    np.testing.assert_array_equal(enc.best_alphas_, ALPHAS[brute.argmin(0)])
    assert len(set(enc.best_alphas_)) > 2  # the problem really exercises the choice


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_loo_matches_refitting_without_each_sample(fit_intercept):
    X, Y = _problem(n=25, p=6, t=8, seed=1)
    n = X.shape[0]
    enc = RidgeEncoder(ALPHAS, cv="loo", dtype="float64", fit_intercept=fit_intercept).fit(X, Y)
    brute = np.zeros((ALPHAS.size, Y.shape[1]))
    for a, alpha in enumerate(ALPHAS):
        for i in range(n):
            keep = np.arange(n) != i
            model = Ridge(alpha=alpha, fit_intercept=fit_intercept).fit(X[keep], Y[keep])
            brute[a] += (Y[i] - model.predict(X[i : i + 1])[0]) ** 2 / n
    np.testing.assert_allclose(enc.cv_errors_, brute, rtol=1e-7)
    np.testing.assert_array_equal(enc.best_alphas_, ALPHAS[brute.argmin(0)])


def test_kfold_matches_refitting_per_fold():
    X, Y = _problem(n=40, p=8, t=10, seed=2)
    splitter = KFold(4, shuffle=True, random_state=0)
    enc = RidgeEncoder(ALPHAS, cv=splitter, dtype="float64").fit(X, Y)
    brute = np.zeros((ALPHAS.size, Y.shape[1]))
    for a, alpha in enumerate(ALPHAS):
        for train, test in splitter.split(X):
            model = Ridge(alpha=alpha).fit(X[train], Y[train])
            brute[a] += ((Y[test] - model.predict(X[test])) ** 2).sum(0) / X.shape[0]
    np.testing.assert_allclose(enc.cv_errors_, brute, rtol=1e-8)
    np.testing.assert_array_equal(enc.best_alphas_, ALPHAS[brute.argmin(0)])
    # an int is an unshuffled KFold
    enc_int = RidgeEncoder(ALPHAS, cv=4, dtype="float64").fit(X, Y)
    enc_kf = RidgeEncoder(ALPHAS, cv=KFold(4), dtype="float64").fit(X, Y)
    np.testing.assert_allclose(enc_int.cv_errors_, enc_kf.cv_errors_)


# ---------------------------------------------------------------- agreement with scikit-learn
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("shape", [(60, 15), (20, 40)])  # n > p and n < p
def test_fixed_alpha_matches_sklearn_ridge(fit_intercept, shape):
    X, Y = _problem(*shape)
    ours = RidgeEncoder([3.0], fit_intercept=fit_intercept, dtype="float64").fit(X, Y)
    ref = Ridge(alpha=3.0, fit_intercept=fit_intercept).fit(X, Y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9, atol=1e-9)
    ours32 = RidgeEncoder([3.0], fit_intercept=fit_intercept).fit(X, Y)
    assert ours32.coef_.dtype == np.float32
    scale = np.abs(ref.predict(X)).max()
    np.testing.assert_allclose(ours32.predict(X), ref.predict(X), atol=1e-4 * scale)


def test_loo_matches_sklearn_ridgecv_alpha_per_target():
    X, Y = _problem()
    ours = RidgeEncoder(ALPHAS, cv="loo", dtype="float64").fit(X, Y)
    ref = RidgeCV(alphas=ALPHAS, alpha_per_target=True).fit(X, Y)
    np.testing.assert_array_equal(ours.best_alphas_, ref.alpha_)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8, atol=1e-8)
    # float32 picks the same alphas on this well-separated grid
    ours32 = RidgeEncoder(ALPHAS, cv="loo").fit(X.astype(np.float32), Y.astype(np.float32))
    np.testing.assert_array_equal(ours32.best_alphas_, ref.alpha_)


# ---------------------------------------------------------------- numerics and batching
def test_float32_stable_on_collinear_badly_scaled_features():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((80, 6))
    X = np.concatenate(
        [base, base[:, :2], base[:, 2:4] * 1e3, base[:, :1] + 1e-7 * rng.standard_normal((80, 1)),
         np.full((80, 1), 5.0)],
        axis=1,
    )  # duplicated, rescaled, nearly duplicated and constant columns
    Y = base @ rng.standard_normal((6, 30)) + 0.1 * rng.standard_normal((80, 30))
    ref = Ridge(alpha=1.0).fit(X, Y)
    ours = RidgeEncoder([1.0]).fit(X.astype(np.float32), Y.astype(np.float32))
    assert np.all(np.isfinite(ours.coef_))
    assert ours.rank_ <= 9  # exact duplicates and the constant column are dropped
    pred, ref_pred = ours.predict(X.astype(np.float32)), ref.predict(X)
    assert np.abs(pred - ref_pred).max() < 1e-3 * np.abs(ref_pred).max()
    # and alpha selection still works and beats a constant predictor
    chosen = RidgeEncoder().fit(X.astype(np.float32), Y.astype(np.float32))
    assert np.all(np.isfinite(chosen.cv_errors_))
    assert chosen.score(X, Y).min() > 0.9


def test_falls_back_to_svd_when_the_eigensolver_fails(monkeypatch):
    import scipy.linalg

    X, Y = _problem()
    ref = RidgeEncoder(ALPHAS, dtype="float64").fit(X, Y)

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("eigenvalues did not converge")

    monkeypatch.setattr(scipy.linalg, "eigh", broken)
    fallback = RidgeEncoder(ALPHAS, dtype="float64").fit(X, Y)
    np.testing.assert_allclose(fallback.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(fallback.best_alphas_, ref.best_alphas_)


@pytest.mark.parametrize("cv", ["gcv", "loo", 3])
def test_batching_over_targets_gives_the_same_result(cv):
    X, Y = _problem(t=23)
    one = RidgeEncoder(ALPHAS, cv=cv).fit(X, Y)
    many = RidgeEncoder(ALPHAS, cv=cv, target_batch_size=5).fit(X, Y)
    np.testing.assert_array_equal(one.best_alphas_, many.best_alphas_)
    np.testing.assert_allclose(one.coef_, many.coef_, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(one.intercept_, many.intercept_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(one.cv_errors_, many.cv_errors_, rtol=1e-5)


def test_float32_gcv_criterion_is_accurate_for_high_snr_targets():
    X, Y = _problem(n=300, p=40, t=25)  # noise from 0.05 (r ~ 1) to 30 (r ~ 0.2)
    f64 = RidgeEncoder(ALPHAS, dtype="float64").fit(X, Y)
    f32 = RidgeEncoder(ALPHAS).fit(X.astype(np.float32), Y.astype(np.float32))
    np.testing.assert_allclose(f32.cv_errors_, f64.cv_errors_, rtol=2e-4)
    np.testing.assert_array_equal(f32.best_alphas_, f64.best_alphas_)


def test_recovers_known_weights_and_generalises():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((500, 10))
    W = rng.standard_normal((10, 40))
    Y = X @ W - 2.0 + 0.05 * rng.standard_normal((500, 40))
    enc = RidgeEncoder().fit(X, Y)
    np.testing.assert_allclose(enc.coef_, W.T, atol=0.02)
    np.testing.assert_allclose(enc.intercept_, -2.0, atol=0.02)
    Xt = rng.standard_normal((100, 10))
    assert enc.score(Xt, Xt @ W).min() > 0.999
    assert np.all(enc.best_alphas_ <= 1.0)  # little noise: weak regularisation wins


def test_pure_noise_targets_choose_the_largest_alpha():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((200, 30))
    Y = rng.standard_normal((200, 12))
    enc = RidgeEncoder(ALPHAS).fit(X, Y)
    assert np.all(enc.best_alphas_ >= 1e3)


# ---------------------------------------------------------------- shapes, interop, errors
def test_shapes_single_and_multi_target():
    X, Y = _problem(t=4)
    enc = RidgeEncoder(ALPHAS).fit(X, Y[:, 0])
    assert enc.coef_.shape == (X.shape[1],) and isinstance(enc.intercept_, float)
    assert enc.predict(X).shape == (X.shape[0],)
    assert enc.best_alphas_.shape == (1,) and enc.cv_errors_.shape == (ALPHAS.size, 1)
    assert isinstance(enc.score(X, Y[:, 0]), float)
    assert enc.score(X, Y[:, 0]) == pytest.approx(np.corrcoef(enc.predict(X), Y[:, 0])[0, 1])
    enc = RidgeEncoder(ALPHAS).fit(X, Y)
    assert enc.coef_.shape == (4, X.shape[1]) and enc.intercept_.shape == (4,)
    r = enc.score(X, Y)
    assert r.shape == (4,)
    pred = enc.predict(X)
    np.testing.assert_allclose(r, [np.corrcoef(pred[:, j], Y[:, j])[0, 1] for j in range(4)], rtol=1e-10)
    assert enc.score(X, Y, multioutput="uniform_average") == pytest.approx(r.mean())
    np.testing.assert_array_equal(enc.best_alphas_, ALPHAS[enc.cv_errors_.argmin(0)])
    assert enc.predict(X.astype(np.float32)).dtype == np.float32
    assert enc.predict(X).dtype == np.float64


def test_to_torch_module_matches_predict_and_passes_gradients():
    X, Y = _problem(t=6)
    enc = RidgeEncoder(ALPHAS).fit(X, Y)
    module = enc.to_torch_module()
    assert not any(p.requires_grad for p in module.parameters())
    x = torch.tensor(X[:5], dtype=torch.float32, requires_grad=True)
    out = module(x)
    np.testing.assert_allclose(out.detach().numpy(), enc.predict(X[:5].astype(np.float32)), rtol=1e-5, atol=1e-4)
    out[:, 2].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tile(enc.coef_[2], (5, 1)), rtol=1e-6)
    single = RidgeEncoder(ALPHAS).fit(X, Y[:, 0]).to_torch_module(requires_grad=True)
    assert single.weight.shape == (1, X.shape[1]) and single.weight.requires_grad


def test_errors_name_the_problem():
    X, Y = _problem(t=3)
    with pytest.raises(EstimatorNotFittedError) as info:
        RidgeEncoder().predict(X)
    assert isinstance(info.value, NotFittedError)
    assert isinstance(info.value, sklearn.exceptions.NotFittedError)
    with pytest.raises(NotFittedError):
        RidgeEncoder().to_torch_module()
    bad = Y.copy()
    bad[7, 1] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"y.*\(7, 1\)"):
        RidgeEncoder().fit(X, bad)
    badx = X.copy()
    badx[0, 0] = np.inf
    with pytest.raises(NonFiniteDataError, match="X"):
        RidgeEncoder().fit(badx, Y)
    with pytest.raises(DataValidationError, match="60 samples but y has 59"):
        RidgeEncoder().fit(X, Y[:-1])
    with pytest.raises(DataValidationError, match="n_samples=1"):
        RidgeEncoder().fit(X[:1], Y[:1])
    with pytest.raises(DataValidationError, match="shape"):
        RidgeEncoder().fit(X, Y[:, :, None])
    for params, match in [
        ({"alphas": [1.0, -1.0]}, "alphas"),
        ({"alphas": []}, "alphas"),
        ({"cv": "kfold"}, "cv"),
        ({"cv": 1}, "cv"),
        ({"dtype": "float16"}, "dtype"),
        ({"target_batch_size": 0}, "target_batch_size"),
        ({"device": "not-a-device"}, "device"),
    ]:
        with pytest.raises(InvalidParameterError, match=match):
            RidgeEncoder(**params).fit(X, Y)
    enc = RidgeEncoder().fit(X, Y)
    with pytest.raises(DataValidationError, match="X has 14 features, but RidgeEncoder is expecting 15"):
        enc.predict(X[:, :-1])
    with pytest.raises(InvalidParameterError, match="multioutput"):
        enc.score(X, Y, multioutput="variance_weighted")
    with pytest.raises(DataValidationError, match="shape"):
        enc.score(X, Y[:, 0])


def test_check_helpers():
    np.testing.assert_array_equal(check_alphas(2.0), [2.0])
    assert check_alphas(DEFAULT_ALPHAS).size == 9
    with pytest.raises(InvalidParameterError, match="myalpha"):
        check_alphas([np.nan], name="myalpha")
    y = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert check_targets(y, 3, where="t") is y  # no copy of float data
    assert check_targets([1, 2, 3], 3, where="t").dtype == np.float64
    with pytest.raises(DataValidationError, match="requires y"):
        check_targets(None, 3, where="t")
    with pytest.raises(DataValidationError, match="real numbers"):
        check_targets(np.array(["a", "b", "c"]), 3, where="t")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    X, Y = _problem(t=50)
    cpu = RidgeEncoder(ALPHAS, cv="loo").fit(X, Y)
    gpu = RidgeEncoder(ALPHAS, cv="loo", device="cuda").fit(X, Y)
    np.testing.assert_array_equal(cpu.best_alphas_, gpu.best_alphas_)
    np.testing.assert_allclose(cpu.coef_, gpu.coef_, rtol=1e-4, atol=1e-5)

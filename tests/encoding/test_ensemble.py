"""Tests of encoding.ensemble.PersonalizedEnsembleEncoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import nnls
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from encoding.ensemble import MAX_POSITIVE_SOURCES, EnsembleModule, PersonalizedEnsembleEncoder
from encoding.ridge import RidgeEncoder
from neurokit.exceptions import (
    DataValidationError,
    InvalidParameterError,
    NonFiniteDataError,
    NotFittedError,
)


@parametrize_with_checks(
    [
        PersonalizedEnsembleEncoder(),
        PersonalizedEnsembleEncoder(regularization=0.1, positive=True),
    ]
)
def test_sklearn_compatible_on_precomputed_predictions(estimator, check):
    check(estimator)


def _mixed(n=80, k=4, t=30, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.standard_normal((n, k, t)) + rng.standard_normal((1, k, t))
    W = rng.uniform(-1, 2, size=(t, k))
    b = rng.standard_normal(t)
    Y = np.einsum("nkt,tk->nt", P, W) + b + noise * rng.standard_normal((n, t))
    return P, Y, W, b


def test_recovers_known_mixing_weights_and_matches_lstsq():
    P, Y, W, b = _mixed()
    enc = PersonalizedEnsembleEncoder().fit(P, Y)
    np.testing.assert_allclose(enc.coef_, W, atol=0.01)
    np.testing.assert_allclose(enc.intercept_, b, atol=0.01)
    for t in (0, 7, 29):  # per-target least squares with an intercept column
        D = np.column_stack([np.ones(P.shape[0]), P[:, :, t]])
        sol = np.linalg.lstsq(D, Y[:, t], rcond=None)[0]
        np.testing.assert_allclose(enc.coef_[t], sol[1:], rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(enc.intercept_[t], sol[0], rtol=1e-9, atol=1e-10)
    no_icpt = PersonalizedEnsembleEncoder(fit_intercept=False).fit(P, Y)
    sol = np.linalg.lstsq(P[:, :, 3], Y[:, 3], rcond=None)[0]
    np.testing.assert_allclose(no_icpt.coef_[3], sol, rtol=1e-9, atol=1e-10)
    assert np.all(no_icpt.intercept_ == 0)


def test_layouts_batches_and_dtypes_agree():
    P, Y, _, _ = _mixed(t=13)
    three_d = PersonalizedEnsembleEncoder().fit(P, Y)
    flat = PersonalizedEnsembleEncoder(target_batch_size=4).fit(P.reshape(P.shape[0], -1), Y)
    np.testing.assert_allclose(three_d.coef_, flat.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(three_d.predict(P), flat.predict(P.reshape(P.shape[0], -1)), rtol=1e-10)
    assert three_d.predict(P.astype(np.float32)).dtype == np.float32
    assert three_d.n_sources_ == 4 and three_d.n_targets_ == 13 and three_d.n_features_in_ == 4 * 13


def _cohort(n_sources=4, p=30, t=60, seed=0):
    """Subjects share a core linear map; the new subject is a per-target mix of the others."""
    rng = np.random.default_rng(seed)
    core = rng.standard_normal((p, t))
    subjects = [core + 0.7 * rng.standard_normal((p, t)) for _ in range(n_sources)]
    mix = rng.dirichlet(np.ones(n_sources), size=t)  # (t, k)
    new = np.einsum("kpt,tk->pt", np.stack(subjects), mix) + 0.1 * rng.standard_normal((p, t))

    def data(W, n, noise=3.0):
        X = rng.standard_normal((n, p))
        return X, X @ W + noise * rng.standard_normal((n, t))

    sources = [RidgeEncoder().fit(*data(W, 1500)) for W in subjects]
    return sources, new, data


def test_beats_ridge_with_few_samples_and_uses_source_encoders():
    sources, W_new, data = _cohort()
    X_few, Y_few = data(W_new, 40)
    X_test, _ = data(W_new, 300)
    Y_test_clean = X_test @ W_new
    ens = PersonalizedEnsembleEncoder(sources).fit(X_few, Y_few)
    ridge = RidgeEncoder().fit(X_few, Y_few)
    r_ens = ens.score(X_test, Y_test_clean)
    r_ridge = ridge.score(X_test, Y_test_clean)
    assert r_ens.mean() > r_ridge.mean() + 0.1
    assert r_ens.mean() > 0.95
    # the same fit on precomputed predictions
    pre = PersonalizedEnsembleEncoder().fit(ens.source_predictions(X_few), Y_few)
    np.testing.assert_allclose(pre.coef_, ens.coef_, rtol=1e-9, atol=1e-12)
    assert ens.source_predictions(X_test).shape == (300, 4, 60)


def test_regularization_shrinks_towards_group_average():
    P, Y, _, _ = _mixed(n=30, noise=1.0)
    ols = PersonalizedEnsembleEncoder().fit(P, Y)
    zero = PersonalizedEnsembleEncoder(regularization=0.0).fit(P, Y)
    np.testing.assert_allclose(zero.coef_, ols.coef_, rtol=1e-9, atol=1e-12)
    mid = PersonalizedEnsembleEncoder(regularization=1.0).fit(P, Y)
    huge = PersonalizedEnsembleEncoder(regularization=1e9).fit(P, Y)
    np.testing.assert_allclose(huge.coef_, 0.25, atol=1e-6)
    dist = lambda e: np.abs(e.coef_ - 0.25).mean()  # noqa: E731
    assert dist(huge) < dist(mid) < dist(ols)
    # closed form for one target: (G + s I) w = c + s / k, s = lam * mean(diag G)
    Pc = P[:, :, 5] - P[:, :, 5].mean(0)
    yc = Y[:, 5] - Y[:, 5].mean()
    G, c = Pc.T @ Pc, Pc.T @ yc
    s = 1.0 * np.trace(G) / 4
    np.testing.assert_allclose(mid.coef_[5], np.linalg.solve(G + s * np.eye(4), c + s / 4), rtol=1e-9)


def test_positive_weights_match_scipy_nnls():
    P, Y, _, _ = _mixed(n=50, k=5, t=12, noise=0.5, seed=3)
    Y = Y - 3.0 * P[:, 0, :]  # make a negative weight the unconstrained optimum
    enc = PersonalizedEnsembleEncoder(positive=True).fit(P, Y)
    assert np.all(enc.coef_ >= 0) and np.any(enc.coef_ == 0)
    for t in range(12):
        Pc = P[:, :, t] - P[:, :, t].mean(0)
        w, _ = nnls(Pc, Y[:, t] - Y[:, t].mean())
        np.testing.assert_allclose(enc.coef_[t], w, atol=1e-8)
    loose = PersonalizedEnsembleEncoder().fit(P, Y)
    assert np.all(loose.coef_[:, 0] < 0)
    # the constrained fit is never better in-sample, and equal where OLS was already non-negative
    assert np.all(enc.score(P, Y) <= loose.score(P, Y) + 1e-12)


def test_duplicate_sources_and_underdetermined_give_minimum_norm():
    P, Y, _, _ = _mixed(k=2, t=5)
    dup = np.concatenate([P, P[:, :1]], axis=1)  # source 0 twice
    enc = PersonalizedEnsembleEncoder().fit(dup, Y)
    ref = PersonalizedEnsembleEncoder().fit(P, Y)
    np.testing.assert_allclose(enc.coef_[:, 0], enc.coef_[:, 2], rtol=1e-8)
    np.testing.assert_allclose(enc.coef_[:, 0] + enc.coef_[:, 2], ref.coef_[:, 0], rtol=1e-8)
    np.testing.assert_allclose(enc.predict(dup), ref.predict(P), rtol=1e-8, atol=1e-8)
    few = PersonalizedEnsembleEncoder().fit(P[:2], Y[:2])  # 2 samples, 2 sources + intercept
    assert np.all(np.isfinite(few.coef_))
    np.testing.assert_allclose(few.predict(P[:2]), Y[:2], atol=1e-8)


def test_single_target_shapes_and_score():
    P, Y, _, _ = _mixed(t=1)
    enc = PersonalizedEnsembleEncoder().fit(P[:, :, 0], Y[:, 0])
    assert enc.coef_.shape == (4,) and isinstance(enc.intercept_, float)
    assert enc.predict(P[:, :, 0]).shape == (P.shape[0],)
    assert isinstance(enc.score(P[:, :, 0], Y[:, 0]), float)
    multi = PersonalizedEnsembleEncoder().fit(P, Y)
    assert multi.score(P, Y).shape == (1,)
    assert isinstance(multi.score(P, Y, multioutput="uniform_average"), float)


def test_clone_shares_fitted_sources_and_torch_module_matches_predict():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((100, 8))
    sources = [RidgeEncoder().fit(X, X @ rng.standard_normal((8, 6))) for _ in range(3)]
    Y = X @ rng.standard_normal((8, 6))
    ens = PersonalizedEnsembleEncoder(sources).fit(X, Y)
    twin = clone(ens)
    assert twin.source_encoders is sources and not hasattr(twin, "coef_")
    np.testing.assert_allclose(twin.fit(X, Y).coef_, ens.coef_)
    module = ens.to_torch_module()
    assert isinstance(module, EnsembleModule)
    x = torch.tensor(X[:4], dtype=torch.float32, requires_grad=True)
    out = module(x)
    np.testing.assert_allclose(out.detach().numpy(), ens.predict(X[:4]), rtol=1e-4, atol=1e-4)
    out[:, 1].sum().backward()
    expected = sum(ens.coef_[1, k] * sources[k].coef_[1] for k in range(3))
    np.testing.assert_allclose(x.grad.numpy()[0], expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(InvalidParameterError, match="precomputed"):
        PersonalizedEnsembleEncoder().fit(ens.source_predictions(X), Y).to_torch_module()


class _Fixed:
    """A source encoder returning a fixed array (for shape errors)."""

    def __init__(self, out):
        self.out = out

    def predict(self, X):
        return self.out


def test_errors_name_the_problem():
    P, Y, _, _ = _mixed(t=6)
    with pytest.raises(NotFittedError):
        PersonalizedEnsembleEncoder().predict(P)
    with pytest.raises(DataValidationError, match="80 samples but y has 79"):
        PersonalizedEnsembleEncoder().fit(P, Y[:-1])
    with pytest.raises(DataValidationError, match="not a multiple"):
        PersonalizedEnsembleEncoder().fit(P.reshape(80, -1)[:, :-1], Y)
    with pytest.raises(DataValidationError, match="6 targets"):
        PersonalizedEnsembleEncoder().fit(P[:, :, :5], Y)
    bad = Y.copy()
    bad[3, 2] = np.nan
    with pytest.raises(NonFiniteDataError, match="y"):
        PersonalizedEnsembleEncoder().fit(P, bad)
    enc = PersonalizedEnsembleEncoder().fit(P, Y)
    with pytest.raises(DataValidationError):
        enc.predict(P[:, :3])  # one source short
    X = np.zeros((80, 2))
    with pytest.raises(DataValidationError, match=r"source_encoders\[1\] predicts shape"):
        PersonalizedEnsembleEncoder([_Fixed(Y), _Fixed(Y[:, :5])]).fit(X, Y)
    with pytest.raises(DataValidationError, match="5 targets but y has 6"):
        PersonalizedEnsembleEncoder([_Fixed(Y[:, :5])]).fit(X, Y)
    nan_pred = Y.copy()
    nan_pred[0, 0] = np.inf
    with pytest.raises(NonFiniteDataError, match=r"source_encoders\[0\]"):
        PersonalizedEnsembleEncoder([_Fixed(nan_pred)]).fit(X, Y)
    for params, match in [
        ({"source_encoders": [object()]}, "predict"),
        ({"source_encoders": []}, "non-empty"),
        ({"regularization": -1.0}, "regularization"),
        ({"target_batch_size": 0}, "target_batch_size"),
    ]:
        with pytest.raises(InvalidParameterError, match=match):
            PersonalizedEnsembleEncoder(**params).fit(X if "source_encoders" in params else P, Y)
    many = np.random.default_rng(0).standard_normal((40, MAX_POSITIVE_SOURCES + 1, 2))
    with pytest.raises(InvalidParameterError, match="at most"):
        PersonalizedEnsembleEncoder(positive=True).fit(many, many[:, 0])

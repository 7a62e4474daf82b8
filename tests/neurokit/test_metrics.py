import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics import r2_score as sk_r2

from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.metrics import (
    ncsnr_to_noise_ceiling,
    noise_ceiling,
    noise_normalized_accuracy,
    pearson_r,
    r2_score,
    two_way_identification,
)


@pytest.fixture
def yy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 7))
    return y, 0.5 * y + rng.normal(size=y.shape)


def test_pearson_matches_scipy_per_column(yy):
    y, p = yy
    r = pearson_r(y, p)
    assert r.shape == (7,) and r.dtype == np.float64
    np.testing.assert_allclose(r, [stats.pearsonr(y[:, j], p[:, j])[0] for j in range(7)], rtol=1e-10)
    assert np.isclose(pearson_r(y[:, 0], p[:, 0]), stats.pearsonr(y[:, 0], p[:, 0])[0])


def test_pearson_torch_is_differentiable_and_agrees(yy):
    y, p = yy
    pt = torch.tensor(p, requires_grad=True)
    r = pearson_r(torch.tensor(y), pt)
    assert isinstance(r, torch.Tensor)
    np.testing.assert_allclose(r.detach().numpy(), pearson_r(y, p), rtol=1e-10)
    (-r.mean()).backward()
    assert pt.grad is not None and torch.isfinite(pt.grad).all()


def test_pearson_constant_columns(yy):
    y, p = yy
    p = p.copy()
    p[:, 2] = 3.0
    assert pearson_r(y, p)[2] == 0.0
    assert np.isnan(pearson_r(y, p, zero_variance="nan")[2])
    assert pearson_r(torch.tensor(y), torch.tensor(p))[2].item() == 0.0
    assert np.isfinite(pearson_r(y, p)[[0, 1, 3]]).all()
    with pytest.raises(DataValidationError, match="same shape"):
        pearson_r(y, p[:, :3])
    with pytest.raises(InvalidParameterError, match="zero_variance"):
        pearson_r(y, p, zero_variance="drop")


def test_r2_matches_sklearn(yy):
    y, p = yy
    np.testing.assert_allclose(r2_score(y, p), sk_r2(y, p, multioutput="raw_values"), rtol=1e-10)
    np.testing.assert_allclose(
        r2_score(torch.tensor(y), torch.tensor(p)).numpy(), sk_r2(y, p, multioutput="raw_values"), rtol=1e-10
    )
    y2 = y.copy()
    y2[:, 0] = 1.0
    p2 = p.copy()
    p2[:, 0] = 1.0
    y2[:, 1] = 2.0
    out = r2_score(y2, p2)
    assert out[0] == 1.0 and out[1] == 0.0
    assert r2_score(y, y).tolist() == [1.0] * 7


def _simulated_repeats(rng, n_images, n_rep, snr):
    signal = rng.normal(size=(n_images, 1, snr.size)) * snr
    noise = rng.normal(size=(n_images, n_rep, snr.size))
    return signal + noise


def test_noise_ceiling_recovers_known_snr():
    rng = np.random.default_rng(1)
    snr = np.array([0.0, 0.3, 1.0, 2.0])
    betas = _simulated_repeats(rng, 4000, 3, snr)
    res = noise_ceiling(betas)
    np.testing.assert_allclose(res.ncsnr[1:], snr[1:], rtol=0.06)
    assert res.ncsnr[0] < 0.15  # sqrt(max(0, .)) is biased upwards at zero signal
    expected = 100 * snr**2 / (snr**2 + 1 / 3)
    np.testing.assert_allclose(res.percent[1:], expected[1:], atol=2.0)
    assert res.percent[0] < 6.0
    single = noise_ceiling(betas, n_average=1).percent
    np.testing.assert_allclose(single[1:], 100 * snr[1:] ** 2 / (snr[1:] ** 2 + 1), atol=2.0)
    assert single[0] < 2.0


def test_noise_ceiling_matches_direct_loop_with_missing_repeats():
    rng = np.random.default_rng(2)
    betas = _simulated_repeats(rng, 40, 3, np.array([0.5, 1.5]))
    betas[:10, 2] = np.nan  # 10 images seen twice
    betas[10:13, 1:] = np.nan  # 3 images seen once: no noise information
    res = noise_ceiling(betas)
    z = (betas - np.nanmean(betas.reshape(-1, 2), 0)) / np.nanstd(betas.reshape(-1, 2), 0)
    for t in range(2):
        variances = []
        for i in range(40):
            v = z[i, :, t][~np.isnan(z[i, :, t])]
            if v.size >= 2:
                variances.append(np.var(v, ddof=1))
        nv = np.mean(variances)
        ncsnr = np.sqrt(max(0, 1 - nv)) / np.sqrt(nv)
        assert np.isclose(res.ncsnr[t], ncsnr)
        # NSD's mixed-repeat formula: (A/3 + B/2 + C/1) / (A + B + C)
        inv_n = (27 / 3 + 10 / 2 + 3 / 1) / 40
        assert np.isclose(res.percent[t], 100 * ncsnr**2 / (ncsnr**2 + inv_n))


def test_noise_ceiling_validation():
    with pytest.raises(DataValidationError, match="n_images, n_repeats"):
        noise_ceiling(np.zeros((3, 4)))
    with pytest.raises(DataValidationError, match="2 repeats"):
        noise_ceiling(np.zeros((3, 1, 4)))
    b = np.random.default_rng(0).normal(size=(5, 2, 3))
    b[:, 1, 2] = np.nan
    with pytest.raises(DataValidationError, match="target 2"):
        noise_ceiling(b)
    with pytest.raises(DataValidationError, match="n_average"):
        ncsnr_to_noise_ceiling([1.0], 0)
    np.testing.assert_allclose(ncsnr_to_noise_ceiling([0.0, 1.0], 1), [0.0, 50.0])


def test_ncsnr_to_noise_ceiling_limits_and_mixed_repeats():
    # noise-free repeats (infinite SNR) explain everything; no repeats (NaN) stay unknown
    np.testing.assert_allclose(ncsnr_to_noise_ceiling(np.array([0.0, 1.0, np.inf, np.nan]), 3), [0, 75, 100, np.nan])
    # images averaged over different numbers of repeats: the mean of 1/n
    np.testing.assert_allclose(ncsnr_to_noise_ceiling(np.array([1.0]), np.array([1, 3])), [100 / (1 + 2 / 3)])
    with pytest.raises(DataValidationError, match="n_average"):
        ncsnr_to_noise_ceiling(np.ones(2), np.array([]))


def test_noise_normalized_accuracy():
    r = np.array([0.5, -0.2, 0.3, 0.1])
    nc = np.array([50.0, 40.0, 9.0, 0.0])
    out = noise_normalized_accuracy(r, nc)
    np.testing.assert_allclose(out[:3], [50.0, 0.0, 100.0])
    assert np.isnan(out[3])
    np.testing.assert_allclose(noise_normalized_accuracy(r, nc / 100, ceiling_in_percent=False)[:3], out[:3])
    with pytest.raises(DataValidationError, match="percent"):
        noise_normalized_accuracy(r, nc / 100 * 300)
    with pytest.raises(DataValidationError, match="same shape"):
        noise_normalized_accuracy(r, nc[:2])


def test_two_way_identification_cases():
    rng = np.random.default_rng(3)
    true = rng.normal(size=(200, 64))
    res = two_way_identification(true.copy(), true)
    assert res.mean == 1.0 and res.per_sample.shape == (200,)
    rand = two_way_identification(rng.normal(size=(200, 64)), true)
    assert 0.45 < rand.mean < 0.55
    noisy = true + 4.0 * rng.normal(size=true.shape)
    for metric in ("correlation", "cosine", "euclidean"):
        assert 0.7 < two_way_identification(noisy, true, metric=metric).mean < 0.99
    # hand-made case: sample 0's prediction is closest to sample 1's truth
    t = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    p = np.array([[0.1, 1.0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    res = two_way_identification(p, t, metric="cosine")
    np.testing.assert_allclose(res.per_sample, [0.5, 1.0, 1.0])
    # torch input and images with trailing dimensions
    tt = torch.tensor(rng.normal(size=(10, 3, 4, 4)))
    assert two_way_identification(tt, tt).mean == 1.0
    with pytest.raises(InvalidParameterError, match="metric"):
        two_way_identification(t, t, metric="l1")
    with pytest.raises(DataValidationError, match="not finite"):
        two_way_identification(np.zeros((3, 4)), t)

"""Tests of the second-order-contrast model (encoding.simulation.soc) and the EfficientNet-Lite2 loader."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encoding.simulation.soc import ContrastEnergy, gabor_bank, prf_weights, second_order_contrast
from neurokit.exceptions import CheckpointError, DataValidationError


def test_gabor_bank_is_zero_mean_unit_norm_quadrature_pairs():
    bank = gabor_bank(64, 8.0, 4)[:, 0].double()
    assert bank.shape[0] == 8
    np.testing.assert_allclose(bank.sum((1, 2)).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(bank.flatten(1).norm(dim=1).numpy(), 1.0, atol=1e-5)
    even, odd = bank[:4].flatten(1), bank[4:].flatten(1)
    # quadrature: each even filter is orthogonal to its odd partner
    np.testing.assert_allclose((even * odd).sum(1).numpy(), 0.0, atol=1e-4)


def _grating(size, cycles, theta, contrast, mask=None):
    y, x = np.mgrid[0:size, 0:size] / size
    g = 0.5 + 0.5 * contrast * np.sin(2 * np.pi * cycles * (x * np.cos(theta) + y * np.sin(theta)))
    if mask is not None:
        g = np.where(mask, g, 0.5)
    return torch.as_tensor(np.repeat(g[None, None], 3, 1), dtype=torch.float32)


def test_energy_is_phase_invariant_and_grows_with_contrast():
    model = ContrastEnergy(64, wavelengths=(1 / 8,), map_size=8)
    low, high = _grating(64, 8, 0.0, 0.2), _grating(64, 8, 0.0, 0.8)
    shifted = torch.roll(high, 2, dims=3)  # a phase shift of the same grating
    maps = model(torch.cat([low, high, shifted]))
    centre = maps[:, 0, 2:6, 2:6].mean((1, 2))
    assert centre[1] > centre[0] * 1.2
    assert abs(float(centre[1] - centre[2])) < 0.05 * float(centre[1])


def test_second_order_contrast_prefers_contrast_variation_inside_the_prf():
    """The SOC signature (Kay et al. 2013): a grating filling half the pRF drives it more than a full field."""
    model = ContrastEnergy(64, wavelengths=(1 / 8,), map_size=16)
    size = 64
    half = np.zeros((size, size), bool)
    half[:, : size // 2] = True
    full, part = _grating(size, 8, 0.3, 0.8), _grating(size, 8, 0.3, 0.8, mask=half)
    maps = model(torch.cat([full, part]))
    w = torch.as_tensor(prf_weights(np.array([0.0]), np.array([0.0]), np.array([0.5]), 16))
    one = torch.ones(1, 1)
    resp_c1 = second_order_contrast(maps, w, one, torch.tensor([0.99]), torch.tensor([1.0]))
    assert resp_c1[1, 0] > 2 * resp_c1[0, 0]
    # with c = 0 the response is the pRF's mean squared contrast: the full field wins
    resp_c0 = second_order_contrast(maps, w, one, torch.tensor([0.0]), torch.tensor([1.0]))
    assert resp_c0[0, 0] > resp_c0[1, 0]


def test_compressive_exponent_and_gradients():
    model = ContrastEnergy(32, map_size=8)
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    maps = model(x)
    w = torch.as_tensor(prf_weights(np.array([0.2, -0.3]), np.array([0.1, 0.4]), np.array([0.3, 0.5]), 8))
    mix = torch.full((2, 2), 0.5)
    lin = second_order_contrast(maps, w, mix, torch.tensor([0.9, 0.9]), torch.tensor([1.0, 1.0]))
    comp = second_order_contrast(maps, w, mix, torch.tensor([0.9, 0.9]), torch.tensor([0.2, 0.2]))
    np.testing.assert_allclose(comp.detach().numpy(), (lin.detach().numpy() + 1e-6) ** 0.2, rtol=1e-3)
    comp.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_prf_weights_sum_to_one_and_sit_where_asked():
    w = prf_weights(np.array([0.5, -0.5]), np.array([0.5, -0.5]), np.array([0.1, 0.1]), 16).reshape(2, 16, 16)
    np.testing.assert_allclose(w.sum((1, 2)), 1.0, rtol=1e-5)
    r0, c0 = np.unravel_index(w[0].argmax(), (16, 16))
    assert c0 >= 8 and r0 < 8  # right and up (row 0 is the top)
    r1, c1 = np.unravel_index(w[1].argmax(), (16, 16))
    assert c1 < 8 and r1 >= 8


def test_contrast_energy_rejects_bad_settings():
    with pytest.raises(DataValidationError, match="map_size"):
        ContrastEnergy(32, map_size=64)


def test_lite2_loads_with_strict_keys_and_refuses_lite0_weights(tmp_path):
    from safetensors.torch import save_file

    from encoding.features import EfficientNetLite2Extractor, load_efficientnet_lite
    from encoding.features.efficientnet import default_weights_path

    model = load_efficientnet_lite("lite2")
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(6.09e6, rel=0.01)
    lite0 = torch.load(default_weights_path("lite0"), map_location="cpu", weights_only=True)
    path = tmp_path / "lite0.safetensors"
    save_file({k: v.contiguous() for k, v in lite0.items()}, str(path))
    with pytest.raises(CheckpointError, match="not an EfficientNet-Lite2 state dict"):
        load_efficientnet_lite("lite2", path)
    ext = EfficientNetLite2Extractor(input_size=64)
    feats = ext.extract(np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32), layers=["stage7", "pool"],
                        progress=False)
    assert feats["stage7"].shape == (2, 352) and feats["pool"].shape == (2, 1280)

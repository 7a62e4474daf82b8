"""Objectives: exact values on constructed predictions, composition, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurogen.objectives import (
    LatentPenalty,
    ROIActivation,
    ROIContrast,
    SubjectContrast,
    TargetPattern,
    WeightedSum,
    resolve_roi,
)

PRED = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 5.0, 2.0]])


def test_resolve_roi_forms():
    assert resolve_roi(2, 4).tolist() == [2]
    assert resolve_roi([3, 1, 1], 4).tolist() == [1, 3]
    assert resolve_roi(np.array([True, False, True, False]), 4).tolist() == [0, 2]
    assert resolve_roi(torch.tensor([False, True, False, False]), 4).tolist() == [1]
    with pytest.raises(DataValidationError, match=r"shape \(4,\)"):
        resolve_roi(np.ones(5, bool), 4, "ffa")
    with pytest.raises(DataValidationError, match=r"0\.\.3"):
        resolve_roi([4], 4)
    with pytest.raises(DataValidationError, match="empty"):
        resolve_roi(np.zeros(4, bool), 4)
    with pytest.raises(DataValidationError, match="dtype"):
        resolve_roi([0.5], 4)


def test_roi_activation_max_and_min():
    up = ROIActivation([0, 1])
    assert torch.allclose(up(PRED), torch.tensor([-1.5, 0.5]))
    assert torch.allclose(up.value(PRED), torch.tensor([1.5, -0.5]))
    down = ROIActivation([0, 1], maximize=False, name="FFA down")
    assert torch.allclose(down(PRED), torch.tensor([1.5, -0.5]))
    assert down.name == "FFA down" and up.name.startswith("max")
    # a mask over vertex-level outputs is the same ROI
    mask = np.array([True, True, False, False])
    assert torch.allclose(ROIActivation(mask)(PRED), up(PRED))


def test_roi_activation_gradient_is_the_roi_average():
    pred = PRED.clone().requires_grad_(True)
    ROIActivation([2, 3])(pred).sum().backward()
    assert torch.allclose(pred.grad, torch.tensor([[0, 0, -0.5, -0.5]] * 2))


def test_roi_contrast():
    c = ROIContrast(2, [0, 1])
    assert torch.allclose(c(PRED), -torch.tensor([3 - 1.5, 5 - (-0.5)]))


def test_subject_contrast_uses_two_encoders():
    preds = {"subj01": PRED, "subj02": PRED * 2}
    sc = SubjectContrast(3, "subj01", "subj02")
    assert torch.allclose(sc(preds), -(PRED[:, 3] - 2 * PRED[:, 3]))
    assert sc.encoders == ("subj01", "subj02")
    assert torch.allclose(SubjectContrast(3, "subj02", "subj01", roi_b=0)(preds), -(2 * PRED[:, 3] - PRED[:, 0]))
    with pytest.raises(DataValidationError, match="subj03"):
        SubjectContrast(3, "subj01", "subj03")(preds)
    with pytest.raises(InvalidParameterError, match="two different"):
        SubjectContrast(3, "subj01", "subj01")


def test_target_pattern_mse_and_correlation():
    tp = TargetPattern([0, 1, [2, 3]], [1.0, 2.0, 3.5])
    assert torch.allclose(tp(PRED), torch.tensor([0.0, ((0 - 1) ** 2 + (-1 - 2) ** 2 + (3.5 - 3.5) ** 2) / 3]))
    corr = TargetPattern([0, 1, [2, 3]], [10.0, 20.0, 35.0], metric="correlation")
    assert float(corr(PRED)[0]) == pytest.approx(0.0, abs=1e-6)  # same shape, different scale
    means = np.array([0.0, -1.0, 3.5])
    r = np.corrcoef(means, [10, 20, 35])[0, 1]
    assert float(corr(PRED)[1]) == pytest.approx(1 - r, abs=1e-5)
    with pytest.raises(DataValidationError, match="one value per ROI"):
        TargetPattern([0, 1], [1.0])
    with pytest.raises(InvalidParameterError, match="metric"):
        TargetPattern([0, 1], [1.0, 2.0], metric="cosine")
    with pytest.raises(DataValidationError, match="at least two"):
        TargetPattern([0], [1.0], metric="correlation")


def test_latent_penalty_and_weighted_sum():
    z = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    pen = LatentPenalty(0.1)
    assert torch.allclose(pen(PRED, z), torch.tensor([0.5, 0.9]))
    with pytest.raises(DataValidationError, match="latents"):
        pen(PRED)
    total = ROIActivation(3) + 0.5 * ROIActivation(0, maximize=False) + pen
    assert isinstance(total, WeightedSum) and len(total.terms()) == 3
    expected_loss = -PRED[:, 3] + 0.5 * PRED[:, 0] + torch.tensor([0.5, 0.9])
    assert torch.allclose(total(PRED, z), expected_loss)
    # the value ignores the regulariser
    assert torch.allclose(total.value(PRED), PRED[:, 3] - 0.5 * PRED[:, 0])
    assert torch.allclose((-ROIActivation(3))(PRED), PRED[:, 3])
    assert total.describe()["terms"][2]["weight"] == 1.0
    with pytest.raises(InvalidParameterError, match="weight"):
        LatentPenalty(-1)


def test_prediction_validation():
    with pytest.raises(DataValidationError, match=r"\(n, n_targets\)"):
        ROIActivation(0)(torch.zeros(3))
    with pytest.raises(DataValidationError, match="'encoder'"):
        ROIActivation(0)({"other": PRED})
    with pytest.raises(DataValidationError, match="samples"):
        SubjectContrast(0, "a", "b")({"a": PRED, "b": PRED[:1]})

"""Objectives over predicted responses: ROI activation, target patterns, contrasts, latent penalties.

An objective turns the predictions of one or more differentiable encoders into
a per-sample **loss** of shape (n,) (lower is better), so the optimiser can
sum it and follow its gradient back to the generator's latents. Its
**value** (:meth:`Objective.value`) is minus the loss of its non-regularising
terms -- the quantity whose best step is kept (NeuroGen keeps the step with the
highest predicted activation, ignoring the latent penalty).

Predictions are a mapping ``{encoder_name: Tensor (n, n_targets)}`` (several
encoders, e.g. one per subject, for subject contrasts), or a single tensor,
which stands for ``{"encoder": tensor}``. ROIs are target indices into the
encoder's outputs: an int, a sequence of ints, or a boolean mask of length
``n_targets`` (numpy or torch). The targets may be ROI means (one output per
ROI, as in NeuroGen) or vertices (a mask over fsaverage vertices).

Objectives compose: ``ROIActivation(3) + 0.5 * ROIActivation(7, maximize=False)``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Union

import numpy as np
import torch

from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_option, check_real, is_real

#: Name of the encoder when a single one is used.
DEFAULT_ENCODER = "encoder"

ROISpec = Union[int, Sequence[int], np.ndarray, torch.Tensor]
Predictions = Union[torch.Tensor, Mapping[str, torch.Tensor]]


def as_predictions(predictions: Predictions) -> dict[str, torch.Tensor]:
    """Normalise predictions to ``{encoder_name: Tensor (n, n_targets)}`` and check shapes."""
    if isinstance(predictions, torch.Tensor):
        predictions = {DEFAULT_ENCODER: predictions}
    if not isinstance(predictions, Mapping) or not predictions:
        raise DataValidationError(
            "predictions must be a Tensor (n, n_targets) or a non-empty mapping {encoder_name: Tensor}, "
            f"got {type(predictions).__name__}"
        )
    n = None
    for name, pred in predictions.items():
        if not isinstance(pred, torch.Tensor) or pred.ndim != 2:
            got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
            raise DataValidationError(f"predictions[{name!r}] must be a Tensor (n, n_targets), got {got}")
        if n is not None and pred.shape[0] != n:
            raise DataValidationError(
                f"predictions[{name!r}] has {pred.shape[0]} samples but another encoder has {n}"
            )
        n = pred.shape[0]
    return dict(predictions)


def resolve_roi(roi: ROISpec, n_targets: int, name: str = "roi") -> torch.Tensor:
    """Target indices (long tensor, sorted unique) of an ROI given as index(es) or a boolean mask.

    Parameters
    ----------
    roi : int, sequence of int, or bool/int array or tensor
        The ROI; a boolean mask must have length ``n_targets``.
    n_targets : int
        Number of encoder outputs.
    name : str
        Argument name for error messages.

    Raises
    ------
    DataValidationError
        Empty ROI, mask of the wrong length, or indices out of range.
    """
    if isinstance(roi, torch.Tensor):
        arr = roi.detach().cpu().numpy()
    else:
        arr = np.asarray(roi)
    if arr.dtype == bool:
        if arr.ndim != 1 or arr.shape[0] != n_targets:
            raise DataValidationError(
                f"{name}: a boolean mask must have shape ({n_targets},) (one entry per encoder output), "
                f"got {arr.shape}"
            )
        idx = np.flatnonzero(arr)
    elif arr.dtype.kind in "iu":
        idx = np.unique(arr.reshape(-1))
        if idx.size and (idx[0] < 0 or idx[-1] >= n_targets):
            raise DataValidationError(
                f"{name}: indices must be in 0..{n_targets - 1}, got {int(idx[0])}..{int(idx[-1])}"
            )
    else:
        raise DataValidationError(f"{name}: expected an int, ints or a boolean mask, got dtype {arr.dtype}")
    if idx.size == 0:
        raise DataValidationError(f"{name}: the ROI is empty")
    return torch.as_tensor(idx, dtype=torch.long)


def _describe_roi(roi: ROISpec) -> object:
    arr = roi.detach().cpu().numpy() if isinstance(roi, torch.Tensor) else np.asarray(roi)
    if arr.dtype == bool:
        return {"mask_size": int(arr.size), "n_selected": int(arr.sum())}
    flat = arr.reshape(-1).tolist()
    return flat[0] if arr.ndim == 0 else (flat if len(flat) <= 16 else {"n_indices": len(flat)})


class Objective(abc.ABC):
    """Base class: predictions (and latents) -> per-sample loss (n,), lower is better.

    Attributes
    ----------
    name : str
        Short label used in result files and figures.
    regulariser : bool
        Whether the term is a regulariser (excluded from :meth:`value`).
    """

    regulariser: bool = False
    name: str = "objective"

    @property
    def encoders(self) -> tuple[str, ...]:
        """Names of the encoders whose predictions this objective reads."""
        return ()

    @abc.abstractmethod
    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        """Per-sample loss.

        Parameters
        ----------
        predictions : Tensor (n, n_targets) or mapping of them
            Encoder outputs for n images.
        latents : Tensor of shape (n, ...), optional
            The latents that made the images (needed by latent penalties only).

        Returns
        -------
        Tensor of shape (n,)
        """

    def __call__(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        return self.loss(predictions, latents)

    def value(self, predictions: Predictions) -> torch.Tensor:
        """Objective value to maximise, (n,): minus the loss of the non-regularising terms."""
        return -self.loss(predictions, None)

    def terms(self) -> list[tuple[float, "Objective"]]:
        """(weight, term) pairs of a sum; a single objective is one term of weight 1."""
        return [(1.0, self)]

    def describe(self) -> dict:
        """JSON-serialisable description."""
        return {"type": type(self).__name__, "name": self.name}

    # composition -----------------------------------------------------------------------
    def __add__(self, other: "Objective") -> "WeightedSum":
        if not isinstance(other, Objective):
            return NotImplemented
        return WeightedSum(self.terms() + other.terms())

    def __mul__(self, weight: float) -> "WeightedSum":
        if not is_real(weight):
            return NotImplemented
        return WeightedSum([(float(weight) * w, t) for w, t in self.terms()])

    __rmul__ = __mul__

    def __neg__(self) -> "WeightedSum":
        return self * -1.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _EncoderObjective(Objective):
    """Shared helpers of objectives that read one encoder's ROI means."""

    def __init__(self, encoder: str, name: str | None) -> None:
        if not isinstance(encoder, str):
            raise InvalidParameterError(f"encoder must be the name of an encoder (str), got {encoder!r}")
        self.encoder = encoder
        if name is not None:
            self.name = str(name)

    @property
    def encoders(self) -> tuple[str, ...]:
        return (self.encoder,)

    @staticmethod
    def _prediction(predictions: Predictions, encoder: str) -> torch.Tensor:
        preds = as_predictions(predictions)
        if encoder not in preds:
            raise DataValidationError(
                f"no predictions for encoder {encoder!r}; available: {', '.join(map(repr, preds))}"
            )
        return preds[encoder]

    @staticmethod
    def _roi_mean(pred: torch.Tensor, roi: ROISpec, name: str) -> torch.Tensor:
        idx = resolve_roi(roi, pred.shape[1], name).to(pred.device)
        return pred.index_select(1, idx).mean(dim=1)


class ROIActivation(_EncoderObjective):
    """Maximise (or minimise) the predicted mean response of one ROI.

    ``loss = -mean(pred[:, roi])`` when maximising, ``+mean(pred[:, roi])`` when minimising.

    Parameters
    ----------
    roi : int, ints or boolean mask
        Targets averaged into the ROI response.
    maximize : bool, default True
        Drive the response up (True) or down (False).
    encoder : str, default "encoder"
        Which encoder's predictions to read.
    name : str, optional
        Label (default ``"max roi[...]"``/``"min roi[...]"``).
    """

    def __init__(
        self, roi: ROISpec, *, maximize: bool = True, encoder: str = DEFAULT_ENCODER, name: str | None = None
    ) -> None:
        self.roi = roi
        self.maximize = bool(maximize)
        self.name = f"{'max' if self.maximize else 'min'} roi{_describe_roi(roi)}"
        super().__init__(encoder, name)

    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        mean = self._roi_mean(self._prediction(predictions, self.encoder), self.roi, "roi")
        return -mean if self.maximize else mean

    def describe(self) -> dict:
        return {**super().describe(), "roi": _describe_roi(self.roi), "maximize": self.maximize,
                "encoder": self.encoder}


class ROIContrast(_EncoderObjective):
    """Drive ROI ``a`` up relative to ROI ``b``: ``loss = -(mean(pred[:, a]) - mean(pred[:, b]))``.

    Parameters
    ----------
    roi_a, roi_b : int, ints or boolean mask
        The ROI to raise and the ROI to lower.
    encoder : str, default "encoder"
    name : str, optional
    """

    def __init__(
        self, roi_a: ROISpec, roi_b: ROISpec, *, encoder: str = DEFAULT_ENCODER, name: str | None = None
    ) -> None:
        self.roi_a, self.roi_b = roi_a, roi_b
        self.name = f"roi{_describe_roi(roi_a)} > roi{_describe_roi(roi_b)}"
        super().__init__(encoder, name)

    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        pred = self._prediction(predictions, self.encoder)
        return -(self._roi_mean(pred, self.roi_a, "roi_a") - self._roi_mean(pred, self.roi_b, "roi_b"))

    def describe(self) -> dict:
        return {**super().describe(), "roi_a": _describe_roi(self.roi_a), "roi_b": _describe_roi(self.roi_b),
                "encoder": self.encoder}


class SubjectContrast(Objective):
    """Drive one subject's ROI response up relative to another's (personalised encoders).

    ``loss = -(mean(pred[subject_a][:, roi]) - mean(pred[subject_b][:, roi_b]))``.

    Parameters
    ----------
    roi : int, ints or boolean mask
        The ROI (shared fsaverage targets, so the same indices for both subjects).
    subject_a, subject_b : str
        Encoder names of the subject to raise and the subject to lower.
    roi_b : optional
        A different ROI for ``subject_b`` (default: ``roi``).
    name : str, optional
    """

    def __init__(
        self,
        roi: ROISpec,
        subject_a: str,
        subject_b: str,
        *,
        roi_b: ROISpec | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(subject_a, str) or not isinstance(subject_b, str) or subject_a == subject_b:
            raise InvalidParameterError(
                f"subject_a and subject_b must be two different encoder names, got {subject_a!r} and {subject_b!r}"
            )
        self.roi = roi
        self.roi_b = roi if roi_b is None else roi_b
        self.subject_a, self.subject_b = subject_a, subject_b
        self.name = name if name is not None else f"{subject_a} > {subject_b} roi{_describe_roi(roi)}"

    @property
    def encoders(self) -> tuple[str, ...]:
        return (self.subject_a, self.subject_b)

    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        a = _EncoderObjective._prediction(predictions, self.subject_a)
        b = _EncoderObjective._prediction(predictions, self.subject_b)
        return -(_EncoderObjective._roi_mean(a, self.roi, "roi") - _EncoderObjective._roi_mean(b, self.roi_b, "roi_b"))

    def describe(self) -> dict:
        return {**super().describe(), "roi": _describe_roi(self.roi), "roi_b": _describe_roi(self.roi_b),
                "subject_a": self.subject_a, "subject_b": self.subject_b}


class TargetPattern(_EncoderObjective):
    """Hit a target pattern of responses across several ROIs.

    Parameters
    ----------
    rois : sequence of ROI specs
        The ROIs, each reduced to its mean prediction.
    target : sequence of float, length len(rois)
        Desired response of each ROI (in the encoder's units).
    metric : {"mse", "correlation"}, default "mse"
        ``"mse"``: mean squared difference between ROI means and ``target``;
        ``"correlation"``: ``1 - Pearson r`` across ROIs (matches the shape of the
        pattern, not its scale; needs at least two ROIs).
    encoder : str, default "encoder"
    name : str, optional
    """

    def __init__(
        self,
        rois: Sequence[ROISpec],
        target: Sequence[float],
        *,
        metric: str = "mse",
        encoder: str = DEFAULT_ENCODER,
        name: str | None = None,
    ) -> None:
        rois = list(rois)
        target_arr = np.asarray(target, dtype=np.float32).reshape(-1)
        if len(rois) == 0 or len(rois) != target_arr.size:
            raise DataValidationError(
                f"target must have one value per ROI: got {target_arr.size} values for {len(rois)} ROIs"
            )
        if not np.isfinite(target_arr).all():
            raise DataValidationError("target contains NaN or infinite values")
        check_option(metric, "metric", ("mse", "correlation"))
        if metric == "correlation" and (len(rois) < 2 or float(target_arr.std()) == 0.0):
            raise DataValidationError("metric='correlation' needs at least two ROIs and a non-constant target")
        self.rois, self.target, self.metric = rois, target_arr, metric
        self.name = f"pattern ({metric}, {len(rois)} ROIs)"
        super().__init__(encoder, name)

    def roi_means(self, predictions: Predictions) -> torch.Tensor:
        """Mean prediction of each ROI, (n, n_rois)."""
        pred = self._prediction(predictions, self.encoder)
        return torch.stack([self._roi_mean(pred, roi, f"rois[{i}]") for i, roi in enumerate(self.rois)], dim=1)

    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        means = self.roi_means(predictions)
        target = torch.as_tensor(self.target, dtype=means.dtype, device=means.device)
        if self.metric == "mse":
            return ((means - target) ** 2).mean(dim=1)
        m = means - means.mean(dim=1, keepdim=True)
        t = target - target.mean()
        r = (m * t).sum(dim=1) / (m.norm(dim=1) * t.norm() + 1e-12)
        return 1.0 - r

    def describe(self) -> dict:
        return {**super().describe(), "rois": [_describe_roi(r) for r in self.rois],
                "target": self.target.tolist(), "metric": self.metric, "encoder": self.encoder}


class LatentPenalty(Objective):
    """Penalty on the squared latent norm: ``loss = weight * ||z||^2`` per sample.

    NeuroGen uses weight 0.001 on BigGAN's noise vector, keeping latents in the
    region the generator was trained on. A regulariser: it does not count
    towards :meth:`Objective.value`.

    Parameters
    ----------
    weight : float, default 0.001
    """

    regulariser = True

    def __init__(self, weight: float = 0.001) -> None:
        self.weight = check_real(weight, "weight", minimum=0.0, finite=False)
        self.name = f"latent penalty {weight:g}"

    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        if latents is None:
            raise DataValidationError("LatentPenalty needs the latents (loss(predictions, latents))")
        return self.weight * latents.reshape(latents.shape[0], -1).pow(2).sum(dim=1)

    def value(self, predictions: Predictions) -> torch.Tensor:
        n = next(iter(as_predictions(predictions).values())).shape[0]
        return torch.zeros(n)

    def describe(self) -> dict:
        return {**super().describe(), "weight": self.weight}


class WeightedSum(Objective):
    """Weighted sum of objectives: ``loss = sum_i w_i * loss_i`` (built by ``+`` and ``*``).

    Parameters
    ----------
    terms : sequence of (float, Objective)
    name : str, optional
    """

    def __init__(self, terms: Sequence[tuple[float, Objective]], *, name: str | None = None) -> None:
        flat: list[tuple[float, Objective]] = []
        for weight, term in terms:
            if not isinstance(term, Objective):
                raise InvalidParameterError(f"terms must be Objective instances, got {type(term).__name__}")
            flat.extend((float(weight) * w, t) for w, t in term.terms())
        if not flat:
            raise DataValidationError("a WeightedSum needs at least one term")
        self._terms = flat
        self.name = name if name is not None else " + ".join(
            t.name if w == 1.0 else f"{w:g}*({t.name})" for w, t in flat
        )

    def terms(self) -> list[tuple[float, Objective]]:
        return list(self._terms)

    @property
    def encoders(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for _, term in self._terms:
            names.update(dict.fromkeys(term.encoders))
        return tuple(names)

    @property
    def regulariser(self) -> bool:  # type: ignore[override]
        return all(t.regulariser for _, t in self._terms)

    def loss(self, predictions: Predictions, latents: torch.Tensor | None = None) -> torch.Tensor:
        return sum(w * t.loss(predictions, latents) for w, t in self._terms)  # type: ignore[return-value]

    def value(self, predictions: Predictions) -> torch.Tensor:
        parts = [w * t.loss(predictions, None) for w, t in self._terms if not t.regulariser]
        if not parts:
            n = next(iter(as_predictions(predictions).values())).shape[0]
            return torch.zeros(n)
        return -sum(parts)  # type: ignore[return-value]

    def describe(self) -> dict:
        return {**super().describe(), "terms": [{"weight": w, "objective": t.describe()} for w, t in self._terms]}

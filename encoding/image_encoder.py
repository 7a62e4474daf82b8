"""Differentiable image -> response encoders: a feature network plus a fitted linear read-out.

An encoding model is usually fitted in two steps on numpy arrays: image
features from :meth:`FeatureExtractor.extract` (pooled, optionally reduced by
PCA), then a linear regressor such as :class:`encoding.ridge.RidgeEncoder`
(or a :class:`encoding.ensemble.PersonalizedEnsembleEncoder` over several
subjects' ridge encoders). NeuroGen needs the same model as one
:class:`torch.nn.Module` that maps *pixels* to predicted responses, so a
generator's gradient can flow through it.

:class:`ImageEncoder` is that composition. Its :meth:`ImageEncoder.forward`
reproduces the numpy path exactly -- the extractor's differentiable
``forward_features``, the same spatial pooling, the extractor's stored
per-layer PCA, the layers concatenated in the same order, any
``StandardScaler``/``PCA`` steps of a scikit-learn ``Pipeline``, then the
regressor's ``to_torch_module()`` -- so ``encoder(images)`` equals
``regressor.predict(image_features(extractor, images, extract_kwargs))`` up to
float32 rounding.

:func:`image_features` is the numpy feature path (what the regressor is
fitted on) and :func:`fit_image_encoder` does both steps in one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from encoding.features.base import POOLINGS, FeatureExtractor, as_image_tensor, pool_activation
from neurokit.exceptions import DataValidationError, InvalidParameterError, NotFittedError
from neurokit.validation import check_int

#: Keys of ``extract_kwargs`` that define the features (the rest of ``extract``'s
#: arguments -- batch size, device, progress -- do not change them).
FEATURE_KEYS: tuple[str, ...] = ("layers", "pooling", "grid_size", "pca")


def check_extract_kwargs(extractor: FeatureExtractor, extract_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate and complete the feature definition.

    Parameters
    ----------
    extractor : FeatureExtractor
    extract_kwargs : mapping, optional
        Any of ``layers``, ``pooling``, ``grid_size`` and ``pca``, as taken by
        :meth:`FeatureExtractor.extract` (e.g. ``cohort.features.extract_kwargs``).

    Returns
    -------
    dict
        All four keys, ``layers`` as a tuple of layer names.

    Raises
    ------
    InvalidParameterError
        Unknown keys, or a value :meth:`FeatureExtractor.extract` would reject.
    """
    if not isinstance(extractor, FeatureExtractor):
        raise InvalidParameterError(
            f"extractor must be an encoding.features.FeatureExtractor, got {type(extractor).__name__}"
        )
    kwargs = dict(extract_kwargs or {})
    unknown = sorted(set(kwargs) - set(FEATURE_KEYS))
    if unknown:
        raise InvalidParameterError(f"extract_kwargs: unknown key(s) {unknown}; allowed: {list(FEATURE_KEYS)}")
    try:
        layers = extractor.check_layers(kwargs.get("layers"))
    except DataValidationError as err:
        raise InvalidParameterError(f"extract_kwargs: {err}") from err
    pooling = kwargs.get("pooling", "avg")
    if pooling not in POOLINGS:
        raise InvalidParameterError(f"extract_kwargs: pooling must be one of {POOLINGS}, got {pooling!r}")
    grid_size = check_int(kwargs.get("grid_size", 4), "extract_kwargs: grid_size", minimum=1)
    pca = check_int(kwargs.get("pca"), "extract_kwargs: pca", minimum=1, allow_none=True)
    return {"layers": layers, "pooling": pooling, "grid_size": grid_size, "pca": pca}


def image_features(
    extractor: FeatureExtractor,
    images: np.ndarray | torch.Tensor,
    extract_kwargs: Mapping[str, Any] | None = None,
    *,
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """The design matrix an :class:`ImageEncoder`'s regressor is fitted on.

    Parameters
    ----------
    extractor : FeatureExtractor
    images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
        Values in [0, 1].
    extract_kwargs : mapping, optional
        ``layers``, ``pooling``, ``grid_size``, ``pca`` (see :meth:`FeatureExtractor.extract`;
        with ``pca`` the extractor's PCA is fitted on the first call).
    batch_size : int
        Images per forward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    ndarray of shape (n, n_features)
        float32; the layers' pooled features side by side, in the order of ``layers``.
    """
    kw = check_extract_kwargs(extractor, extract_kwargs)
    feats = extractor.extract(images, batch_size=batch_size, progress=progress, **kw)
    return np.concatenate([feats[layer] for layer in kw["layers"]], axis=1).astype(np.float32, copy=False)


# ------------------------------------------------------------------------------- sklearn -> torch
class _Affine(nn.Module):
    """``(x - shift) * scale`` (per feature), a fitted StandardScaler's transform."""

    def __init__(self, shift: np.ndarray, scale: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("shift", torch.as_tensor(np.asarray(shift, dtype=np.float32)))
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.shift) * self.scale


class _Projection(nn.Module):
    """``(x - mean) @ components.T * scale``, a fitted PCA's transform (whitened or not)."""

    def __init__(self, mean: np.ndarray, components: np.ndarray, scale: np.ndarray | None) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float32)))
        self.register_buffer("components", torch.as_tensor(np.asarray(components, dtype=np.float32)))
        self.register_buffer(
            "scale", None if scale is None else torch.as_tensor(np.asarray(scale, dtype=np.float32))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = (x - self.mean) @ self.components.T
        return out if self.scale is None else out * self.scale


def _pca_module(pca: Any, where: str) -> _Projection:
    if not hasattr(pca, "components_"):
        raise NotFittedError(f"{where}: the PCA is not fitted")
    mean = getattr(pca, "mean_", None)
    mean = np.zeros(pca.components_.shape[1]) if mean is None else mean
    scale = 1.0 / np.sqrt(pca.explained_variance_) if getattr(pca, "whiten", False) else None
    return _Projection(mean, pca.components_, scale)


def _transform_module(step: Any, where: str) -> nn.Module:
    """Torch version of a fitted scikit-learn StandardScaler or PCA."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    if isinstance(step, StandardScaler):
        n = getattr(step, "n_features_in_", None)
        if n is None:
            raise NotFittedError(f"{where}: the StandardScaler is not fitted")
        shift = step.mean_ if step.with_mean else np.zeros(n)
        scale = 1.0 / step.scale_ if step.with_std else np.ones(n)
        return _Affine(shift, scale)
    if isinstance(step, PCA):
        return _pca_module(step, where)
    if step is None or step == "passthrough":
        return nn.Identity()
    raise InvalidParameterError(
        f"{where}: {type(step).__name__} has no torch equivalent here; pipeline steps before the regressor "
        "may be StandardScaler or PCA"
    )


def regressor_module(regressor: Any) -> nn.Module:
    """The fitted regressor as a differentiable module ``(n, n_features) -> (n, n_targets)``.

    Parameters
    ----------
    regressor : fitted estimator
        Anything with ``to_torch_module()`` (``RidgeEncoder``,
        ``PersonalizedEnsembleEncoder`` over such encoders), or a scikit-learn
        ``Pipeline`` of ``StandardScaler``/``PCA`` steps ending in one.

    Raises
    ------
    InvalidParameterError
        The regressor (or a pipeline step) cannot be expressed in torch.
    NotFittedError
        The regressor or a step is not fitted.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(regressor, Pipeline):
        steps = [step for _, step in regressor.steps]
        mods = [_transform_module(s, f"regressor step {i}") for i, s in enumerate(steps[:-1])]
        return nn.Sequential(*mods, regressor_module(steps[-1])).eval()
    if not hasattr(regressor, "predict") or not hasattr(regressor, "to_torch_module"):
        raise InvalidParameterError(
            f"regressor must be a fitted encoder with predict() and to_torch_module() (e.g. RidgeEncoder, "
            f"PersonalizedEnsembleEncoder) or a Pipeline ending in one, got {type(regressor).__name__}"
        )
    module = regressor.to_torch_module()
    module.requires_grad_(False)
    return module.eval()


def _n_features_in(regressor: Any) -> int | None:
    n = getattr(regressor, "n_features_in_", None)
    if n is None:
        sources = getattr(regressor, "source_encoders", None)
        if sources:
            n = getattr(sources[0], "n_features_in_", None)
    return None if n is None else int(n)


# ------------------------------------------------------------------------------- the encoder
class ImageEncoder(nn.Module):
    """Images -> predicted responses, differentiable from the pixels.

    Parameters
    ----------
    extractor : FeatureExtractor
        The feature network (e.g. :class:`EfficientNetLite0Extractor`); its
        weights stay frozen and in eval mode.
    extract_kwargs : mapping, optional
        The feature definition the regressor was fitted with: ``layers``,
        ``pooling``, ``grid_size``, ``pca`` (see :func:`image_features`; for
        the simulated cohort, ``cohort.features.extract_kwargs``). With
        ``pca``, the extractor's stored per-layer PCA (:attr:`FeatureExtractor.pca_`)
        is used and must be fitted.
    regressor : fitted estimator
        Features -> responses, fitted on ``image_features(extractor, images,
        extract_kwargs)``: a :class:`~encoding.ridge.RidgeEncoder`, a
        :class:`~encoding.ensemble.PersonalizedEnsembleEncoder` over such
        encoders, or a scikit-learn ``Pipeline`` of ``StandardScaler``/``PCA``
        steps ending in one. Its current fit is copied into torch at
        construction (refitting it later does not change this module).

    Attributes
    ----------
    layers : tuple of str
    pooling : str
    grid_size : int
    n_targets : int
        Number of outputs (vertices or ROIs).
    readout : torch.nn.Module
        The regressor in torch.

    Examples
    --------
    >>> ext = EfficientNetLite0Extractor(input_size=96)                        # doctest: +SKIP
    >>> kw = {"layers": ["stage3", "pool"], "pooling": "grid", "grid_size": 4}
    >>> X = image_features(ext, train_images, kw)                               # doctest: +SKIP
    >>> enc = ImageEncoder(ext, kw, RidgeEncoder().fit(X, Y))                   # doctest: +SKIP
    >>> enc(torch.rand(2, 3, 64, 64)).shape                                     # doctest: +SKIP
    torch.Size([2, n_targets])
    """

    def __init__(
        self, extractor: FeatureExtractor, extract_kwargs: Mapping[str, Any] | None, regressor: Any
    ) -> None:
        super().__init__()
        kw = check_extract_kwargs(extractor, extract_kwargs)
        self.extractor = extractor
        self.layers: tuple[str, ...] = kw["layers"]
        self.pooling: str = kw["pooling"]
        self.grid_size: int = kw["grid_size"]
        self.pca: int | None = kw["pca"]
        self.network = extractor.module  # registered so .to()/.eval() reach it
        projections = {}
        if self.pca is not None:
            missing = [layer for layer in self.layers if layer not in extractor.pca_]
            if missing:
                raise NotFittedError(
                    f"extract_kwargs has pca={self.pca} but the extractor has no fitted PCA for layer(s) "
                    f"{missing}; compute the training features with image_features(...) first"
                )
            projections = {layer: _pca_module(extractor.pca_[layer], f"PCA of layer {layer!r}")
                           for layer in self.layers}
        self.projections = nn.ModuleDict(projections)
        self.readout = regressor_module(regressor)
        self.n_features_in = _n_features_in(regressor)
        self.n_targets = self._count_targets()

    def _count_targets(self) -> int:
        module = self.readout[-1] if isinstance(self.readout, nn.Sequential) else self.readout
        if isinstance(module, nn.Linear):
            return int(module.out_features)
        weight = getattr(module, "weight", None)  # EnsembleModule: (n_targets, n_sources)
        if isinstance(weight, torch.Tensor) and weight.ndim == 2:
            return int(weight.shape[0])
        return -1

    def train(self, mode: bool = True) -> "ImageEncoder":
        """Set the mode; the frozen feature network always stays in eval mode (batch norm statistics)."""
        super().train(mode)
        self.network.eval()
        return self

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Differentiable features ``(n, n_features)`` of images ``(n, 3, H, W)`` in [0, 1].

        Equal (up to float rounding) to :func:`image_features` with the same settings.
        """
        acts = self.extractor.forward_features(images, self.layers)
        parts = []
        for layer in self.layers:
            f = pool_activation(acts[layer], self.pooling, self.grid_size)
            if self.pca is not None:
                f = self.projections[layer](f)
            parts.append(f)
        feats = torch.cat(parts, dim=1)
        if self.n_features_in is not None and feats.shape[1] != self.n_features_in:
            raise DataValidationError(
                f"the extractor gives {feats.shape[1]} features with {self.describe_features()}, but the "
                f"regressor was fitted on {self.n_features_in}; fit it on image_features(...) with the same settings"
            )
        return feats

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted responses.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W)
            Values in [0, 1], any size (the extractor centre-crops and resizes).

        Returns
        -------
        Tensor of shape (n, n_targets)
            Differentiable with respect to ``images``.
        """
        out = self.readout(self.features(images))
        return out[:, None] if out.ndim == 1 else out

    @torch.no_grad()
    def predict(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Predicted responses to many images, in batches, without gradients.

        Parameters
        ----------
        images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
            Values in [0, 1] (or uint8 for numpy).
        batch_size : int
        progress : bool

        Returns
        -------
        ndarray of shape (n, n_targets), float32
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        if not isinstance(images, torch.Tensor):
            images = np.asarray(images)
        as_image_tensor(images[:1])  # shape check before any work
        was_training = self.training
        self.eval()
        try:
            # convert one batch at a time: a large numpy stimulus set is never copied whole
            starts = range(0, int(images.shape[0]), int(batch_size))
            out = [self(as_image_tensor(images[s : s + batch_size])).float().cpu().numpy()
                   for s in tqdm(starts, disable=not progress, desc="ImageEncoder", unit="batch")]
        finally:
            self.train(was_training)
        return np.concatenate(out, axis=0)

    def describe_features(self) -> str:
        """The feature definition in words (for messages and reprs)."""
        pca = f", pca={self.pca}" if self.pca is not None else ""
        grid = f", grid_size={self.grid_size}" if self.pooling == "grid" else ""
        return f"layers={list(self.layers)}, pooling={self.pooling!r}{grid}{pca}"

    def extra_repr(self) -> str:
        return f"{type(self.extractor).__name__}, {self.describe_features()}, n_targets={self.n_targets}"


def fit_image_encoder(
    extractor: FeatureExtractor,
    images: np.ndarray | torch.Tensor,
    responses: np.ndarray,
    *,
    extract_kwargs: Mapping[str, Any] | None = None,
    regressor: Any = None,
    batch_size: int = 32,
    progress: bool = False,
) -> ImageEncoder:
    """Fit a regressor on image features and return the differentiable :class:`ImageEncoder`.

    Parameters
    ----------
    extractor : FeatureExtractor
    images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
        Training images in [0, 1].
    responses : ndarray of shape (n, n_targets)
        Responses to them (vertices or ROI means).
    extract_kwargs : mapping, optional
        Feature definition (see :func:`image_features`).
    regressor : unfitted estimator, optional
        Default ``RidgeEncoder()`` (one alpha per target by GCV).
    batch_size : int
    progress : bool

    Returns
    -------
    ImageEncoder
    """
    from encoding.ridge import RidgeEncoder

    X = image_features(extractor, images, extract_kwargs, batch_size=batch_size, progress=progress)
    reg = RidgeEncoder() if regressor is None else regressor
    reg.fit(X, responses)
    return ImageEncoder(extractor, extract_kwargs, reg)


__all__ = [
    "ImageEncoder",
    "fit_image_encoder",
    "image_features",
    "check_extract_kwargs",
    "regressor_module",
    "FEATURE_KEYS",
]

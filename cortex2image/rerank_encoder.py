"""The image -> response encoder a :class:`~cortex2image.reconstructor.Reconstructor` reranks with.

:class:`LinearImageEncoder` is the small encoder used for reranking reconstruction
samples and for the brain-correlation metric: the design matrix of
:func:`encoding.image_encoder.image_features` (average-pooled EfficientNet-Lite0
layers), standardised, and an :class:`encoding.ridge.RidgeEncoder` fitted on it.
It predicts in float64 NumPy (no gradients); its state
(:meth:`LinearImageEncoder.state`) travels inside the Reconstructor checkpoint
or in a file of its own (safetensors + JSON, no pickle).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cortex2image.inputs import ResponsesLike, as_surface_data
from neurokit.checkpoints import load_checkpoint, save_checkpoint
from neurokit.exceptions import CheckpointError, DataValidationError, NotFittedError
from neurokit.mesh.levels import check_level
from neurokit.validation import check_int

__all__ = ["LinearImageEncoder"]


class LinearImageEncoder:
    """Images -> fsaverage responses: pooled EfficientNet-Lite0 features + ridge.

    Used to rerank reconstruction samples and to score reconstructions by
    brain correlation. Predicts responses in the units it was fit on (for a
    :class:`Reconstructor`, the subject-normalised responses).

    Its features are :func:`encoding.image_encoder.image_features` (``pooling='avg'``, the design matrix
    an :class:`encoding.image_encoder.ImageEncoder` is fitted on), standardised, and its ridge is an
    :class:`encoding.ridge.RidgeEncoder`; unlike an ``ImageEncoder`` it predicts in float64 NumPy (no
    gradients) and its state travels inside the :class:`Reconstructor` checkpoint (:meth:`state`).

    Parameters
    ----------
    layers : sequence of str
        EfficientNet-Lite0 layers, average-pooled (``'stage4'``, ``'pool'``, ...).
    input_size : int
        Side in pixels of the network input.
    alphas : sequence of float
        Ridge candidates (one alpha chosen per vertex by GCV).

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features)
    intercept_ : ndarray of shape (n_targets,)
    feature_mean_, feature_std_ : ndarray of shape (n_features,)
    level_ : int
        fsaverage level of the targets.
    """

    def __init__(self, layers: Sequence[str] = ("stage4", "pool"), input_size: int = 96,
                 alphas: Sequence[float] = tuple(np.logspace(-1, 5, 7))) -> None:
        self.layers = tuple(layers)
        self.input_size = check_int(input_size, "input_size", minimum=1)
        from encoding.ridge import check_alphas

        self.alphas = tuple(float(a) for a in check_alphas(alphas))
        self._extractor = None

    @property
    def extractor(self):
        if self._extractor is None:
            from encoding.features import EfficientNetLite0Extractor

            self._extractor = EfficientNetLite0Extractor(input_size=self.input_size)
        return self._extractor

    def features(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        """Standardised features ``(n, n_features)`` of images ``(n, H, W, 3)`` in [0, 1]."""
        from encoding.image_encoder import image_features

        x = image_features(self.extractor, images, {"layers": self.layers, "pooling": "avg"}).astype(np.float64)
        if hasattr(self, "feature_mean_"):
            x = (x - self.feature_mean_) / self.feature_std_
        return x

    def fit(self, images: np.ndarray, responses: ResponsesLike) -> "LinearImageEncoder":
        """Fit on images ``(n, H, W, 3)`` and their responses ``(n, 2 * n_vertices(level))``."""
        from encoding.ridge import RidgeEncoder

        data = as_surface_data(responses)
        if len(images) != data.n_samples:
            raise DataValidationError(f"images has {len(images)} samples but responses has {data.n_samples}")
        for name in ("feature_mean_", "feature_std_"):
            if hasattr(self, name):
                delattr(self, name)
        x = self.features(images)
        self.feature_mean_ = x.mean(0)
        self.feature_std_ = x.std(0) + 1e-6
        ridge = RidgeEncoder(alphas=self.alphas).fit((x - self.feature_mean_) / self.feature_std_, data.data)
        self.coef_ = np.asarray(ridge.coef_, dtype=np.float32)
        self.intercept_ = np.asarray(ridge.intercept_, dtype=np.float32)
        self.level_ = data.level
        return self

    def predict(self, images: np.ndarray | torch.Tensor) -> np.ndarray:
        """Predicted responses ``(n, 2 * n_vertices(level_))`` (float32)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("LinearImageEncoder is not fitted; call fit(images, responses) or load(path)")
        return (self.features(images) @ self.coef_.T.astype(np.float64) + self.intercept_).astype(np.float32)

    __call__ = predict

    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(tensors, config)`` of a fitted encoder (what :meth:`save` writes; :meth:`from_state` reads)."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("LinearImageEncoder is not fitted; nothing to save")
        tensors = {"coef": self.coef_, "intercept": self.intercept_,
                   "feature_mean": self.feature_mean_, "feature_std": self.feature_std_}
        config = {"kind": "cortex2image.LinearImageEncoder", "layers": list(self.layers),
                  "input_size": self.input_size, "alphas": list(self.alphas), "level": self.level_}
        return tensors, config

    @classmethod
    def from_state(cls, tensors: dict[str, Any], config: dict[str, Any], source: str = "encoder") -> "LinearImageEncoder":
        """Rebuild an encoder from :meth:`state`'s output.

        Raises
        ------
        CheckpointError
            If the config is of another kind or a tensor is missing.
        """
        if config.get("kind") != "cortex2image.LinearImageEncoder":
            raise CheckpointError(f"{source}: not a LinearImageEncoder checkpoint (kind {config.get('kind')!r})")
        try:
            enc = cls(config["layers"], int(config["input_size"]), config["alphas"])
            enc.coef_ = np.asarray(tensors["coef"], np.float32)
            enc.intercept_ = np.asarray(tensors["intercept"], np.float32)
            enc.feature_mean_ = np.asarray(tensors["feature_mean"], np.float64)
            enc.feature_std_ = np.asarray(tensors["feature_std"], np.float64)
            enc.level_ = check_level(int(config["level"]))
        except KeyError as exc:
            raise CheckpointError(f"{source}: LinearImageEncoder entry {exc} is missing") from exc
        return enc

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<path>.safetensors`` + ``<path>.json`` (or ``checkpoint.*`` in a folder); returns the JSON path."""
        tensors, config = self.state()
        return save_checkpoint(path, tensors, config, mesh_level=self.level_)[1]

    @classmethod
    def load(cls, path: str | os.PathLike) -> "LinearImageEncoder":
        """Read an encoder written by :meth:`save` (safetensors + JSON, no pickle)."""
        tensors, config = load_checkpoint(path)
        return cls.from_state(tensors, config, str(path))

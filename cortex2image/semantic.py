"""Cortex2Semantic: fMRI responses -> an L2-normalised semantic image embedding.

The semantic space is pluggable (:class:`SemanticSpace`):

* :class:`EfficientNetSemanticSpace` -- offline default: EfficientNet-Lite0's
  pooled late-stage feature (``'pool'``, 1280-d), L2-normalised;
* :class:`CLIPSemanticSpace` -- CLIP image embeddings through open_clip
  (optional dependency; weights are fetched only when the user names them).

Spaces are saved by name through :data:`SEMANTIC_SPACES`:
:func:`semantic_space_config` gives ``{"class": name, **space.get_config()}``
and :func:`semantic_space_from_config` rebuilds the space (also from the
``{"type": name, ...}`` descriptions written before the registry).

:class:`Cortex2Semantic` is a :class:`~cortex2image.trunk.CortexTrunk`
followed by dropout, a linear layer and L2 normalisation (Gu et al., 2023).
"""

from __future__ import annotations

import abc
import os
from typing import Any

import numpy as np
import torch
from torch import nn

from cortex2image.trunk import CortexTrunk
from neurokit.registry import CLASS_KEY, Registry
from neurokit.validation import check_int, check_real

__all__ = [
    "SEMANTIC_SPACES",
    "SemanticSpace",
    "EfficientNetSemanticSpace",
    "CLIPSemanticSpace",
    "semantic_space_config",
    "semantic_space_from_config",
    "Cortex2Semantic",
]

#: The semantic spaces that saved models can name.
SEMANTIC_SPACES = Registry("semantic space")


class SemanticSpace(abc.ABC):
    """Images -> L2-normalised embeddings, differentiable on the torch side.

    Attributes
    ----------
    dim : int
        Embedding size.
    """

    dim: int = 0
    center: torch.Tensor | None = None

    @abc.abstractmethod
    def raw_features(self, images: torch.Tensor) -> torch.Tensor:
        """Differentiable features ``(n, dim)`` of images ``(n, 3, H, W)`` in [0, 1], before centring."""

    def embed_torch(self, images: torch.Tensor) -> torch.Tensor:
        """Differentiable embeddings ``(n, dim)``: features minus :attr:`center`, L2-normalised."""
        feat = self.raw_features(images).float()
        if self.center is not None:
            feat = feat - self.center.to(feat.device)
        return nn.functional.normalize(feat, dim=1)

    def fit_center(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 64) -> "SemanticSpace":
        """Set :attr:`center` to the mean raw feature of ``images`` (n, H, W, 3).

        Pooled CNN features share a large common component; removing the
        training images' mean makes the embeddings (and cosine or
        correlation comparisons between them) carry what differs between
        images.
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.center = None
        from encoding.features import as_image_tensor

        x = as_image_tensor(images) if not isinstance(images, torch.Tensor) else images
        with torch.no_grad():
            feats = [self.raw_features(x[s : s + batch_size]).float().cpu() for s in range(0, x.shape[0], batch_size)]
        self.center = torch.cat(feats).mean(0)
        return self

    def embed(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 64) -> np.ndarray:
        """Embeddings ``(n, dim)`` (float32, unit L2 norm) of images ``(n, H, W, 3)`` in [0, 1].

        Computed in batches without gradients.
        """
        from encoding.features import as_image_tensor

        batch_size = check_int(batch_size, "batch_size", minimum=1)
        x = as_image_tensor(images) if not isinstance(images, torch.Tensor) else images
        out = []
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                out.append(self.embed_torch(x[start : start + batch_size]).float().cpu().numpy())
        return np.concatenate(out, axis=0) if out else np.zeros((0, self.dim), np.float32)

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments (JSON), from which :func:`semantic_space_from_config` rebuilds the space."""

    def to(self, device: str | torch.device) -> "SemanticSpace":
        """Move the network to ``device`` and return ``self``."""
        self.extractor.to(device)  # type: ignore[attr-defined]
        return self


@SEMANTIC_SPACES.register("efficientnet-lite0")
class EfficientNetSemanticSpace(SemanticSpace):
    """EfficientNet-Lite0 (ImageNet weights, offline) pooled late feature, L2-normalised.

    Parameters
    ----------
    input_size : int
        Side in pixels images are resized to before the network (>= 32).
    layer : str
        A pooled layer of :class:`encoding.features.EfficientNetLite0Extractor`;
        ``'pool'`` (1280-d, default) or a feature map (``'stage6'``, ...) that
        is average-pooled over space.
    weights : str or path, optional
        ``'imagenet'`` (the packaged weights, default) or a local file.
    """

    def __init__(self, input_size: int = 96, layer: str = "pool", weights: str | os.PathLike = "imagenet") -> None:
        from encoding.features import EfficientNetLite0Extractor

        self.extractor = EfficientNetLite0Extractor(weights=weights, input_size=input_size)
        self.layer = self.extractor.check_layers(layer)[0]
        self.input_size = int(input_size)
        self.weights = str(weights)
        self.extractor.module.eval()
        with torch.no_grad():
            self.dim = int(self.raw_features(torch.zeros(1, 3, 32, 32)).shape[1])

    def raw_features(self, images: torch.Tensor) -> torch.Tensor:
        from encoding.features import pool_activation

        act = self.extractor.forward_features(images, [self.layer])[self.layer]
        return pool_activation(act, "avg") if act.ndim > 2 else act

    def get_config(self) -> dict[str, Any]:
        return {"input_size": self.input_size, "layer": self.layer, "weights": self.weights}


@SEMANTIC_SPACES.register("clip")
class CLIPSemanticSpace(SemanticSpace):
    """CLIP image embeddings through open_clip, L2-normalised (optional dependency).

    Parameters
    ----------
    model_name : str
        open_clip architecture, e.g. ``'ViT-B-32'``.
    pretrained : str or path, optional
        open_clip pretrained tag (downloads once, on the user's request) or a
        local checkpoint file.

    Raises
    ------
    OptionalDependencyError
        If open_clip (and a working torchvision) are not installed.
    """

    def __init__(self, model_name: str = "ViT-B-32", pretrained: str | os.PathLike | None = None) -> None:
        from encoding.features import OpenCLIPExtractor

        self.extractor = OpenCLIPExtractor(model_name, pretrained)
        self.model_name = model_name
        self.pretrained = None if pretrained is None else os.fspath(pretrained)
        with torch.no_grad():
            self.dim = int(self.raw_features(torch.zeros(1, 3, 64, 64)).shape[1])

    def raw_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.extractor.forward_features(images, ["embedding"])["embedding"]

    def get_config(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "pretrained": self.pretrained}


def semantic_space_config(space: SemanticSpace) -> dict[str, Any]:
    """``{"class": name, **space.get_config()}``, what :func:`semantic_space_from_config` reads."""
    return SEMANTIC_SPACES.config_of(space)


def semantic_space_from_config(config: dict[str, Any], *, where: str = "semantic space config") -> SemanticSpace:
    """Rebuild a :class:`SemanticSpace` from :func:`semantic_space_config`'s output.

    Parameters
    ----------
    config : dict
        ``{"class": name, **kwargs}``; the ``{"type": name, ...}`` form written
        before the registry is read too.
    where : str
        The file or field the config came from, named in errors.

    Raises
    ------
    CheckpointError
        Unknown space, or keyword arguments that do not fit it.
    """
    if isinstance(config, dict) and CLASS_KEY not in config and "type" in config:
        config = {CLASS_KEY: config["type"], **{k: v for k, v in config.items() if k != "type"}}
    return SEMANTIC_SPACES.build(config, where=where)


class Cortex2Semantic(nn.Module):
    """fsaverage responses -> an L2-normalised semantic embedding of the seen image.

    Parameters
    ----------
    level : int
        fsaverage level of the input responses.
    embed_dim : int
        Size of the semantic space (:attr:`SemanticSpace.dim`).
    dropout : float
        Dropout before the output layer (0.5 in Cortex2Image).
    **trunk_kwargs
        Passed to :class:`~cortex2image.trunk.CortexTrunk` (``coarse_level``,
        ``channels``, ``attention_dim``, ``attention_depth``, ``num_heads``,
        ``norm``, ``pool``).

    Notes
    -----
    ``forward(x)`` maps ``(batch, 2 * n_vertices(level))`` normalised responses
    (left hemisphere first) to ``(batch, embed_dim)`` unit vectors.
    """

    def __init__(self, level: int, embed_dim: int, *, dropout: float = 0.5, **trunk_kwargs: Any) -> None:
        super().__init__()
        embed_dim = check_int(embed_dim, "embed_dim", minimum=1)
        dropout = check_real(dropout, "dropout", minimum=0.0, maximum=1.0, include_maximum=False)
        self.trunk = CortexTrunk(level, **trunk_kwargs)
        self.embed_dim = embed_dim
        self.dropout_p = dropout
        self.dropout = nn.Dropout(self.dropout_p)
        self.head = nn.Linear(self.trunk.attention_dim, self.embed_dim)

    @property
    def level(self) -> int:
        return self.trunk.level

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm embeddings ``(batch, embed_dim)`` of responses ``(batch, 2 * n_vertices(level))``."""
        return nn.functional.normalize(self.head(self.dropout(self.trunk(x))), dim=1)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable)."""
        cfg = self.trunk.get_config()
        level = cfg.pop("level")
        return {"level": level, "embed_dim": self.embed_dim, "dropout": self.dropout_p, **cfg}

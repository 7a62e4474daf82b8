"""The field's standard reconstruction metric networks, from weight files the user names.

Brain-Diffuser, MindEye and their successors report the same table: two-way
identification in AlexNet layers 2 and 5, InceptionV3's pooled features and
CLIP's image embedding, and the mean correlation distance in EfficientNet-B1
and SwAV-ResNet-50 pooled features. This module builds those networks with
the architectures of torchvision and open_clip and reads their weights from
local files (nothing is downloaded):

========================  ======================  ===================  ==========  ==================
name                      architecture            layer                input side  metric
========================  ======================  ===================  ==========  ==================
``alexnet-2``             torchvision alexnet     ``features.4``       256         two-way identification
``alexnet-5``             torchvision alexnet     ``features.11``      256         two-way identification
``inception-v3``          torchvision inception   ``avgpool``          342         two-way identification
``clip``                  open_clip (ViT-L-14)    image embedding      model's     two-way identification
``efficientnet-b1``       torchvision effnet-b1   ``avgpool``          255         correlation distance
``swav``                  torchvision resnet50    ``avgpool``          224         correlation distance
========================  ======================  ===================  ==========  ==================

The weight files are torchvision's published ``.pth`` state dicts (e.g.
``alexnet-owt-7be5be79.pth``, ``inception_v3_google-0cc3c7bd.pth``,
``efficientnet_b1_rwightman-bac287d4.pth``), SwAV's ``swav_800ep_pretrain.pth.tar``
(its ``module.`` prefix and projection head are handled), any open_clip
checkpoint, or a ``.safetensors`` of the same state dict. They are read with
``torch.load(weights_only=True)``: nothing is unpickled beyond tensors.

Examples
--------
>>> from cortex2image.metrics import score_reconstructions            # doctest: +SKIP
>>> nets = {n: MetricNetwork(n, path) for n, path in my_weight_files.items()}   # doctest: +SKIP
>>> score_reconstructions(seen, recon, feature_spaces=identification_spaces(nets),
...                       distance_spaces=distance_spaces(nets))      # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurokit.exceptions import CheckpointError, DataValidationError, InvalidParameterError, OptionalDependencyError
from neurokit.validation import check_int

__all__ = ["MetricNetworkSpec", "METRIC_NETWORKS", "MetricNetwork", "identification_spaces", "distance_spaces",
           "load_state_dict"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class MetricNetworkSpec:
    """One metric network of the standard table.

    Attributes
    ----------
    architecture : str
        torchvision model name (``torchvision.models.get_model``), or ``"open_clip"``.
    layer : str
        torchvision graph node whose output is the feature (``None`` for CLIP's embedding).
    input_size : int
        Side in pixels images are resized to (``None``: the CLIP model's own).
    metric : {"identification", "distance"}
        Two-way identification (higher is better) or mean correlation distance (lower is better).
    """

    architecture: str
    layer: str | None
    input_size: int | None
    metric: str
    builder_kwargs: tuple[tuple[str, Any], ...] = ()


#: The networks of the field's reconstruction table, by name.
METRIC_NETWORKS: dict[str, MetricNetworkSpec] = {
    "alexnet-2": MetricNetworkSpec("alexnet", "features.4", 256, "identification"),
    "alexnet-5": MetricNetworkSpec("alexnet", "features.11", 256, "identification"),
    "inception-v3": MetricNetworkSpec("inception_v3", "avgpool", 342, "identification",
                                      (("aux_logits", True), ("transform_input", True), ("init_weights", False))),
    "clip": MetricNetworkSpec("open_clip", None, None, "identification"),
    "efficientnet-b1": MetricNetworkSpec("efficientnet_b1", "avgpool", 255, "distance"),
    "swav": MetricNetworkSpec("resnet50", "avgpool", 224, "distance"),
}


def _import_torchvision():
    try:
        import torchvision  # noqa: PLC0415
        from torchvision.models.feature_extraction import create_feature_extractor  # noqa: PLC0415
    except Exception as err:  # ImportError, or RuntimeError from a torch/torchvision mismatch
        raise OptionalDependencyError(
            f"the metric networks need torchvision, which failed to import ({err}); install the torchvision "
            "that matches the installed torch (the toolkit's set-up installs torch 2.14.1 with torchvision 0.29.1)"
        ) from err
    return torchvision, create_feature_extractor


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict from a ``.pth``/``.pt``/``.tar`` (tensors only) or ``.safetensors`` file.

    Wrappers are unwrapped: ``{"state_dict": ...}`` / ``{"model": ...}`` and a
    ``module.`` prefix on every key (a DataParallel checkpoint, as SwAV's).

    Raises
    ------
    CheckpointError
        The file is missing, unreadable, holds objects other than tensors, or no state dict.
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        raise CheckpointError(f"metric network weights not found: {p}")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(p))
        else:
            state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle refusals, zip errors, truncation: all mean "not a weights file"
        raise CheckpointError(f"{p}: not a readable weights file ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{p}: expected a state dict of tensors")
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


class MetricNetwork:
    """A metric network of :data:`METRIC_NETWORKS` with its weights, mapping images to features.

    Parameters
    ----------
    name : str
        A key of :data:`METRIC_NETWORKS`.
    weights : path-like
        The weight file (see the module docstring).
    device : str or torch.device
    batch_size : int
        Images per forward pass.
    clip_model : str
        The open_clip architecture of the ``clip`` network (the field uses ``ViT-L-14``).

    Notes
    -----
    Calling the network on images ``(n, H, W, 3)`` in [0, 1] returns float64
    features ``(n, n_features)`` (flattened), so it can be passed straight to
    :func:`cortex2image.metrics.score_reconstructions`.
    """

    def __init__(self, name: str, weights: str | os.PathLike, *, device: str | torch.device = "cpu",
                 batch_size: int = 32, clip_model: str = "ViT-L-14") -> None:
        if name not in METRIC_NETWORKS:
            raise InvalidParameterError(f"name: {name!r} is not a metric network; expected one of {sorted(METRIC_NETWORKS)}")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.name, self.spec = name, METRIC_NETWORKS[name]
        self.weights = os.fspath(weights)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        if self.spec.architecture == "open_clip":
            from encoding.features import OpenCLIPExtractor

            self._clip = OpenCLIPExtractor(clip_model, pretrained=self.weights, device=self.device)
            self._net = None
        else:
            self._clip = None
            self._net = self._build(self.spec, self.weights).to(self.device).eval()

    @property
    def metric(self) -> str:
        """``"identification"`` or ``"distance"``."""
        return self.spec.metric

    @staticmethod
    def _build(spec: MetricNetworkSpec, weights: str) -> torch.nn.Module:
        torchvision, create_feature_extractor = _import_torchvision()
        model = torchvision.models.get_model(spec.architecture, weights=None, **dict(spec.builder_kwargs))
        state = load_state_dict(weights)
        expected = set(model.state_dict())
        extra = set(state) - expected
        # SwAV's checkpoint also holds its projection head and prototypes; nothing else may be unexpected.
        ignorable = {k for k in extra if k.startswith(("projection_head.", "prototypes."))}
        missing = expected - set(state)
        if spec.architecture == "resnet50":
            missing -= {"fc.weight", "fc.bias"}  # SwAV trains no classifier; the pooled layer is before it
        if missing or extra - ignorable:
            raise CheckpointError(
                f"{weights}: not {spec.architecture} weights ({len(missing)} missing keys, e.g. "
                f"{sorted(missing)[:3]}; {len(extra - ignorable)} unexpected, e.g. {sorted(extra - ignorable)[:3]})"
            )
        try:
            model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
        except RuntimeError as exc:  # shape mismatches
            raise CheckpointError(f"{weights}: does not fit {spec.architecture} ({exc})") from exc
        return create_feature_extractor(model.eval(), return_nodes={spec.layer: "features"})

    def _preprocess(self, batch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).permute(0, 3, 1, 2).to(self.device)
        size = self.spec.input_size
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Features ``(n, n_features)`` float64 of images ``(n, H, W, 3)`` in [0, 1]."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            raise DataValidationError(f"images: expected (n, H, W, 3) in [0, 1], got shape {images.shape}")
        if self._clip is not None:
            feats = self._clip.extract(images.astype(np.float32), layers=["embedding"], pooling="none",
                                       batch_size=self.batch_size, progress=False)["embedding"]
            return np.asarray(feats, dtype=np.float64).reshape(len(images), -1)
        out = []
        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                f = self._net(self._preprocess(images[start : start + self.batch_size]))["features"]
                out.append(f.flatten(1).double().cpu().numpy())
        return np.concatenate(out)

    def __repr__(self) -> str:
        return f"MetricNetwork({self.name!r}, {self.weights!r})"


def identification_spaces(networks: Mapping[str, MetricNetwork]) -> dict[str, MetricNetwork]:
    """The networks scored by two-way identification (``feature_spaces`` of ``score_reconstructions``)."""
    return {name: net for name, net in networks.items() if net.metric == "identification"}


def distance_spaces(networks: Mapping[str, MetricNetwork]) -> dict[str, MetricNetwork]:
    """The networks scored by correlation distance (``distance_spaces`` of ``score_reconstructions``)."""
    return {name: net for name, net in networks.items() if net.metric == "distance"}

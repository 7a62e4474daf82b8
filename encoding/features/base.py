"""The feature-extractor interface shared by every image network backend.

A :class:`FeatureExtractor` turns images into named intermediate activations
("layers"). Two entry points:

* :meth:`FeatureExtractor.forward_features` -- torch in, torch out, differentiable
  from pixels, so an encoder built on it can drive a generator's gradient
  (NeuroGen);
* :meth:`FeatureExtractor.extract` -- numpy in, numpy out, batched, with a
  progress bar, spatial pooling and an optional PCA fitted on the first call.

Images at the API edge are float32 arrays ``(n, H, W, 3)`` in [0, 1] (numpy)
or tensors ``(n, 3, H, W)`` in [0, 1] (torch). Every extractor centre-crops to
a square, resizes to its own input size and applies its own normalisation.

Extractors that a saved config can name join :data:`EXTRACTORS` under their
class name and describe themselves with ``get_config()`` (their constructor
arguments, the device aside): ``EXTRACTORS.config_of(extractor)`` and
``EXTRACTORS.build(config, device=...)`` save and rebuild them. (The feature
store's fingerprint hashes the class's module path and weights, not this
config, so registering changes no cache key.)
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from neurokit.exceptions import DataValidationError, ImageShapeError, InvalidParameterError, NotFittedError
from neurokit.registry import Registry
from neurokit.validation import check_int, check_option

Pooling = Literal["avg", "max", "none", "grid"]
POOLINGS: tuple[str, ...] = ("avg", "max", "none", "grid")

#: Tolerance on the [0, 1] range check of input images (float rounding).
RANGE_TOLERANCE = 1e-3

#: The feature extractors that saved configs can name (a wrapped user module is not among them).
EXTRACTORS = Registry("feature extractor")


# ----------------------------------------------------------------------------- images
def as_image_tensor(images: np.ndarray | torch.Tensor, name: str = "images") -> torch.Tensor:
    """Validate images and return them as a float tensor ``(n, 3, H, W)`` in [0, 1].

    Parameters
    ----------
    images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
        Values in [0, 1]. A numpy ``uint8`` array (0..255) is also accepted and
        divided by 255. Tensors keep their device, dtype (if floating) and
        autograd graph.
    name : str
        Argument name used in error messages.

    Returns
    -------
    Tensor of shape (n, 3, H, W)

    Raises
    ------
    ImageShapeError
        Wrong number of dimensions or channels, or values outside [0, 1].
    """
    if isinstance(images, torch.Tensor):
        if images.ndim != 4 or images.shape[1] != 3:
            hint = (
                " (it looks channels-last; torch images are (n, 3, H, W): use images.permute(0, 3, 1, 2))"
                if images.ndim == 4 and images.shape[-1] == 3
                else ""
            )
            raise ImageShapeError(
                f"{name}: expected a torch tensor of shape (n, 3, H, W), got {tuple(images.shape)}{hint}"
            )
        tensor = images if images.is_floating_point() else images.float()
    else:
        array = np.asarray(images)
        if array.ndim != 4 or array.shape[-1] != 3:
            hint = ""
            if array.ndim == 3 and array.shape[-1] == 3:
                hint = " (a single image? use images[None])"
            elif array.ndim == 4 and array.shape[1] == 3:
                hint = " (it looks channels-first; numpy images are (n, H, W, 3))"
            raise ImageShapeError(
                f"{name}: expected a numpy array of shape (n, H, W, 3), got {array.shape}{hint}"
            )
        if array.dtype == np.uint8:
            array = array.astype(np.float32) / 255.0
        elif array.dtype.kind != "f":
            raise ImageShapeError(f"{name}: expected float images in [0, 1] or uint8, got dtype {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(0, 3, 1, 2)
    if tensor.shape[0] == 0:
        raise ImageShapeError(f"{name}: got zero images")
    if tensor.shape[2] < 8 or tensor.shape[3] < 8:
        raise ImageShapeError(f"{name}: images of {tensor.shape[2]}x{tensor.shape[3]} pixels are too small (min 8x8)")
    with torch.no_grad():
        lo, hi = float(tensor.min()), float(tensor.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ImageShapeError(f"{name}: images contain NaN or infinite values")
    if lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE:
        raise ImageShapeError(
            f"{name}: pixel values must lie in [0, 1], got min {lo:.3g} and max {hi:.3g}"
            + (" (0..255 values? divide by 255)" if hi > 1.5 else "")
        )
    return tensor


def square_resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Centre-crop ``(n, 3, H, W)`` images to a square and resize to ``size`` pixels (differentiable)."""
    h, w = images.shape[-2:]
    if h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        images = images[..., top : top + s, left : left + s]
    if images.shape[-1] != size:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return images


# ----------------------------------------------------------------------------- pooling
def pool_activation(activation: torch.Tensor, pooling: str, grid_size: int = 4) -> torch.Tensor:
    """Reduce one layer's activation to ``(n, n_features)``.

    Parameters
    ----------
    activation : Tensor
        ``(n, C, h, w)`` feature maps, ``(n, L, D)`` tokens or ``(n, D)`` vectors.
    pooling : {'avg', 'max', 'none', 'grid'}
        ``'avg'``/``'max'``: over space (or tokens) -> ``(n, C)``; ``'none'``:
        flatten everything; ``'grid'``: average over a ``grid_size x
        grid_size`` grid of cells -> ``(n, C * grid_size**2)`` (maps only;
        tokens and vectors are averaged as with ``'avg'``).
    grid_size : int
        Cells per side for ``'grid'``.

    Raises
    ------
    InvalidParameterError
        Unknown ``pooling``.
    """
    check_option(pooling, "pooling", POOLINGS)
    a = activation
    if a.ndim == 2:
        return a
    if pooling == "none":
        return a.flatten(1)
    if a.ndim == 3:  # tokens (n, L, D)
        return a.amax(dim=1) if pooling == "max" else a.mean(dim=1)
    if a.ndim == 4:
        if pooling == "avg":
            return a.mean(dim=(2, 3))
        if pooling == "max":
            return a.amax(dim=(2, 3))
        return F.adaptive_avg_pool2d(a, grid_size).flatten(1)
    return a.flatten(1)


# ----------------------------------------------------------------------------- interface
class FeatureExtractor(abc.ABC):
    """Images -> named layer activations.

    Subclasses set :attr:`layers`, :attr:`input_size`, :attr:`mean`, :attr:`std`
    and implement :meth:`_forward` on normalised tensors.

    Attributes
    ----------
    layers : tuple of str
        Names of the layers the extractor can return, shallow to deep.
    input_size : int
        Side in pixels the images are resized to.
    mean, std : tuple of 3 floats
        Per-channel normalisation applied after resizing (images in [0, 1]).
    pca_ : dict of str to sklearn.decomposition.PCA
        Per-layer PCA, set by the first :meth:`extract` call with ``pca``
        (or by :meth:`fit_pca`).
    """

    layers: tuple[str, ...] = ()
    default_layers: tuple[str, ...] = ()
    input_size: int = 224
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def __init__(self, device: str | torch.device | None = None) -> None:
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.pca_: dict[str, object] = {}

    # -- to implement -------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def module(self) -> torch.nn.Module:
        """The underlying network (in eval mode)."""

    @abc.abstractmethod
    def _forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Run the network on normalised ``(n, 3, input_size, input_size)`` input."""

    # -- torch side ---------------------------------------------------------------------
    def check_layers(self, layers: str | Sequence[str] | None) -> tuple[str, ...]:
        """Validate layer names (``None`` -> :attr:`default_layers`).

        Raises
        ------
        InvalidParameterError
            No layer, or a name the extractor does not have.
        """
        if layers is None:
            return tuple(self.default_layers or self.layers)
        if isinstance(layers, str):
            layers = (layers,)
        layers = tuple(layers)
        if not layers:
            raise InvalidParameterError("layers: need at least one layer name")
        unknown = [layer for layer in layers if layer not in self.layers]
        if unknown:
            raise InvalidParameterError(f"layers: unknown layer(s) {unknown}; this extractor has {list(self.layers)}")
        return layers

    def preprocess(self, images: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Validate, crop, resize and normalise images -> ``(n, 3, input_size, input_size)``."""
        x = as_image_tensor(images)
        param = next(self.module.parameters(), None)
        device = param.device if param is not None else self.device
        dtype = param.dtype if param is not None else torch.float32
        x = x.to(device=device, dtype=dtype)
        x = square_resize(x, self.input_size)
        mean = torch.tensor(self.mean, device=device, dtype=dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=device, dtype=dtype).view(1, 3, 1, 1)
        return (x - mean) / std

    def forward_features(
        self, images: torch.Tensor | np.ndarray, layers: str | Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Differentiable activations of ``images``.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W)
            Values in [0, 1], on the extractor's device; gradients flow back to
            the pixels. (A numpy ``(n, H, W, 3)`` array is accepted too.)
        layers : str or sequence of str, optional
            Layers to return; default :attr:`default_layers`.

        Returns
        -------
        dict of str to Tensor
            Unpooled activations: ``(n, C, h, w)`` maps, ``(n, L, D)`` tokens
            or ``(n, D)`` vectors, in the order of ``layers``.
        """
        layers = self.check_layers(layers)
        out = self._forward(self.preprocess(images), layers)
        return {layer: out[layer] for layer in layers}

    def to(self, device: str | torch.device) -> "FeatureExtractor":
        """Move the network to ``device`` (in place) and return ``self``."""
        self.device = torch.device(device)
        self.module.to(self.device)
        return self

    # -- numpy side -----------------------------------------------------------------------
    def extract(
        self,
        images: np.ndarray | torch.Tensor,
        layers: str | Sequence[str] | None = None,
        *,
        batch_size: int = 32,
        pooling: Pooling = "avg",
        grid_size: int = 4,
        pca: int | None = None,
        device: str | torch.device | None = None,
        progress: bool = True,
    ) -> dict[str, np.ndarray]:
        """Pooled features of many images, computed in batches without gradients.

        Parameters
        ----------
        images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
            Values in [0, 1].
        layers : str or sequence of str, optional
            Layers to return; default :attr:`default_layers`.
        batch_size : int
            Images per forward pass.
        pooling : {'avg', 'max', 'none', 'grid'}
            Spatial reduction, see :func:`pool_activation`.
        grid_size : int
            Cells per side for ``pooling='grid'``.
        pca : int, optional
            Reduce each layer to this many principal components. The PCA is
            fitted on the first call that asks for it and stored in
            :attr:`pca_`; later calls reuse it (call :meth:`reset_pca` to refit).
        device : str or torch.device, optional
            Run on this device (the network is moved there).
        progress : bool
            Show a tqdm progress bar over batches.

        Returns
        -------
        dict of str to ndarray of shape (n, n_features)
            float32 features per layer.
        """
        layers = self.check_layers(layers)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        check_option(pooling, "pooling", POOLINGS)
        grid_size = check_int(grid_size, "grid_size", minimum=1)
        pca = check_int(pca, "pca", minimum=1, allow_none=True)
        if device is not None:
            self.to(device)
        n = int(images.shape[0])
        if isinstance(images, torch.Tensor):
            as_image_tensor(images[:1])  # early shape check
        else:
            as_image_tensor(np.asarray(images[:1]))
        chunks: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
        starts = range(0, n, int(batch_size))
        bar = tqdm(starts, total=len(starts), desc=f"{type(self).__name__} features", unit="batch", disable=not progress)
        with torch.no_grad():
            for start in bar:
                batch = images[start : start + batch_size]
                out = self.forward_features(batch, layers)
                for layer in layers:
                    pooled = pool_activation(out[layer], pooling, grid_size)
                    chunks[layer].append(pooled.float().cpu().numpy())
        features = {layer: np.concatenate(chunks[layer], axis=0) for layer in layers}
        if pca is not None:
            missing = [layer for layer in layers if layer not in self.pca_]
            if missing:
                self.fit_pca({layer: features[layer] for layer in missing}, pca)
            features = self.transform_pca(features)
        return features

    # -- PCA ------------------------------------------------------------------------------
    def fit_pca(self, features: Mapping[str, np.ndarray], n_components: int) -> "FeatureExtractor":
        """Fit a per-layer PCA on ``features`` (as returned by :meth:`extract`) and store it."""
        from sklearn.decomposition import PCA

        n_components = check_int(n_components, "n_components", minimum=1)
        for layer, value in features.items():
            value = np.asarray(value)
            k = int(min(n_components, value.shape[0], value.shape[1]))
            if k < n_components:
                raise DataValidationError(
                    f"pca={n_components} for layer {layer!r} needs at least {n_components} images and "
                    f"features, got an array of shape {value.shape}"
                )
            self.pca_[layer] = PCA(n_components=k, svd_solver="auto", random_state=0).fit(value)
        return self

    def transform_pca(self, features: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Apply the stored per-layer PCA to ``features``."""
        out = {}
        for layer, value in features.items():
            if layer not in self.pca_:
                raise NotFittedError(f"no PCA fitted for layer {layer!r}; call extract(..., pca=k) or fit_pca first")
            out[layer] = self.pca_[layer].transform(np.asarray(value)).astype(np.float32)
        return out

    def reset_pca(self) -> None:
        """Forget the stored PCA, so the next ``extract(..., pca=k)`` refits it."""
        self.pca_ = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(layers={list(self.layers)}, input_size={self.input_size}, device='{self.device}')"

"""Features from any ``torch.nn.Module``, read through forward hooks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_bool, check_int, check_real
from encoding.features.base import FeatureExtractor


class _StopForward(Exception):
    """Raised inside a hook once every requested layer is captured (skips the rest)."""


def first_tensor(output: object) -> torch.Tensor:
    """A hooked module's output as one tensor: the output itself, or the first tensor in a tuple, list or dict.

    Raises
    ------
    DataValidationError
        The output holds no tensor.
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output:
        return first_tensor(output[0])
    if isinstance(output, Mapping) and output:
        return first_tensor(next(iter(output.values())))
    raise DataValidationError(f"a hooked layer returned {type(output).__name__}, not a tensor")


class TorchModuleExtractor(FeatureExtractor):
    """Wrap a user's ``torch.nn.Module`` as a feature extractor.

    Parameters
    ----------
    module : torch.nn.Module
        The network; called as ``module(x)`` on normalised ``(n, 3, S, S)``
        input. It is put in eval mode; its parameters are not modified.
    layers : sequence of str or mapping of str to str
        Submodule names as in ``module.named_modules()`` (e.g.
        ``'features.3'``), or a mapping from the names you want in the output
        to those submodule names. A hooked submodule's output is taken as is
        (the first tensor if it returns a tuple). The special name ``''``
        hooks the module itself (its final output).
    input_size : int
        Side in pixels images are centre-cropped and resized to.
    mean, std : tuple of 3 floats
        Normalisation applied to [0, 1] images (default ImageNet statistics).
    stop_early : bool
        Interrupt the forward pass once every requested layer has fired
        (saves the cost of the deeper layers). Turn off for modules whose
        hooked layers fire in an unusual order.
    device : str or torch.device, optional
        Where the module runs; default: where its parameters are.

    Examples
    --------
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3))
    >>> ext = TorchModuleExtractor(net, layers={"conv1": "0", "conv2": "2"}, input_size=64)
    >>> ext.extract(images, progress=False)["conv2"].shape
    (n_images, 16)
    """

    def __init__(
        self,
        module: nn.Module,
        layers: Sequence[str] | Mapping[str, str],
        *,
        input_size: int = 224,
        mean: tuple[float, float, float] = (0.485, 0.456, 0.406),
        std: tuple[float, float, float] = (0.229, 0.224, 0.225),
        stop_early: bool = True,
        device: str | torch.device | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise InvalidParameterError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if device is None:
            param = next(module.parameters(), None)
            device = param.device if param is not None else "cpu"
        super().__init__(device)
        if isinstance(layers, str):
            layers = [layers]
        mapping = dict(layers) if isinstance(layers, Mapping) else {name: name for name in layers}
        if not mapping:
            raise InvalidParameterError("layers: name at least one submodule to read features from")
        named = dict(module.named_modules())
        unknown = [target for target in mapping.values() if target not in named]
        if unknown:
            sample = [name for name in named if name][:20]
            raise InvalidParameterError(
                f"layers: module has no submodule(s) {unknown}; some of its names: {sample}"
            )
        try:
            mean = tuple(check_real(m, "mean") for m in mean)
            std = tuple(check_real(s, "std", minimum=0.0, include_minimum=False) for s in std)
        except (TypeError, InvalidParameterError):
            mean, std = (), ()
        if len(mean) != 3 or len(std) != 3:
            raise InvalidParameterError(f"mean and std need 3 values each (std > 0), got {mean} and {std}")
        input_size = check_int(input_size, "input_size", minimum=1)
        stop_early = check_bool(stop_early, "stop_early")
        self._module = module.to(self.device).eval()
        self._targets = mapping
        self.layers = tuple(mapping)
        self.default_layers = tuple(mapping)
        self.input_size = input_size
        self.mean = mean
        self.std = std
        self.stop_early = stop_early

    @property
    def module(self) -> nn.Module:
        return self._module

    def _forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        named = dict(self._module.named_modules())
        out: dict[str, torch.Tensor] = {}
        handles = []

        def make_hook(layer: str):
            def hook(_mod: nn.Module, _inp: object, output: object) -> None:
                out[layer] = first_tensor(output)
                if self.stop_early and len(out) == len(layers):
                    raise _StopForward

            return hook

        try:
            for layer in layers:
                handles.append(named[self._targets[layer]].register_forward_hook(make_hook(layer)))
            try:
                self._module(x)
            except _StopForward:
                pass
        finally:
            for handle in handles:
                handle.remove()
        missing = [layer for layer in layers if layer not in out]
        if missing:
            raise DataValidationError(
                f"layers {missing} (submodules {[self._targets[m] for m in missing]}) were never called "
                "in the module's forward pass"
            )
        return out

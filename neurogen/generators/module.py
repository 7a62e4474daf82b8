"""Adapter for any user :class:`torch.nn.Module` that maps latents to images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from neurokit.exceptions import DataValidationError, ImageShapeError, InvalidParameterError
from neurokit.validation import check_int, check_real, is_integer
from neurogen.generators.base import ImageGenerator, check_truncation, make_torch_generator


class ModuleGenerator(ImageGenerator):
    """Wrap a latent-to-image module behind the :class:`ImageGenerator` interface.

    Parameters
    ----------
    module : nn.Module
        Called as ``module(latents)`` (unconditional) or
        ``module(latents, class_vectors)`` with one-hot ``class_vectors`` of
        shape (n, n_classes) (when ``n_classes > 0``). Must return a tensor
        ``(n, 3, H, W)`` and be differentiable with respect to ``latents``.
    latent_shape : int or sequence of int
        Shape of one latent (without the batch dimension).
    output_range : (float, float), default (-1.0, 1.0)
        Range of the module's output, mapped linearly onto [0, 1] (GANs with a
        tanh output give (-1, 1); pass (0, 1) for modules that already do).
        Values outside the range are not clipped, so gradients are kept; the
        optimiser's encoder sees the mapped values.
    n_classes : int, default 0
        Number of classes of a class-conditional module (0: unconditional).
    sampler : callable, optional
        ``sampler(n, truncation, torch_generator) -> Tensor (n, *latent_shape)``
        replacing the default truncated standard normal prior.

    Notes
    -----
    The image size is found by one forward pass of a single latent at
    construction (no gradient), which also checks the output shape.
    """

    def __init__(
        self,
        module: nn.Module,
        latent_shape: int | Sequence[int],
        *,
        output_range: tuple[float, float] = (-1.0, 1.0),
        n_classes: int = 0,
        sampler: Callable[[int, float, torch.Generator | None], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise InvalidParameterError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        try:
            shape = tuple((latent_shape,) if is_integer(latent_shape) else latent_shape)
        except TypeError:  # neither an int nor a sequence
            shape = ()
        if not shape or not all(is_integer(s) and int(s) >= 1 for s in shape):
            raise InvalidParameterError(f"latent_shape must be positive sizes, got {latent_shape!r}")
        shape = tuple(int(s) for s in shape)
        try:
            low, high = (check_real(v, "output_range") for v in output_range)
        except (TypeError, ValueError):  # not a pair, or not numbers
            raise InvalidParameterError(f"output_range must be (low, high) with high > low, got {output_range!r}") from None
        if not high > low:
            raise InvalidParameterError(f"output_range must be (low, high) with high > low, got {output_range!r}")
        self.module = module
        self.latent_shape = shape
        self.n_classes = check_int(n_classes, "n_classes", minimum=0)
        self.output_range = (low, high)
        self.sampler = sampler
        with torch.no_grad():
            probe = self.sample_latents(1, seed=0)
            out = self._call(probe, torch.zeros(1, dtype=torch.long) if self.n_classes else None)
        self.image_size = (int(out.shape[2]), int(out.shape[3]))

    def sample_latents(
        self, n: int, *, truncation: float = 1.0, seed: int | torch.Generator | None = None
    ) -> torch.Tensor:
        if self.sampler is None:
            return super().sample_latents(n, truncation=truncation, seed=seed)
        n = check_int(n, "n", minimum=1)
        latents = self.sampler(n, check_truncation(truncation), make_torch_generator(seed))
        if tuple(latents.shape) != (n, *self.latent_shape):
            raise DataValidationError(f"sampler returned shape {tuple(latents.shape)}, expected {(n, *self.latent_shape)}")
        return latents.to(self.device)

    def _call(self, latents: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        if self.n_classes:
            onehot = nn.functional.one_hot(classes, self.n_classes).to(latents.dtype)
            out = self.module(latents, onehot)
        else:
            out = self.module(latents)
        if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[1] != 3 or out.shape[0] != latents.shape[0]:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ImageShapeError(
                f"{type(self.module).__name__} must return images of shape (n={latents.shape[0]}, 3, H, W), got {got}"
            )
        low, high = self.output_range
        return (out - low) / (high - low)

    def generate(self, latents: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        return self._call(latents, classes)

    def describe(self) -> dict:
        return {**super().describe(), "module": type(self.module).__name__, "output_range": list(self.output_range)}

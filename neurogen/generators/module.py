"""Adapter for any user :class:`torch.nn.Module` that maps latents to images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from neurokit.exceptions import DataValidationError, ImageShapeError
from neurogen.generators.base import ImageGenerator


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
            raise DataValidationError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        shape = (int(latent_shape),) if hasattr(latent_shape, "__index__") else tuple(int(s) for s in latent_shape)
        if not shape or min(shape) < 1:
            raise DataValidationError(f"latent_shape must be positive sizes, got {latent_shape!r}")
        low, high = (float(v) for v in output_range)
        if not high > low:
            raise DataValidationError(f"output_range must be (low, high) with high > low, got {output_range!r}")
        if int(n_classes) < 0:
            raise DataValidationError(f"n_classes must be >= 0, got {n_classes!r}")
        self.module = module
        self.latent_shape = shape
        self.n_classes = int(n_classes)
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
        from neurogen.generators.base import check_truncation, make_torch_generator

        latents = self.sampler(int(n), check_truncation(truncation), make_torch_generator(seed))
        if tuple(latents.shape) != (int(n), *self.latent_shape):
            raise DataValidationError(
                f"sampler returned shape {tuple(latents.shape)}, expected {(int(n), *self.latent_shape)}"
            )
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

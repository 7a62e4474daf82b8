"""The one small interface every image generator in :mod:`neurogen` speaks.

A generator is a :class:`torch.nn.Module` with

* a latent shape (``latent_shape``; a vector ``(d,)`` for GANs, a spectrum for
  the Fourier parameterisation),
* a way to draw starting latents, optionally truncated
  (:meth:`ImageGenerator.sample_latents`),
* a differentiable map ``forward(latents, classes=None)`` from latents (and a
  class index, for class-conditional generators) to images: a float tensor
  ``(n, 3, H, W)`` with values in [0, 1].

The latent optimiser (:mod:`neurogen.optimize`) only ever uses this interface,
so BigGAN, the packaged DCGAN, the generator-free Fourier image and any user
module are interchangeable.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import torch
from torch import nn

from neurokit.exceptions import DataValidationError
from neurokit.validation import check_int, check_real

#: Truncated-normal samples are cut at this many standard deviations before
#: scaling by the truncation factor (as in BigGAN's truncation trick).
TRUNCATION_BOUND = 2.0


def check_truncation(truncation: float, name: str = "truncation") -> float:
    """Return ``truncation`` as a float in (0, 1], or raise :class:`~neurokit.exceptions.InvalidParameterError`."""
    return check_real(truncation, name, minimum=0.0, maximum=1.0, include_minimum=False)


def make_torch_generator(seed: int | torch.Generator | None, name: str = "seed") -> torch.Generator | None:
    """A CPU :class:`torch.Generator` from a non-negative int seed (``None`` and generators pass through).

    Raises
    ------
    InvalidParameterError
        ``seed`` is neither None, a ``torch.Generator`` nor a non-negative integer.
    """
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    return torch.Generator(device="cpu").manual_seed(check_int(seed, name, minimum=0))


def truncated_normal(
    shape: Sequence[int], *, truncation: float = 1.0, seed: int | torch.Generator | None = None
) -> torch.Tensor:
    """Draw ``truncation * N(0, 1)`` cut at +-2 standard deviations, on the CPU.

    Parameters
    ----------
    shape : sequence of int
        Output shape.
    truncation : float in (0, 1]
        Scale applied after truncation (BigGAN's truncation trick; 1 keeps the
        full +-2 range, smaller values give more typical, less varied images).
    seed : int, torch.Generator or None
        Source of randomness; an int gives the same draw every time.

    Returns
    -------
    Tensor of the given shape, float32, values in ``[-2 * truncation, 2 * truncation]``.
    """
    truncation = check_truncation(truncation)
    out = torch.empty(tuple(int(s) for s in shape), dtype=torch.float32)
    nn.init.trunc_normal_(
        out, 0.0, 1.0, -TRUNCATION_BOUND, TRUNCATION_BOUND, generator=make_torch_generator(seed)
    )
    return out * truncation


class ImageGenerator(nn.Module, abc.ABC):
    """Base class: a differentiable map from latents (and classes) to images in [0, 1].

    Subclasses set :attr:`latent_shape`, :attr:`image_size` and
    :attr:`n_classes` (0 for unconditional generators) and implement
    :meth:`generate`.

    Attributes
    ----------
    latent_shape : tuple of int
        Shape of one latent (without the batch dimension).
    image_size : tuple of int
        ``(H, W)`` of the images, in pixels.
    n_classes : int
        Number of classes of a class-conditional generator; 0 if unconditional.
    """

    latent_shape: tuple[int, ...] = ()
    image_size: tuple[int, int] = (0, 0)
    n_classes: int = 0

    @property
    def is_conditional(self) -> bool:
        """Whether :meth:`forward` needs a class index per latent."""
        return self.n_classes > 0

    @property
    def latent_size(self) -> int:
        """Number of scalars in one latent."""
        size = 1
        for s in self.latent_shape:
            size *= int(s)
        return size

    @property
    def device(self) -> torch.device:
        """Device of the generator's parameters or buffers (CPU if it has none)."""
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    def sample_latents(
        self, n: int, *, truncation: float = 1.0, seed: int | torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw ``n`` starting latents from the generator's prior.

        The default prior is a standard normal truncated at +-2 and scaled by
        ``truncation``; subclasses with another prior override this.

        Parameters
        ----------
        n : int
            Number of latents.
        truncation : float in (0, 1]
            Truncation factor (smaller: closer to the prior's mode).
        seed : int, torch.Generator or None
            Source of randomness; the same int always gives the same latents.

        Returns
        -------
        Tensor of shape (n, *latent_shape), float32, on :attr:`device`.
        """
        n = check_int(n, "n", minimum=1)
        return truncated_normal((n, *self.latent_shape), truncation=truncation, seed=seed).to(self.device)

    def check_latents(self, latents: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor | None:
        """Validate a batch of latents (and classes); return classes as a long tensor or None."""
        if not isinstance(latents, torch.Tensor):
            raise DataValidationError(
                f"latents must be a torch.Tensor of shape (n, {', '.join(map(str, self.latent_shape))}), "
                f"got {type(latents).__name__}"
            )
        if tuple(latents.shape[1:]) != tuple(self.latent_shape) or latents.ndim != len(self.latent_shape) + 1:
            raise DataValidationError(
                f"latents must have shape (n, {', '.join(map(str, self.latent_shape))}) for "
                f"{type(self).__name__}, got {tuple(latents.shape)}"
            )
        if not self.is_conditional:
            if classes is not None:
                raise DataValidationError(f"{type(self).__name__} is unconditional; pass classes=None")
            return None
        if classes is None:
            raise DataValidationError(
                f"{type(self).__name__} is class-conditional; pass classes (n,) with ints in 0..{self.n_classes - 1}"
            )
        classes = torch.as_tensor(classes, device=latents.device)
        if classes.dtype.is_floating_point or classes.shape != (latents.shape[0],):
            raise DataValidationError(
                f"classes must be an integer tensor of shape ({latents.shape[0]},), got "
                f"{tuple(classes.shape)} {classes.dtype}"
            )
        if classes.numel() and (int(classes.min()) < 0 or int(classes.max()) >= self.n_classes):
            raise DataValidationError(
                f"classes must be in 0..{self.n_classes - 1}, got values in "
                f"{int(classes.min())}..{int(classes.max())}"
            )
        return classes.long()

    def forward(self, latents: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor:
        """Images for a batch of latents.

        Parameters
        ----------
        latents : Tensor of shape (n, *latent_shape)
        classes : Tensor of shape (n,) of int, optional
            Class index per latent (class-conditional generators only).

        Returns
        -------
        Tensor of shape (n, 3, H, W)
            Images with values in [0, 1], differentiable with respect to ``latents``.
        """
        classes = self.check_latents(latents, classes)
        return self.generate(latents, classes)

    @abc.abstractmethod
    def generate(self, latents: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        """Map validated latents (and classes) to images ``(n, 3, H, W)`` in [0, 1]."""

    def describe(self) -> dict:
        """JSON-serialisable description of the generator (for result files)."""
        return {
            "type": type(self).__name__,
            "latent_shape": list(self.latent_shape),
            "image_size": list(self.image_size),
            "n_classes": int(self.n_classes),
        }


class InstanceConditionedGenerator(ImageGenerator):
    """Base class of ``G(z, h)``: images from a detail latent ``z`` and an instance feature ``h``.

    As in IC-GAN (Casanova et al., 2021), the condition is not a class but a
    continuous feature vector of one image (an "instance"); the generator
    draws images resembling that instance's neighbourhood, ``z`` choosing
    among them. Subclasses set :attr:`instance_dim` (and the
    :class:`ImageGenerator` attributes) and implement :meth:`generate`.

    Attributes
    ----------
    instance_dim : int
        Size of one instance feature ``h``.
    """

    instance_dim: int = 0

    def check_instance(self, latents: torch.Tensor, instance: torch.Tensor | None) -> torch.Tensor:
        """Validate latents and instance features; return the features as a float tensor on the latents' device."""
        super().check_latents(latents)
        if instance is None:
            raise DataValidationError(
                f"{type(self).__name__} is instance-conditioned; pass instance features of shape "
                f"({latents.shape[0]}, {self.instance_dim})"
            )
        instance = torch.as_tensor(instance, device=latents.device)
        if not instance.dtype.is_floating_point or tuple(instance.shape) != (latents.shape[0], self.instance_dim):
            raise DataValidationError(
                f"instance features must be a float tensor of shape ({latents.shape[0]}, {self.instance_dim}), "
                f"got {tuple(instance.shape)} {instance.dtype}"
            )
        if not torch.isfinite(instance).all():
            raise DataValidationError("instance features must be finite (NaN or inf found)")
        return instance.to(latents.dtype)

    def check_latents(self, latents: torch.Tensor, classes: torch.Tensor | None = None) -> torch.Tensor | None:
        raise DataValidationError(
            f"{type(self).__name__} is instance-conditioned: call it as generator(latents, instance_features)"
        )

    def forward(self, latents: torch.Tensor, instance: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        """Images for latents ``(n, *latent_shape)`` and instance features ``(n, instance_dim)``.

        Returns
        -------
        Tensor of shape (n, 3, H, W)
            Values in [0, 1], differentiable with respect to both inputs.
        """
        instance = self.check_instance(latents, instance)
        return self.generate(latents, instance)

    @abc.abstractmethod
    def generate(self, latents: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Map validated latents and instance features to images ``(n, 3, H, W)`` in [0, 1]."""

    def describe(self) -> dict:
        return {**super().describe(), "instance_dim": int(self.instance_dim)}

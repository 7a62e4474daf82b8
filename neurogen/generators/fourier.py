"""A generator-free image parameterisation: decorrelated Fourier space with colour decorrelation.

For regions that no pretrained generator covers, optimise the pixels directly,
but in a basis where gradient steps behave: the image is the inverse real FFT
of a spectrum whose coefficients are scaled by ``1 / f**decay_power`` (so every
spatial frequency has about the same energy as in natural images), the three
channels are mixed by the square root of the colour covariance of ImageNet
(so the optimiser moves decorrelated colour components), and a sigmoid maps to
[0, 1]. This is the parameterisation of Olah, Mordvintsev & Schubert,
"Feature Visualization" (Distill 2017) and the Lucid library; combine it with
the transformation robustness of :mod:`neurogen.augment` (jitter, scaling,
rotation applied in the objective loop).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from neurokit.exceptions import InvalidParameterError
from neurokit.validation import check_bool, check_real, is_integer
from neurogen.generators.base import ImageGenerator
from neurogen.generators.registry import GENERATORS

#: Square root of the colour covariance of ImageNet (Lucid's ``color_correlation_svd_sqrt``);
#: rows are R, G, B, columns the decorrelated components.
COLOR_CORRELATION_SVD_SQRT = torch.tensor(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=torch.float32
)

#: Lucid's empirical division of the decorrelated image before the sigmoid.
_SPECTRUM_DIVISOR = 4.0


def spectrum_scale(height: int, width: int, decay_power: float = 1.0) -> torch.Tensor:
    """Per-frequency amplitude scale ``1 / max(f, 1/max(H, W))**decay_power``.

    Parameters
    ----------
    height, width : int
        Image size in pixels.
    decay_power : float
        Exponent of the 1/f fall-off (1 matches natural image statistics).

    Returns
    -------
    Tensor of shape (height, width // 2 + 1)
        Scales for the half-spectrum that :func:`torch.fft.irfft2` takes,
        multiplied by ``sqrt(H * W)`` so that unit-variance coefficients give
        a unit-variance image component per frequency band.
    """
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    freqs = torch.sqrt(fx * fx + fy * fy)
    scale = 1.0 / torch.clamp(freqs, min=1.0 / max(height, width)) ** float(decay_power)
    return (scale * (height * width) ** 0.5).to(torch.float32)


class FourierImage(ImageGenerator):
    """Images parameterised by a decorrelated Fourier spectrum (no generator network).

    Parameters
    ----------
    image_size : int or (int, int), default 128
        Output ``(H, W)`` in pixels.
    decay_power : float, default 1.0
        Exponent of the 1/f amplitude scaling of the spectrum.
    decorrelate_colors : bool, default True
        Mix channels with the ImageNet colour-covariance square root before the
        sigmoid; if False the channels are independent.
    init_std : float, default 0.01
        Standard deviation of the starting spectrum coefficients (before the
        truncation factor of :meth:`sample_latents`), as in Lucid; small values
        start from a near-uniform grey image.

    Attributes
    ----------
    latent_shape : (3, H, W // 2 + 1, 2)
        Real and imaginary parts of the half spectrum of each decorrelated channel.

    Notes
    -----
    The "latent" here is the image itself in another basis, so a latent-norm
    penalty is a penalty on (frequency-weighted) contrast.
    """

    def __init__(
        self,
        image_size: int | Sequence[int] = 128,
        *,
        decay_power: float = 1.0,
        decorrelate_colors: bool = True,
        init_std: float = 0.01,
    ) -> None:
        super().__init__()
        try:
            size = tuple((image_size, image_size) if is_integer(image_size) else image_size)
        except TypeError:  # neither an int nor a pair
            size = ()
        if len(size) != 2 or not all(is_integer(s) and int(s) >= 2 for s in size):
            raise InvalidParameterError(f"image_size must be an int >= 2 or a pair (H, W) of them, got {image_size!r}")
        size = (int(size[0]), int(size[1]))
        self.image_size = size
        self.n_classes = 0
        self.latent_shape = (3, size[0], size[1] // 2 + 1, 2)
        self.decay_power = check_real(decay_power, "decay_power")
        self.decorrelate_colors = check_bool(decorrelate_colors, "decorrelate_colors")
        self.init_std = check_real(init_std, "init_std", minimum=0.0, include_minimum=False)
        self.register_buffer("scale", spectrum_scale(size[0], size[1], decay_power), persistent=False)
        color = COLOR_CORRELATION_SVD_SQRT / COLOR_CORRELATION_SVD_SQRT.norm(dim=0).max()
        self.register_buffer("color_mix", color if decorrelate_colors else torch.eye(3), persistent=False)

    def sample_latents(
        self, n: int, *, truncation: float = 1.0, seed: int | torch.Generator | None = None
    ) -> torch.Tensor:
        """Starting spectra: truncated normal noise times ``init_std * truncation``.

        Returns
        -------
        Tensor of shape (n, 3, H, W // 2 + 1, 2)
        """
        return super().sample_latents(n, truncation=truncation, seed=seed) * self.init_std

    def generate(self, latents: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        spectrum = torch.view_as_complex(latents.float().contiguous()) * self.scale
        image = torch.fft.irfft2(spectrum, s=self.image_size) / _SPECTRUM_DIVISOR  # (n, 3, H, W)
        image = torch.einsum("ij,njhw->nihw", self.color_mix, image)
        return torch.sigmoid(image)

    def get_config(self) -> dict:
        """The constructor arguments (JSON), from which :data:`~neurogen.generators.GENERATORS` rebuilds it."""
        return {
            "image_size": list(self.image_size),
            "decay_power": self.decay_power,
            "decorrelate_colors": self.decorrelate_colors,
            "init_std": self.init_std,
        }

    def describe(self) -> dict:
        return {**super().describe(), **self.get_config()}


def _from_config(image_size: Sequence[int], **settings: object) -> FourierImage:
    """Rebuild a :class:`FourierImage` from its config (the image size is required there)."""
    return FourierImage(image_size, **settings)


GENERATORS.register("FourierImage", builder=_from_config)(FourierImage)

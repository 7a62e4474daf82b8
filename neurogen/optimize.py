"""The latent optimiser: NeuroGen's recipe for region-maximising (or -minimising) images.

Defaults follow Gu et al. (NeuroImage 2022): Adam with learning rate 0.01 for
1,000 steps on the generator's latent only, a latent-norm penalty of 0.001,
truncated starting noise (truncation 0.4), and, for class-conditional
generators, starting from the top-k classes ranked by the objective on images
of each class. The image kept from each trajectory is its best step (the
highest objective value, penalty excluded).

Every (objective, class, seed) trajectory runs in one batch (or in chunks of
``max_batch``), and each trajectory is independent of the others: its starting
latent and its augmentation draws come from its own seed, Adam updates are
element-wise and the loss is a sum over trajectories, so a trajectory gives the
same images whatever else is in the batch.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_int, check_real
from neurogen.augment import RandomAffine
from neurogen.generators.base import ImageGenerator, check_truncation
from neurogen.objectives import DEFAULT_ENCODER, Objective, ROISpec, resolve_roi

Encoders = Union[nn.Module, Mapping[str, nn.Module]]

#: Offset mixed into a trajectory's seed for its augmentation draws (so they differ from its latent draw).
_AUGMENT_SEED_OFFSET = 7_919


def as_encoders(encoder: Encoders) -> dict[str, nn.Module]:
    """Normalise one encoder or a mapping of them to ``{name: module}``."""
    if isinstance(encoder, nn.Module):
        return {DEFAULT_ENCODER: encoder}
    if isinstance(encoder, Mapping) and encoder and all(isinstance(m, nn.Module) for m in encoder.values()):
        return {str(k): v for k, v in encoder.items()}
    raise DataValidationError(
        "encoder must be an nn.Module mapping images (n, 3, H, W) in [0, 1] to (n, n_targets), "
        f"or a non-empty mapping {{name: nn.Module}}; got {type(encoder).__name__}"
    )


def as_objectives(objectives: Objective | Sequence[Objective]) -> list[Objective]:
    """Normalise one objective or a sequence of them to a non-empty list."""
    if isinstance(objectives, Objective):
        return [objectives]
    objectives = list(objectives)
    if not objectives or not all(isinstance(o, Objective) for o in objectives):
        raise DataValidationError("objectives must be an Objective or a non-empty sequence of Objective instances")
    return objectives


def predict(
    encoders: Mapping[str, nn.Module],
    images: torch.Tensor,
    input_size: tuple[int, int] | None = None,
    needed: Sequence[str] | None = None,
) -> dict[str, torch.Tensor]:
    """Run encoders on images (n, 3, H, W) in [0, 1], resizing to ``input_size`` first.

    Returns ``{name: Tensor (n, n_targets)}`` for the encoders in ``needed`` (default: all).
    """
    if input_size is not None and tuple(images.shape[-2:]) != tuple(input_size):
        images = F.interpolate(images, size=tuple(input_size), mode="bilinear", align_corners=False, antialias=True)
    out = {}
    for name in needed if needed is not None else encoders:
        if name not in encoders:
            raise DataValidationError(
                f"an objective reads encoder {name!r}, but the encoders are: {', '.join(map(repr, encoders))}"
            )
        pred = encoders[name](images)
        if not isinstance(pred, torch.Tensor) or pred.ndim != 2 or pred.shape[0] != images.shape[0]:
            got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
            raise DataValidationError(
                f"encoder {name!r} must return a Tensor of shape (n={images.shape[0]}, n_targets), got {got}"
            )
        out[name] = pred
    return out


def needed_encoders(objectives: Sequence[Objective], encoders: Mapping[str, nn.Module]) -> list[str]:
    """Names of the encoders the objectives read, in first-use order (every encoder when none names one).

    Parameters
    ----------
    objectives : sequence of Objective
    encoders : mapping of str to nn.Module

    Returns
    -------
    list of str
    """
    names: dict[str, None] = {}
    for obj in objectives:
        names.update(dict.fromkeys(obj.encoders))
    return list(names) if names else list(encoders)


@dataclass
class SynthesisResult:
    """Images from latent optimisation, one per (objective, class, seed) trajectory.

    Attributes
    ----------
    images : ndarray of shape (n, H, W, 3)
        float32 in [0, 1], each trajectory's best step.
    latents : ndarray of shape (n, *latent_shape)
        The latents of those images.
    classes : ndarray of shape (n,)
        Class index of each trajectory (-1 for unconditional generators).
    seeds : ndarray of shape (n,)
        Seed of each trajectory (its starting latent and augmentations).
    objective_index : ndarray of shape (n,)
        Which objective (index into ``objective_names``) each trajectory follows.
    objective_names : list of str
    history : ndarray of shape (n, steps)
        Objective value (higher is better, penalty excluded) at every step.
    best_step : ndarray of shape (n,)
        Step whose latent was kept.
    best_value : ndarray of shape (n,)
        Objective value at ``best_step`` (on the unaugmented image).
    predictions : dict of str to ndarray (n, n_targets)
        Each encoder's predicted responses to ``images``.
    settings : dict
        Optimiser settings, generator and objective descriptions, timings.
    """

    images: np.ndarray
    latents: np.ndarray
    classes: np.ndarray
    seeds: np.ndarray
    objective_index: np.ndarray
    objective_names: list[str]
    history: np.ndarray
    best_step: np.ndarray
    best_value: np.ndarray
    predictions: dict[str, np.ndarray]
    settings: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def select(self, objective: int | str) -> np.ndarray:
        """Indices of the trajectories following one objective (by index or name)."""
        k = self._objective_index(objective)
        return np.flatnonzero(self.objective_index == k)

    def best(self, objective: int | str) -> int:
        """Index of the trajectory with the highest ``best_value`` for one objective."""
        idx = self.select(objective)
        return int(idx[np.argmax(self.best_value[idx])])

    def roi_activation(self, rois: Mapping[str, ROISpec], encoder: str = DEFAULT_ENCODER) -> dict[str, np.ndarray]:
        """Predicted mean response of each named ROI to each image: ``{roi_name: (n,)}``."""
        if encoder not in self.predictions:
            raise DataValidationError(f"no predictions for encoder {encoder!r}; have {list(self.predictions)}")
        pred = self.predictions[encoder]
        return {
            name: pred[:, resolve_roi(roi, pred.shape[1], f"rois[{name!r}]").numpy()].mean(axis=1)
            for name, roi in rois.items()
        }

    def _objective_index(self, objective: int | str) -> int:
        if isinstance(objective, str):
            if objective not in self.objective_names:
                raise DataValidationError(f"unknown objective {objective!r}; have {self.objective_names}")
            return self.objective_names.index(objective)
        k = int(objective)
        if not 0 <= k < len(self.objective_names):
            raise DataValidationError(f"objective index must be in 0..{len(self.objective_names) - 1}, got {k}")
        return k


class LatentOptimizer:
    """Optimise generator latents so that encoder predictions follow objectives.

    Parameters
    ----------
    steps : int, default 1000
        Adam steps per trajectory.
    lr : float, default 0.01
        Adam learning rate.
    latent_decay : float, default 0.001
        Weight of the ``||z||^2`` penalty added to every objective (0 disables it).
    truncation : float in (0, 1], default 0.4
        Truncation of the starting noise.
    n_seeds : int, default 4
        Trajectories per objective (and class), seeds ``0..n_seeds - 1`` unless
        ``seeds`` is given to :meth:`run`.
    top_k_classes : int, default 10
        For class-conditional generators: start from this many top-ranked classes
        per objective (see :func:`rank_classes`).
    n_class_samples : int, default 4
        Images per class used to rank classes.
    augment : RandomAffine, optional
        Transformation robustness: each step also scores ``n_augment`` randomly
        warped copies of every image; the loss averages the unwarped and warped
        views, and the best step is judged on the unwarped image.
    n_augment : int, default 1
        Warped copies per image and step (used only with ``augment``).
    input_size : (int, int), optional
        Resize images to this size (bilinear, antialiased) before the encoder,
        e.g. the size the encoder was fitted on.
    max_batch : int, optional
        Largest number of trajectories optimised together (default: all).
    progress : bool, default True
        Show a tqdm progress bar.

    Examples
    --------
    >>> opt = LatentOptimizer(steps=200, n_seeds=2)                      # doctest: +SKIP
    >>> result = opt.run(DCGANFaceGenerator.from_pretrained(), encoder,
    ...                  [ROIActivation(ffa), ROIActivation(ppa)])         # doctest: +SKIP
    >>> result.images.shape                                               # doctest: +SKIP
    (4, 64, 64, 3)
    """

    def __init__(
        self,
        *,
        steps: int = 1000,
        lr: float = 0.01,
        latent_decay: float = 0.001,
        truncation: float = 0.4,
        n_seeds: int = 4,
        top_k_classes: int = 10,
        n_class_samples: int = 4,
        augment: RandomAffine | None = None,
        n_augment: int = 1,
        input_size: tuple[int, int] | None = None,
        max_batch: int | None = None,
        progress: bool = True,
    ) -> None:
        self.steps = steps
        self.lr = lr
        self.latent_decay = latent_decay
        self.truncation = truncation
        self.n_seeds = n_seeds
        self.top_k_classes = top_k_classes
        self.n_class_samples = n_class_samples
        self.augment = augment
        self.n_augment = n_augment
        self.input_size = input_size
        self.max_batch = max_batch
        self.progress = progress

    # -------------------------------------------------------------------------------
    def _validate(self) -> None:
        for name in ("steps", "n_seeds", "top_k_classes", "n_class_samples", "n_augment"):
            check_int(getattr(self, name), name, minimum=1)
        check_int(self.max_batch, "max_batch", minimum=1, allow_none=True)
        check_real(self.lr, "lr", minimum=0.0, include_minimum=False, finite=False)
        check_real(self.latent_decay, "latent_decay", minimum=0.0, finite=False)
        check_truncation(self.truncation)
        if self.augment is not None and not isinstance(self.augment, RandomAffine):
            raise InvalidParameterError(f"augment must be a RandomAffine or None, got {type(self.augment).__name__}")
        if self.input_size is not None:
            size = tuple(self.input_size)
            if len(size) != 2 or min(int(s) for s in size) < 1:
                raise InvalidParameterError(f"input_size must be (H, W), got {self.input_size!r}")

    def settings(self) -> dict[str, Any]:
        """The optimiser's hyperparameters as a JSON-serialisable dict."""
        return {
            "steps": self.steps,
            "lr": self.lr,
            "latent_decay": self.latent_decay,
            "truncation": self.truncation,
            "n_seeds": self.n_seeds,
            "top_k_classes": self.top_k_classes,
            "n_class_samples": self.n_class_samples,
            "augment": None if self.augment is None else self.augment.describe(),
            "n_augment": self.n_augment,
            "input_size": None if self.input_size is None else list(self.input_size),
            "max_batch": self.max_batch,
        }

    def run(
        self,
        generator: ImageGenerator,
        encoder: Encoders,
        objectives: Objective | Sequence[Objective],
        *,
        seeds: Sequence[int] | None = None,
        classes: Sequence[int] | Sequence[Sequence[int]] | None = None,
    ) -> SynthesisResult:
        """Optimise one batch of trajectories per (objective, class, seed).

        Parameters
        ----------
        generator : ImageGenerator
            Latents (and classes) -> images in [0, 1].
        encoder : nn.Module or mapping of str to nn.Module
            Differentiable encoder(s), images (n, 3, H, W) in [0, 1] -> (n, n_targets).
            Use a mapping (e.g. one encoder per subject) for subject contrasts.
        objectives : Objective or sequence of Objective
            One optimisation target per entry (e.g. one ROI each).
        seeds : sequence of int, optional
            Seeds of the trajectories of each objective (default ``range(n_seeds)``).
        classes : sequence of int, or one sequence per objective, optional
            Starting classes for a class-conditional generator (default: the
            ``top_k_classes`` best classes of each objective, see :func:`rank_classes`).

        Returns
        -------
        SynthesisResult
        """
        self._validate()
        if not isinstance(generator, ImageGenerator):
            raise DataValidationError(
                f"generator must be a neurogen ImageGenerator (wrap modules with ModuleGenerator), "
                f"got {type(generator).__name__}"
            )
        encoders = as_encoders(encoder)
        objectives = as_objectives(objectives)
        needed = needed_encoders(objectives, encoders)
        seeds = list(range(self.n_seeds)) if seeds is None else [int(s) for s in seeds]
        if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise DataValidationError(f"seeds must be distinct non-negative ints, got {seeds!r}")
        class_lists = self._class_lists(generator, encoders, objectives, classes)

        # one row per trajectory: (objective, class, seed)
        rows = [(k, c, s) for k, cls in enumerate(class_lists) for c in cls for s in seeds]
        obj_idx = np.array([r[0] for r in rows], dtype=np.int64)
        cls_arr = np.array([r[1] for r in rows], dtype=np.int64)
        seed_arr = np.array([r[2] for r in rows], dtype=np.int64)

        modes = {m: m.training for m in [generator, *encoders.values()]}
        for module in modes:
            module.eval()
        start = time.perf_counter()
        try:
            chunk = self.max_batch or len(rows)
            parts = []
            n_chunks = -(-len(rows) // chunk)
            bar = tqdm(total=self.steps * n_chunks, disable=not self.progress, desc="neurogen", unit="step")
            for lo in range(0, len(rows), chunk):
                sl = slice(lo, lo + chunk)
                parts.append(self._optimise_chunk(
                    generator, encoders, objectives, needed, obj_idx[sl], cls_arr[sl], seed_arr[sl], bar))
            bar.close()
            elapsed = time.perf_counter() - start
            best_z = torch.cat([p[0] for p in parts])
            history = np.concatenate([p[1] for p in parts])
            classes_t = torch.as_tensor(cls_arr, device=generator.device) if generator.is_conditional else None
            with torch.no_grad():
                images = generator(best_z, classes_t)
                preds = predict(encoders, images, self.input_size)
        finally:
            for module, training in modes.items():
                module.train(training)

        best_step = history.argmax(axis=1)
        best_value = history[np.arange(len(rows)), best_step]
        return SynthesisResult(
            images=images.permute(0, 2, 3, 1).clamp(0, 1).cpu().numpy().astype(np.float32),
            latents=best_z.cpu().numpy(),
            classes=cls_arr,
            seeds=seed_arr,
            objective_index=obj_idx,
            objective_names=[o.name for o in objectives],
            history=history,
            best_step=best_step,
            best_value=best_value.astype(np.float32),
            predictions={k: v.cpu().numpy() for k, v in preds.items()},
            settings={
                "optimizer": self.settings(),
                "generator": generator.describe(),
                "objectives": [o.describe() for o in objectives],
                "encoders": {name: type(m).__name__ for name, m in encoders.items()},
                "seeds": seeds,
                "classes": [list(map(int, c)) if c != [-1] else None for c in class_lists],
                "elapsed_s": elapsed,
                "steps_per_s": self.steps / elapsed if elapsed > 0 else float("inf"),
            },
        )

    # -------------------------------------------------------------------------------
    def _class_lists(
        self,
        generator: ImageGenerator,
        encoders: Mapping[str, nn.Module],
        objectives: Sequence[Objective],
        classes: Sequence[int] | Sequence[Sequence[int]] | None,
    ) -> list[list[int]]:
        if not generator.is_conditional:
            if classes is not None:
                raise DataValidationError(f"{type(generator).__name__} is unconditional; pass classes=None")
            return [[-1] for _ in objectives]
        if classes is None:
            scores = rank_classes(
                generator, encoders, objectives, n_samples=self.n_class_samples, truncation=self.truncation,
                input_size=self.input_size, progress=self.progress,
            )
            k = min(self.top_k_classes, generator.n_classes)
            return [list(map(int, np.argsort(-row, kind="stable")[:k])) for row in scores]
        classes = list(classes)
        per_objective = classes and all(isinstance(c, (Sequence, np.ndarray)) for c in classes)
        lists = [list(c) for c in classes] if per_objective else [list(classes)] * len(objectives)
        if len(lists) != len(objectives):
            raise DataValidationError(f"classes: need one list per objective ({len(objectives)}), got {len(lists)}")
        for lst in lists:
            if not lst or any(not 0 <= int(c) < generator.n_classes for c in lst):
                raise DataValidationError(f"classes must be non-empty lists of ints in 0..{generator.n_classes - 1}")
        return [[int(c) for c in lst] for lst in lists]

    def _optimise_chunk(
        self,
        generator: ImageGenerator,
        encoders: Mapping[str, nn.Module],
        objectives: Sequence[Objective],
        needed: Sequence[str],
        obj_idx: np.ndarray,
        cls_arr: np.ndarray,
        seed_arr: np.ndarray,
        bar: tqdm,
    ) -> tuple[torch.Tensor, np.ndarray]:
        device = generator.device
        n = len(obj_idx)
        z = torch.cat([
            generator.sample_latents(1, truncation=self.truncation, seed=int(s)) for s in seed_arr
        ]).to(device).requires_grad_(True)
        classes = torch.as_tensor(cls_arr, device=device) if generator.is_conditional else None
        aug_gens = [torch.Generator().manual_seed(int(s) * 1_000_003 + _AUGMENT_SEED_OFFSET) for s in seed_arr]
        groups = [(k, torch.as_tensor(np.flatnonzero(obj_idx == k), device=device)) for k in np.unique(obj_idx)]
        n_views = 1 + (self.n_augment if self.augment is not None else 0)
        optimizer = torch.optim.Adam([z], lr=self.lr)
        history = np.empty((n, self.steps), dtype=np.float32)
        best_value = torch.full((n,), -torch.inf, device=device)
        best_z = z.detach().clone()
        for step in range(self.steps):
            images = generator(z, classes)
            views = [images]
            if self.augment is not None:
                views += [self.augment(images, aug_gens) for _ in range(self.n_augment)]
            preds = predict(encoders, torch.cat(views), self.input_size, needed)
            loss = torch.zeros(n, device=device)
            value = torch.zeros(n, device=device)
            for k, rows in groups:
                idx = torch.cat([rows + v * n for v in range(n_views)])
                sub = {name: p.index_select(0, idx) for name, p in preds.items()}
                z_rep = z.index_select(0, rows).repeat(n_views, *([1] * (z.ndim - 1)))
                per_view = objectives[k].loss(sub, z_rep).reshape(n_views, len(rows))
                loss = loss.index_add(0, rows, per_view.mean(dim=0))
                with torch.no_grad():
                    clean = {name: p[: len(rows)] for name, p in sub.items()}
                    value[rows] = objectives[k].value(clean).to(value)
            if self.latent_decay > 0:
                loss = loss + self.latent_decay * z.reshape(n, -1).pow(2).sum(dim=1)
            with torch.no_grad():
                history[:, step] = value.cpu().numpy()
                improved = value > best_value
                best_value = torch.where(improved, value, best_value)
                best_z[improved] = z.detach()[improved]
            (grad,) = torch.autograd.grad(loss.sum(), [z])
            z.grad = grad
            optimizer.step()
            bar.update(1)
            if step % 10 == 0 or step == self.steps - 1:
                bar.set_postfix(objective=f"{float(value.mean()):.4g}")
        return best_z, history


def synthesize(
    generator: ImageGenerator,
    encoder: Encoders,
    objectives: Objective | Sequence[Objective],
    *,
    seeds: Sequence[int] | None = None,
    classes: Sequence[int] | Sequence[Sequence[int]] | None = None,
    **settings: Any,
) -> SynthesisResult:
    """Run :class:`LatentOptimizer` with ``settings`` (its keyword arguments) in one call.

    See :meth:`LatentOptimizer.run` for the arguments and the result.
    """
    return LatentOptimizer(**settings).run(generator, encoder, objectives, seeds=seeds, classes=classes)


def rank_classes(
    generator: ImageGenerator,
    encoder: Encoders,
    objectives: Objective | Sequence[Objective],
    *,
    n_samples: int = 4,
    truncation: float = 0.4,
    seed: int = 0,
    batch_size: int = 64,
    input_size: tuple[int, int] | None = None,
    progress: bool = False,
) -> np.ndarray:
    """Score every class of a class-conditional generator by each objective.

    For each class, ``n_samples`` images are generated from the same truncated
    latents (drawn from ``seed``) and the objective values are averaged.

    Parameters
    ----------
    generator : ImageGenerator
        A class-conditional generator.
    encoder : nn.Module or mapping of them
    objectives : Objective or sequence of Objective
    n_samples : int, default 4
        Images per class.
    truncation : float, default 0.4
    seed : int, default 0
    batch_size : int, default 64
        Images per forward pass.
    input_size : (int, int), optional
        Resize before the encoder.
    progress : bool, default False

    Returns
    -------
    ndarray of shape (n_objectives, n_classes)
        Mean objective value (higher is better) of each class.
    """
    if not isinstance(generator, ImageGenerator) or not generator.is_conditional:
        raise DataValidationError("rank_classes needs a class-conditional ImageGenerator")
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    encoders = as_encoders(encoder)
    objectives = as_objectives(objectives)
    needed = needed_encoders(objectives, encoders)
    device = generator.device
    base = generator.sample_latents(n_samples, truncation=truncation, seed=seed).to(device)
    n_total = generator.n_classes * n_samples
    all_classes = torch.arange(generator.n_classes, device=device).repeat_interleave(n_samples)
    scores = np.empty((len(objectives), n_total), dtype=np.float64)
    modes = {m: m.training for m in [generator, *encoders.values()]}
    for module in modes:
        module.eval()
    try:
        with torch.no_grad():
            for lo in tqdm(range(0, n_total, batch_size), disable=not progress, desc="ranking classes"):
                cls = all_classes[lo: lo + batch_size]
                z = base[torch.arange(lo, lo + len(cls), device=device) % n_samples]
                preds = predict(encoders, generator(z, cls), input_size, needed)
                for k, obj in enumerate(objectives):
                    scores[k, lo: lo + len(cls)] = obj.value(preds).double().cpu().numpy()
    finally:
        for module, training in modes.items():
            module.train(training)
    return scores.reshape(len(objectives), generator.n_classes, n_samples).mean(axis=2)

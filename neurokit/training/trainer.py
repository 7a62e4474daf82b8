"""The training loop shared by the mesh encoders and the Cortex2Image decoders.

:class:`Trainer` fits a ``torch.nn.Module`` with AdamW and a warmup + cosine
(or constant) learning-rate schedule, early-stops on a held-out score (mean
Pearson r over targets by default), uses mixed precision on GPU, writes a
safetensors + JSON checkpoint every epoch and resumes from the last one so that
an interrupted and resumed run ends with the same weights as an uninterrupted
one. Started with ``torchrun`` it runs data-parallel (DDP) with the same global
batch, rank 0 writing the files.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from neurokit.exceptions import CheckpointError, DataValidationError, InvalidParameterError, OutputExistsError
from neurokit.io.atomic import remove_stale_temporaries
from neurokit.training import distributed as D
from neurokit.training.sampling import epoch_batches, epoch_seed, shard
from neurokit.training.state import (
    atomic_save_tensors,
    atomic_write_json,
    list_training_states,
    load_training_state,
    load_tensors,
    save_training_state,
)
from neurokit.training.validation import StreamingPearson
from neurokit.validation import check_bool, check_int, check_option, check_real

SCHEDULES = ("cosine", "constant")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MetricFn = Callable[[torch.Tensor, torch.Tensor], float]


@dataclass
class TrainingHistory:
    """What a :meth:`Trainer.fit` call produced.

    Attributes
    ----------
    epochs : list of dict
        One entry per completed epoch: ``epoch`` (1-based), ``train_loss``
        (mean over samples), ``val_score`` (None without validation data),
        ``lr`` (at the end of the epoch).
    best_epoch : int or None
        Epoch of the best validation score (the last epoch without validation).
    best_score : float or None
    stopped_early : bool
        Whether early stopping ended the run.
    finished : bool
        Whether the run is complete (max_epochs reached or stopped early), as
        opposed to paused by ``max_epochs_this_run``.
    """

    epochs: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False
    finished: bool = False

    @property
    def train_loss(self) -> list[float]:
        """Per-epoch mean training loss."""
        return [e["train_loss"] for e in self.epochs]

    @property
    def val_score(self) -> list[float | None]:
        """Per-epoch held-out score."""
        return [e["val_score"] for e in self.epochs]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "stopped_early": self.stopped_early,
            "finished": self.finished,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingHistory:
        """Inverse of :meth:`to_dict`."""
        return cls([dict(e) for e in d["epochs"]], d["best_epoch"], d["best_score"], d["stopped_early"], d["finished"])


def _as_pair(data: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise DataValidationError(f"{name}: expected a pair (inputs, targets) of arrays or tensors")
    x, y = (torch.as_tensor(np.asarray(a)) if not isinstance(a, torch.Tensor) else a for a in data)
    if x.ndim < 1 or y.ndim < 1 or x.shape[0] != y.shape[0]:
        raise DataValidationError(
            f"{name}: inputs {tuple(x.shape)} and targets {tuple(y.shape)} need the same number of samples"
        )
    if x.shape[0] == 0:
        raise DataValidationError(f"{name}: no samples")
    if x.is_floating_point() and x.dtype == torch.float64:
        x = x.float()
    if y.is_floating_point() and y.dtype == torch.float64:
        y = y.float()
    return x, y


class Trainer:
    """Fit a torch model with AdamW, a schedule, early stopping, checkpoints and resume.

    Parameters
    ----------
    max_epochs : int
        Upper bound on epochs.
    batch_size : int
        Global batch size; under DDP each of the ``W`` ranks takes a
        contiguous ``1/W`` share of every global batch.
    lr : float
        Peak learning rate of AdamW.
    weight_decay : float
        AdamW decoupled weight decay.
    schedule : {"cosine", "constant"}
        Linear warmup then cosine decay to ``min_lr_ratio * lr`` (or constant).
    warmup_fraction : float
        Fraction of all optimizer steps spent in linear warmup (0..1).
    min_lr_ratio : float
        Final learning rate of the cosine schedule, relative to ``lr``.
    loss : "mse" or callable
        ``loss(pred, target) -> scalar``, a *mean* over the batch's samples
        (needed for exact DDP equivalence, see Notes).
    metric : callable, optional
        ``metric(pred, target) -> float`` on the whole validation set (higher
        is better); under DDP the predictions are gathered first. Default:
        mean Pearson r over targets, streamed and all-reduced exactly.
    patience : int or None
        Stop after this many epochs without a validation improvement larger
        than ``min_delta`` (None: never stop early).
    min_delta : float
        Minimum improvement that resets the patience counter.
    restore_best : bool
        Load the best-scoring weights into the model at the end.
    precision : {"auto", "fp32", "bf16", "fp16"}
        Autocast dtype; ``"auto"`` is bf16 on CUDA where supported (fp16 with
        gradient scaling otherwise) and fp32 on CPU.
    grad_clip : float, optional
        Clip the global gradient norm to this value.
    device : str or torch.device, optional
        Default: ``cuda:LOCAL_RANK`` if CUDA is available, else CPU.
    seed : int
        Seeds the data order (per-epoch permutations) and torch's RNG at the
        start of every epoch (from ``(seed, epoch, rank)``).
    run_dir : path, optional
        Folder for checkpoints, ``history.json``, ``model.safetensors`` (final
        weights) and ``best.safetensors``. None: nothing is written and
        ``resume`` is unavailable.
    resume : bool
        Continue from the newest checkpoint in ``run_dir`` (start fresh if
        there is none). If false and ``run_dir`` holds checkpoints,
        :class:`OutputExistsError` is raised rather than overwriting them.
    keep_checkpoints : int
        Number of epoch checkpoints kept on disk.
    max_epochs_this_run : int, optional
        Train at most this many epochs in this call, then return with
        ``finished=False`` (for time-limited jobs; resume later).
    val_batch_size : int, optional
        Batch size for validation (default ``batch_size``).
    drop_last : bool
        Drop the last, incomplete global batch of every epoch.
    progress : bool
        Show a tqdm progress bar (rank 0 only).
    on_epoch_start : callable, optional
        ``on_epoch_start(model, epoch)`` runs before every epoch's training
        (``epoch`` 0-based, ``model`` the unwrapped module, on every rank
        under DDP), before torch's RNG is reseeded for the epoch. Use it for
        work between the gradient steps, such as re-solving a closed-form
        part of the model (e.g. :meth:`encoding.mesh_encoder.MeshReadout.refit_readout`).
        It must be deterministic given the model's state for a resumed run
        to equal an uninterrupted one.

    Notes
    -----
    Exact DDP equivalence: rank ``r`` scales its mean loss by
    ``W * n_r / n_batch``, so DDP's gradient averaging yields the gradient of
    the mean loss over the global batch, also for an uneven last batch. A rank
    with an empty share runs one sample with weight 0 to keep the collective
    calls matched. Layers that use batch statistics (BatchNorm) see per-rank
    batches, so they match a single-process run only approximately.

    RNG states are stored in checkpoints, and torch's RNG is reseeded from
    ``(seed, epoch, rank)`` at every epoch start, so stochastic layers
    (dropout) replay identically after a resume.
    """

    def __init__(
        self,
        max_epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-2,
        schedule: str = "cosine",
        warmup_fraction: float = 0.05,
        min_lr_ratio: float = 0.0,
        loss: str | LossFn = "mse",
        metric: MetricFn | None = None,
        patience: int | None = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        precision: str = "auto",
        grad_clip: float | None = None,
        device: str | torch.device | None = None,
        seed: int = 0,
        run_dir: str | Path | None = None,
        resume: bool = False,
        keep_checkpoints: int = 2,
        max_epochs_this_run: int | None = None,
        val_batch_size: int | None = None,
        drop_last: bool = False,
        progress: bool = True,
        on_epoch_start: Callable[[nn.Module, int], None] | None = None,
    ) -> None:
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.warmup_fraction = warmup_fraction
        self.min_lr_ratio = min_lr_ratio
        self.loss = loss
        self.metric = metric
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best = restore_best
        self.precision = precision
        self.grad_clip = grad_clip
        self.device = device
        self.seed = seed
        self.run_dir = run_dir
        self.resume = resume
        self.keep_checkpoints = keep_checkpoints
        self.max_epochs_this_run = max_epochs_this_run
        self.val_batch_size = val_batch_size
        self.drop_last = drop_last
        self.progress = progress
        self.on_epoch_start = on_epoch_start

    # ------------------------------------------------------------------ set-up

    def _validate(self) -> None:
        """Check the parameters (at fit time, scikit-learn style); raise :class:`InvalidParameterError`."""
        check_int(self.max_epochs, "Trainer: max_epochs", minimum=1)
        check_int(self.batch_size, "Trainer: batch_size", minimum=1)
        check_int(self.keep_checkpoints, "Trainer: keep_checkpoints", minimum=1)
        check_int(self.patience, "Trainer: patience", minimum=1, allow_none=True)
        check_int(self.max_epochs_this_run, "Trainer: max_epochs_this_run", minimum=1, allow_none=True)
        check_int(self.val_batch_size, "Trainer: val_batch_size", minimum=1, allow_none=True)
        check_int(self.seed, "Trainer: seed", minimum=0)
        check_real(self.lr, "Trainer: lr", minimum=0, include_minimum=False)
        check_real(self.weight_decay, "Trainer: weight_decay", minimum=0)
        check_option(self.schedule, "Trainer: schedule", SCHEDULES)
        check_real(self.warmup_fraction, "Trainer: warmup_fraction", minimum=0, maximum=1, include_maximum=False)
        check_real(self.min_lr_ratio, "Trainer: min_lr_ratio", minimum=0, maximum=1)
        check_real(self.min_delta, "Trainer: min_delta")
        check_option(self.precision, "Trainer: precision", PRECISIONS)
        check_real(self.grad_clip, "Trainer: grad_clip", minimum=0, include_minimum=False, allow_none=True)
        for name in ("restore_best", "resume", "drop_last", "progress"):
            check_bool(getattr(self, name), f"Trainer: {name}")
        if not (self.loss == "mse" or callable(self.loss)):
            raise InvalidParameterError(f"Trainer: loss must be 'mse' or a callable, got {self.loss!r}")
        if self.metric is not None and not callable(self.metric):
            raise InvalidParameterError(f"Trainer: metric must be callable, got {self.metric!r}")
        if self.on_epoch_start is not None and not callable(self.on_epoch_start):
            raise InvalidParameterError(f"Trainer: on_epoch_start must be callable, got {self.on_epoch_start!r}")
        if self.resume and self.run_dir is None:
            raise InvalidParameterError("Trainer: resume=True needs a run_dir")

    def _device(self, ctx: D.DistributedContext) -> torch.device:
        if self.device is not None:
            return torch.device(self.device)
        if torch.cuda.is_available():
            return torch.device("cuda", ctx.local_rank)
        return torch.device("cpu")

    def _amp_dtype(self, device: torch.device) -> torch.dtype | None:
        p = self.precision
        if p == "auto":
            if device.type != "cuda":
                return None
            p = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[p]

    def _lr_lambda(self, total_steps: int) -> Callable[[int], float]:
        warmup = int(round(self.warmup_fraction * total_steps))
        schedule, floor = self.schedule, self.min_lr_ratio

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            if schedule == "constant":
                return 1.0
            progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

        return factor

    # ------------------------------------------------------------------ the loop

    def fit(
        self,
        model: nn.Module,
        train: tuple[Any, Any],
        val: tuple[Any, Any] | None = None,
    ) -> TrainingHistory:
        """Train ``model`` in place.

        Parameters
        ----------
        model : torch.nn.Module
            Maps a batch of inputs (batch, ...) to predictions shaped like the
            targets (batch, ...).
        train : (inputs, targets)
            Arrays or tensors with the same first dimension (samples).
        val : (inputs, targets), optional
            Held-out data for the early-stopping score.

        Returns
        -------
        TrainingHistory
            Also written to ``run_dir / "history.json"``.
        """
        self._validate()
        if not isinstance(model, nn.Module):
            raise InvalidParameterError(f"Trainer.fit: model must be a torch.nn.Module, got {type(model).__name__}")
        x_train, y_train = _as_pair(train, "train")
        val_pair = _as_pair(val, "val") if val is not None else None
        run_dir = Path(self.run_dir) if self.run_dir is not None else None

        ctx = D.init_distributed("cuda" if torch.cuda.is_available() and self.device in (None, "cuda") else "cpu")
        try:
            return self._fit(ctx, model, x_train, y_train, val_pair, run_dir)
        finally:
            D.shutdown(ctx)

    def _fit(self, ctx, model, x_train, y_train, val_pair, run_dir) -> TrainingHistory:
        device = self._device(ctx)
        model.to(device)
        amp_dtype = self._amp_dtype(device)
        scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
        loss_fn: LossFn = nn.functional.mse_loss if self.loss == "mse" else self.loss  # type: ignore[assignment]

        n_train = x_train.shape[0]
        steps_per_epoch = len(epoch_batches(n_train, self.batch_size, self.seed, 0, drop_last=self.drop_last))
        params = [p for p in model.parameters() if p.requires_grad]
        if not params:
            raise InvalidParameterError("Trainer.fit: the model has no trainable parameters")
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._lr_lambda(self.max_epochs * steps_per_epoch))

        history = TrainingHistory()
        patience_left = self.patience
        best_state: dict[str, torch.Tensor] | None = None
        start_epoch = 0
        if run_dir is not None:
            if ctx.is_main:
                remove_stale_temporaries(run_dir)  # half-written checkpoints of a killed run
            existing = list_training_states(run_dir)
            if existing and not self.resume:
                raise OutputExistsError(
                    f"{run_dir}: holds checkpoints up to epoch {existing[-1]}; pass resume=True to continue "
                    "or choose another run_dir"
                )
            if existing:
                start_epoch, state = load_training_state(run_dir)
                self._restore(state, model, optimizer, scheduler, scaler, ctx)
                history = TrainingHistory.from_dict(state["history"])
                patience_left = state["patience_left"]
                best_path = run_dir / "best.safetensors"
                if history.best_epoch is not None and best_path.is_file():
                    best_state = load_tensors(best_path)
        net = D.wrap_model(model, ctx, device)

        show = self.progress and ctx.is_main
        epochs_run = 0
        epoch = start_epoch
        while not history.finished and epoch < self.max_epochs:
            if self.max_epochs_this_run is not None and epochs_run >= self.max_epochs_this_run:
                break
            if self.on_epoch_start is not None:
                self.on_epoch_start(model, epoch)
            torch.manual_seed(epoch_seed(self.seed, epoch, ctx.rank))
            net.train()
            batches = epoch_batches(n_train, self.batch_size, self.seed, epoch, drop_last=self.drop_last)
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{self.max_epochs}", disable=not show, leave=False)
            loss_sum = torch.zeros((), dtype=torch.float64, device=device)
            n_seen = 0
            for global_idx in bar:
                local = shard(global_idx, ctx.rank, ctx.world_size)
                weight = len(local) / len(global_idx) * ctx.world_size
                if len(local) == 0:  # keep DDP's collectives matched; contributes zero gradient
                    local = global_idx[:1]
                xb = x_train[local].to(device, non_blocking=True)
                yb = y_train[local].to(device, non_blocking=True)
                with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                    pred = net(xb)
                    batch_loss = loss_fn(pred.float(), yb.float())
                if batch_loss.ndim != 0:
                    raise DataValidationError(f"loss must return a scalar, got shape {tuple(batch_loss.shape)}")
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(batch_loss * weight).backward()
                if self.grad_clip is not None:
                    scaler.unscale_(optimizer)
                    nn.utils.clip_grad_norm_(params, self.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                n_local = len(local) if weight > 0 else 0
                loss_sum += batch_loss.detach().double() * n_local
                n_seen += n_local
                if show:
                    last_val = history.epochs[-1]["val_score"] if history.epochs else None
                    bar.set_postfix(loss=f"{batch_loss.item():.4g}", val_r=_fmt(last_val))
            totals = D.all_reduce_sum(torch.stack([loss_sum, torch.tensor(float(n_seen), dtype=torch.float64, device=device)]), ctx)
            train_loss = float(totals[0] / totals[1])
            val_score = self._evaluate(model, val_pair, device, amp_dtype, ctx) if val_pair is not None else None
            epoch += 1
            epochs_run += 1

            improved = val_score is None or history.best_score is None or val_score > history.best_score + self.min_delta
            if improved:
                history.best_epoch, history.best_score = epoch, val_score
                patience_left = self.patience
                if self.restore_best or run_dir is not None:
                    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                    if run_dir is not None and ctx.is_main and val_score is not None:
                        atomic_save_tensors(run_dir / "best.safetensors", best_state)
            elif patience_left is not None:
                patience_left -= 1
            history.epochs.append(
                {"epoch": epoch, "train_loss": train_loss, "val_score": val_score, "lr": scheduler.get_last_lr()[0]}
            )
            if patience_left is not None and patience_left <= 0:
                history.stopped_early = True
            history.finished = history.stopped_early or epoch >= self.max_epochs
            if show:
                tqdm.write(
                    f"epoch {epoch}/{self.max_epochs}  train loss {train_loss:.4g}  val {_fmt(val_score)}"
                    f"  best {_fmt(history.best_score)} (epoch {history.best_epoch})"
                )
            if run_dir is not None:
                if ctx.is_main:
                    state = self._state(model, optimizer, scheduler, scaler, history, patience_left)
                    save_training_state(run_dir, epoch, state, keep=self.keep_checkpoints)
                    atomic_write_json(run_dir / "history.json", history.to_dict())
                D.barrier(ctx)

        if history.finished:
            if self.restore_best and best_state is not None and history.best_score is not None:
                model.load_state_dict(best_state)
            if run_dir is not None and ctx.is_main:
                atomic_save_tensors(run_dir / "model.safetensors", model.state_dict())
                atomic_write_json(run_dir / "history.json", history.to_dict())
            D.barrier(ctx)
        return history

    @torch.no_grad()
    def _evaluate(self, model, val_pair, device, amp_dtype, ctx) -> float:
        x_val, y_val = val_pair
        idx = shard(torch.arange(x_val.shape[0]), ctx.rank, ctx.world_size)
        was_training = model.training
        model.eval()
        acc = StreamingPearson() if self.metric is None else None
        preds, targets = [], []
        for b in idx.split(self.val_batch_size or self.batch_size):
            xb, yb = x_val[b].to(device), y_val[b].to(device)
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                pred = model(xb).float()
            if acc is not None:
                acc.update(pred, yb)
            else:
                preds.append(pred)
                targets.append(yb)
        model.train(was_training)
        if acc is not None:
            if acc.stats is None:  # this rank got no validation samples
                acc.update(torch.zeros(0, *y_val.shape[1:], device=device), torch.zeros(0, *y_val.shape[1:], device=device))
            return acc.compute(lambda t: D.all_reduce_sum(t, ctx))
        empty = torch.zeros(0, *y_val.shape[1:], device=device)
        pred_all = D.gather_rows(torch.cat(preds) if preds else empty, ctx)
        target_all = D.gather_rows(torch.cat(targets).to(pred_all.dtype) if targets else empty, ctx)
        return float(self.metric(pred_all, target_all))

    # ------------------------------------------------------------------ checkpoint state

    def _config(self) -> dict[str, Any]:
        keys = ("max_epochs", "batch_size", "lr", "weight_decay", "schedule", "warmup_fraction", "min_lr_ratio",
                "patience", "min_delta", "precision", "grad_clip", "seed", "drop_last")
        return {k: getattr(self, k) for k in keys}

    def _state(self, model, optimizer, scheduler, scaler, history, patience_left) -> dict[str, Any]:
        return {
            "config": self._config(),
            "model": dict(model.state_dict()),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(),
            "history": history.to_dict(),
            "patience_left": patience_left,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": list(torch.cuda.get_rng_state_all()) if torch.cuda.is_available() else [],
                "numpy": _numpy_state(),
                "python": _python_state(),
            },
        }

    def _restore(self, state, model, optimizer, scheduler, scaler, ctx) -> None:
        saved = state.get("config", {})
        for key in ("batch_size", "max_epochs", "seed", "schedule", "lr"):
            if key in saved and saved[key] != getattr(self, key):
                raise CheckpointError(
                    f"cannot resume: the checkpoint was trained with {key}={saved[key]!r}, this Trainer has "
                    f"{key}={getattr(self, key)!r}"
                )
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointError(f"checkpoint does not match the model or optimizer: {err}") from err
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        if torch.cuda.is_available() and rng["cuda"]:
            torch.cuda.set_rng_state_all(rng["cuda"])
        np.random.set_state(_numpy_from(rng["numpy"]))
        random.setstate(_python_from(rng["python"]))


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _numpy_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
            "has_gauss": int(has_gauss), "cached": float(cached)}


def _numpy_from(d: dict[str, Any]) -> tuple:
    return (d["name"], d["keys"].numpy().astype(np.uint32), d["pos"], d["has_gauss"], d["cached"])


def _python_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    return {"version": version, "internal": list(internal), "gauss": gauss}


def _python_from(d: dict[str, Any]) -> tuple:
    return (d["version"], tuple(d["internal"]), d["gauss"])


def fit_model(
    model: nn.Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    **trainer_kwargs: Any,
) -> TrainingHistory:
    """Functional shortcut: ``Trainer(**trainer_kwargs).fit(model, train, val)``."""
    return Trainer(**trainer_kwargs).fit(model, train, val)


__all__ = ["PRECISIONS", "SCHEDULES", "Trainer", "TrainingHistory", "fit_model"]

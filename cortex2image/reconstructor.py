"""The reconstruction pipeline: fMRI responses (files or arrays) -> images.

:class:`Reconstructor` bundles a trained :class:`~cortex2image.semantic.Cortex2Semantic`,
a :class:`~cortex2image.detail.Cortex2Detail`, the frozen generator and semantic
space, and the subject's normalisation (per-vertex mean and standard deviation
of the training responses). It reads its inputs through
:func:`cortex2image.inputs.as_surface_data` (MGH/MGZ, GIfTI, npy, NIfTI
projected onto fsaverage), maps finer data to the model's mesh level
(:func:`cortex2image.inputs.at_level`), draws several samples per input and can
rerank them by an encoder's predicted brain correlation (by default its
:class:`~cortex2image.rerank_encoder.LinearImageEncoder`, saved with the model).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cortex2image.detail import ClassConditioner, Cortex2Detail
from cortex2image.inputs import ResponsesLike, as_surface_data, at_level
from cortex2image.rerank_encoder import LinearImageEncoder
from cortex2image.semantic import Cortex2Semantic, SemanticSpace, semantic_space_config, semantic_space_from_config
from neurokit.checkpoints import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    NonFiniteDataError,
    VertexCountError,
)
from neurokit.mesh.levels import n_vertices
from neurokit.surface_data import SurfaceData
from neurokit.validation import check_int, check_real

# LinearImageEncoder, as_surface_data and at_level are re-exported (their import path before they had modules)
__all__ = [
    "Reconstruction",
    "Reconstructor",
    "LinearImageEncoder",
    "as_surface_data",
    "at_level",
    "generator_spec",
    "generator_from_spec",
]


# ----------------------------------------------------------------------------- generators
def generator_spec(generator: nn.Module) -> dict[str, Any]:
    """JSON description of a generator: its registry config and latent shape (see :func:`generator_from_spec`)."""
    from neurogen.generators import generator_config

    return {**generator_config(generator), "latent_shape": list(getattr(generator, "latent_shape", ()))}


def generator_from_spec(spec: dict[str, Any]) -> nn.Module:
    """Rebuild a generator from :func:`generator_spec` without any download.

    Works for every generator of :data:`neurogen.generators.GENERATORS` whose
    weights are in a file (or, for :class:`~neurogen.generators.FourierImage`,
    that has none): the packaged or a local feature-inversion generator or
    DCGAN, IC-GAN from its local checkpoint, BigGAN models in a local folder
    or already in the cache; other generators must be passed explicitly to
    :meth:`Reconstructor.load`. Descriptions written before the registry
    (``"type"`` key) are read too.

    Raises
    ------
    CheckpointError
        If the generator cannot be rebuilt offline.
    """
    from neurogen.generators import generator_from_config

    try:
        return generator_from_config({k: v for k, v in spec.items() if k != "latent_shape"})
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; pass generator=... to Reconstructor.load") from exc


# ----------------------------------------------------------------------------- results
@dataclass
class Reconstruction:
    """Images reconstructed from responses.

    Attributes
    ----------
    images : ndarray of shape (n, H, W, 3)
        float32 in [0, 1]; per input, the chosen sample (the reranking winner,
        else the posterior-mean sample).
    samples : ndarray of shape (n, n_samples, H, W, 3)
        All samples; sample 0 decodes the posterior mean.
    chosen : ndarray of int, shape (n,)
        Index of the chosen sample per input.
    semantic : ndarray of shape (n, embed_dim)
        Decoded semantic embeddings (unit norm).
    rerank_scores : ndarray of shape (n, n_samples) or None
        Pearson r between the encoder's predicted response to each sample and
        the measured response (when reranked).
    """

    images: np.ndarray
    samples: np.ndarray
    chosen: np.ndarray
    semantic: np.ndarray
    rerank_scores: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- the pipeline
class Reconstructor:
    """Reconstruct seen images from fMRI responses (Cortex2Semantic + Cortex2Detail + generator).

    Parameters
    ----------
    semantic : Cortex2Semantic
        Trained semantic decoder.
    detail : Cortex2Detail
        Trained latent decoder (same mesh level as ``semantic``).
    generator : neurogen.generators.ImageGenerator
        The frozen generator ``detail`` was trained through.
    space : SemanticSpace
        The semantic space ``semantic`` predicts into.
    response_mean, response_std : ndarray of shape (2 * n_vertices(level),)
        The subject's per-vertex mean and standard deviation of the training
        responses (after mapping to the model's level); inputs are normalised
        as ``(x - mean) / std``.
    conditioner : ClassConditioner, optional
        Required for class-conditional generators: maps the decoded semantic
        embedding to the generator's class. Instance-conditioned generators
        (:class:`neurogen.generators.InstanceConditionedGenerator`) take the
        decoded embedding itself as their instance feature ``h``, so ``space``
        must be the generator's instance space.
    latent_calibration : (ndarray, ndarray), optional
        ``(scale, shift)`` of shape ``(latent_dim,)``: the decoded latent mean
        becomes ``mu * scale + shift`` before sampling. Regression shrinks
        decoded latents towards their mean; matching the decoded latents'
        per-dimension mean and spread to the true latents' (measured on held-out
        training images) puts them back where the generator was trained, as
        Brain-Diffuser does with its decoded VDVAE and CLIP latents.
    rerank_encoder : LinearImageEncoder, optional
        The subject's image -> normalised-response encoder (fit on the
        training images); :meth:`reconstruct` keeps, per input, the sample
        whose predicted response correlates best with the measured one.
        Saved with the model.
    info : dict, optional
        Provenance (training data, split, hyperparameters), saved with the model.
    """

    def __init__(
        self,
        semantic: Cortex2Semantic,
        detail: Cortex2Detail,
        generator: nn.Module,
        space: SemanticSpace,
        response_mean: np.ndarray,
        response_std: np.ndarray,
        *,
        conditioner: ClassConditioner | None = None,
        latent_calibration: tuple[np.ndarray, np.ndarray] | None = None,
        rerank_encoder: LinearImageEncoder | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        if semantic.level != detail.level:
            raise InvalidParameterError(
                f"semantic (level {semantic.level}) and detail (level {detail.level}) models must share a mesh level"
            )
        if detail.latent_dim != int(np.prod(generator.latent_shape)):
            raise InvalidParameterError(
                f"detail predicts {detail.latent_dim} latent values but the generator's latent has shape "
                f"{tuple(generator.latent_shape)}"
            )
        if getattr(generator, "n_classes", 0) and conditioner is None:
            raise InvalidParameterError("a class-conditional generator needs a ClassConditioner (conditioner=...)")
        if _is_instance_conditioned(generator) and int(generator.instance_dim) != int(space.dim):
            raise InvalidParameterError(
                f"the generator takes {generator.instance_dim}-d instance features but the semantic space has "
                f"{space.dim} dimensions; use the generator's instance space"
            )
        n = 2 * n_vertices(semantic.level)
        mean = np.asarray(response_mean, dtype=np.float32).reshape(-1)
        std = np.asarray(response_std, dtype=np.float32).reshape(-1)
        if mean.shape != (n,) or std.shape != (n,):
            raise VertexCountError(
                f"response_mean and response_std must have {n:,} values (level {semantic.level}), "
                f"got {mean.shape} and {std.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise NonFiniteDataError("response_mean must be finite and response_std finite and positive")
        self.semantic = semantic.eval()
        self.detail = detail.eval()
        self.generator = generator.eval()
        self.space = space
        self.response_mean = mean
        self.response_std = std
        self.conditioner = conditioner
        self.rerank_encoder = rerank_encoder
        self.latent_calibration = None
        if latent_calibration is not None:
            scale, shift = (np.asarray(v, dtype=np.float32).reshape(-1) for v in latent_calibration)
            if scale.shape != (detail.latent_dim,) or shift.shape != (detail.latent_dim,):
                raise InvalidParameterError(
                    f"latent_calibration must be (scale, shift) of {detail.latent_dim} values each, got "
                    f"{scale.shape} and {shift.shape}"
                )
            if not (np.isfinite(scale).all() and np.isfinite(shift).all()):
                raise NonFiniteDataError("latent_calibration must be finite")
            self.latent_calibration = (scale, shift)
        self.info = dict(info or {})

    @property
    def level(self) -> int:
        """fsaverage level the models work at."""
        return self.semantic.level

    @property
    def device(self) -> torch.device:
        return next(self.semantic.parameters()).device

    def to(self, device: str | torch.device) -> "Reconstructor":
        """Move every network to ``device`` and return ``self``."""
        for module in (self.semantic, self.detail, self.generator, self.conditioner):
            if module is not None:
                module.to(device)
        self.space.to(device)
        return self

    # -- inputs -------------------------------------------------------------------------
    def normalize(self, responses: ResponsesLike) -> np.ndarray:
        """Read, map to :attr:`level` and normalise responses -> ``(n, 2 * n_vertices(level))`` float32.

        Raises
        ------
        VertexCountError
            If the data are coarser than the model (or not an fsaverage level).
        """
        data = at_level(as_surface_data(responses, level=self.level), self.level, "the model")
        return ((data.data - self.response_mean) / self.response_std).astype(np.float32)

    # -- decoding -----------------------------------------------------------------------
    @torch.no_grad()
    def decode_semantic(self, responses: ResponsesLike, *, batch_size: int = 64) -> np.ndarray:
        """Decoded semantic embeddings ``(n, embed_dim)`` (unit norm) of ``responses``."""
        x = torch.from_numpy(self.normalize(responses))
        return self._semantic(x, batch_size).cpu().numpy()

    def _semantic(self, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        self.semantic.eval()
        out = [self.semantic(x[s : s + batch_size].to(self.device)) for s in range(0, x.shape[0], batch_size)]
        return torch.cat(out)

    @torch.no_grad()
    def reconstruct(
        self,
        responses: ResponsesLike,
        *,
        n_samples: int = 8,
        seed: int = 0,
        temperature: float = 1.0,
        rerank_encoder: Callable[[np.ndarray], np.ndarray] | None | bool = None,
        batch_size: int = 32,
    ) -> Reconstruction:
        """Reconstruct the images behind ``responses``.

        Parameters
        ----------
        responses : SurfaceData, array, path or (left, right) paths
            See :func:`as_surface_data`; raw (un-normalised) responses of the
            subject the model was trained on, at the model's level or finer.
        n_samples : int
            Images drawn per input; sample 0 decodes the posterior mean, the
            others ``mu + temperature * sigma * eps``.
        seed : int
            Seed of ``eps``: the same seed gives the same images, and the
            first ``k`` samples do not depend on ``n_samples`` or the batching
            (:meth:`Cortex2Detail.posterior_noise`), so with reranking more
            samples never lower the kept sample's brain correlation.
        temperature : float
            Scale of the posterior noise (>= 0).
        rerank_encoder : callable, None or False
            ``encoder(images (n, H, W, 3)) -> responses (n, 2 * n_vertices(k))``
            in the normalised units of this model (e.g. a
            :class:`LinearImageEncoder` fit on them), ``k <= level``. The
            sample whose predicted response correlates best with the measured
            one is chosen. None (default): the model's own
            :attr:`rerank_encoder` when it has one; False: no reranking (the
            posterior-mean sample is kept).
        batch_size : int
            Inputs processed at a time.

        Returns
        -------
        Reconstruction
        """
        n_samples = check_int(n_samples, "n_samples", minimum=1)
        check_real(temperature, "temperature", minimum=0.0, finite=False)
        check_int(seed, "seed", minimum=0)
        x = torch.from_numpy(self.normalize(responses))
        self.detail.eval()
        self.generator.eval()
        semantic, samples = [], []
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size].to(self.device)
            sem = self.semantic(xb)
            mu, logvar = self.detail(xb, sem if self.detail.semantic_dim else None)
            if self.latent_calibration is not None:
                scale, shift = (torch.from_numpy(v).to(mu) for v in self.latent_calibration)
                mu = mu * scale + shift
            eps = Cortex2Detail.posterior_noise(start, xb.shape[0], n_samples, mu.shape[1], int(seed))
            z = Cortex2Detail.reparameterize(mu, logvar, n_samples, temperature=temperature, eps=eps)
            z[:, 0] = mu
            condition = None
            if self.conditioner is not None:
                condition = self.conditioner(sem).repeat_interleave(n_samples)
            elif _is_instance_conditioned(self.generator):
                condition = sem.repeat_interleave(n_samples, dim=0)
            flat = z.reshape(-1, *self.generator.latent_shape)
            images = self.generator(flat, condition).clamp(0.0, 1.0)
            samples.append(images.reshape(xb.shape[0], n_samples, *images.shape[1:]).permute(0, 1, 3, 4, 2).cpu())
            semantic.append(sem.cpu())
        all_samples = torch.cat(samples).float().numpy()
        chosen = np.zeros(len(all_samples), dtype=np.int64)
        scores = None
        if rerank_encoder is None:
            rerank_encoder = self.rerank_encoder
        if rerank_encoder is not None and rerank_encoder is not False and n_samples > 1:
            scores = self._rerank_scores(rerank_encoder, all_samples, x.numpy())
            chosen = np.argmax(scores, axis=1)
        images = all_samples[np.arange(len(all_samples)), chosen]
        return Reconstruction(images, all_samples, chosen, torch.cat(semantic).numpy(), scores,
                              {"seed": int(seed), "n_samples": n_samples, "temperature": float(temperature)})

    def _rerank_scores(self, encoder: Callable, samples: np.ndarray, measured: np.ndarray) -> np.ndarray:
        from neurokit.metrics import pearson_r

        n, s = samples.shape[:2]
        predicted = np.asarray(encoder(samples.reshape(n * s, *samples.shape[2:])), dtype=np.float64)
        level = getattr(encoder, "level_", None)
        if level is not None:
            data = at_level(SurfaceData(measured, self.level, "measured responses"), int(level), "the rerank encoder")
            measured = data.data
        if predicted.shape != (n * s, measured.shape[1]):
            raise DataValidationError(
                f"rerank encoder predicted shape {predicted.shape}, expected ({n * s}, {measured.shape[1]}) "
                "(one response per sample on the model's vertices)"
            )
        target = np.repeat(measured.astype(np.float64), s, axis=0)
        return np.asarray(pearson_r(target.T, predicted.T)).reshape(n, s)

    # -- persistence --------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Save to ``<path>.safetensors`` + ``<path>.json`` (or ``checkpoint.*`` inside a folder).

        The generator and semantic-space networks are not stored (they are
        frozen and rebuilt from their description); everything trained is.

        Returns
        -------
        pathlib.Path
            The JSON file.
        """
        tensors: dict[str, Any] = {f"semantic.{k}": v for k, v in self.semantic.state_dict().items()}
        tensors.update({f"detail.{k}": v for k, v in self.detail.state_dict().items()})
        if self.conditioner is not None:
            tensors["conditioner.prototypes"] = self.conditioner.prototypes
        if self.space.center is not None:
            tensors["space.center"] = self.space.center.detach().cpu().float()
        tensors["response_mean"] = self.response_mean
        tensors["response_std"] = self.response_std
        if self.latent_calibration is not None:
            tensors["latent_calibration.scale"], tensors["latent_calibration.shift"] = self.latent_calibration
        rerank_config = None
        if self.rerank_encoder is not None:
            rerank_tensors, rerank_config = self.rerank_encoder.state()
            tensors.update({f"rerank.{k}": v for k, v in rerank_tensors.items()})
        config = {
            "kind": "cortex2image.Reconstructor",
            "semantic": self.semantic.get_config(),
            "detail": self.detail.get_config(),
            "space": semantic_space_config(self.space),
            "generator": generator_spec(self.generator),
            "rerank_encoder": rerank_config,
            "info": self.info,
        }
        return save_checkpoint(path, tensors, config, mesh_level=self.level, seed=self.info.get("seed"))[1]

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        generator: nn.Module | None = None,
        space: SemanticSpace | None = None,
        device: str | torch.device = "cpu",
    ) -> "Reconstructor":
        """Load a model written by :meth:`save`.

        Parameters
        ----------
        path : path-like
            Folder, stem or either file of the checkpoint.
        generator : ImageGenerator, optional
            The generator the model was trained with; default: rebuilt offline
            from the saved description (the packaged DCGAN, a local BigGAN).
        space : SemanticSpace, optional
            Default: rebuilt from the saved description.
        device : str or torch.device

        Raises
        ------
        CheckpointError
            Missing, corrupt or mismatched files, or a generator that cannot be
            rebuilt (pass ``generator=``).
        """
        meta = read_checkpoint_metadata(path)
        config = meta["config"]
        if config.get("kind") != "cortex2image.Reconstructor":
            raise CheckpointError(f"{path}: not a cortex2image Reconstructor checkpoint (kind {config.get('kind')!r})")
        tensors, _ = load_checkpoint(path)
        semantic = Cortex2Semantic(**_model_kwargs(config["semantic"]))
        detail = Cortex2Detail(**_model_kwargs(config["detail"]))
        for prefix, module in (("semantic.", semantic), ("detail.", detail)):
            state = {k[len(prefix):]: torch.as_tensor(v) for k, v in tensors.items() if k.startswith(prefix)}
            try:
                module.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise CheckpointError(f"{path}: {prefix[:-1]} weights do not match its config ({exc})") from exc
        if generator is None:
            generator = generator_from_spec(config["generator"])
        saved_shape = [int(s) for s in config["generator"].get("latent_shape", [])]
        if saved_shape and list(generator.latent_shape) != saved_shape:
            raise CheckpointError(
                f"{path}: the model was trained with latents of shape {saved_shape} but the generator given has "
                f"{list(generator.latent_shape)}"
            )
        if space is None:
            space = semantic_space_from_config(config["space"])
            if "space.center" in tensors:
                space.center = torch.as_tensor(tensors["space.center"]).float().cpu()
        conditioner = None
        if "conditioner.prototypes" in tensors:
            conditioner = ClassConditioner(torch.as_tensor(tensors["conditioner.prototypes"]))
        rerank = None
        if config.get("rerank_encoder"):
            rerank = LinearImageEncoder.from_state(
                {k[len("rerank."):]: v for k, v in tensors.items() if k.startswith("rerank.")},
                config["rerank_encoder"], str(path))
        calibration = None
        if "latent_calibration.scale" in tensors:
            calibration = (tensors["latent_calibration.scale"], tensors["latent_calibration.shift"])
        model = cls(semantic, detail, generator, space, tensors["response_mean"], tensors["response_std"],
                    conditioner=conditioner, latent_calibration=calibration, rerank_encoder=rerank,
                    info=config.get("info"))
        return model.to(device)


def _is_instance_conditioned(generator: nn.Module) -> bool:
    return int(getattr(generator, "instance_dim", 0) or 0) > 0


def _model_kwargs(cfg: dict[str, Any]) -> dict[str, Any]:
    cfg = dict(cfg)
    if "logvar_range" in cfg:
        cfg["logvar_range"] = tuple(cfg["logvar_range"])
    return cfg

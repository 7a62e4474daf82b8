"""The ``linear-lite0`` sanity world's ground truth, and the ground-truth file format of every world.

In this world (not the default: see :mod:`encoding.simulation.brain`) each
simulated subject's noise-free response to an image is a linear function of
standardised EfficientNet-Lite0 features (:class:`GroundTruthFeatures`), the
toolkit's own default features, so ridge on them can reach the noise ceiling:

* an *early* part, ``early_layer`` feature maps averaged in a ``grid_size x
  grid_size`` grid; an early visual vertex weights the grid cells by the mass
  of its Gaussian population receptive field (pRF) in each cell and the
  channels by a smooth, low-rank channel tuning;
* a *late* part, the whitened leading principal components of the pooled
  1280-d embedding; category-selective vertices load on a face, body or
  place axis (the class-mean difference of the stimuli's labels) plus random
  tuning, other visual vertices on smooth random tuning fields.

Every vertex's signal is standardised over the reference stimuli and scaled
by its single-trial signal-to-noise ratio, so :meth:`SimulatedSubject.clean_response`
is in units of the single-trial noise standard deviation and the noise
ceiling of an ``n``-repeat average is ``100 snr^2 / (snr^2 + 1/n)`` percent.
Vertices outside ``nsdgeneral`` carry no signal.

Ground truths are saved as safetensors (arrays) plus JSON (configuration),
never pickled.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurokit.exceptions import CheckpointError, DataValidationError
from neurokit.io.atomic import atomic_path, atomic_write_text
from neurokit.mesh.levels import n_vertices
from encoding.features.base import as_image_tensor, pool_activation
from encoding.features.efficientnet import EfficientNetLite0Extractor
from encoding.simulation.rois import ROI_FAMILY_NAMES

FORMAT_VERSION = 2
"""Version 2 adds the ``world`` key (``'soc'``: :class:`~encoding.simulation.brain.SimulatedBrain`
subjects; ``'linear'``: :class:`SimulatedSubject`); version-1 files are linear worlds."""


@lru_cache(maxsize=4)
def _extractor(input_size: int) -> EfficientNetLite0Extractor:
    return EfficientNetLite0Extractor(input_size=input_size)


@dataclass
class GroundTruthFeatures:
    """The feature space every simulated subject's ground truth is linear in.

    Parameters
    ----------
    image_size : int
        EfficientNet-Lite0 input size in pixels.
    grid_size : int
        Cells per side of the early-layer grid.
    early_layer, late_layer : str
        EfficientNet-Lite0 layers (see :class:`EfficientNetLite0Extractor`).
    early_mean, early_std : ndarray of shape (C * grid_size**2,)
        Standardisation of the grid features (channel-major, as
        ``pooling='grid'`` returns them).
    late_mean : ndarray of shape (D,)
    late_components : ndarray of shape (P, D)
        Principal axes of the late layer on the reference stimuli.
    late_std : ndarray of shape (P,)
        Standard deviation of each component (for whitening).
    axes : dict of str to ndarray of shape (P,)
        Unit category axes ('face', 'body', 'place') in whitened PC space.
    """

    image_size: int
    grid_size: int
    early_layer: str
    late_layer: str
    early_mean: np.ndarray
    early_std: np.ndarray
    late_mean: np.ndarray
    late_components: np.ndarray
    late_std: np.ndarray
    axes: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_channels(self) -> int:
        return self.early_mean.shape[0] // self.grid_size**2

    @property
    def n_components(self) -> int:
        return self.late_components.shape[0]

    @property
    def extractor(self) -> EfficientNetLite0Extractor:
        """The (cached) EfficientNet-Lite0 extractor at :attr:`image_size`."""
        return _extractor(self.image_size)

    @property
    def extract_kwargs(self) -> dict[str, Any]:
        """Arguments of :meth:`FeatureExtractor.extract` giving the raw features this model is linear in."""
        return {"layers": [self.early_layer, self.late_layer], "pooling": "grid", "grid_size": self.grid_size}

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        raw: dict[str, np.ndarray],
        labels: dict[str, np.ndarray],
        *,
        image_size: int,
        grid_size: int,
        early_layer: str,
        late_layer: str,
        n_components: int,
        rng: np.random.Generator,
    ) -> "GroundTruthFeatures":
        """Fit standardisation, PCA and category axes on reference features ``raw``."""
        early = raw[early_layer].astype(np.float64)
        late = raw[late_layer].astype(np.float64)
        n = late.shape[0]
        k = min(n_components, n - 1, late.shape[1])
        mean = late.mean(0)
        _, s, vt = np.linalg.svd(late - mean, full_matrices=False)
        comps = vt[:k]
        std = s[:k] / np.sqrt(max(n - 1, 1))
        scores = (late - mean) @ comps.T / std
        axes = {}
        for cat, positive in labels.items():
            positive = np.asarray(positive, dtype=bool)
            if positive.any() and (~positive).any():
                axis = scores[positive].mean(0) - scores[~positive].mean(0)
            else:  # no examples: an arbitrary but fixed direction
                axis = rng.normal(size=k)
            axes[cat] = axis / np.linalg.norm(axis)
        return cls(
            image_size=image_size,
            grid_size=grid_size,
            early_layer=early_layer,
            late_layer=late_layer,
            early_mean=early.mean(0).astype(np.float32),
            early_std=(early.std(0) + 1e-6).astype(np.float32),
            late_mean=mean.astype(np.float32),
            late_components=comps.astype(np.float32),
            late_std=std.astype(np.float32),
            axes={c: a.astype(np.float32) for c, a in axes.items()},
        )

    # -- transforms ------------------------------------------------------------------------
    def raw_features(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 64,
                     progress: bool = False) -> dict[str, np.ndarray]:
        """Raw (unstandardised) features of ``images`` (numpy, no gradients)."""
        return self.extractor.extract(images, batch_size=batch_size, progress=progress, **self.extract_kwargs)

    def transform(self, raw: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Standardised early ``(n, C, G)`` and whitened late ``(n, P)`` features from raw ones."""
        early = (raw[self.early_layer] - self.early_mean) / self.early_std
        late = (raw[self.late_layer] - self.late_mean) @ self.late_components.T / self.late_std
        return early.reshape(early.shape[0], self.n_channels, -1).astype(np.float32), late.astype(np.float32)

    def transform_torch(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable version of ``transform(raw_features(images))`` for ``(n, 3, H, W)`` tensors in [0, 1]."""
        out = self.extractor.forward_features(images, [self.early_layer, self.late_layer])
        dev, dt = out[self.late_layer].device, out[self.late_layer].dtype

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, device=dev, dtype=dt)

        early = pool_activation(out[self.early_layer], "grid", self.grid_size)
        early = ((early - t(self.early_mean)) / t(self.early_std)).reshape(early.shape[0], self.n_channels, -1)
        late = pool_activation(out[self.late_layer], "avg")
        late = (late - t(self.late_mean)) @ t(self.late_components).T / t(self.late_std)
        return early, late

    # -- persistence ----------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {
            "features.early_mean": self.early_mean,
            "features.early_std": self.early_std,
            "features.late_mean": self.late_mean,
            "features.late_components": self.late_components,
            "features.late_std": self.late_std,
        }
        arrays.update({f"features.axis.{c}": a for c, a in self.axes.items()})
        config = {
            "image_size": self.image_size,
            "grid_size": self.grid_size,
            "early_layer": self.early_layer,
            "late_layer": self.late_layer,
            "axes": sorted(self.axes),
        }
        return arrays, config

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> "GroundTruthFeatures":
        return cls(
            image_size=int(config["image_size"]),
            grid_size=int(config["grid_size"]),
            early_layer=str(config["early_layer"]),
            late_layer=str(config["late_layer"]),
            early_mean=arrays["features.early_mean"],
            early_std=arrays["features.early_std"],
            late_mean=arrays["features.late_mean"],
            late_components=arrays["features.late_components"],
            late_std=arrays["features.late_std"],
            axes={c: arrays[f"features.axis.{c}"] for c in config["axes"]},
        )


class GroundTruthSubject:
    """What every simulated subject offers beside its ``clean_response``: ROIs and noise ceilings.

    Subclasses (:class:`SimulatedSubject`, :class:`~encoding.simulation.brain.SimulatedBrain`)
    hold ``level``, ``labels`` (ROI label families) and ``snr`` and implement
    ``clean_response(images)``.
    """

    level: int
    labels: dict[str, np.ndarray]
    snr: np.ndarray

    @property
    def n_vertices(self) -> int:
        """Vertices of both hemispheres."""
        return 2 * n_vertices(self.level)

    def roi_masks(self) -> dict[str, np.ndarray]:
        """Boolean masks ``(V,)`` of every ROI by name (e.g. 'V1v', 'FFA-1', 'nsdgeneral')."""
        masks = {}
        for family, names in ROI_FAMILY_NAMES.items():
            for i, name in enumerate(names, start=1):
                masks[name] = self.labels[family] == i
        return masks

    def roi_mean_response(self, images: np.ndarray | torch.Tensor, rois: Sequence[str] | None = None,
                          **kwargs: Any) -> dict[str, np.ndarray]:
        """Mean clean response over each ROI's vertices, ``{name: (n,)}`` (all ROIs by default)."""
        masks = self.roi_masks()
        rois = list(masks) if rois is None else list(rois)
        unknown = [r for r in rois if r not in masks]
        if unknown:
            raise DataValidationError(f"rois: unknown ROI(s) {unknown}; known: {list(masks)}")
        resp = self.clean_response(images, **kwargs)
        return {r: resp[:, masks[r]].mean(1) for r in rois}

    def noise_ceiling(self, n_repeats: float = 3) -> np.ndarray:
        """True noise ceiling (percent) of an ``n_repeats`` average, per vertex, shape (V,)."""
        s2 = self.snr.astype(np.float64) ** 2
        return (100.0 * s2 / (s2 + 1.0 / n_repeats)).astype(np.float32)


@dataclass
class SimulatedSubject(GroundTruthSubject):
    """One simulated subject: ground-truth encoder, ROIs and noise level on fsaverage.

    Arrays cover both hemispheres (left first) at mesh ``level``;
    ``V = 2 * n_vertices(level)``.

    Attributes
    ----------
    number : int
        1-based subject number (as in NSD's ``subjXX``).
    level : int
        fsaverage level of the vertex arrays.
    features : GroundTruthFeatures
        The shared feature space.
    early_index : ndarray of int, shape (V_e,)
        Vertices with a pRF (early visual areas).
    early_space : ndarray of shape (V_e, grid_size**2)
        pRF mass in each grid cell.
    early_channel : ndarray of shape (V_e, C)
        Channel tuning of those vertices.
    late_weights : ndarray of shape (V, P)
        Tuning in whitened late-PC space.
    offset, scale : ndarray of shape (V,)
        Standardisation of the raw response over the reference stimuli.
    snr : ndarray of shape (V,)
        Single-trial signal-to-noise ratio (signal SD / noise SD); 0 outside
        ``nsdgeneral``.
    amplitude : ndarray of shape (V,)
        Percent signal change of one noise SD, used when writing betas.
    labels : dict of str to ndarray of int, shape (V,)
        ROI label families ('prf-visualrois', 'floc-faces', 'floc-bodies',
        'floc-places', 'nsdgeneral'); 0 = no ROI, else 1-based index into
        :data:`ROI_FAMILY_NAMES`.
    prf : dict of str to ndarray of shape (V,)
        pRF centre ``x``, ``y`` and ``sigma`` in image half-widths (NaN off
        the early visual areas).
    """

    number: int
    level: int
    features: GroundTruthFeatures
    early_index: np.ndarray
    early_space: np.ndarray
    early_channel: np.ndarray
    late_weights: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    snr: np.ndarray
    amplitude: np.ndarray
    labels: dict[str, np.ndarray]
    prf: dict[str, np.ndarray]

    # -- responses ---------------------------------------------------------------------------
    def _raw_from_features(self, early, late):
        xp = torch if isinstance(late, torch.Tensor) else np
        if xp is torch:
            def t(a):
                return torch.as_tensor(a, device=late.device, dtype=late.dtype)
        else:
            def t(a):
                return a
        raw = late @ t(self.late_weights).T
        if self.early_index.size:
            # sum_c sum_g E[n, c, g] * channel[v, c] * space[v, g]
            proj = xp.einsum("ncg,vg->nvc", early, t(self.early_space))
            e = (proj * t(self.early_channel)[None]).sum(-1)
            if xp is torch:
                raw = raw.index_add(1, torch.as_tensor(self.early_index, device=late.device), e)
            else:
                raw[:, self.early_index] += e
        return (raw - t(self.offset)) * t(self.scale)

    def response_from_features(self, early: np.ndarray, late: np.ndarray) -> np.ndarray:
        """Clean responses ``(n, V)`` from standardised features (see :meth:`GroundTruthFeatures.transform`)."""
        return self._raw_from_features(early.astype(np.float32), late.astype(np.float32)).astype(np.float32)

    def clean_response(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 64,
                       progress: bool = False) -> np.ndarray | torch.Tensor:
        """Noise-free response to any images.

        Parameters
        ----------
        images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
            Values in [0, 1], any size (centre-cropped and resized). A tensor
            gives a differentiable tensor result (gradients flow to the
            pixels), e.g. to score or optimise generated images.
        batch_size : int
            Images per forward pass (numpy input).
        progress : bool
            Show a progress bar (numpy input).

        Returns
        -------
        ndarray or Tensor of shape (n, V)
            Responses in units of the single-trial noise standard deviation
            (0 outside ``nsdgeneral``), left hemisphere first.
        """
        if isinstance(images, torch.Tensor):
            early, late = self.features.transform_torch(as_image_tensor(images))
            return self._raw_from_features(early, late)
        early, late = self.features.transform(
            self.features.raw_features(images, batch_size=batch_size, progress=progress)
        )
        return self.response_from_features(early, late)

    # -- persistence --------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        p = f"subj{self.number:02d}."
        arrays = {
            p + "early_index": self.early_index.astype(np.int64),
            p + "early_space": self.early_space,
            p + "early_channel": self.early_channel,
            p + "late_weights": self.late_weights,
            p + "offset": self.offset,
            p + "scale": self.scale,
            p + "snr": self.snr,
            p + "amplitude": self.amplitude,
        }
        arrays.update({p + "labels." + k: v.astype(np.int32) for k, v in self.labels.items()})
        arrays.update({p + "prf." + k: v for k, v in self.prf.items()})
        return arrays, {"number": self.number, "level": self.level,
                        "labels": sorted(self.labels), "prf": sorted(self.prf)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, Any],
                    features: GroundTruthFeatures) -> "SimulatedSubject":
        p = f"subj{int(config['number']):02d}."
        return cls(
            number=int(config["number"]),
            level=int(config["level"]),
            features=features,
            early_index=arrays[p + "early_index"],
            early_space=arrays[p + "early_space"],
            early_channel=arrays[p + "early_channel"],
            late_weights=arrays[p + "late_weights"],
            offset=arrays[p + "offset"],
            scale=arrays[p + "scale"],
            snr=arrays[p + "snr"],
            amplitude=arrays[p + "amplitude"],
            labels={k: arrays[p + "labels." + k] for k in config["labels"]},
            prf={k: arrays[p + "prf." + k] for k in config["prf"]},
        )


def save_ground_truth(path: str | os.PathLike, features: Any,
                      subjects: Sequence[Any], meta: dict[str, Any] | None = None) -> Path:
    """Write ``<path>.safetensors`` (arrays) and ``<path>.json`` (configuration), atomically.

    Parameters
    ----------
    path : path-like
        Base path; a ``.safetensors`` or ``.json`` suffix is stripped.
    features : GroundTruthFeatures or BrainFeatures
    subjects : sequence of SimulatedSubject or SimulatedBrain
    meta : dict, optional
        Extra JSON-serialisable provenance (seed, simulation parameters).

    Returns
    -------
    Path
        The ``.safetensors`` file.
    """
    from safetensors.numpy import save_file

    base = Path(path)
    if base.suffix in (".safetensors", ".json"):
        base = base.with_suffix("")
    arrays, fconfig = features.to_arrays()
    sconfigs = []
    for s in subjects:
        a, c = s.to_arrays()
        arrays.update(a)
        sconfigs.append(c)
    world = "linear" if isinstance(features, GroundTruthFeatures) else "soc"
    config = {"format": "neurokit-simulated-cohort", "version": FORMAT_VERSION, "world": world, "features": fconfig,
              "subjects": sconfigs, "meta": meta or {}}
    st, js = base.with_suffix(".safetensors"), base.with_suffix(".json")
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    text = json.dumps(config, indent=1)  # before either file is replaced: a config that cannot be written changes nothing
    with atomic_path(st) as tmp:
        save_file(arrays, str(tmp))
    atomic_write_text(js, text)
    return st


def load_ground_truth(path: str | os.PathLike) -> tuple[Any, list[Any], dict[str, Any]]:
    """Read a ground truth written by :func:`save_ground_truth`.

    Returns
    -------
    features : GroundTruthFeatures or BrainFeatures
    subjects : list of SimulatedSubject or SimulatedBrain
    meta : dict

    Raises
    ------
    CheckpointError
        If either file is missing, unreadable or not a simulated-cohort ground truth.
    """
    from safetensors.numpy import load_file

    base = Path(path)
    if base.suffix in (".safetensors", ".json"):
        base = base.with_suffix("")
    st, js = base.with_suffix(".safetensors"), base.with_suffix(".json")
    for f in (st, js):
        if not f.is_file():
            raise CheckpointError(f"ground truth file not found: {f}")
    try:
        config = json.loads(js.read_text(encoding="utf-8"))
        arrays = load_file(str(st))
    except Exception as err:
        raise CheckpointError(f"{base}: cannot read the ground truth ({err})") from err
    if config.get("format") != "neurokit-simulated-cohort":
        raise CheckpointError(f"{js}: not a simulated-cohort ground truth (format={config.get('format')!r})")
    if int(config.get("version", -1)) > FORMAT_VERSION:
        raise CheckpointError(f"{js}: written by a newer version (format version {config['version']})")
    world = config.get("world", "linear")
    if world == "soc":
        from encoding.simulation.brain import BrainFeatures, SimulatedBrain

        feature_type, subject_type = BrainFeatures, SimulatedBrain
    elif world == "linear":
        feature_type, subject_type = GroundTruthFeatures, SimulatedSubject
    else:
        raise CheckpointError(f"{js}: unknown world {world!r} (expected 'soc' or 'linear')")
    try:
        features = feature_type.from_arrays(arrays, config["features"])
        subjects = [subject_type.from_arrays(arrays, c, features) for c in config["subjects"]]
    except KeyError as err:
        raise CheckpointError(f"{st}: missing array {err}") from err
    return features, subjects, config.get("meta", {})

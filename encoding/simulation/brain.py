"""The default simulated world: a ground-truth brain that no model of the toolkit shares.

World ``'soc-lite2'`` (:data:`WORLDS`): every simulated subject's noise-free
response to an image is a *nonlinear* function of two feature spaces that the
toolkit's models do not use:

* **early areas** (V1-hV4): the second-order-contrast model of Kay et al.
  (2013, :mod:`encoding.simulation.soc`): Gabor energy, divisive
  normalisation, a Gaussian pRF from the subject's retinotopy, second-order
  contrast and a compressive exponent per area; V3 and hV4 mix in some of the
  intermediate network read-out below;
* **higher and category areas**: an intermediate and the last layer of the
  ground-truth network (EfficientNet-Lite2 by default, a parameter), each
  reduced to whitened principal components over the reference stimuli; a
  vertex's *drive* is a unit-norm tuning vector on those components; the
  response is ``softplus(drive - threshold) ** exponent`` (compressive outside,
  expansive inside the category ROIs), divided by ``1 + lambda * N(image)``
  with ``N`` the subject's mean rectified drive over visual cortex (divisive
  normalisation across the population).

Category tuning (face, body, place axes) is defined in the ground-truth
network's space (class-mean differences of the labelled stimuli), never in
EfficientNet-Lite0's.

Individual differences (:func:`build_brain_subjects`): each subject's tuning is
``sqrt(1 - f) * shared + sqrt(f) * private`` per vertex, where *shared* mixes
cohort-wide fields, ROI tunings and a 3-dimensional individual subspace per
ROI, and *private* lives in directions orthogonal to all of those and to
every other subject's private directions (``f = private_fraction``); ROI
positions and sizes vary (some subjects' ROIs move by more than an ROI
radius); each subject has its own thresholds, exponents and gain maps. The
shared and private tuning are stored separately, so tests can measure how
much of a subject's own deviation from the cohort a model recovers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neurokit.exceptions import InvalidParameterError
from encoding.features.base import as_image_tensor, pool_activation
from encoding.simulation.ground_truth import GroundTruthSubject
from encoding.simulation.soc import ContrastEnergy, prf_weights, second_order_contrast

#: Simulated worlds: name -> one-line description.
WORLDS: dict[str, str] = {
    "soc-lite2": "SOC model (early areas) + nonlinear read-outs of EfficientNet-Lite2 (default; no model shares it)",
    "soc-lite0": "the same with EfficientNet-Lite0, the toolkit's own network (what matched features buy)",
    "linear-lite0": "sanity mode: responses linear in EfficientNet-Lite0 features, the toolkit's own (ridge reaches "
                    "the ceiling)",
}

#: Ground-truth networks a ``soc-*`` world can read out (feature extractor factories).
GROUND_TRUTH_NETWORKS: tuple[str, ...] = ("efficientnet-lite2", "efficientnet-lite0")


@lru_cache(maxsize=4)
def _network(name: str, input_size: int):
    from encoding.features.efficientnet import EfficientNetLite0Extractor, EfficientNetLite2Extractor

    if name == "efficientnet-lite2":
        return EfficientNetLite2Extractor(input_size=input_size)
    if name == "efficientnet-lite0":
        return EfficientNetLite0Extractor(input_size=input_size)
    raise InvalidParameterError(f"network must be one of {GROUND_TRUTH_NETWORKS}, got {name!r}")


def _pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(k, len(s))
    return mean.astype(np.float32), vt[:k].astype(np.float32), (s[:k] / np.sqrt(max(len(x) - 1, 1)) + 1e-8).astype(np.float32)


@dataclass
class BrainFeatures:
    """The ground-truth feature space of a ``soc-*`` world (shared by every subject).

    Parameters
    ----------
    network : str
        Ground-truth network (:data:`GROUND_TRUTH_NETWORKS`).
    image_size : int
        Input side in pixels (network and contrast model).
    mid_layer, late_layer : str
        Network layers read out (average-pooled).
    wavelengths : tuple of float
        Gabor wavelengths (fractions of the image side).
    n_orientations, map_size : int
        Contrast model settings (:class:`~encoding.simulation.soc.ContrastEnergy`).
    semisaturation : ndarray of shape (n_maps,)
        Normalisation constants (calibrated on the reference stimuli).
    mid_mean, mid_components, mid_std, late_mean, late_components, late_std : ndarray
        PCA whitening of each layer: ``(D,)``, ``(P, D)``, ``(P,)``.
    axes : dict of str to ndarray of shape (P_mid + P_late,)
        Unit category axes ('face', 'body', 'place') in the whitened late components
        (zeros on the mid ones).
    """

    network: str
    image_size: int
    mid_layer: str
    late_layer: str
    wavelengths: tuple[float, ...]
    n_orientations: int
    map_size: int
    semisaturation: np.ndarray
    mid_mean: np.ndarray
    mid_components: np.ndarray
    mid_std: np.ndarray
    late_mean: np.ndarray
    late_components: np.ndarray
    late_std: np.ndarray
    axes: dict[str, np.ndarray]

    @property
    def n_components(self) -> int:
        """Dimension of the tuning space (mid + late components)."""
        return self.mid_components.shape[0] + self.late_components.shape[0]

    @property
    def n_mid(self) -> int:
        return self.mid_components.shape[0]

    @property
    def extractor(self):
        """The (cached) ground-truth network's feature extractor."""
        return _network(self.network, self.image_size)

    def contrast_model(self) -> ContrastEnergy:
        return _contrast_model(self.image_size, self.wavelengths, self.n_orientations, self.map_size,
                               tuple(float(s) for s in self.semisaturation))

    # -- fitting --------------------------------------------------------------------------
    @classmethod
    def fit(cls, images: np.ndarray, labels: Mapping[str, np.ndarray], *, network: str = "efficientnet-lite2",
            image_size: int = 64, n_mid: int = 32, n_late: int = 64, mid_layer: str = "stage5",
            late_layer: str = "pool", wavelengths: Sequence[float] = (1 / 16, 1 / 8), n_orientations: int = 8,
            map_size: int = 16, batch_size: int = 64, progress: bool = False) -> tuple["BrainFeatures", tuple]:
        """Fit the whitening and category axes on reference ``images``; also return their features.

        Parameters
        ----------
        images : ndarray of shape (n, H, W, 3)
            Reference stimuli in [0, 1].
        labels : mapping of str to bool ndarray of shape (n,)
            ``{'face': is_face, 'body': ..., 'place': ...}`` (see
            :func:`encoding.simulation.category_labels`).

        Returns
        -------
        features : BrainFeatures
        transformed : tuple of ndarray
            ``(maps, mid, late)`` of ``images`` (what :meth:`transform` gives).
        """
        if network not in GROUND_TRUTH_NETWORKS:
            raise InvalidParameterError(f"network must be one of {GROUND_TRUTH_NETWORKS}, got {network!r}")
        raw = _network(network, image_size).extract(images, layers=[mid_layer, late_layer], batch_size=batch_size,
                                                    progress=progress)
        x = as_image_tensor(images[: min(len(images), 512)])
        contrast = ContrastEnergy(image_size, wavelengths, n_orientations, map_size).calibrate(x)
        mid_mean, mid_comp, mid_std = _pca(raw[mid_layer].astype(np.float64), n_mid)
        late_mean, late_comp, late_std = _pca(raw[late_layer].astype(np.float64), n_late)
        late_scores = (raw[late_layer] - late_mean) @ late_comp.T / late_std
        axes = {}
        rng = np.random.default_rng(0)
        for cat, positive in labels.items():
            positive = np.asarray(positive, dtype=bool)
            axis = np.zeros(mid_comp.shape[0] + late_comp.shape[0])
            if positive.any() and (~positive).any():
                axis[mid_comp.shape[0]:] = late_scores[positive].mean(0) - late_scores[~positive].mean(0)
            else:  # no examples: an arbitrary but fixed direction
                axis[mid_comp.shape[0]:] = rng.normal(size=late_comp.shape[0])
            axes[cat] = (axis / np.linalg.norm(axis)).astype(np.float32)
        features = cls(network, int(image_size), mid_layer, late_layer, tuple(float(w) for w in wavelengths),
                       int(n_orientations), int(map_size), contrast.semisaturation.numpy().copy(),
                       mid_mean, mid_comp, mid_std, late_mean, late_comp, late_std, axes)
        return features, features.transform(images, raw=raw, batch_size=batch_size)

    # -- transforms ----------------------------------------------------------------------
    def transform(self, images: np.ndarray, *, raw: dict[str, np.ndarray] | None = None, batch_size: int = 64,
                  progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground-truth features of many images: ``(maps (n, M, m, m), mid (n, P_mid), late (n, P_late))``."""
        if raw is None:
            raw = self.extractor.extract(images, layers=[self.mid_layer, self.late_layer], batch_size=batch_size,
                                         progress=progress)
        mid = (raw[self.mid_layer] - self.mid_mean) @ self.mid_components.T / self.mid_std
        late = (raw[self.late_layer] - self.late_mean) @ self.late_components.T / self.late_std
        contrast = self.contrast_model()
        maps = []
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                maps.append(contrast(as_image_tensor(images[start : start + batch_size])).numpy())
        return np.concatenate(maps).astype(np.float32), mid.astype(np.float32), late.astype(np.float32)

    def transform_torch(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Differentiable :meth:`transform` of ``(n, 3, H, W)`` tensors in [0, 1]."""
        out = self.extractor.forward_features(images, [self.mid_layer, self.late_layer])
        dev, dt = images.device, images.dtype

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, device=dev, dtype=dt)

        mid = (pool_activation(out[self.mid_layer], "avg") - t(self.mid_mean)) @ t(self.mid_components).T
        late = (pool_activation(out[self.late_layer], "avg") - t(self.late_mean)) @ t(self.late_components).T
        return self.contrast_model().to(dev)(images), mid / t(self.mid_std), late / t(self.late_std)

    # -- persistence ----------------------------------------------------------------------
    _ARRAYS = ("semisaturation", "mid_mean", "mid_components", "mid_std", "late_mean", "late_components", "late_std")

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {f"features.{k}": np.asarray(getattr(self, k), np.float32) for k in self._ARRAYS}
        arrays.update({f"features.axis.{c}": a for c, a in self.axes.items()})
        config = {"network": self.network, "image_size": self.image_size, "mid_layer": self.mid_layer,
                  "late_layer": self.late_layer, "wavelengths": list(self.wavelengths),
                  "n_orientations": self.n_orientations, "map_size": self.map_size, "axes": sorted(self.axes)}
        return arrays, config

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> "BrainFeatures":
        return cls(str(config["network"]), int(config["image_size"]), str(config["mid_layer"]),
                   str(config["late_layer"]), tuple(float(w) for w in config["wavelengths"]),
                   int(config["n_orientations"]), int(config["map_size"]),
                   *(arrays[f"features.{k}"] for k in cls._ARRAYS),
                   axes={c: arrays[f"features.axis.{c}"] for c in config["axes"]})


@lru_cache(maxsize=8)
def _contrast_model(image_size, wavelengths, n_orientations, map_size, semisaturation) -> ContrastEnergy:
    return ContrastEnergy(image_size, wavelengths, n_orientations, map_size, semisaturation).eval()


#: Per-array fields of a :class:`SimulatedBrain` (persistence order).
_BRAIN_ARRAYS = ("early_index", "early_map_mix", "early_c", "early_n", "early_soc_weight", "shared_tuning",
                 "private_tuning", "threshold", "exponent", "soc_mean", "soc_sd", "high_mean", "high_sd",
                 "offset", "scale", "snr", "amplitude")


@dataclass
class SimulatedBrain(GroundTruthSubject):
    """One simulated subject of a ``soc-*`` world: nonlinear ground truth, ROIs and noise level on fsaverage.

    Arrays cover both hemispheres (left first) at mesh ``level``;
    ``V = 2 * n_vertices(level)``, ``V_e`` early-visual vertices, ``P`` tuning dimensions.

    Attributes
    ----------
    number, level : int
    features : BrainFeatures
    private_fraction : float
        ``f``: the tuning is ``sqrt(1 - f) * shared + sqrt(f) * private``.
    normalization : float
        ``lambda`` of the divisive normalisation.
    early_index : ndarray of int, shape (V_e,)
    early_map_mix : ndarray of shape (V_e, n_maps)
        Weight of each contrast map (wavelength) per early vertex.
    early_c, early_n : ndarray of shape (V_e,)
        SOC second-order parameter and exponent.
    early_soc_weight : ndarray of shape (V_e,)
        Share of the SOC response (the rest is the network read-out).
    shared_tuning, private_tuning : ndarray of shape (V, P)
        Unit-norm (or zero) rows; the private rows are orthogonal to the cohort's shared space.
    threshold, exponent : ndarray of shape (V,)
        Of the read-out nonlinearity ``softplus(drive - threshold) ** exponent``.
    soc_mean, soc_sd : ndarray of shape (V_e,)
    high_mean, high_sd : ndarray of shape (V,)
        Standardisation of the two parts over the reference stimuli.
    offset, scale : ndarray of shape (V,)
        Final standardisation (response in units of the single-trial noise SD, times ``snr``).
    snr, amplitude : ndarray of shape (V,)
    labels : dict of str to ndarray of int, shape (V,)
    prf : dict of str to ndarray of shape (V,)
        pRF ``x``, ``y``, ``sigma`` in image half-widths (NaN off the early areas).
    """

    number: int
    level: int
    features: BrainFeatures
    private_fraction: float
    normalization: float
    early_index: np.ndarray
    early_map_mix: np.ndarray
    early_c: np.ndarray
    early_n: np.ndarray
    early_soc_weight: np.ndarray
    shared_tuning: np.ndarray
    private_tuning: np.ndarray
    threshold: np.ndarray
    exponent: np.ndarray
    soc_mean: np.ndarray
    soc_sd: np.ndarray
    high_mean: np.ndarray
    high_sd: np.ndarray
    offset: np.ndarray
    scale: np.ndarray
    snr: np.ndarray
    amplitude: np.ndarray
    labels: dict[str, np.ndarray]
    prf: dict[str, np.ndarray]

    @property
    def tuning(self) -> np.ndarray:
        """Total tuning ``(V, P)``: ``sqrt(1 - f) * shared + sqrt(f) * private``."""
        f = self.private_fraction
        return (np.sqrt(1 - f) * self.shared_tuning + np.sqrt(f) * self.private_tuning).astype(np.float32)

    # -- responses ---------------------------------------------------------------------------
    def response_parts(self, maps: torch.Tensor, mid: torch.Tensor, late: torch.Tensor,
                       private: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """The two unstandardised parts of the response, from ground-truth feature tensors.

        Returns ``(high (n, V), soc (n, V_e))``: the normalised network read-out
        at every vertex and the SOC response at the early vertices.
        ``private=False`` leaves out the private tuning (the shared part only).
        """
        def t(a):
            return torch.as_tensor(np.asarray(a), device=late.device, dtype=late.dtype)

        f = self.private_fraction if private else 0.0
        tuning = np.sqrt(1 - f) * t(self.shared_tuning) + np.sqrt(f) * t(self.private_tuning)
        drive = torch.cat([mid, late], 1) @ tuning.T
        high = F.softplus(2.0 * (drive - t(self.threshold))) / 2.0
        high = high ** t(self.exponent)
        active = t((np.abs(self.shared_tuning).sum(1) > 0).astype(np.float32))
        pool = (high * active).sum(1, keepdim=True) / active.sum().clamp_min(1.0)
        high = high / (1.0 + self.normalization * pool)
        if not self.early_index.size:
            return high, high[:, :0]
        x, y, s = (self.prf[k][self.early_index] for k in ("x", "y", "sigma"))
        weights = t(prf_weights(x, y, s, self.features.map_size))
        soc = second_order_contrast(maps, weights, t(self.early_map_mix), t(self.early_c), t(self.early_n))
        return high, soc

    def combine_parts(self, high: torch.Tensor, soc: torch.Tensor) -> torch.Tensor:
        """Clean responses ``(n, V)`` from :meth:`response_parts`: standardise, mix, scale by ``snr``."""
        def t(a):
            return torch.as_tensor(np.asarray(a), device=high.device, dtype=high.dtype)

        raw = (high - t(self.high_mean)) / t(self.high_sd)
        if self.early_index.size:
            w = t(self.early_soc_weight)
            index = torch.as_tensor(self.early_index, device=high.device)
            z = (soc - t(self.soc_mean)) / t(self.soc_sd)
            raw = raw.index_copy(1, index, w * z + torch.sqrt(1 - w**2) * raw[:, index])
        return (raw - t(self.offset)) * t(self.scale)

    def response_from_features(self, maps: np.ndarray, mid: np.ndarray, late: np.ndarray, *,
                               batch_size: int = 512) -> np.ndarray:
        """Clean responses ``(n, V)`` from ground-truth features (see :meth:`BrainFeatures.transform`)."""
        out = []
        with torch.no_grad():
            for s in range(0, len(late), batch_size):
                parts = [torch.as_tensor(np.ascontiguousarray(a[s : s + batch_size])) for a in (maps, mid, late)]
                out.append(self.combine_parts(*self.response_parts(*parts)).numpy())
        if not out:
            return np.zeros((0, self.n_vertices), np.float32)
        return np.concatenate(out).astype(np.float32)

    def clean_response(self, images: np.ndarray | torch.Tensor, *, batch_size: int = 64,
                       progress: bool = False) -> np.ndarray | torch.Tensor:
        """Noise-free response to any images.

        Parameters
        ----------
        images : ndarray of shape (n, H, W, 3) or Tensor of shape (n, 3, H, W)
            Values in [0, 1]. A tensor gives a differentiable tensor result.
        batch_size : int
        progress : bool

        Returns
        -------
        ndarray or Tensor of shape (n, V)
            In units of the single-trial noise SD (0 outside ``nsdgeneral``).
        """
        if isinstance(images, torch.Tensor):
            feats = self.features.transform_torch(as_image_tensor(images))
            return self.combine_parts(*self.response_parts(*feats))
        return self.response_from_features(*self.features.transform(images, batch_size=batch_size,
                                                                    progress=progress))

    # -- persistence ----------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        p = f"subj{self.number:02d}."
        arrays = {p + k: np.asarray(getattr(self, k)) for k in _BRAIN_ARRAYS}
        arrays[p + "early_index"] = self.early_index.astype(np.int64)
        arrays.update({p + "labels." + k: v.astype(np.int32) for k, v in self.labels.items()})
        arrays.update({p + "prf." + k: v for k, v in self.prf.items()})
        return arrays, {"number": self.number, "level": self.level, "private_fraction": self.private_fraction,
                        "normalization": self.normalization, "labels": sorted(self.labels),
                        "prf": sorted(self.prf)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, Any],
                    features: BrainFeatures) -> "SimulatedBrain":
        p = f"subj{int(config['number']):02d}."
        return cls(int(config["number"]), int(config["level"]), features, float(config["private_fraction"]),
                   float(config["normalization"]), *(arrays[p + k] for k in _BRAIN_ARRAYS),
                   labels={k: arrays[p + "labels." + k] for k in config["labels"]},
                   prf={k: arrays[p + "prf." + k] for k in config["prf"]})


__all__ = ["WORLDS", "GROUND_TRUTH_NETWORKS", "BrainFeatures", "SimulatedBrain"]

"""A simulated NSD-like cohort ("digital twin" subjects) on fsaverage.

:func:`simulate_cohort` builds subjects whose ground-truth encoders are known
(:mod:`encoding.simulation.ground_truth`), places NSD-named ROIs on nilearn's
fsaverage5 (:mod:`encoding.simulation.rois`), draws an NSD-like design (shared
images plus subject-specific ones, each shown ``n_repeats`` times) and noisy
single trials, and writes the whole thing in the NSD layout so that
:class:`neurokit.datasets.NSD` reads it like the real dataset.

The ground truth is a *world* (:data:`encoding.simulation.WORLDS`). The default,
``soc-lite2`` (:mod:`encoding.simulation.brain`), shares no model's features: a
second-order-contrast model of V1-hV4 and nonlinear read-outs of
EfficientNet-Lite2; each subject's tuning is partly private (orthogonal to the
cohort's shared directions and to every other subject's), some subjects' category
ROIs are displaced by more than an ROI radius, and 40 % of the trial noise is
spatially smooth, so ROI means stay below ceiling. ``linear-lite0``
(:mod:`encoding.simulation.ground_truth`) is the earlier world, linear in the
toolkit's default EfficientNet-Lite0 features, kept as a sanity mode: individual
differences there are small ROI shifts, a 3-dimensional individual subspace per
category ROI shared by the cohort, 15 % perturbed random tuning fields and smooth
gain maps. Default stimuli are photo-bank crops split by photograph
(:func:`neurokit.datasets.photo_disjoint_split`), the shared test images only from
test photographs.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr
from tqdm.auto import tqdm

from neurokit.exceptions import (
    DataValidationError,
    InvalidParameterError,
    MeshUnavailableError,
    OutputExistsError,
)
from neurokit.mesh.levels import check_level, n_vertices
from neurokit.validation import check_int, check_real, is_integer
from encoding.simulation.brain import WORLDS, BrainFeatures, SimulatedBrain
from encoding.simulation.soc import SOC_PARAMETERS
from encoding.simulation.ground_truth import (
    ROI_FAMILY_NAMES,
    GroundTruthFeatures,
    SimulatedSubject,
    load_ground_truth,
    save_ground_truth,
)
from encoding.simulation.rois import (
    CATEGORY_ROIS,
    EARLY_AREAS,
    ROI_CATEGORY,
    TEMPLATE_LENGTH,
    Anatomy,
    fsaverage5_geometry,
    local_coordinates,
)

#: The ground-truth network of each ``soc-*`` world.
WORLD_NETWORKS = {"soc-lite2": "efficientnet-lite2", "soc-lite0": "efficientnet-lite0"}

GEOMETRY_LEVEL = 5
"""The ground truth is built on fsaverage5 (nilearn's); coarser levels are slices."""

#: Fraction of an early area's signal that comes from the early (retinotopic) features.
EARLY_MIX = {"V1": 0.95, "V2": 0.9, "V3": 0.85, "hV4": 0.7}
N_COMPONENTS = 48  # whitened late principal components
N_LATE_FIELDS = 12  # smooth random late tuning fields
N_EARLY_FIELDS = 4  # smooth random channel-tuning fields
N_BUMPS = 80  # Gaussian bumps per hemisphere making up the smooth fields
BUMP_WIDTH = 14.0  # mm
INDIVIDUAL_DIMS = 3  # per-ROI individual-difference subspace
CATEGORY_LABELS = ("face", "body", "place")


@dataclass
class CohortParameters:
    """How a cohort was simulated (stored with the ground truth for provenance)."""

    n_subjects: int
    n_images: int
    n_shared: int
    n_repeats: int
    trials_per_session: int
    seed: int
    level: int
    image_size: int
    grid_size: int
    individual_shift_mm: float
    tuning_perturbation: float
    world: str = "linear-lite0"
    network: str = "efficientnet-lite0"
    private_fraction: float = 0.0
    displaced_subjects: tuple[int, ...] = ()
    roi_displacement: float = 0.0
    noise_correlation: float = 0.0
    normalization: float = 0.0
    displaced_fraction: float = 0.0
    stimulus_seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Cohort:
    """Simulated subjects, their stimuli and design; writes itself as an NSD tree.

    Attributes
    ----------
    subjects : list of SimulatedBrain or SimulatedSubject
        ``subjects[k]`` is subject ``k + 1`` (:class:`SimulatedBrain` in the
        default ``soc-*`` world, :class:`SimulatedSubject` in the
        ``linear-lite0`` sanity world).
    features : BrainFeatures or GroundTruthFeatures
        The ground-truth feature space shared by every subject.
    design : neurokit.datasets.NSDDesign
        0-based design; NSD ids index :attr:`images`.
    images : ndarray of shape (n_stimuli, H, W, 3)
        float32 stimuli in [0, 1].
    labels : dict of str to ndarray
        Stimulus labels (``is_face`` etc.), one entry per image.
    params : CohortParameters
    """

    subjects: list[Any]
    features: Any
    design: Any
    images: np.ndarray
    labels: dict[str, np.ndarray]
    params: CohortParameters
    _features: tuple[np.ndarray, ...] = field(repr=False, default=())  # ground-truth features of all stimuli

    @property
    def level(self) -> int:
        return self.params.level

    @property
    def n_vertices(self) -> int:
        return 2 * n_vertices(self.level)

    def replicate(self, seed: int, *, progress: bool = False) -> "Cohort":
        """Another world on the same stimuli and design: new subjects (anatomy, tuning, noise) from ``seed``.

        ``simulate_cohort(..., seed=s, stimulus_seed=k)`` equals
        ``simulate_cohort(..., seed=k).replicate(s)``; the ground-truth features of
        the stimuli are reused, so a replicate costs only the subjects.
        """
        p = replace(self.params, seed=int(seed), displaced_subjects=())
        ref = _reference_ids(len(self.images), p.stimulus_seed)
        grng = np.random.default_rng([int(seed), 4099])
        if p.world == "linear-lite0":
            group = _group(grng, self.features, self._features[0][ref])
        else:
            group = _brain_group(grng, self.features, p.n_subjects)
        subjects, p = _simulate_subjects(p, self.features, group, tuple(f[ref] for f in self._features), progress)
        return Cohort(subjects, self.features, self.design, self.images, self.labels, p, self._features)

    def subject(self, number: int) -> SimulatedSubject:
        """Subject ``number`` (1-based)."""
        if not is_integer(number) or not 1 <= number <= len(self.subjects):
            raise DataValidationError(f"subject must be in 1..{len(self.subjects)}, got {number!r}")
        return self.subjects[int(number) - 1]

    def roi_masks(self, subject: int) -> dict[str, np.ndarray]:
        """Boolean ROI masks ``(V,)`` of ``subject`` by ROI name."""
        return self.subject(subject).roi_masks()

    def image_ids(self, subject: int) -> np.ndarray:
        """0-based NSD ids (rows of :attr:`images`) of ``subject``'s images, shared ones first."""
        return self.design.subjectim[self.subject(subject).number - 1]

    @property
    def shared_ids(self) -> np.ndarray:
        """NSD ids of the images every subject saw."""
        return self.design.sharedix

    def clean_responses(self, subject: int, nsd_ids: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Noise-free responses ``(n, V)`` of ``subject`` to stimuli ``nsd_ids`` (default: its own images)."""
        ids = self.image_ids(subject) if nsd_ids is None else np.asarray(nsd_ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.images)):
            raise DataValidationError(f"nsd_ids must lie in 0..{len(self.images) - 1}")
        return self.subject(subject).response_from_features(*(f[ids] for f in self._features))

    def responses(self, subject: int):
        """``subject``'s prepared responses, in memory, exactly as :meth:`neurokit.datasets.NSD.responses` reads them.

        z-scored per session and averaged over repeats; the noise ceiling comes
        from the repeats. No files are written (e.g. for the replicate worlds of
        :meth:`replicate`).

        Returns
        -------
        neurokit.datasets.NSDResponses
        """
        from neurokit.datasets.nsd import NSDResponses, RepeatAverager, zscore_sessions
        from neurokit.metrics import ncsnr_to_noise_ceiling

        subj = self.subject(subject)
        averager = RepeatAverager(self.design.trial_nsd_ids(subj.number), self.n_vertices)
        averager.add(0, zscore_sessions(self.trials(subj.number), self.params.trials_per_session))
        data, ids, counts, ncsnr, nan_vertices = averager.result()
        n_sessions = len(self.design.masterordering) // self.params.trials_per_session
        return NSDResponses(data=data, nsd_ids=ids, n_repeats=counts, shared=np.isin(ids, self.design.sharedix),
                            vertices=np.arange(self.n_vertices), level=self.level, ncsnr=ncsnr,
                            noise_ceiling=ncsnr_to_noise_ceiling(ncsnr, counts).astype(np.float32),
                            nan_vertices=nan_vertices,
                            trials=None, subject=subj.number, sessions=tuple(range(1, n_sessions + 1)))

    def trials(self, subject: int) -> np.ndarray:
        """Single-trial betas ``(n_trials, V)`` of ``subject`` in percent signal change.

        Trial ``t`` shows image ``design.trial_nsd_ids(subject)[t]``; each
        session adds its own per-vertex baseline (removed by NSD's per-session
        z-scoring). Deterministic for a given cohort seed and subject.
        """
        subj = self.subject(subject)
        ids = self.design.trial_nsd_ids(subj.number)
        unique, inverse = np.unique(ids, return_inverse=True)
        clean = self.clean_responses(subj.number, unique)[inverse]
        rng = np.random.default_rng([self.params.seed, 7919, subj.number])
        noise = _white_noise(rng, clean.shape)
        rho = self.params.noise_correlation
        if rho > 0:  # spatially smooth noise: ROI means are noisy too
            noise *= np.float32(np.sqrt(1.0 - rho))
            noise += np.float32(np.sqrt(rho)) * smooth_noise(rng, clean.shape[0], self.level)
        tps = self.params.trials_per_session
        n_sessions = clean.shape[0] // tps
        baseline = rng.normal(0.0, 0.5, size=(n_sessions, clean.shape[1])).astype(np.float32)
        betas = (clean + noise) * subj.amplitude
        betas += np.repeat(baseline, tps, axis=0)
        return betas

    # -- writing -------------------------------------------------------------------------
    def write(self, root: str | os.PathLike, *, overwrite: bool = False, progress: bool = True) -> Path:
        """Write the cohort as an NSD tree (plus the ground truth) under ``root``.

        Files: the design, single-trial betas per session, per-subject ROI labels
        in fsaverage space (``roi_source="subject"``), the ``ncsnr`` estimated
        from the simulated trials, the stimulus brick (uint8), and the ground
        truth as ``ground_truth.safetensors`` + ``ground_truth.json`` in ``root``.

        Parameters
        ----------
        root : path-like
            Target folder; it must not hold an NSD tree unless ``overwrite``.
        overwrite : bool
            Replace an existing tree.
        progress : bool
            Show a progress bar over subjects.

        Returns
        -------
        Path
            ``root``; read it with ``neurokit.datasets.NSD(root)``.
        """
        from neurokit.datasets.nsd_writer import NSDWriter

        root = Path(root)
        writer = NSDWriter(root, roi_source="subject")
        if writer.layout.expdesign.exists() and not overwrite:
            raise OutputExistsError(f"{root} already holds an NSD tree; pass overwrite=True to replace it")
        writer.write_design(self.design)
        writer.write_stimuli(self.images)
        tps = self.params.trials_per_session
        for subj in tqdm(self.subjects, desc="writing simulated subjects", disable=not progress):
            betas = self.trials(subj.number)
            for k in range(betas.shape[0] // tps):
                writer.write_betas_session(subj.number, k + 1, betas[k * tps : (k + 1) * tps])
            writer.write_ncsnr(subj.number, estimate_ncsnr(betas, self.design.masterordering, tps))
            for family, names in ROI_FAMILY_NAMES.items():
                writer.write_roi(subj.number, family, subj.labels[family], names)
        self.save_ground_truth(root / "ground_truth")
        self.save_stimulus_record(root / "stimuli")
        return root

    def save_stimulus_record(self, path: str | os.PathLike) -> Path:
        """Write the stimulus labels and ground-truth features (``<path>.safetensors`` + ``<path>.json``).

        With the NSD tree and the ground truth this is everything
        :func:`load_cohort` needs to rebuild the cohort (and its replicates)
        without recomputing the ground-truth network's features.
        """
        from safetensors.numpy import save_file

        from neurokit.io.atomic import atomic_path, atomic_write_text

        base = Path(path)
        arrays = {f"features.{i}": np.ascontiguousarray(f) for i, f in enumerate(self._features)}
        with atomic_path(base.with_suffix(".safetensors")) as tmp:
            save_file(arrays, str(tmp))
        labels = {k: np.asarray(v).tolist() for k, v in self.labels.items()
                  if np.asarray(v).dtype.kind in "biufUS" and np.asarray(v).ndim == 1}
        atomic_write_text(base.with_suffix(".json"), json.dumps(
            {"format": "neurokit-simulated-stimuli", "n_features": len(self._features), "labels": labels}))
        return base.with_suffix(".safetensors")

    def save_ground_truth(self, path: str | os.PathLike) -> Path:
        """Save every subject's ground truth (safetensors + JSON); see :func:`load_ground_truth`."""
        return save_ground_truth(path, self.features, self.subjects, {"params": self.params.to_dict()})


#: Gaussian bumps per hemisphere and their width (sphere mm) of the spatially correlated noise.
NOISE_CENTRE_LEVEL, NOISE_WIDTH = 3, 10.0
"""The smooth noise is a sum of Gaussian bumps (``NOISE_WIDTH`` mm) centred on the vertices of
fsaverage level ``NOISE_CENTRE_LEVEL`` (642 per hemisphere, ~15 mm apart: even coverage)."""


def _white_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Standard normal float32 noise of ``shape``, seeded from ``rng`` (torch's generator: ~5x numpy's speed)."""
    import torch

    generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
    return torch.randn(shape, generator=generator, dtype=torch.float32).numpy()


@lru_cache(maxsize=4)
def _noise_basis(level: int):
    """Sparse ``(2 * n_centres, V)`` bump basis (cut at 3 widths) whose per-vertex sum of squares is 1."""
    from scipy import sparse

    nlev = n_vertices(level)
    n_centres = n_vertices(min(NOISE_CENTRE_LEVEL, level))
    blocks = []
    for hemi in ("left", "right"):
        sphere = fsaverage5_geometry()[hemi]["sphere"][:nlev]
        s = sphere / np.linalg.norm(sphere, axis=1, keepdims=True)
        d = np.arccos(np.clip(s[:n_centres] @ s.T, -1.0, 1.0)) * 100.0  # nested: the coarse vertices come first
        blocks.append(sparse.csr_matrix(np.where(d < 3 * NOISE_WIDTH, np.exp(-0.5 * (d / NOISE_WIDTH) ** 2), 0.0)))
    basis = sparse.block_diag(blocks, format="csr")
    norm = np.sqrt(np.asarray(basis.multiply(basis).sum(0))).ravel()
    return (basis @ sparse.diags(1.0 / np.maximum(norm, 1e-12))).astype(np.float32).tocsr()


def smooth_noise(rng: np.random.Generator, n: int, level: int) -> np.ndarray:
    """``n`` spatially smooth Gaussian noise maps ``(n, V)`` with unit variance per vertex (~10 mm correlation)."""
    basis = _noise_basis(level)
    coef = rng.standard_normal((n, basis.shape[0]), dtype=np.float32)
    return np.asarray((basis.T @ coef.T).T, dtype=np.float32)


def load_cohort(root: str | os.PathLike) -> Cohort:
    """Rebuild a :class:`Cohort` written by :meth:`Cohort.write` (design, stimuli, ground truth, features).

    Raises
    ------
    CheckpointError
        If the ground truth or the stimulus record is missing or unreadable.
    """
    from safetensors.numpy import load_file

    from neurokit.datasets.nsd import NSD
    from neurokit.exceptions import CheckpointError

    root = Path(root)
    features, subjects, meta = load_ground_truth(root / "ground_truth")
    record, arrays = root / "stimuli.json", root / "stimuli.safetensors"
    try:
        info = json.loads(record.read_text(encoding="utf-8"))
        stored = load_file(str(arrays))
        transformed = tuple(stored[f"features.{i}"] for i in range(int(info["n_features"])))
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"{root}: cannot read the stimulus record {record.name} / {arrays.name} ({err})") from err
    params = meta.get("params", {})
    params["displaced_subjects"] = tuple(params.get("displaced_subjects", ()))
    nsd = NSD(root)
    images = nsd.images(np.arange(len(transformed[0])), size=int(params["image_size"]))
    labels = {k: np.asarray(v) for k, v in info["labels"].items()}
    return Cohort(subjects, features, nsd.design, images, labels, CohortParameters(**params), transformed)


def estimate_ncsnr(betas: np.ndarray, masterordering: np.ndarray, trials_per_session: int) -> np.ndarray:
    """NSD's ncsnr from single trials: z-score per session, then the repeat variance.

    Parameters
    ----------
    betas : ndarray of shape (n_trials, V)
    masterordering : ndarray of int, shape (n_trials,)
        Image index of each trial.
    trials_per_session : int

    Returns
    -------
    ndarray of shape (V,)
        ``sqrt(max(0, 1 - var_noise)) / sqrt(var_noise)`` (REFERENCE section 1);
        NaN where a vertex is constant within a session.
    """
    from neurokit.datasets.nsd import RepeatAverager, zscore_sessions

    counts = np.bincount(masterordering)
    if counts.min() != counts.max():
        raise DataValidationError("estimate_ncsnr needs every image repeated equally often")
    averager = RepeatAverager(masterordering, betas.shape[1])
    averager.add(0, zscore_sessions(betas, trials_per_session))
    return averager.result()[3]


# ------------------------------------------------------------------------------------ building
def _default_stimuli(n_test: int, n_train: int, size: int, seed: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Photo-disjoint stimuli from the photo bank: ``n_test`` crops of test photos, then ``n_train`` of the others.

    The bank's photographs are split by :func:`neurokit.datasets.photo_disjoint_split` (20 % of each
    category's photos for test); crops multiply images, never photos, so no test image shares a source
    photograph with a training image. ``labels['split']`` says which side each image is on.
    """
    from neurokit.datasets.photo_bank import load_photo_bank, photo_disjoint_split, sample_crops

    bank = load_photo_bank(size=128 if size <= 128 else 256)
    train, test = photo_disjoint_split(bank, test_fraction=0.2, seed=seed)
    parts = [sample_crops(bank, photos, n, size, seed + k) for k, (photos, n) in enumerate(((test, n_test),
                                                                                             (train, n_train))) if n]
    labels = {name: np.concatenate([p[1][name] for p in parts]) for name in parts[0][1].dtype.names}
    labels["split"] = np.array(["test"] * n_test + ["train"] * n_train)
    return np.concatenate([p[0] for p in parts]), labels


def category_labels(labels: Mapping[str, Any], n: int) -> dict[str, np.ndarray]:
    """Boolean face/body/place indicators from stimulus labels.

    Uses ``is_face``/``is_body``/``is_place`` if present, else a ``category``
    array of strings (``'face'``; ``'body'``/``'person'``; ``'place'``/``'scene'``/
    ``'landscape'``/``'building'``). Missing categories are all False.
    """
    cats = np.asarray(labels["category"]).astype(str) if "category" in labels else None
    synonyms = {"face": ("face", "faces"), "body": ("body", "bodies", "person", "people"),
                "place": ("place", "places", "scene", "scenes", "landscape", "building", "indoor", "outdoor")}
    out = {}
    for cat in CATEGORY_LABELS:
        key = f"is_{cat}"
        if key in labels:
            v = np.asarray(labels[key], dtype=bool)
        elif cats is not None:
            v = np.isin(np.char.lower(cats), synonyms[cat])
        else:
            v = np.zeros(n, dtype=bool)
        if v.shape != (n,):
            raise DataValidationError(f"labels[{key!r}] must have one entry per image ({n}), got shape {v.shape}")
        out[cat] = v
    return out


def _smooth_fields(sphere_unit: np.ndarray, bumps: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Smooth random fields ``(n_fields, n_vertices)`` as sums of Gaussian bumps on the sphere."""
    d = np.arccos(np.clip(sphere_unit @ bumps.T, -1.0, 1.0)) * 100.0
    basis = np.exp(-0.5 * (d / BUMP_WIDTH) ** 2)
    fields = coef @ basis.T
    return fields / (fields.std(axis=1, keepdims=True) + 1e-9)


def _cell_mass(centre: np.ndarray, sigma: np.ndarray, grid_size: int, flip: bool) -> np.ndarray:
    """Mass of 1-D Gaussians in each of ``grid_size`` cells over [-1, 1] (``flip``: cell 0 at +1)."""
    edges = np.linspace(-1.0, 1.0, grid_size + 1)
    if flip:
        edges = edges[::-1]
    cdf = ndtr((edges[None, :] - centre[:, None]) / sigma[:, None])
    return np.abs(np.diff(cdf, axis=1))


@dataclass
class _Group:
    """Random structures shared by every subject of a cohort."""

    bumps: dict[str, np.ndarray]
    late_basis: np.ndarray  # (K, P)
    late_coef: dict[str, np.ndarray]  # hemi -> (K, M)
    early_profiles: np.ndarray  # (K_e, C)
    early_coef: dict[str, np.ndarray]
    snr_coef: dict[str, np.ndarray]
    roi_tuning: dict[str, np.ndarray]  # roi -> (P,)
    roi_individual: dict[str, np.ndarray]  # roi -> (INDIVIDUAL_DIMS, P)
    amplitude_coef: dict[str, np.ndarray]


def _group(rng: np.random.Generator, features: GroundTruthFeatures, ref_early: np.ndarray) -> _Group:
    p, c = features.n_components, features.n_channels
    # channel tuning profiles favour the channel directions that vary most across images
    chan = ref_early.mean(2)
    _, sv, vt = np.linalg.svd(chan - chan.mean(0), full_matrices=False)
    chan_decay = sv / sv[0]

    def unit(x):
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    bumps = {h: unit(rng.normal(size=(N_BUMPS, 3))) for h in ("left", "right")}
    # late tuning lives mostly in the high-variance components (decaying spectrum)
    decay = np.exp(-np.arange(p) / 12.0)
    late_basis = unit(rng.normal(size=(N_LATE_FIELDS, p)) * decay)
    roi_tuning, roi_individual = {}, {}
    for name, cat in ROI_CATEGORY.items():
        rand = unit(rng.normal(size=p) * decay)
        roi_tuning[name] = 1.6 * features.axes[cat] + 0.8 * rand
        roi_individual[name] = unit(rng.normal(size=(INDIVIDUAL_DIMS, p)) * decay)
    return _Group(
        bumps=bumps,
        late_basis=late_basis,
        late_coef={h: rng.normal(size=(N_LATE_FIELDS, N_BUMPS)) for h in bumps},
        early_profiles=unit((rng.normal(size=(N_EARLY_FIELDS, len(sv))) * chan_decay) @ vt),
        early_coef={h: rng.normal(size=(N_EARLY_FIELDS, N_BUMPS)) for h in bumps},
        snr_coef={h: rng.normal(size=(1, N_BUMPS)) for h in bumps},
        roi_tuning=roi_tuning,
        roi_individual=roi_individual,
        amplitude_coef={h: rng.normal(size=(1, N_BUMPS)) for h in bumps},
    )


def _hemisphere_maps(hemi: str, anatomy: Anatomy, group: "_Group | _BrainGroup", rng: np.random.Generator,
                     perturbation: float, grid_size: int) -> dict[str, Any]:
    """Everything of one hemisphere at level 5 that does not depend on the world: labels, pRFs, SNR, amplitude."""
    sphere = fsaverage5_geometry()[hemi]["sphere"]
    s = sphere / np.linalg.norm(sphere, axis=1, keepdims=True)
    nv = s.shape[0]
    ret = anatomy.retinotopy(s)
    area = ret["area"]
    dist = anatomy.category_distance(s)
    labels = {"prf-visualrois": np.where(area >= 0, area + 1, 0).astype(np.int32)}
    for family, names in CATEGORY_ROIS.items():
        rel = np.stack([dist[n] / anatomy.radii[n] for n in names])
        best = rel.argmin(0)
        labels[family] = np.where(rel.min(0) < 1.0, best + 1, 0).astype(np.int32)
    a, b = local_coordinates(s, anatomy.pole, anatomy.u, anatomy.v)
    general = (area >= 0) | ((a > -10) & (a < TEMPLATE_LENGTH + 10) & (np.abs(b) < 50))
    profiles = {}
    for name, d in dist.items():
        profiles[name] = np.exp(-0.5 * (d / anatomy.radii[name]) ** 2)
        general |= d < anatomy.radii[name] + 14.0
    labels["nsdgeneral"] = general.astype(np.int32)

    def jitter(coef):
        return coef + perturbation * rng.normal(size=coef.shape)

    early_idx = np.flatnonzero(area >= 0)
    x, y, sig = ret["x"][early_idx], ret["y"][early_idx], ret["sigma"][early_idx]
    mx = _cell_mass(x, sig, grid_size, flip=False)
    my = _cell_mass(y, sig, grid_size, flip=True)  # grid row 0 is the top of the image (y = +1)
    space = (my[:, :, None] * mx[:, None, :]).reshape(len(early_idx), grid_size * grid_size)
    coverage = space.sum(1)
    # --- signal-to-noise ratio
    snr_field = _smooth_fields(s, group.bumps[hemi], jitter(group.snr_coef[hemi]))[0]
    snr = 0.16 + 0.06 * np.tanh(snr_field)  # generic visual cortex: NC ~ 7-17 %
    cat_prof = np.max(np.stack(list(profiles.values())), axis=0)
    snr = np.maximum(snr, 0.25 + 0.6 * cat_prof)
    early_snr = (0.45 + 0.4 * np.clip(1 - np.clip(a[early_idx], 0, None) / TEMPLATE_LENGTH, 0, 1)) * np.sqrt(coverage)
    snr[early_idx] = np.maximum(snr[early_idx] * 0.5, early_snr)
    gain = np.exp(0.1 * _smooth_fields(s, group.bumps[hemi], rng.normal(size=(1, N_BUMPS)))[0])
    snr = np.where(general, np.clip(snr * gain, 0.0, 1.2), 0.0)
    amplitude = 1.2 * np.exp(0.3 * np.tanh(_smooth_fields(s, group.bumps[hemi], group.amplitude_coef[hemi])[0]))
    prf = {k: np.full(nv, np.nan, dtype=np.float32) for k in ("x", "y", "sigma")}
    for k in prf:
        prf[k][early_idx] = ret[k][early_idx]
    return {"sphere": s, "area": area, "a": a, "labels": labels, "profiles": profiles, "cat_prof": cat_prof,
            "general": general, "early_idx": early_idx, "space": space, "snr": snr, "amplitude": amplitude,
            "prf": prf, "jitter": jitter}


def _build_hemisphere(hemi: str, anatomy: Anatomy, group: _Group, features: GroundTruthFeatures,
                      rng: np.random.Generator, perturbation: float) -> dict[str, np.ndarray]:
    """Per-vertex linear-world ground truth of one hemisphere at level 5 (before normalisation)."""
    maps = _hemisphere_maps(hemi, anatomy, group, rng, perturbation, features.grid_size)
    s, area, general, jitter = maps["sphere"], maps["area"], maps["general"], maps["jitter"]
    early_idx = maps["early_idx"]
    late_fields = _smooth_fields(s, group.bumps[hemi], jitter(group.late_coef[hemi]))  # (K, V)
    w = 0.5 * late_fields.T @ group.late_basis  # (V, P)
    for name, prof in maps["profiles"].items():
        z = rng.normal(size=INDIVIDUAL_DIMS)
        tuning = group.roi_tuning[name] + 0.35 * z @ group.roi_individual[name]
        w += 1.5 * prof[:, None] * tuning[None, :]
    w += perturbation * 0.3 * rng.normal(size=w.shape) / np.sqrt(w.shape[1]) * np.linalg.norm(w, axis=1, keepdims=True)
    w[~general] = 0.0
    early_fields = _smooth_fields(s, group.bumps[hemi], jitter(group.early_coef[hemi]))[:, early_idx]
    channel = early_fields.T @ group.early_profiles
    channel += 0.1 * rng.normal(size=channel.shape) * np.linalg.norm(channel, axis=1, keepdims=True) / np.sqrt(channel.shape[1])
    mix = np.zeros(s.shape[0])
    for name, m in EARLY_MIX.items():
        for i, area_name in enumerate(EARLY_AREAS):
            if area_name.startswith(name):
                mix[area == i] = m
    return {"late": w, "early_idx": early_idx, "space": maps["space"], "channel": channel, "mix": mix,
            "snr": maps["snr"], "amplitude": maps["amplitude"], "labels": maps["labels"], "prf": maps["prf"]}


def _make_subject(number: int, level: int, features: GroundTruthFeatures, group: _Group,
                  anatomies: dict[str, Anatomy], rng: np.random.Generator, perturbation: float,
                  ref_early: np.ndarray, ref_late: np.ndarray) -> SimulatedSubject:
    nlev = n_vertices(level)
    parts = [_build_hemisphere(h, anatomies[h], group, features, rng, perturbation) for h in ("left", "right")]
    # keep the first n_vertices(level) of each hemisphere (nested hierarchy), then join
    late = np.concatenate([p["late"][:nlev] for p in parts])
    snr = np.concatenate([p["snr"][:nlev] for p in parts])
    amplitude = np.concatenate([p["amplitude"][:nlev] for p in parts])
    mix = np.concatenate([p["mix"][:nlev] for p in parts])
    labels = {k: np.concatenate([p["labels"][k][:nlev] for p in parts]) for k in parts[0]["labels"]}
    prf = {k: np.concatenate([p["prf"][k][:nlev] for p in parts]) for k in parts[0]["prf"]}
    idx, space, channel = [], [], []
    for h, p in enumerate(parts):
        keep = p["early_idx"] < nlev
        idx.append(p["early_idx"][keep] + h * nlev)
        space.append(p["space"][keep])
        channel.append(p["channel"][keep])
    early_idx = np.concatenate(idx).astype(np.int64)
    space = np.concatenate(space).astype(np.float32)
    channel = np.concatenate(channel).astype(np.float32)

    # normalise the early and late parts to unit variance on the reference stimuli, then mix
    late_raw = ref_late @ late.T
    late_sd = late_raw.std(0)
    late_sd[late_sd == 0] = 1.0
    late_w = late * ((1.0 - mix) / late_sd)[:, None]
    if early_idx.size:
        e_raw = (np.einsum("ncg,vg->nvc", ref_early, space) * channel[None]).sum(-1)
        e_sd = e_raw.std(0)
        e_sd[e_sd == 0] = 1.0
        channel = channel * (mix[early_idx] / e_sd)[:, None]
    subj = SimulatedSubject(
        number=number, level=level, features=features, early_index=early_idx, early_space=space,
        early_channel=channel.astype(np.float32), late_weights=late_w.astype(np.float32),
        offset=np.zeros(len(snr), np.float32), scale=np.ones(len(snr), np.float32),
        snr=snr.astype(np.float32), amplitude=amplitude.astype(np.float32), labels=labels, prf=prf,
    )
    raw = subj.response_from_features(ref_early, ref_late)
    sd = raw.std(0)
    subj.offset = raw.mean(0).astype(np.float32)
    subj.scale = np.where(sd > 0, snr / np.where(sd > 0, sd, 1.0), 0.0).astype(np.float32)
    return subj


# ------------------------------------------------------------------------- the soc-* world
#: SOC share (variance-preserving mix weight) of each early area's response; the rest is the mid read-out.
SOC_WEIGHT = {"V1": 0.97, "V2": 0.93, "V3": 0.85, "hV4": 0.65}
#: Weight of each contrast map (fine, coarse wavelength) per early area.
MAP_MIX = {"V1": (0.75, 0.25), "V2": (0.6, 0.4), "V3": (0.5, 0.5), "hV4": (0.35, 0.65)}
N_BRAIN_FIELDS = 12  # cohort-wide smooth tuning fields
N_PRIVATE_FIELDS = 4  # private tuning fields per subject


@dataclass
class _BrainGroup:
    """Random structures shared by every subject of a soc-* cohort."""

    bumps: dict[str, np.ndarray]
    field_basis: np.ndarray  # (K, P)
    field_coef: dict[str, np.ndarray]  # hemi -> (K, N_BUMPS)
    snr_coef: dict[str, np.ndarray]
    amplitude_coef: dict[str, np.ndarray]
    roi_tuning: dict[str, np.ndarray]  # roi -> (P,)
    roi_individual: dict[str, np.ndarray]  # roi -> (INDIVIDUAL_DIMS, P)
    private_basis: np.ndarray  # (n_subjects, N_PRIVATE_FIELDS, P), orthonormal, orthogonal to the rest


def _unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _brain_group(rng: np.random.Generator, features: BrainFeatures, n_subjects: int) -> _BrainGroup:
    p, pm = features.n_components, features.n_mid
    # smooth tuning favours the leading components of each layer
    decay = np.concatenate([np.exp(-np.arange(pm) / 10.0), np.exp(-np.arange(p - pm) / 16.0)])
    bumps = {h: _unit_rows(rng.normal(size=(N_BUMPS, 3))) for h in ("left", "right")}
    field_basis = _unit_rows(rng.normal(size=(N_BRAIN_FIELDS, p)) * decay)
    roi_tuning, roi_individual = {}, {}
    for name, cat in ROI_CATEGORY.items():
        roi_tuning[name] = _unit_rows(1.6 * features.axes[cat] + 0.8 * _unit_rows(rng.normal(size=p) * decay))
        roi_individual[name] = _unit_rows(rng.normal(size=(INDIVIDUAL_DIMS, p)) * decay)
    shared = np.concatenate([field_basis, np.stack(list(roi_tuning.values())),
                             *roi_individual.values()])
    q, _ = np.linalg.qr(shared.T)  # orthonormal basis of the shared space, (P, r)
    n_private = n_subjects * N_PRIVATE_FIELDS
    if q.shape[1] + n_private > p:
        raise DataValidationError(
            f"{n_subjects} subjects need {n_private} private tuning directions beside the {q.shape[1]} shared "
            f"ones, more than the {p} dimensions of the ground-truth space; use fewer subjects"
        )
    rand = rng.normal(size=(p, n_private))
    rand -= q @ (q.T @ rand)
    private, _ = np.linalg.qr(rand)  # orthonormal, orthogonal to the shared space and to each other
    return _BrainGroup(
        bumps=bumps, field_basis=field_basis,
        field_coef={h: rng.normal(size=(N_BRAIN_FIELDS, N_BUMPS)) for h in bumps},
        snr_coef={h: rng.normal(size=(1, N_BUMPS)) for h in bumps},
        amplitude_coef={h: rng.normal(size=(1, N_BUMPS)) for h in bumps},
        roi_tuning=roi_tuning, roi_individual=roi_individual,
        private_basis=private.T.reshape(n_subjects, N_PRIVATE_FIELDS, p),
    )


def _brain_hemisphere(hemi: str, number: int, anatomy: Anatomy, group: _BrainGroup, features: BrainFeatures,
                      rng: np.random.Generator, perturbation: float) -> dict[str, Any]:
    """Per-vertex soc-world ground truth of one hemisphere at level 5 (before standardisation)."""
    maps = _hemisphere_maps(hemi, anatomy, group, rng, perturbation, 4)
    s, area, general, jitter = maps["sphere"], maps["area"], maps["general"], maps["jitter"]
    nv, p, pm = s.shape[0], features.n_components, features.n_mid
    fields = _smooth_fields(s, group.bumps[hemi], jitter(group.field_coef[hemi]))  # (K, V)
    shared = 0.5 * fields.T @ group.field_basis
    for name, prof in maps["profiles"].items():
        z = rng.normal(size=INDIVIDUAL_DIMS)
        shared += 1.5 * prof[:, None] * (group.roi_tuning[name] + 0.35 * z @ group.roi_individual[name])[None]
    # posterior (early) cortex reads the intermediate layer more, category ROIs the last one
    mid_share = np.where(area >= 0, 0.7, 0.4) * (1.0 - 0.8 * maps["cat_prof"])
    shared[:, :pm] *= np.sqrt(mid_share)[:, None]
    shared[:, pm:] *= np.sqrt(1.0 - mid_share)[:, None]
    private_fields = _smooth_fields(s, group.bumps[hemi], rng.normal(size=(N_PRIVATE_FIELDS, N_BUMPS)))
    private = private_fields.T @ group.private_basis[number - 1]
    shared, private = _unit_rows(shared), _unit_rows(private)
    shared[~general] = 0.0
    private[~general] = 0.0
    threshold = rng.normal(0.3, 0.3, size=nv)
    exponent = (0.7 + 0.9 * maps["cat_prof"]) * np.exp(rng.normal(0.0, 0.1, size=nv))
    early_idx = maps["early_idx"]
    early_area = np.array([EARLY_AREAS[i].rstrip("vd") for i in area[early_idx]])
    area_n = {k: n * np.exp(rng.normal(0.0, 0.1)) for k, (c, n) in SOC_PARAMETERS.items()}  # per subject
    return {
        "shared": shared, "private": private, "threshold": threshold, "exponent": exponent,
        "early_idx": early_idx, "early_map_mix": np.array([MAP_MIX[k] for k in early_area]).reshape(-1, 2),
        "early_c": np.array([SOC_PARAMETERS[k][0] for k in early_area]),
        "early_n": np.array([area_n[k] for k in early_area]),
        "early_soc_weight": np.array([SOC_WEIGHT[k] for k in early_area]),
        "snr": maps["snr"], "amplitude": maps["amplitude"], "labels": maps["labels"], "prf": maps["prf"],
    }


def _make_brain(number: int, level: int, features: BrainFeatures, group: _BrainGroup,
                anatomies: dict[str, Anatomy], rng: np.random.Generator, perturbation: float,
                private_fraction: float, normalization: float, reference: tuple[np.ndarray, ...]) -> SimulatedBrain:
    nlev = n_vertices(level)
    parts = [_brain_hemisphere(h, number, anatomies[h], group, features, rng, perturbation)
             for h in ("left", "right")]

    def join(key):
        return np.concatenate([q[key][:nlev] for q in parts])

    keep = [q["early_idx"] < nlev for q in parts]
    early = {k: np.concatenate([q[k][m] for q, m in zip(parts, keep)])
             for k in ("early_map_mix", "early_c", "early_n", "early_soc_weight")}
    early_idx = np.concatenate([q["early_idx"][m] + h * nlev for h, (q, m) in enumerate(zip(parts, keep))])
    nvert, ne = 2 * nlev, early_idx.size
    f32 = np.float32
    brain = SimulatedBrain(
        number=number, level=level, features=features, private_fraction=float(private_fraction),
        normalization=float(normalization), early_index=early_idx.astype(np.int64),
        early_map_mix=early["early_map_mix"].astype(f32), early_c=early["early_c"].astype(f32),
        early_n=early["early_n"].astype(f32), early_soc_weight=early["early_soc_weight"].astype(f32),
        shared_tuning=join("shared").astype(f32), private_tuning=join("private").astype(f32),
        threshold=join("threshold").astype(f32), exponent=join("exponent").astype(f32),
        soc_mean=np.zeros(ne, f32), soc_sd=np.ones(ne, f32), high_mean=np.zeros(nvert, f32),
        high_sd=np.ones(nvert, f32), offset=np.zeros(nvert, f32), scale=np.ones(nvert, f32),
        snr=join("snr").astype(f32), amplitude=join("amplitude").astype(f32),
        labels={k: np.concatenate([q["labels"][k][:nlev] for q in parts]) for k in parts[0]["labels"]},
        prf={k: np.concatenate([q["prf"][k][:nlev] for q in parts]) for k in parts[0]["prf"]},
    )
    # standardise each part, then the whole, over the reference stimuli
    import torch

    with torch.no_grad():
        high, soc = brain.response_parts(*(torch.as_tensor(a) for a in reference))
    for part, mean, sd in ((high, "high_mean", "high_sd"), (soc, "soc_mean", "soc_sd")):
        if part.shape[1]:
            sdv = part.std(0).numpy()
            setattr(brain, mean, part.mean(0).numpy().astype(f32))
            setattr(brain, sd, np.where(sdv > 0, sdv, 1.0).astype(f32))
    with torch.no_grad():
        raw = brain.combine_parts(high, soc).numpy()
    sd = raw.std(0)
    brain.offset = raw.mean(0).astype(f32)
    brain.scale = np.where(sd > 0, brain.snr / np.where(sd > 0, sd, 1.0), 0.0).astype(f32)
    return brain


#: Stimuli every simulated response is standardised over (at most).
N_REFERENCE = 600


def _reference_ids(n_stimuli: int, stimulus_seed: int) -> np.ndarray:
    """The (up to :data:`N_REFERENCE`) stimuli every response is standardised over."""
    return np.random.default_rng(stimulus_seed + 1).permutation(n_stimuli)[: min(n_stimuli, N_REFERENCE)]


def _simulate_subjects(params: CohortParameters, features: Any, group: Any, reference: tuple[np.ndarray, ...],
                       progress: bool) -> tuple[list[Any], CohortParameters]:
    """Every subject of a cohort from its parameters (seed = the world seed); returns them and the final params."""
    seed, n_subjects = params.seed, params.n_subjects
    n_displaced = 0 if params.displaced_fraction <= 0 else max(1, round(params.displaced_fraction * n_subjects))
    displaced = tuple(sorted(int(k) + 1 for k in np.random.default_rng([seed, 31337]).choice(
        n_subjects, n_displaced, replace=False)))
    templates = {h: Anatomy.template(h) for h in ("left", "right")}
    subjects = []
    for number in tqdm(range(1, n_subjects + 1), desc="simulating subjects", disable=not progress):
        srng = np.random.default_rng([seed, number])
        move = params.roi_displacement if number in displaced else 0.0
        anatomies = {h: t.perturbed(srng, shift_mm=params.individual_shift_mm, displacement=move)
                     for h, t in templates.items()}
        if params.world == "linear-lite0":
            subjects.append(_make_subject(number, params.level, features, group, anatomies, srng,
                                          params.tuning_perturbation, *reference))
        else:
            subjects.append(_make_brain(number, params.level, features, group, anatomies, srng,
                                        params.tuning_perturbation, params.private_fraction, params.normalization,
                                        reference))
    return subjects, replace(params, displaced_subjects=displaced)


def simulate_cohort(
    n_subjects: int = 8,
    n_images: int = 750,
    n_shared: int = 150,
    *,
    n_repeats: int = 3,
    trials_per_session: int | None = None,
    seed: int = 0,
    level: int = 5,
    image_size: int = 96,
    grid_size: int = 4,
    individual_shift_mm: float = 3.0,
    tuning_perturbation: float = 0.15,
    world: str = "soc-lite2",
    private_fraction: float = 0.5,
    displaced_fraction: float = 0.25,
    roi_displacement: float = 1.5,
    noise_correlation: float = 0.4,
    normalization: float = 0.5,
    stimuli: tuple[np.ndarray, Mapping[str, Any]] | None = None,
    stimulus_seed: int | None = None,
    progress: bool = True,
) -> Cohort:
    """Simulate an NSD-like cohort with known ground-truth encoders.

    Parameters
    ----------
    n_subjects : int
        Subjects (NSD: 8).
    n_images : int
        Images per subject (NSD: 10,000), of which ``n_shared`` are seen by
        every subject (NSD: 1,000); the rest are distinct per subject.
    n_shared : int
    n_repeats : int
        Presentations of each image (NSD: 3).
    trials_per_session : int, optional
        Trials per session; must divide ``n_images * n_repeats`` (default: 750
        if it does, else all trials in one session).
    seed : int
        The world seed: anatomy, tuning, private tuning, displaced subjects and
        noise follow from it (and stimuli and design, unless ``stimulus_seed``).
    stimulus_seed : int, optional
        Seed of the stimuli and design (default: ``seed``). Cohorts with the same
        stimulus seed and different seeds are independent worlds on the same
        images (:meth:`Cohort.replicate` makes them without recomputing features).
    level : int
        fsaverage level of the data, 0..5 (5 = fsaverage5, 20,484 vertices).
    image_size : int
        Stimulus size in pixels (also EfficientNet's input size).
    grid_size : int
        Spatial grid of the early features the pRFs pool.
    individual_shift_mm : float
        Typical displacement of ROI centres between subjects (sphere mm).
    tuning_perturbation : float
        Relative perturbation of each subject's random tuning fields.
    world : str
        The ground truth (:data:`encoding.simulation.WORLDS`): ``'soc-lite2'``
        (default; SOC early areas and nonlinear read-outs of EfficientNet-Lite2,
        :mod:`encoding.simulation.brain`), ``'soc-lite0'`` (the same with the
        toolkit's own network, to measure what matched features buy) or
        ``'linear-lite0'`` (sanity mode: linear in EfficientNet-Lite0 features,
        where ridge on those features must reach the noise ceiling).
    private_fraction : float
        ``soc-*`` worlds: share (0..1) of each visual vertex's tuning in
        directions no other subject shares.
    displaced_fraction, roi_displacement : float
        ``soc-*`` worlds: that fraction of subjects (rounded, at least one when
        positive) have every category ROI moved by ``roi_displacement`` ROI radii.
    noise_correlation : float
        Share (0..1) of each trial's noise variance that is spatially smooth
        (~10 mm; ROI means stay noisy), in every world.
    normalization : float
        ``soc-*`` worlds: strength of the divisive normalisation across visual cortex.
    stimuli : (images, labels), optional
        Default: crops of the photo bank's photographs, split by photo (the
        shared test images come only from test photos; ``labels['photo']``
        and ``labels['split']`` record it). Or these images (``(n_stimuli, H, W,
        3)`` in [0, 1], at least ``n_shared + n_subjects * (n_images -
        n_shared)``) and labels (``is_face`` etc., see :func:`category_labels`;
        a ``split`` label with ``'test'`` / ``'train'`` keeps the shared images
        on the test side).
    progress : bool
        Show progress bars.

    Returns
    -------
    Cohort
    """
    from neurokit.datasets.nsd_design import NSDDesign

    for value, name in ((n_subjects, "n_subjects"), (n_images, "n_images"), (n_repeats, "n_repeats"),
                        (grid_size, "grid_size")):
        check_int(value, name, minimum=1)
    check_int(image_size, "image_size (pixels)", minimum=32)
    check_int(n_shared, "n_shared", minimum=0, maximum=n_images)  # at most n_images
    level = check_level(level)
    if level > GEOMETRY_LEVEL:
        raise MeshUnavailableError(
            f"level={level}: the simulated cohort is built on nilearn's fsaverage5 (level 5); use level <= 5"
        )
    if n_repeats < 2:
        raise InvalidParameterError("n_repeats must be at least 2 (noise ceilings need repeats)")
    if world not in WORLDS:
        raise InvalidParameterError(f"world must be one of {sorted(WORLDS)}, got {world!r}")
    for value, name in ((private_fraction, "private_fraction"), (displaced_fraction, "displaced_fraction"),
                        (noise_correlation, "noise_correlation")):
        check_real(value, name, minimum=0.0, maximum=1.0, include_maximum=name != "noise_correlation")
    for value, name in ((roi_displacement, "roi_displacement"), (normalization, "normalization")):
        check_real(value, name, minimum=0.0)
    n_trials = n_images * n_repeats
    if trials_per_session is None:
        trials_per_session = 750 if n_trials % 750 == 0 else n_trials
    if not is_integer(trials_per_session) or trials_per_session < 1 or n_trials % trials_per_session:
        raise InvalidParameterError(
            f"trials_per_session={trials_per_session!r} must be a positive divisor of n_images * n_repeats = {n_trials}"
        )
    n_stimuli = n_shared + n_subjects * (n_images - n_shared)

    # stimuli
    if stimuli is None:
        images, raw_labels = _default_stimuli(n_shared, n_stimuli - n_shared, image_size,
                                              seed if stimulus_seed is None else stimulus_seed)
    else:
        if not (isinstance(stimuli, tuple) and len(stimuli) == 2):
            raise DataValidationError("stimuli must be a pair (images, labels)")
        images, raw_labels = stimuli
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        from neurokit.exceptions import ImageShapeError

        raise ImageShapeError(f"stimuli images must have shape (n, H, W, 3), got {images.shape}")
    if len(images) < n_stimuli:
        raise DataValidationError(
            f"the design needs {n_stimuli} stimuli (n_shared + n_subjects * (n_images - n_shared)), got {len(images)}"
        )
    images = np.ascontiguousarray(images[:n_stimuli], dtype=np.float32)
    if isinstance(raw_labels, np.ndarray) and raw_labels.dtype.names:
        raw_labels = {name: raw_labels[name] for name in raw_labels.dtype.names}
    if not isinstance(raw_labels, Mapping):
        raise DataValidationError("stimuli labels must be a mapping or a structured array (fields such as is_face)")
    labels = {k: np.asarray(v)[:n_stimuli] for k, v in raw_labels.items()}
    cats = category_labels(labels, n_stimuli)
    # a 'split' label ('test' / 'train', e.g. by source photo) keeps the shared test images apart
    shared_ids = np.flatnonzero(np.asarray(labels["split"]).astype(str) == "test") if "split" in labels else None

    # the ground-truth feature space, fitted on all stimuli (it depends on the stimuli, not the world seed)
    stimulus_seed = seed if stimulus_seed is None else int(stimulus_seed)
    design = NSDDesign.simulate(n_subjects=n_subjects, n_images=n_images, n_shared=n_shared, n_repeats=n_repeats,
                                trials_per_session=int(trials_per_session), n_stimuli=n_stimuli,
                                seed=stimulus_seed, shared_pool=shared_ids)
    if world == "linear-lite0":
        tmp = GroundTruthFeatures(image_size, grid_size, "stage3", "pool", *(np.zeros(1),) * 5)
        raw = tmp.extractor.extract(images, batch_size=64, progress=progress, **tmp.extract_kwargs)
        features = GroundTruthFeatures.fit(raw, cats, image_size=image_size, grid_size=grid_size,
                                           early_layer="stage3", late_layer="pool", n_components=N_COMPONENTS,
                                           rng=np.random.default_rng(stimulus_seed))
        transformed = features.transform(raw)
        network, private_fraction, normalization, displaced_fraction = "efficientnet-lite0", 0.0, 0.0, 0.0
    else:
        network = WORLD_NETWORKS[world]
        features, transformed = BrainFeatures.fit(images, cats, network=network, image_size=image_size,
                                                  progress=progress)
    params = CohortParameters(n_subjects, n_images, n_shared, n_repeats, int(trials_per_session), seed, level,
                              image_size, grid_size, individual_shift_mm, tuning_perturbation, world, network,
                              float(private_fraction), (), float(roi_displacement), float(noise_correlation),
                              float(normalization), float(displaced_fraction), stimulus_seed)
    return Cohort([], features, design, images, labels, params, transformed).replicate(seed, progress=progress)

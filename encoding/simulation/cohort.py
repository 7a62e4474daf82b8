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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from encoding.simulation.brain import WORLDS, BrainFeatures
from encoding.simulation.ground_truth import (
    ROI_FAMILY_NAMES,
    GroundTruthFeatures,
    SimulatedSubject,
    load_ground_truth,
    save_ground_truth,
)
from encoding.simulation.linear_world import N_COMPONENTS
from encoding.simulation.noise import estimate_ncsnr, simulate_trials
from encoding.simulation.stimuli import category_labels, default_stimuli
from encoding.simulation.subjects import simulate_subjects
from neurokit.exceptions import (
    DataValidationError,
    InvalidParameterError,
    MeshUnavailableError,
    OutputExistsError,
)
from neurokit.mesh.levels import check_level, n_vertices
from neurokit.validation import check_int, check_real, is_integer


#: The ground-truth network of each ``soc-*`` world.
WORLD_NETWORKS = {"soc-lite2": "efficientnet-lite2", "soc-lite0": "efficientnet-lite0"}

GEOMETRY_LEVEL = 5
"""The ground truth is built on fsaverage5 (nilearn's); coarser levels are slices."""



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
        subjects, p = simulate_subjects(p, self.features, self._features, progress)
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
        return simulate_trials(clean, subj.amplitude, rng, self.params.noise_correlation,
                               self.params.trials_per_session, self.level)

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
        images, raw_labels = default_stimuli(n_shared, n_stimuli - n_shared, image_size,
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

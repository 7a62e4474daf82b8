"""A simulated NSD-like cohort with known ground-truth encoders ("digital twins").

- :func:`simulate_cohort` -> :class:`Cohort` (subjects, design, stimuli; writes an NSD tree);
  ``world=`` picks the ground truth (:data:`WORLDS`);
- :class:`SimulatedBrain` -- a subject of the default ``soc-lite2`` world (SOC early areas,
  nonlinear EfficientNet-Lite2 read-outs, private tuning): ``clean_response(images)``,
  ``roi_masks()``, ``noise_ceiling()``;
- :class:`SimulatedSubject` -- a subject of the ``linear-lite0`` sanity world (same interface);
- :func:`save_ground_truth` / :func:`load_ground_truth` -- safetensors + JSON.

Modules: :mod:`~encoding.simulation.cohort` (the :class:`Cohort`, :func:`simulate_cohort`,
:func:`load_cohort`), :mod:`~encoding.simulation.stimuli` (photo-bank stimuli, category labels),
:mod:`~encoding.simulation.noise` (trial noise, ncsnr), :mod:`~encoding.simulation.subjects` (a cohort's
subjects from its parameters), :mod:`~encoding.simulation.maps` (per-vertex maps both worlds share),
:mod:`~encoding.simulation.linear_world` and :mod:`~encoding.simulation.soc_world` (each world's subjects),
:mod:`~encoding.simulation.brain` / :mod:`~encoding.simulation.ground_truth` (the subjects' models),
:mod:`~encoding.simulation.soc`, :mod:`~encoding.simulation.rois`.
"""

from encoding.simulation.brain import GROUND_TRUTH_NETWORKS, WORLDS, BrainFeatures, SimulatedBrain
from encoding.simulation.cohort import Cohort, CohortParameters, load_cohort, simulate_cohort
from encoding.simulation.ground_truth import (
    ROI_FAMILY_NAMES,
    GroundTruthFeatures,
    SimulatedSubject,
    load_ground_truth,
    save_ground_truth,
)
from encoding.simulation.noise import estimate_ncsnr
from encoding.simulation.rois import Anatomy, fsaverage5_geometry
from encoding.simulation.stimuli import category_labels

__all__ = [
    "WORLDS",
    "GROUND_TRUTH_NETWORKS",
    "BrainFeatures",
    "SimulatedBrain",
    "Cohort",
    "CohortParameters",
    "category_labels",
    "estimate_ncsnr",
    "load_cohort",
    "simulate_cohort",
    "ROI_FAMILY_NAMES",
    "GroundTruthFeatures",
    "SimulatedSubject",
    "load_ground_truth",
    "save_ground_truth",
    "Anatomy",
    "fsaverage5_geometry",
]

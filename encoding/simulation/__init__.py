"""A simulated NSD-like cohort with known ground-truth encoders ("digital twins").

- :func:`simulate_cohort` -> :class:`Cohort` (subjects, design, stimuli; writes an NSD tree);
  ``world=`` picks the ground truth (:data:`WORLDS`);
- :class:`SimulatedBrain` -- a subject of the default ``soc-lite2`` world (SOC early areas,
  nonlinear EfficientNet-Lite2 read-outs, private tuning): ``clean_response(images)``,
  ``roi_masks()``, ``noise_ceiling()``;
- :class:`SimulatedSubject` -- a subject of the ``linear-lite0`` sanity world (same interface);
- :func:`save_ground_truth` / :func:`load_ground_truth` -- safetensors + JSON.
"""

from encoding.simulation.brain import GROUND_TRUTH_NETWORKS, WORLDS, BrainFeatures, SimulatedBrain
from encoding.simulation.cohort import (
    Cohort,
    CohortParameters,
    category_labels,
    estimate_ncsnr,
    load_cohort,
    simulate_cohort,
)
from encoding.simulation.ground_truth import (
    ROI_FAMILY_NAMES,
    GroundTruthFeatures,
    SimulatedSubject,
    load_ground_truth,
    save_ground_truth,
)
from encoding.simulation.rois import Anatomy, fsaverage5_geometry

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

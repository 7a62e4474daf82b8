"""A simulated NSD-like cohort with known ground-truth encoders ("digital twins").

- :func:`simulate_cohort` -> :class:`Cohort` (subjects, design, stimuli; writes an NSD tree);
- :class:`SimulatedSubject` -- ``clean_response(images)``, ``roi_masks()``, ``noise_ceiling()``;
- :func:`save_ground_truth` / :func:`load_ground_truth` -- safetensors + JSON.
"""

from encoding.simulation.cohort import Cohort, CohortParameters, category_labels, estimate_ncsnr, simulate_cohort
from encoding.simulation.ground_truth import (
    ROI_FAMILY_NAMES,
    GroundTruthFeatures,
    SimulatedSubject,
    load_ground_truth,
    save_ground_truth,
)
from encoding.simulation.rois import Anatomy, fsaverage5_geometry

__all__ = [
    "Cohort",
    "CohortParameters",
    "category_labels",
    "estimate_ncsnr",
    "simulate_cohort",
    "ROI_FAMILY_NAMES",
    "GroundTruthFeatures",
    "SimulatedSubject",
    "load_ground_truth",
    "save_ground_truth",
    "Anatomy",
    "fsaverage5_geometry",
]

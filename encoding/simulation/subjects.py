"""A simulated cohort's subjects from its parameters: reference stimuli, the world's shared structures, anatomies.

The world seed fixes everything here: which subjects have displaced category
ROIs, the cohort-wide random structures of the world
(:func:`~encoding.simulation.linear_world.linear_group` or
:func:`~encoding.simulation.soc_world.brain_group`), and each subject's anatomy,
tuning and noise level. Every response is standardised over the same reference
stimuli (:func:`reference_ids`, drawn from the stimulus seed).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

from encoding.simulation.linear_world import linear_group, make_linear_subject
from encoding.simulation.rois import Anatomy
from encoding.simulation.soc_world import brain_group, make_brain

if TYPE_CHECKING:
    from encoding.simulation.cohort import CohortParameters

#: Stimuli every simulated response is standardised over (at most).
N_REFERENCE = 600


def reference_ids(n_stimuli: int, stimulus_seed: int) -> np.ndarray:
    """The (up to :data:`N_REFERENCE`) stimuli every response is standardised over."""
    return np.random.default_rng(stimulus_seed + 1).permutation(n_stimuli)[: min(n_stimuli, N_REFERENCE)]


def simulate_subjects(params: CohortParameters, features: Any, stimulus_features: tuple[np.ndarray, ...],
                      progress: bool) -> tuple[list[Any], CohortParameters]:
    """Every subject of a cohort from its parameters (seed = the world seed); returns them and the final params.

    ``stimulus_features`` are the ground-truth features of all stimuli (``features.transform``'s output).
    """
    seed, n_subjects = params.seed, params.n_subjects
    ref = reference_ids(len(stimulus_features[0]), params.stimulus_seed)
    grng = np.random.default_rng([int(seed), 4099])
    if params.world == "linear-lite0":
        group = linear_group(grng, features, stimulus_features[0][ref])
    else:
        group = brain_group(grng, features, n_subjects)
    reference = tuple(f[ref] for f in stimulus_features)
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
            subjects.append(make_linear_subject(number, params.level, features, group, anatomies, srng,
                                                params.tuning_perturbation, *reference))
        else:
            subjects.append(make_brain(number, params.level, features, group, anatomies, srng,
                                       params.tuning_perturbation, params.private_fraction, params.normalization,
                                       reference))
    return subjects, replace(params, displaced_subjects=displaced)


__all__ = ["N_REFERENCE", "reference_ids", "simulate_subjects"]

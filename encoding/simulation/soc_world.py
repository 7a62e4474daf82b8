"""The ``soc-*`` worlds' subjects: SOC early areas and nonlinear read-outs of a network's features.

Each subject's tuning is partly private (orthogonal to the cohort's shared
directions and to every other subject's); see
:class:`~encoding.simulation.brain.SimulatedBrain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from encoding.simulation.brain import BrainFeatures, SimulatedBrain
from encoding.simulation.maps import INDIVIDUAL_DIMS, N_BUMPS, hemisphere_maps, smooth_fields
from encoding.simulation.rois import EARLY_AREAS, ROI_CATEGORY, Anatomy
from encoding.simulation.soc import SOC_PARAMETERS
from neurokit.exceptions import DataValidationError
from neurokit.mesh.levels import n_vertices

#: SOC share (variance-preserving mix weight) of each early area's response; the rest is the mid read-out.
SOC_WEIGHT = {"V1": 0.97, "V2": 0.93, "V3": 0.85, "hV4": 0.65}
#: Weight of each contrast map (fine, coarse wavelength) per early area.
MAP_MIX = {"V1": (0.75, 0.25), "V2": (0.6, 0.4), "V3": (0.5, 0.5), "hV4": (0.35, 0.65)}
N_BRAIN_FIELDS = 12  # cohort-wide smooth tuning fields
N_PRIVATE_FIELDS = 4  # private tuning fields per subject


@dataclass
class BrainGroup:
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


def brain_group(rng: np.random.Generator, features: BrainFeatures, n_subjects: int) -> BrainGroup:
    """The cohort-wide random structures of a soc-* world, with ``N_PRIVATE_FIELDS`` private directions per subject."""
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
    return BrainGroup(
        bumps=bumps, field_basis=field_basis,
        field_coef={h: rng.normal(size=(N_BRAIN_FIELDS, N_BUMPS)) for h in bumps},
        snr_coef={h: rng.normal(size=(1, N_BUMPS)) for h in bumps},
        amplitude_coef={h: rng.normal(size=(1, N_BUMPS)) for h in bumps},
        roi_tuning=roi_tuning, roi_individual=roi_individual,
        private_basis=private.T.reshape(n_subjects, N_PRIVATE_FIELDS, p),
    )


def _brain_hemisphere(hemi: str, number: int, anatomy: Anatomy, group: BrainGroup, features: BrainFeatures,
                      rng: np.random.Generator, perturbation: float) -> dict[str, Any]:
    """Per-vertex soc-world ground truth of one hemisphere at level 5 (before standardisation)."""
    maps = hemisphere_maps(hemi, anatomy, group, rng, perturbation, 4)
    s, area, general, jitter = maps["sphere"], maps["area"], maps["general"], maps["jitter"]
    nv, pm = s.shape[0], features.n_mid
    fields = smooth_fields(s, group.bumps[hemi], jitter(group.field_coef[hemi]))  # (K, V)
    shared = 0.5 * fields.T @ group.field_basis
    for name, prof in maps["profiles"].items():
        z = rng.normal(size=INDIVIDUAL_DIMS)
        shared += 1.5 * prof[:, None] * (group.roi_tuning[name] + 0.35 * z @ group.roi_individual[name])[None]
    # posterior (early) cortex reads the intermediate layer more, category ROIs the last one
    mid_share = np.where(area >= 0, 0.7, 0.4) * (1.0 - 0.8 * maps["cat_prof"])
    shared[:, :pm] *= np.sqrt(mid_share)[:, None]
    shared[:, pm:] *= np.sqrt(1.0 - mid_share)[:, None]
    private_fields = smooth_fields(s, group.bumps[hemi], rng.normal(size=(N_PRIVATE_FIELDS, N_BUMPS)))
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


def make_brain(number: int, level: int, features: BrainFeatures, group: BrainGroup,
               anatomies: dict[str, Anatomy], rng: np.random.Generator, perturbation: float,
               private_fraction: float, normalization: float, reference: tuple[np.ndarray, ...]) -> SimulatedBrain:
    """Subject ``number`` of a soc-* world, standardised over the reference stimuli' features ``reference``."""
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


__all__ = ["SOC_WEIGHT", "MAP_MIX", "N_BRAIN_FIELDS", "N_PRIVATE_FIELDS", "BrainGroup", "brain_group", "make_brain"]

"""The ``linear-lite0`` world's subjects: linear in EfficientNet-Lite0 features (the sanity world).

Individual differences there are small ROI shifts, a 3-dimensional individual
subspace per category ROI shared by the cohort, perturbed random tuning fields
and smooth gain maps (:class:`~encoding.simulation.ground_truth.SimulatedSubject`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from encoding.simulation.ground_truth import GroundTruthFeatures, SimulatedSubject
from encoding.simulation.maps import INDIVIDUAL_DIMS, N_BUMPS, hemisphere_maps, smooth_fields
from encoding.simulation.rois import EARLY_AREAS, ROI_CATEGORY, Anatomy
from neurokit.mesh.levels import n_vertices

#: Fraction of an early area's signal that comes from the early (retinotopic) features.
EARLY_MIX = {"V1": 0.95, "V2": 0.9, "V3": 0.85, "hV4": 0.7}
N_COMPONENTS = 48  # whitened late principal components
N_LATE_FIELDS = 12  # smooth random late tuning fields
N_EARLY_FIELDS = 4  # smooth random channel-tuning fields


@dataclass
class LinearGroup:
    """Random structures shared by every subject of a linear-world cohort."""

    bumps: dict[str, np.ndarray]
    late_basis: np.ndarray  # (K, P)
    late_coef: dict[str, np.ndarray]  # hemi -> (K, M)
    early_profiles: np.ndarray  # (K_e, C)
    early_coef: dict[str, np.ndarray]
    snr_coef: dict[str, np.ndarray]
    roi_tuning: dict[str, np.ndarray]  # roi -> (P,)
    roi_individual: dict[str, np.ndarray]  # roi -> (INDIVIDUAL_DIMS, P)
    amplitude_coef: dict[str, np.ndarray]


def linear_group(rng: np.random.Generator, features: GroundTruthFeatures, ref_early: np.ndarray) -> LinearGroup:
    """The cohort-wide random structures of a linear world (``ref_early``: early features of the reference stimuli)."""
    p = features.n_components
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
    return LinearGroup(
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


def _build_hemisphere(hemi: str, anatomy: Anatomy, group: LinearGroup, features: GroundTruthFeatures,
                      rng: np.random.Generator, perturbation: float) -> dict[str, np.ndarray]:
    """Per-vertex linear-world ground truth of one hemisphere at level 5 (before normalisation)."""
    maps = hemisphere_maps(hemi, anatomy, group, rng, perturbation, features.grid_size)
    s, area, general, jitter = maps["sphere"], maps["area"], maps["general"], maps["jitter"]
    early_idx = maps["early_idx"]
    late_fields = smooth_fields(s, group.bumps[hemi], jitter(group.late_coef[hemi]))  # (K, V)
    w = 0.5 * late_fields.T @ group.late_basis  # (V, P)
    for name, prof in maps["profiles"].items():
        z = rng.normal(size=INDIVIDUAL_DIMS)
        tuning = group.roi_tuning[name] + 0.35 * z @ group.roi_individual[name]
        w += 1.5 * prof[:, None] * tuning[None, :]
    w += perturbation * 0.3 * rng.normal(size=w.shape) / np.sqrt(w.shape[1]) * np.linalg.norm(w, axis=1, keepdims=True)
    w[~general] = 0.0
    early_fields = smooth_fields(s, group.bumps[hemi], jitter(group.early_coef[hemi]))[:, early_idx]
    channel = early_fields.T @ group.early_profiles
    channel += 0.1 * rng.normal(size=channel.shape) * np.linalg.norm(channel, axis=1, keepdims=True) / np.sqrt(channel.shape[1])
    mix = np.zeros(s.shape[0])
    for name, m in EARLY_MIX.items():
        for i, area_name in enumerate(EARLY_AREAS):
            if area_name.startswith(name):
                mix[area == i] = m
    return {"late": w, "early_idx": early_idx, "space": maps["space"], "channel": channel, "mix": mix,
            "snr": maps["snr"], "amplitude": maps["amplitude"], "labels": maps["labels"], "prf": maps["prf"]}


def make_linear_subject(number: int, level: int, features: GroundTruthFeatures, group: LinearGroup,
                        anatomies: dict[str, Anatomy], rng: np.random.Generator, perturbation: float,
                        ref_early: np.ndarray, ref_late: np.ndarray) -> SimulatedSubject:
    """Subject ``number`` of a linear world, normalised on the reference stimuli' features."""
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


__all__ = ["EARLY_MIX", "N_COMPONENTS", "N_LATE_FIELDS", "N_EARLY_FIELDS", "LinearGroup", "linear_group",
           "make_linear_subject"]

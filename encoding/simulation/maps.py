"""The per-vertex maps both simulated worlds share: smooth random fields, ROI labels, pRFs, SNR, amplitude.

Each subject's hemisphere is built on fsaverage5 (nilearn's sphere) from its
perturbed :class:`~encoding.simulation.rois.Anatomy`; coarser levels keep the
first vertices (nested hierarchy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtr

from encoding.simulation.rois import CATEGORY_ROIS, TEMPLATE_LENGTH, Anatomy, fsaverage5_geometry, local_coordinates

N_BUMPS = 80  # Gaussian bumps per hemisphere making up the smooth fields
BUMP_WIDTH = 14.0  # mm
INDIVIDUAL_DIMS = 3  # per-ROI individual-difference subspace


def smooth_fields(sphere_unit: np.ndarray, bumps: np.ndarray, coef: np.ndarray) -> np.ndarray:
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


def hemisphere_maps(hemi: str, anatomy: Anatomy, group: Any, rng: np.random.Generator,
                    perturbation: float, grid_size: int) -> dict[str, Any]:
    """Everything of one hemisphere at level 5 that does not depend on the world: labels, pRFs, SNR, amplitude.

    ``group`` is a world's cohort-wide structures (:class:`~encoding.simulation.linear_world.LinearGroup`
    or :class:`~encoding.simulation.soc_world.BrainGroup`: ``bumps``, ``snr_coef``, ``amplitude_coef``).
    """
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
    snr_field = smooth_fields(s, group.bumps[hemi], jitter(group.snr_coef[hemi]))[0]
    snr = 0.16 + 0.06 * np.tanh(snr_field)  # generic visual cortex: NC ~ 7-17 %
    cat_prof = np.max(np.stack(list(profiles.values())), axis=0)
    snr = np.maximum(snr, 0.25 + 0.6 * cat_prof)
    early_snr = (0.45 + 0.4 * np.clip(1 - np.clip(a[early_idx], 0, None) / TEMPLATE_LENGTH, 0, 1)) * np.sqrt(coverage)
    snr[early_idx] = np.maximum(snr[early_idx] * 0.5, early_snr)
    gain = np.exp(0.1 * smooth_fields(s, group.bumps[hemi], rng.normal(size=(1, N_BUMPS)))[0])
    snr = np.where(general, np.clip(snr * gain, 0.0, 1.2), 0.0)
    amplitude = 1.2 * np.exp(0.3 * np.tanh(smooth_fields(s, group.bumps[hemi], group.amplitude_coef[hemi])[0]))
    prf = {k: np.full(nv, np.nan, dtype=np.float32) for k in ("x", "y", "sigma")}
    for k in prf:
        prf[k][early_idx] = ret[k][early_idx]
    return {"sphere": s, "area": area, "a": a, "labels": labels, "profiles": profiles, "cat_prof": cat_prof,
            "general": general, "early_idx": early_idx, "space": space, "snr": snr, "amplitude": amplitude,
            "prf": prf, "jitter": jitter}


__all__ = ["N_BUMPS", "BUMP_WIDTH", "INDIVIDUAL_DIMS", "smooth_fields", "hemisphere_maps"]

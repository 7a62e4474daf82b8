"""The noise model of a simulated cohort: single-trial noise (white plus spatially smooth), session
baselines, and NSD's ncsnr estimated back from the trials."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from encoding.simulation.rois import fsaverage5_geometry
from neurokit.exceptions import DataValidationError
from neurokit.mesh.levels import n_vertices

#: Gaussian bumps per hemisphere and their width (sphere mm) of the spatially correlated noise.
NOISE_CENTRE_LEVEL, NOISE_WIDTH = 3, 10.0
"""The smooth noise is a sum of Gaussian bumps (``NOISE_WIDTH`` mm) centred on the vertices of
fsaverage level ``NOISE_CENTRE_LEVEL`` (642 per hemisphere, ~15 mm apart: even coverage)."""


def simulate_trials(clean: np.ndarray, amplitude: np.ndarray, rng: np.random.Generator, noise_correlation: float,
                    trials_per_session: int, level: int) -> np.ndarray:
    """Single-trial betas ``(n_trials, V)`` in percent signal change from noise-free responses ``clean``.

    Unit-variance noise (a share ``noise_correlation`` of it spatially smooth, :func:`smooth_noise`) is
    added to ``clean``, the sum scaled by the per-vertex ``amplitude``, and each session of
    ``trials_per_session`` trials gets its own per-vertex baseline (removed by NSD's per-session z-scoring).
    The draws come from ``rng`` in a fixed order.
    """
    noise = white_noise(rng, clean.shape)
    rho = noise_correlation
    if rho > 0:  # spatially smooth noise: ROI means are noisy too
        noise *= np.float32(np.sqrt(1.0 - rho))
        noise += np.float32(np.sqrt(rho)) * smooth_noise(rng, clean.shape[0], level)
    tps = trials_per_session
    n_sessions = clean.shape[0] // tps
    baseline = rng.normal(0.0, 0.5, size=(n_sessions, clean.shape[1])).astype(np.float32)
    betas = (clean + noise) * amplitude
    betas += np.repeat(baseline, tps, axis=0)
    return betas


def white_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
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
        ``sqrt(max(0, 1 - var_noise)) / sqrt(var_noise)``;
        NaN where a vertex is constant within a session.
    """
    from neurokit.datasets.nsd import RepeatAverager, zscore_sessions

    counts = np.bincount(masterordering)
    if counts.min() != counts.max():
        raise DataValidationError("estimate_ncsnr needs every image repeated equally often")
    averager = RepeatAverager(masterordering, betas.shape[1])
    averager.add(0, zscore_sessions(betas, trials_per_session))
    return averager.result()[3]


__all__ = ["NOISE_CENTRE_LEVEL", "NOISE_WIDTH", "simulate_trials", "white_noise", "smooth_noise", "estimate_ncsnr"]

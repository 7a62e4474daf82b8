"""NSD's standard preparation of single-trial betas: z-scoring within sessions, averaging repeats, and ncsnr.

Each vertex is z-scored within each session (mean and population standard
deviation over the session's trials, NaN ignored), then the up-to-3 repeats
of each image are averaged. :class:`RepeatAverager` accumulates both the
per-image means and the noise-ceiling SNR (``ncsnr``) session by session, so
the reader (:class:`neurokit.datasets.NSD`) and simulated cohorts prepare
data with the same code; the noise ceiling itself is
:func:`neurokit.metrics.ncsnr_to_noise_ceiling`.
"""

from __future__ import annotations

import numpy as np

from neurokit.validation import check_int

__all__ = ["RepeatAverager", "zscore_sessions", "zscore_columns"]


class RepeatAverager:
    """Single trials, added session by session, -> per-image means and NSD's ncsnr.

    The one implementation of NSD's preparation after z-scoring, shared by
    :meth:`NSD.responses` (sessions read from files) and the simulated
    cohort's in-memory responses.

    Parameters
    ----------
    trial_nsd_ids : ndarray of int, shape (n_trials,)
        Image of every trial, in trial order.
    n_columns : int
        Vertices per trial.
    average : bool
        Keep per-image means (default) or the single trials.
    """

    def __init__(self, trial_nsd_ids: np.ndarray, n_columns: int, *, average: bool = True) -> None:
        n_columns = check_int(n_columns, "n_columns", minimum=0)
        self.ids, self.rows, self.counts = np.unique(np.asarray(trial_nsd_ids), return_inverse=True,
                                                     return_counts=True)
        self.average = bool(average)
        # weight of each trial's squared value in the mean within-image variance
        self.w_trial = np.where(self.counts[self.rows] >= 2, 1.0 / np.maximum(self.counts[self.rows] - 1, 1), 0.0)
        self.acc_q = np.zeros(n_columns, dtype=np.float64)
        self.nan_vertices = np.zeros(n_columns, dtype=bool)
        shape = (self.ids.size if average else self.rows.size, n_columns)
        self.out = np.zeros(shape, dtype=np.float32)

    def add(self, start: int, z: np.ndarray) -> None:
        """Add trials ``start .. start + len(z) - 1`` (rows of ``z``, already z-scored if wanted)."""
        z = np.asarray(z, dtype=np.float32)
        sl = slice(start, start + z.shape[0])
        self.nan_vertices |= ~np.isfinite(z).all(axis=0)
        self.acc_q += self.w_trial[sl] @ np.square(z, dtype=np.float64)
        if self.average:
            _add_rows(self.out, self.rows[sl], z)
        else:
            self.out[sl] = z

    def result(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(data, nsd_ids, n_repeats, ncsnr, nan_vertices)``; data are per-image means or the trials."""
        if self.average:
            sums = self.out
        else:
            sums = np.zeros((self.ids.size, self.out.shape[1]), dtype=np.float32)
            _add_rows(sums, self.rows, self.out)
        ncsnr = _ncsnr(sums, self.counts, self.acc_q)
        if self.average:
            return self.out / self.counts[:, None].astype(np.float32), self.ids, self.counts, ncsnr, self.nan_vertices
        n_trials = self.rows.size
        return self.out, self.ids[self.rows], np.ones(n_trials, dtype=np.int64), ncsnr, self.nan_vertices


def zscore_sessions(betas: np.ndarray, trials_per_session: int) -> np.ndarray:
    """z-score every vertex within each session of ``trials_per_session`` consecutive trials (NaN-aware)."""
    trials_per_session = check_int(trials_per_session, "trials_per_session", minimum=1)
    return np.concatenate([zscore_columns(np.array(betas[s : s + trials_per_session], dtype=np.float32))
                           for s in range(0, betas.shape[0], trials_per_session)])


def zscore_columns(x: np.ndarray) -> np.ndarray:
    """z-score each column over rows ignoring NaN (ddof 0), in place on float32 ``x``.

    Parameters
    ----------
    x : ndarray of shape (n_trials, n_vertices)
        One session's betas (converted to float32, in place when already so).

    Returns
    -------
    ndarray of float32, shape (n_trials, n_vertices)

    Constant or all-NaN columns become NaN. Means and variances are accumulated
    in float64 (two passes: centre, then mean square).
    """
    import warnings

    x = np.asarray(x, dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        if np.isnan(x).any():
            mean = np.nanmean(x, axis=0, dtype=np.float64)
            x -= mean.astype(np.float32)
            var = np.nanmean(np.square(x), axis=0, dtype=np.float64)
        else:
            mean = x.mean(axis=0, dtype=np.float64)
            x -= mean.astype(np.float32)
            var = np.square(x).mean(axis=0, dtype=np.float64)
        std = np.sqrt(var)
        std[~(std > 0)] = np.nan
        x *= (1.0 / std).astype(np.float32)
    return x


def _add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows[t]] += values[t]`` for every t (repeated rows add up), via a sparse product."""
    import scipy.sparse as sp

    uniq, local = np.unique(rows, return_inverse=True)
    indicator = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (local, np.arange(rows.size))), shape=(uniq.size, rows.size)
    )
    target[uniq] += indicator @ values


def _ncsnr(sums: np.ndarray, counts: np.ndarray, acc_q: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """ncsnr = sqrt(max(0, 1 - v)) / sqrt(v), v = mean over repeated images of the within-image variance.

    ``acc_q`` holds sum over trials of ``x**2 / (n_i - 1)``; the variance of image i
    (ddof 1) is ``(Q_i - S_i**2 / n_i) / (n_i - 1)``.
    """
    rep = counts >= 2
    n_rep = int(rep.sum())
    if n_rep == 0:
        return np.full(sums.shape[1], np.nan, dtype=np.float32)
    coef = np.where(rep, 1.0 / (counts * np.maximum(counts - 1, 1)), 0.0)
    s2 = np.zeros(sums.shape[1], dtype=np.float64)
    for start in range(0, sums.shape[0], chunk):
        block = sums[start : start + chunk].astype(np.float64)
        s2 += coef[start : start + chunk] @ np.square(block)
    var = np.maximum((acc_q - s2) / n_rep, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.sqrt(np.maximum(0.0, 1.0 - var)) / np.sqrt(var)
    return snr.astype(np.float32)

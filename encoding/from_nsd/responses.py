"""An NSD subject's prepared responses for a fit: training / held-out rows, NaN vertices, and
:class:`NSDTargets`, the subject read a chunk of vertices at a time for a streamed fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from encoding.from_nsd.stimulus_features import as_nsd, check_ids, lookup_features
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_int


def train_test_rows(
    nsd_ids: np.ndarray, shared: np.ndarray, train: Any, subject: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (of the sorted, repeat-averaged responses) used for training and for the held-out test."""
    test_rows = np.flatnonzero(shared)
    if isinstance(train, str):
        if train != "non-shared":
            raise InvalidParameterError(f"train must be 'non-shared' or a sequence of NSD ids, got {train!r}")
        train_rows = np.flatnonzero(~shared)
    else:
        ids = np.unique(check_ids(train, "train"))
        pos = np.searchsorted(nsd_ids, ids)
        seen = (pos < nsd_ids.size) & (nsd_ids[np.minimum(pos, nsd_ids.size - 1)] == ids)
        if not seen.all():
            raise DataValidationError(
                f"train: subject {subject} did not see {int((~seen).sum())} of these NSD ids "
                f"(e.g. {ids[~seen][:5].tolist()}) in the sessions read"
            )
        if shared[pos].any():
            raise DataValidationError(
                f"train: {int(shared[pos].sum())} ids are shared1000 images, which are the held-out test set"
            )
        train_rows = pos
    for rows, what in ((train_rows, "training"), (test_rows, "held-out shared1000")):
        if rows.size < 2:
            raise DataValidationError(
                f"subject {subject}: {rows.size} {what} image(s) in the sessions read; at least 2 are needed"
            )
    return train_rows, test_rows


def fit_ready(resp: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(Y, nan_vertices)``: the responses with NaN vertices set to 0 (the z-scored mean), in place."""
    Y = resp.data
    nan_vertices = resp.nan_vertices | ~np.isfinite(Y).all(axis=0)
    if nan_vertices.any():
        Y[:, nan_vertices] = 0.0  # reported in info.nan_vertices
    return Y, nan_vertices


class NSDTargets:
    """One NSD subject's responses as a target source that reads a chunk of vertices at a time.

    For :func:`encoding.streaming.fit_streaming_ridge`: every chunk goes
    through :meth:`neurokit.datasets.NSD.responses` (z-score per vertex within
    each session, average the repeats, noise ceiling from the repeats), with
    ``mask`` set to the chunk, so a streamed fit sees exactly the data of
    :func:`fit_subject_encoder_from_nsd`, split into training images and the
    held-out shared1000 the same way.

    Parameters
    ----------
    nsd_or_root : neurokit.datasets.NSD or path-like
    subject : int
        1-based subject.
    features : (nsd_ids, X)
        Precomputed features covering every image of the subject's sessions.
    level, rois, mask, sessions, train
        As in :func:`fit_subject_encoder_from_nsd` (``mask``: as in ``NSD.responses``).

    Attributes
    ----------
    X_train : ndarray of float32, shape (n_train, n_features)
    X_test : ndarray of float32, shape (n_test, n_features)
        Features of the training images and of the held-out shared1000 images.
    train_ids, test_ids : ndarray of int
        Their 0-based NSD ids.
    level : int
    vertices : ndarray of int, shape (n_targets,)
        The vertices fitted (columns of the result), left-first.
    n_targets : int
    n_train, n_test : int
        Rows of the chunks' ``train`` and ``test`` arrays.

    Notes
    -----
    Memory of one :meth:`read` of ``c`` vertices: about
    :meth:`bytes_per_target` ``* c`` bytes (one session of the chunk, the
    repeat-averaged chunk and its training/test copies), plus the span of
    vertices between the chunk's first and last (scattered ROI selections read
    the whole span of a session).
    """

    def __init__(
        self,
        nsd_or_root: Any,
        subject: int,
        features: tuple[np.ndarray, np.ndarray],
        *,
        level: int | None = None,
        rois: str | Sequence[str] | None = None,
        mask: np.ndarray | None = None,
        sessions: Sequence[int] | None = None,
        train: str | Sequence[int] | np.ndarray = "non-shared",
    ) -> None:
        self.nsd = as_nsd(nsd_or_root)
        self.subject = check_int(subject, "subject", minimum=1)
        self.level, self.vertices = self.nsd.vertex_selection(self.subject, level=level, mask=mask, rois=rois)
        self.sessions = sorted({int(s) for s in (self.nsd.sessions(self.subject) if sessions is None else sessions)})
        info = self.nsd.trials(self.subject, self.sessions)
        self.nsd_ids, self._counts = np.unique(info["nsd_id"], return_counts=True)
        self.trials_per_session = info["trial"].size // len(self.sessions)
        shared = np.isin(self.nsd_ids, self.nsd.shared1000)
        self.train_rows, self.test_rows = train_test_rows(self.nsd_ids, shared, train, self.subject)
        self.train_ids = self.nsd_ids[np.sort(self.train_rows)]
        self.test_ids = self.nsd_ids[self.test_rows]
        self.X_train = lookup_features(features, self.nsd_ids[self.train_rows])
        self.X_test = lookup_features(features, self.test_ids)

    @property
    def n_targets(self) -> int:
        return int(self.vertices.size)

    @property
    def n_train(self) -> int:
        return int(self.train_rows.size)

    @property
    def n_test(self) -> int:
        return int(self.test_rows.size)

    def bytes_per_target(self) -> int:
        """Bytes a :meth:`read` holds per vertex of the chunk (float32 data and float64 temporaries)."""
        per_session = self.trials_per_session * (4 + 4 + 8 + 4 + 1)  # betas, squares, float64 squares, sums, mask
        return per_session + self.nsd_ids.size * 4 + (self.n_train + self.n_test) * 4

    def describe(self) -> dict[str, Any]:
        """What is read, as JSON (stored with a streamed result and checked on resume)."""
        return {
            "source": "NSD",
            "root": str(self.nsd.root.resolve()),
            "subject": self.subject,
            "level": int(self.level),
            "sessions": self.sessions,
            "n_targets": self.n_targets,
            "n_train": self.n_train,
            "n_test": self.n_test,
        }

    def read(self, start: int, stop: int):
        """Targets ``start:stop`` (positions in :attr:`vertices`), prepared as in the in-memory fit.

        Returns
        -------
        encoding.streaming.TargetChunk
            ``train`` (n_train, c) and ``test`` (n_test, c) float32 responses
            (NaN vertices set to 0), and per-vertex ``noise_ceiling`` (percent,
            of the test responses), ``ncsnr`` and ``nan_vertices``.
        """
        from neurokit.metrics import ncsnr_to_noise_ceiling
        from neurokit.mesh.levels import n_vertices

        from encoding.streaming import TargetChunk

        mask = np.zeros(2 * n_vertices(self.level), dtype=bool)
        mask[self.vertices[start:stop]] = True
        resp = self.nsd.responses(self.subject, level=self.level, mask=mask, sessions=self.sessions)
        if not np.array_equal(resp.nsd_ids, self.nsd_ids):
            raise DataValidationError(f"subject {self.subject}: the images read changed while streaming")
        Y, nan_vertices = fit_ready(resp)
        extras = {
            "noise_ceiling": ncsnr_to_noise_ceiling(resp.ncsnr, resp.n_repeats[self.test_rows]).astype(np.float32),
            "ncsnr": resp.ncsnr,
            "nan_vertices": nan_vertices,
        }
        return TargetChunk(Y[self.train_rows], Y[self.test_rows], extras)


__all__ = ["NSDTargets", "train_test_rows", "fit_ready"]

"""Reader of a local copy of the Natural Scenes Dataset (NSD) in its public layout.

The reader streams single-trial betas session by session and reads only the
vertices asked for: MGH files store each trial's vertices contiguously
(``(V, 1, 1, n_trials)`` in Fortran order), so the first ``N`` vertices of a
hemisphere are ``n_trials`` contiguous runs of ``4 N`` bytes, which
:func:`nibabel.fileslice.fileslice` reads without touching the rest of the file.
At most one session of the selected vertex range plus the result is held in
memory; repeats are averaged by accumulating per-image sums.

Standard preparation (:mod:`neurokit.datasets.nsd_preparation`): each vertex
is z-scored within each session (mean and population standard deviation over
the session's trials, NaN ignored), then the up-to-3 repeats of each image
are averaged.

Paths, the design and the ROI sources are described in
:mod:`neurokit.datasets.nsd_layout`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurokit.datasets.nsd_design import NSDDesign, read_design
from neurokit.datasets.nsd_layout import HEMIS, ROI_FAMILIES, STIMULI_DATASET, VOLUME_SCALE, NSDLayout, read_ctab
from neurokit.datasets.nsd_preparation import RepeatAverager, zscore_columns, zscore_sessions
from neurokit.datasets.roots import dataset_root
from neurokit.exceptions import (
    DataValidationError,
    DatasetNotFoundError,
    FileFormatError,
    HemisphereMismatchError,
    VertexCountError,
)
from neurokit.io.mgh import mgh_shape, read_mgh_rows
from neurokit.io.surface import read_surface_array
from neurokit.io.volume import read_volume
from neurokit.mesh.levels import check_level, level_from_n_vertices, n_vertices
from neurokit.metrics import ncsnr_to_noise_ceiling
from neurokit.surface_data import SurfaceData
from neurokit.validation import check_int

ENV_VAR = "NEUROKIT_NSD_DIR"
"""Environment variable naming the NSD root when ``root`` is not given."""

# ------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NSDResponses:
    """Responses of one subject on selected fsaverage vertices.

    Attributes
    ----------
    data : ndarray of float32, shape (n_samples, n_selected)
        z-scored responses (averaged over repeats, or single trials), columns
        ordered as ``vertices``.
    nsd_ids : ndarray of int, shape (n_samples,)
        0-based NSD id of each row (sorted ascending when averaged; trial order
        for single trials).
    n_repeats : ndarray of int, shape (n_samples,)
        Trials averaged into each row (1 for single trials).
    shared : ndarray of bool, shape (n_samples,)
        Whether the row's image is one of the shared1000 (the standard test set).
    vertices : ndarray of int, shape (n_selected,)
        Column indices into the left-first ``2 * n_vertices(level)`` vertex space.
    level : int
        Mesh level of ``vertices``.
    ncsnr : ndarray of float32, shape (n_selected,)
        Noise-ceiling SNR from the repeats (NaN where no image was repeated).
    noise_ceiling : ndarray of float32, shape (n_selected,)
        Noise ceiling in percent of variance for these rows, see
        :func:`neurokit.metrics.ncsnr_to_noise_ceiling`.
    nan_vertices : ndarray of bool, shape (n_selected,)
        Vertices with NaN betas or zero variance in some session.
    trials : ndarray of int or None, shape (n_samples,)
        0-based trial number (position in ``masterordering``) of each row, for
        single trials; ``None`` when averaged.
    subject : int
    sessions : tuple of int
    """

    data: np.ndarray
    nsd_ids: np.ndarray
    n_repeats: np.ndarray
    shared: np.ndarray
    vertices: np.ndarray
    level: int
    ncsnr: np.ndarray
    noise_ceiling: np.ndarray
    nan_vertices: np.ndarray
    trials: np.ndarray | None
    subject: int
    sessions: tuple[int, ...] = field(default=())

    def to_surface(self, fill: float = np.nan) -> SurfaceData:
        """The responses on all ``2 * n_vertices(level)`` vertices, ``fill`` elsewhere."""
        full = np.full((self.data.shape[0], 2 * n_vertices(self.level)), fill, dtype=np.float32)
        full[:, self.vertices] = self.data
        return SurfaceData(full, self.level, f"NSD subject {self.subject}")


@dataclass(frozen=True)
class ROIMeans:
    """Mean response over the vertices of each ROI.

    Attributes
    ----------
    data : ndarray of float32, shape (n_samples, n_rois)
        NaN-ignoring mean over each ROI's vertices.
    rois : list of str
        ROI names, one per column.
    n_vertices : ndarray of int, shape (n_rois,)
        Vertices in each ROI (at the level read).
    nsd_ids, n_repeats, shared : ndarray, shape (n_samples,)
        As in :class:`NSDResponses`.
    """

    data: np.ndarray
    rois: list[str]
    n_vertices: np.ndarray
    nsd_ids: np.ndarray
    n_repeats: np.ndarray
    shared: np.ndarray


# ------------------------------------------------------------------------------------
# MGH files
# ------------------------------------------------------------------------------------
def _read_mgh_vector(path: Path) -> np.ndarray:
    """A whole MGH/MGZ file holding one value per vertex, float32 shape (V,)."""
    if not path.is_file():
        raise DatasetNotFoundError(f"expected file not found: {path}")
    values = read_surface_array(path)
    if values.shape[0] != 1:
        raise FileFormatError(f"{path}: expected one value per vertex, got {values.shape[0]} frames")
    return values[0]


# ------------------------------------------------------------------------------------
# the reader
# ------------------------------------------------------------------------------------
class NSD:
    """Reader of a local NSD copy.

    Parameters
    ----------
    root : path-like, optional
        NSD root. Defaults to ``$NEUROKIT_NSD_DIR``, then ``$NILEARN_DATA/nsd``,
        then ``~/nilearn_data/nsd`` (nilearn's data-directory convention).
    roi_source : str or path-like
        Where fsaverage-space ROI labels are read from: ``"subject"`` (default,
        ``nsddata/freesurfer/subjXX/label/{hemi}.<name>_fsaverage.mgz``),
        ``"fsaverage"`` (NSD's group atlases) or a directory (template with
        ``{subject}``); see :mod:`neurokit.datasets.nsd_layout`.

    Notes
    -----
    Vertex selection (``level``, ``mask``, ``rois`` arguments) works on the
    nested fsaverage hierarchy: ``level=k`` keeps the first ``n_vertices(k)``
    vertices of each hemisphere of the files, ``mask`` is a boolean array over
    the ``2 * n_vertices(level)`` left-first vertices, and ``rois`` names ROI
    families (``"floc-faces"``: every labelled vertex) or single ROIs
    (``"FFA-1"``, or ``"floc-faces/FFA-1"``). ``mask`` and ``rois`` together
    select their intersection. The mesh level of the files is inferred from
    their vertex count, so trees at any level are read the same way.
    """

    def __init__(self, root: str | os.PathLike | None = None, *, roi_source: str | os.PathLike = "subject") -> None:
        root = dataset_root(root, ENV_VAR, "nsd")
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"NSD root not found: {root} (pass root=..., or set ${ENV_VAR})"
            )
        self.layout = NSDLayout(root, roi_source)
        self._design: NSDDesign | None = None

    @property
    def root(self) -> Path:
        return self.layout.root

    def __repr__(self) -> str:
        return f"NSD(root={str(self.root)!r}, roi_source={self.layout.roi_source!r})"

    # design -------------------------------------------------------------------------
    @property
    def design(self) -> NSDDesign:
        """The experimental design (0-based), read once from ``nsd_expdesign.mat``."""
        if self._design is None:
            self._design = read_design(self.layout.expdesign)
        return self._design

    @property
    def subjects(self) -> list[int]:
        """Subjects whose fsaverage betas folder exists."""
        return self.layout.subjects_present()

    @property
    def shared1000(self) -> np.ndarray:
        """0-based NSD ids of the shared images (the standard test set), sorted."""
        return np.sort(self.design.sharedix)

    def sessions(self, subject: int) -> list[int]:
        """Session numbers of ``subject`` (1..n), checking that none is missing.

        Raises
        ------
        DatasetNotFoundError
            If the subject has no betas, or a session or one hemisphere's file
            is missing below the last session present.
        """
        found = self.layout.sessions_present(subject)
        if not found:
            raise DatasetNotFoundError(
                f"no fsaverage betas for subject {subject}: expected "
                f"{self.layout.betas(subject, 1, 'lh')}"
            )
        for s in range(1, found[-1] + 1):
            for hemi in HEMIS:
                p = self.layout.betas(subject, s, hemi)
                if not p.is_file():
                    raise DatasetNotFoundError(f"subject {subject}: session {s} is missing, expected {p}")
        return list(range(1, found[-1] + 1))

    def trials(self, subject: int, sessions: Sequence[int] | None = None) -> dict[str, np.ndarray]:
        """Trials of ``subject`` in ``sessions`` (default: all present).

        Returns
        -------
        dict of ndarray, each of shape (n_trials,)
            ``"trial"`` (0-based position in ``masterordering``), ``"session"``
            (1-based), ``"image_index"`` (0-based column of ``subjectim``),
            ``"nsd_id"`` (0-based) and ``"shared"`` (bool).
        """
        sessions = self._check_sessions(subject, sessions)
        per_session = self._trials_per_session(subject, sessions[0])
        trial = np.concatenate([np.arange((s - 1) * per_session, s * per_session) for s in sessions])
        mo = self.design.masterordering
        if trial.max() >= mo.size:
            raise FileFormatError(
                f"{self.layout.expdesign}: masterordering has {mo.size} trials, fewer than sessions "
                f"{sessions[0]}..{sessions[-1]} of {per_session} trials need"
            )
        nsd_id = self.design.trial_nsd_ids(subject)[trial]
        return {
            "trial": trial,
            "session": np.repeat(np.asarray(sessions), per_session),
            "image_index": mo[trial],
            "nsd_id": nsd_id,
            "shared": np.isin(nsd_id, self.design.sharedix),
        }

    def image_ids(self, subject: int, sessions: Sequence[int] | None = None) -> np.ndarray:
        """Sorted 0-based NSD ids that ``subject`` saw in ``sessions``."""
        return np.unique(self.trials(subject, sessions)["nsd_id"])

    def split(self, subject: int, sessions: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(train_ids, test_ids)``: the subject's NSD ids outside / inside the shared1000."""
        ids = self.image_ids(subject, sessions)
        test = np.isin(ids, self.design.sharedix)
        return ids[~test], ids[test]

    # files ---------------------------------------------------------------------------
    def file_level(self, subject: int) -> int:
        """Mesh level of the subject's fsaverage betas (from session 1's vertex count)."""
        present = self.layout.sessions_present(subject)
        if not present:
            raise DatasetNotFoundError(
                f"no fsaverage betas for subject {subject}: expected {self.layout.betas(subject, 1, 'lh')}"
            )
        path = self.layout.betas(subject, present[0], "lh")
        shape, _ = mgh_shape(path)
        return level_from_n_vertices(shape[0], what=str(path))

    def _trials_per_session(self, subject: int, session: int) -> int:
        counts = []
        paths = [self.layout.betas(subject, session, hemi) for hemi in HEMIS]
        for path in paths:
            shape, _ = mgh_shape(path)
            if len(shape) != 4 or shape[1:3] != (1, 1):
                raise FileFormatError(f"{path}: expected NSD's (V, 1, 1, n_trials) layout, got shape {shape}")
            counts.append(shape[3])
        if counts[0] != counts[1]:
            raise HemisphereMismatchError(
                f"subject {subject}, session {session}: {paths[0]} has {counts[0]} trials but {paths[1]} "
                f"has {counts[1]}"
            )
        return counts[0]

    def _check_sessions(self, subject: int, sessions: Sequence[int] | None) -> list[int]:
        if sessions is None:
            return self.sessions(subject)
        out = sorted({int(s) for s in np.atleast_1d(np.asarray(sessions))})
        if not out or out[0] < 1:
            raise DataValidationError(f"sessions must be positive session numbers, got {sessions!r}")
        for s in out:
            for hemi in HEMIS:
                p = self.layout.betas(subject, s, hemi)
                if not p.is_file():
                    raise DatasetNotFoundError(f"subject {subject}: session {s} is missing, expected {p}")
        return out

    # ROIs ------------------------------------------------------------------------------
    def roi_labels(self, subject: int | None, name: str) -> tuple[np.ndarray, dict[int, str]]:
        """Label indices of ROI family ``name`` on fsaverage, and its colour table.

        Returns
        -------
        labels : ndarray of int, shape (2 * V,)
            Left hemisphere first; values <= 0 mean no ROI.
        table : dict
            ``{index: roi name}`` from ``<name>.mgz.ctab`` (0 excluded).
        """
        parts = []
        for hemi in HEMIS:
            path = self.layout.roi_label(subject, name, hemi)
            if not path.is_file():
                raise DatasetNotFoundError(
                    f"ROI label file not found: expected {path} (roi_source={self.layout.roi_source!r}; "
                    "see neurokit.datasets.nsd_layout for where fsaverage-space labels live)"
                )
            values = _read_mgh_vector(path)
            if values.dtype.kind == "f" and not np.all(np.isfinite(values) & (values == np.round(values))):
                raise FileFormatError(f"{path}: ROI labels must be integers")
            level_from_n_vertices(
                values.size,
                what=f"{path} (ROI labels must be on fsaverage; native-surface labels need resampling first)",
            )
            parts.append(values.astype(np.int32))
        if parts[0].size != parts[1].size:
            raise HemisphereMismatchError(
                f"ROI {name!r}: lh labels have {parts[0].size:,} vertices but rh labels have {parts[1].size:,}"
            )
        table = {k: v for k, v in read_ctab(self.layout.roi_ctab(subject, name)).items() if k > 0}
        return np.concatenate(parts), table

    def roi_mask(self, subject: int | None, rois: str | Sequence[str], level: int) -> np.ndarray:
        """Boolean mask (2 * n_vertices(level),) of the union of ``rois`` (family or ROI names)."""
        return self._roi_masks(subject, rois, level).any(axis=0)

    def _roi_masks(self, subject: int | None, rois: str | Sequence[str], level: int) -> np.ndarray:
        level = check_level(level)
        names = [rois] if isinstance(rois, str) else list(rois)
        if not names:
            raise DataValidationError("rois must name at least one ROI")
        n = n_vertices(level)
        masks = []
        cache: dict[str, tuple[np.ndarray, dict[int, str]]] = {}
        for roi in names:
            family, index = self._resolve_roi(subject, roi, cache)
            labels, _ = cache[family]
            lvl = level_from_n_vertices(labels.size, both_hemispheres=True, what=f"ROI {family!r}")
            if lvl < level:
                raise VertexCountError(
                    f"ROI {family!r} labels are at level {lvl} ({labels.size // 2:,} vertices per hemisphere), "
                    f"coarser than the requested level {level}"
                )
            half = labels.size // 2
            sliced = np.concatenate([labels[:n], labels[half : half + n]])
            masks.append(sliced > 0 if index is None else sliced == index)
        return np.stack(masks)

    def _resolve_roi(self, subject: int | None, roi: str, cache: dict) -> tuple[str, int | None]:
        def load(family: str) -> dict[int, str]:
            if family not in cache:
                cache[family] = self.roi_labels(subject, family)
            return cache[family][1]

        if "/" in roi:
            family, name = roi.split("/", 1)
            table = load(family)
            for k, v in table.items():
                if v == name:
                    return family, k
            raise DataValidationError(f"ROI {name!r} is not in the colour table of {family!r}: {sorted(table.values())}")
        if roi in ROI_FAMILIES or self.layout.roi_label(subject, roi, "lh").is_file():
            load(roi)
            return roi, None
        for family, members in ROI_FAMILIES.items():
            if roi in members and self.layout.roi_ctab(subject, family).is_file():
                for k, v in load(family).items():
                    if v == roi:
                        return family, k
        raise DataValidationError(
            f"unknown ROI {roi!r}: expected a family ({', '.join(ROI_FAMILIES)}), one of their ROIs "
            f"(e.g. 'FFA-1'), or 'family/name'"
        )

    # vertex selection ------------------------------------------------------------------
    def _selection(
        self, subject: int, level: int | None, mask: np.ndarray | None, rois: str | Sequence[str] | None
    ) -> tuple[int, list[np.ndarray]]:
        file_level = self.file_level(subject)
        level = file_level if level is None else check_level(level)
        if level > file_level:
            raise VertexCountError(
                f"subject {subject}: betas are at level {file_level}; cannot read the finer level {level}"
            )
        n = n_vertices(level)
        keep = np.ones(2 * n, dtype=bool)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.dtype != bool or mask.shape != (2 * n,):
                raise DataValidationError(
                    f"mask must be a boolean array of shape ({2 * n},) (both hemispheres at level {level}), "
                    f"got {mask.dtype} {mask.shape}"
                )
            keep &= mask
        if rois is not None:
            keep &= self.roi_mask(subject, rois, level)
        if not keep.any():
            raise DataValidationError(f"subject {subject}: the vertex selection is empty")
        return level, [np.flatnonzero(keep[:n]), np.flatnonzero(keep[n:])]

    def vertex_selection(
        self,
        subject: int,
        *,
        level: int | None = None,
        mask: np.ndarray | None = None,
        rois: str | Sequence[str] | None = None,
    ) -> tuple[int, np.ndarray]:
        """The vertices :meth:`responses` reads for this selection, without reading any betas.

        Streaming readers resolve the selection (ROI files included) once with
        this, then read it chunk by chunk through :meth:`responses` with
        ``mask`` set to each chunk, so both paths prepare the data with the
        same code.

        Parameters
        ----------
        subject : int
        level, mask, rois
            As in :meth:`responses`.

        Returns
        -------
        level : int
            The mesh level read.
        vertices : ndarray of int, shape (n_selected,)
            Sorted column indices into the left-first ``2 * n_vertices(level)``
            vertex space: the columns of ``responses(...).data``.
        """
        level, per_hemi = self._selection(subject, level, mask, rois)
        return level, np.concatenate([per_hemi[0], n_vertices(level) + per_hemi[1]])

    def _read_session(self, subject: int, session: int, per_hemi: list[np.ndarray]) -> np.ndarray:
        """One session's betas on the selected vertices, float32 (n_trials, n_selected)."""
        blocks = []
        for hemi, idx in zip(HEMIS, per_hemi):
            path = self.layout.betas(subject, session, hemi)
            if idx.size == 0:
                continue
            lo, hi = int(idx[0]), int(idx[-1]) + 1
            shape, _ = mgh_shape(path)
            if hi > shape[0]:
                raise VertexCountError(f"{path}: has {shape[0]:,} vertices, selection needs {hi:,}")
            rows = read_mgh_rows(path, lo, hi)
            blocks.append(rows[idx - lo].T if idx.size != hi - lo else rows.T)
        return np.ascontiguousarray(np.concatenate(blocks, axis=1))

    # responses ------------------------------------------------------------------------
    def responses(
        self,
        subject: int,
        *,
        level: int | None = None,
        mask: np.ndarray | None = None,
        rois: str | Sequence[str] | None = None,
        sessions: Sequence[int] | None = None,
        average: bool = True,
        zscore: bool = True,
        progress: bool = False,
    ) -> NSDResponses:
        """Responses of ``subject`` per image (or per trial) on selected vertices.

        Parameters
        ----------
        subject : int
            1-based subject number.
        level : int, optional
            Mesh level to read (default: the files' level); coarser levels read
            the first ``n_vertices(level)`` vertices of each hemisphere.
        mask : ndarray of bool, shape (2 * n_vertices(level),), optional
            Vertices to keep.
        rois : str or sequence of str, optional
            Keep only vertices in these ROIs (union).
        sessions : sequence of int, optional
            1-based sessions to read (default: all, checked for gaps).
        average : bool
            Average the repeats of each image (default) or return single trials.
        zscore : bool
            z-score each vertex within each session (default). Without it the
            raw betas (percent signal change) are averaged.
        progress : bool
            Show a tqdm progress bar over sessions.

        Returns
        -------
        NSDResponses
            With the noise ceiling of the returned rows computed from the
            repeats in ``sessions`` (on the z-scored betas when ``zscore``).

        Notes
        -----
        Memory: one session of the selected vertex range
        (``n_trials x (max - min + 1)`` per hemisphere, float32) plus the result
        (``n_images x n_selected``, float32).
        """
        level, per_hemi = self._selection(subject, level, mask, rois)
        sessions = self._check_sessions(subject, sessions)
        info = self.trials(subject, sessions)
        per_session = self._trials_per_session(subject, sessions[0])
        n_sel = sum(idx.size for idx in per_hemi)
        averager = RepeatAverager(info["nsd_id"], n_sel, average=average)
        iterator = sessions
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(sessions, desc=f"NSD subj{subject:02d}", unit="session")
        for k, session in enumerate(iterator):
            if self._trials_per_session(subject, session) != per_session:
                raise FileFormatError(
                    f"subject {subject}: session {session} has {self._trials_per_session(subject, session)} "
                    f"trials, session {sessions[0]} has {per_session}"
                )
            z = self._read_session(subject, session, per_hemi)
            averager.add(k * per_session, zscore_columns(z) if zscore else z)
        out, nsd_ids, n_rep, ncsnr, nan_vertices = averager.result()
        trials = None if average else info["trial"]
        n = n_vertices(level)
        return NSDResponses(
            data=out,
            nsd_ids=nsd_ids,
            n_repeats=n_rep,
            shared=np.isin(nsd_ids, self.design.sharedix),
            vertices=np.concatenate([per_hemi[0], n + per_hemi[1]]),
            level=level,
            ncsnr=ncsnr,
            noise_ceiling=ncsnr_to_noise_ceiling(ncsnr, n_rep).astype(np.float32),
            nan_vertices=nan_vertices,
            trials=trials,
            subject=int(subject),
            sessions=tuple(sessions),
        )

    def roi_means(
        self,
        subject: int,
        rois: str | Sequence[str],
        *,
        level: int | None = None,
        sessions: Sequence[int] | None = None,
        average: bool = True,
        zscore: bool = True,
    ) -> ROIMeans:
        """Mean response over each ROI's vertices (one column per ROI).

        Only the union of the ROIs' vertices is read; see :meth:`responses`
        for the other parameters.
        """
        names = [rois] if isinstance(rois, str) else list(rois)
        resp = self.responses(subject, level=level, rois=names, sessions=sessions, average=average, zscore=zscore)
        masks = self._roi_masks(subject, names, resp.level)[:, resp.vertices]
        data = np.empty((resp.data.shape[0], len(names)), dtype=np.float32)
        for j, m in enumerate(masks):
            data[:, j] = np.nanmean(resp.data[:, m], axis=1) if m.any() else np.nan
        return ROIMeans(data, names, masks.sum(axis=1), resp.nsd_ids, resp.n_repeats, resp.shared)

    def published_ncsnr(
        self,
        subject: int,
        *,
        level: int | None = None,
        mask: np.ndarray | None = None,
        rois: str | Sequence[str] | None = None,
    ) -> np.ndarray:
        """NSD's published noise-ceiling SNR (``{lh,rh}.ncsnr.mgh``) on the selected vertices.

        Returns
        -------
        ndarray of float32, shape (n_selected,)
            Same column order as :meth:`responses` with the same selection.
        """
        level, per_hemi = self._selection(subject, level, mask, rois)
        parts = []
        for hemi, idx in zip(HEMIS, per_hemi):
            path = self.layout.ncsnr(subject, hemi)
            values = _read_mgh_vector(path)
            if level_from_n_vertices(values.size, what=str(path)) < level:
                raise VertexCountError(f"{path}: {values.size:,} vertices, level {level} needs {n_vertices(level):,}")
            parts.append(values[idx])
        return np.concatenate(parts).astype(np.float32)

    # volumes -----------------------------------------------------------------------------
    def volume_betas(self, subject: int, session: int, space: str = "func1pt8mm") -> np.ndarray:
        """Volumetric single-trial betas in percent signal change, float32 (X, Y, Z, n_trials).

        NSD stores them as int16 = percent signal x 300; this divides by 300.
        The whole (gzip-compressed) file is read.
        """
        path = self.layout.volume_betas(subject, session, space)
        if not path.is_file():
            raise DatasetNotFoundError(f"subject {subject}: volumetric betas not found, expected {path}")
        raw = np.asanyarray(read_volume(path).dataobj)
        if raw.ndim != 4:
            raise FileFormatError(f"{path}: expected a 4-D (X, Y, Z, n_trials) volume, got shape {raw.shape}")
        return (raw.astype(np.float32) / np.float32(VOLUME_SCALE)).astype(np.float32)

    # images -----------------------------------------------------------------------------
    def images(self, nsd_ids: Sequence[int] | np.ndarray, size: int | None = None, *, batch: int = 64) -> np.ndarray:
        """Stimulus images from ``nsd_stimuli.hdf5``.

        Parameters
        ----------
        nsd_ids : sequence of int, shape (n,)
            0-based NSD ids (rows of ``imgBrick``), any order, repeats allowed.
        size : int, optional
            Resize to ``size x size`` (anti-aliased); default: as stored (425).
        batch : int
            Images read from disk at a time.

        Returns
        -------
        ndarray of float32, shape (n, H, W, 3), values in [0, 1].
        """
        import h5py

        size = check_int(size, "size", minimum=1, allow_none=True)
        batch = check_int(batch, "batch", minimum=1)
        ids = np.asarray(nsd_ids)
        if ids.ndim != 1 or ids.dtype.kind not in "iu":
            raise DataValidationError(f"nsd_ids must be a 1-D integer array, got {ids.dtype} {ids.shape}")
        path = self.layout.stimuli
        if not path.is_file():
            raise DatasetNotFoundError(f"NSD stimuli not found: expected {path}")
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise FileFormatError(f"{path}: not a readable HDF5 file ({exc})") from exc
        with f:
            if STIMULI_DATASET not in f:
                raise FileFormatError(f"{path}: no dataset {STIMULI_DATASET!r}")
            brick = f[STIMULI_DATASET]
            if brick.ndim != 4 or brick.shape[-1] != 3:
                raise FileFormatError(f"{path}: {STIMULI_DATASET} must be (n, H, W, 3), got {brick.shape}")
            if ids.size and (ids.min() < 0 or ids.max() >= brick.shape[0]):
                raise DataValidationError(
                    f"nsd_ids must be 0-based ids in 0..{brick.shape[0] - 1}, got [{ids.min()}, {ids.max()}]"
                )
            h, w = (brick.shape[1], brick.shape[2]) if size is None else (int(size), int(size))
            out = np.empty((ids.size, h, w, 3), dtype=np.float32)
            uniq, inverse = np.unique(ids, return_inverse=True)
            for start in range(0, uniq.size, batch):
                chunk = uniq[start : start + batch]
                imgs = brick[chunk].astype(np.float32) / 255.0  # h5py wants increasing indices
                if size is not None:
                    from skimage.transform import resize

                    imgs = np.stack([resize(im, (h, w), anti_aliasing=True) for im in imgs]).astype(np.float32)
                for j in range(chunk.size):
                    out[inverse == start + j] = imgs[j]
        return np.clip(out, 0.0, 1.0, out=out)


__all__ = ["NSD", "NSDResponses", "ROIMeans", "RepeatAverager", "zscore_sessions", "ENV_VAR"]

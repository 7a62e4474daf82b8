"""Writing arrays into an NSD tree that :class:`~neurokit.datasets.NSD` reads like the public release.

Paths come from :class:`~neurokit.datasets.nsd_layout.NSDLayout`; MGH files
are written by :func:`neurokit.io.write_mgh`, every file atomically
(:mod:`neurokit.io.atomic`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.datasets.nsd_design import NSDDesign
from neurokit.datasets.nsd_layout import HEMIS, ROI_FAMILIES, STIMULI_DATASET, VOLUME_SCALE, NSDLayout
from neurokit.exceptions import DataValidationError
from neurokit.io.atomic import atomic_path, atomic_write_text
from neurokit.io.surface import write_mgh
from neurokit.mesh.levels import level_from_n_vertices

__all__ = ["NSDWriter", "write_nsd_layout"]


class NSDWriter:
    """Write arrays into an NSD tree that :class:`~neurokit.datasets.NSD` reads like the real one.

    Every file is written atomically (:mod:`neurokit.io.atomic`), so an
    interrupted write never leaves a partial file; MGH files are written by
    :func:`neurokit.io.write_mgh`.
    Vertex arrays are left hemisphere first, ``2 * V`` columns with ``V`` an
    fsaverage vertex count (any level: tests use tiny ones).

    Parameters
    ----------
    root : path-like
        NSD root to write into (created if needed).
    roi_source : str
        Where ROI labels go, as in :class:`NSDLayout` (default ``"subject"``:
        ``nsddata/freesurfer/subjXX/label/{hemi}.<name>_fsaverage.mgz``).
    """

    def __init__(self, root: str | os.PathLike, roi_source: str | os.PathLike = "subject") -> None:
        self.layout = NSDLayout(Path(root), roi_source)

    def write_design(self, design: NSDDesign) -> Path:
        """Write ``nsd_expdesign.mat`` (1-based doubles, row vectors, as NSD's file)."""
        if not isinstance(design, NSDDesign):
            raise DataValidationError(f"design must be an NSDDesign, got {type(design).__name__}")
        import scipy.io

        path = self.layout.expdesign
        mdict = {
            "masterordering": (design.masterordering + 1).astype(np.float64)[None, :],
            "subjectim": (design.subjectim + 1).astype(np.float64),
            "sharedix": (design.sharedix + 1).astype(np.float64)[None, :],
        }
        with atomic_path(path) as tmp:
            scipy.io.savemat(tmp, mdict, format="5", do_compression=True)
        return path

    def write_betas_session(self, subject: int, session: int, betas: np.ndarray) -> tuple[Path, Path]:
        """Write one session's single-trial betas as ``{lh,rh}.betas_sessionNN.mgh``.

        Parameters
        ----------
        subject, session : int
            1-based subject and session numbers.
        betas : ndarray of shape (n_trials, 2 * V)
            Betas (NSD: percent signal change), left hemisphere first; stored as
            float32 in NSD's ``(V, 1, 1, n_trials)`` layout. NaN is allowed.
        """
        betas = _vertex_array(betas, f"betas of subject {subject}, session {session}", ndim=2)
        paths = []
        for hemi, part in zip(HEMIS, _split_hemis(betas)):
            path = self.layout.betas(subject, session, hemi)
            write_mgh(path, part)
            paths.append(path)
        return tuple(paths)  # type: ignore[return-value]

    def write_ncsnr(self, subject: int, ncsnr: np.ndarray) -> tuple[Path, Path]:
        """Write the noise-ceiling SNR ``{lh,rh}.ncsnr.mgh``, ``ncsnr`` of shape (2 * V,)."""
        ncsnr = _vertex_array(ncsnr, f"ncsnr of subject {subject}", ndim=1)
        paths = []
        for hemi, part in zip(HEMIS, _split_hemis(ncsnr[None, :])):
            path = self.layout.ncsnr(subject, hemi)
            write_mgh(path, part[0])
            paths.append(path)
        return tuple(paths)  # type: ignore[return-value]

    def write_roi(
        self, subject: int | None, name: str, labels: np.ndarray, names: Mapping[int, str] | Sequence[str] | None = None
    ) -> tuple[Path, Path, Path]:
        """Write an ROI label family: ``{lh,rh}.<name>[_fsaverage].mgz`` and ``<name>.mgz.ctab``.

        Parameters
        ----------
        subject : int or None
            1-based subject (``None`` with ``roi_source="fsaverage"``).
        name : str
            Family name, e.g. ``"floc-faces"``.
        labels : ndarray of int, shape (2 * V,)
            Label index per vertex (0 = no ROI), left hemisphere first.
        names : mapping or sequence, optional
            ``{index: roi name}`` or the names of indices 1, 2, ...; defaults to
            :data:`ROI_FAMILIES` ``[name]``. Index 0 is written as ``Unknown``.
        """
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iub" and not (labels.dtype.kind == "f" and np.all(labels == np.round(labels))):
            raise DataValidationError(f"labels of ROI {name!r} must be integers, got dtype {labels.dtype}")
        labels = _vertex_array(labels.astype(np.int32), f"labels of ROI {name!r}", ndim=1).astype(np.int32)
        if names is None:
            if name not in ROI_FAMILIES:
                raise DataValidationError(f"names is required for ROI family {name!r} (not one of NSD's)")
            names = ROI_FAMILIES[name]
        table = dict(names) if isinstance(names, Mapping) else {i + 1: n for i, n in enumerate(names)}
        table = {int(k): str(v) for k, v in table.items() if int(k) != 0}
        unknown = sorted(set(np.unique(labels[labels > 0]).tolist()) - set(table))
        if unknown:
            raise DataValidationError(f"labels of ROI {name!r} use indices {unknown} that names does not define")
        paths = []
        for hemi, part in zip(HEMIS, _split_hemis(labels[None, :])):
            path = self.layout.roi_label(subject, name, hemi)
            write_mgh(path, part[0], dtype=np.int32)
            paths.append(path)
        ctab = self.layout.roi_ctab(subject, name)
        lines = ["0 Unknown"] + [f"{k} {v}" for k, v in sorted(table.items())]
        atomic_write_text(ctab, "\n".join(lines) + "\n")
        paths.append(ctab)
        return tuple(paths)  # type: ignore[return-value]

    def write_stimuli(self, images: np.ndarray) -> Path:
        """Write ``nsd_stimuli.hdf5`` with dataset ``imgBrick``.

        Parameters
        ----------
        images : ndarray of uint8, shape (n_images, H, W, 3)
            Row ``k`` is NSD id ``k`` (0-based). NSD has 73,000 images of 425 x 425.
            Float images in [0, 1] are converted to uint8.
        """
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3:
            from neurokit.exceptions import ImageShapeError

            raise ImageShapeError(f"stimuli must have shape (n_images, H, W, 3), got {images.shape}")
        if images.dtype != np.uint8:
            if images.dtype.kind != "f" or images.min() < 0 or images.max() > 1:
                raise DataValidationError("stimuli must be uint8, or float in [0, 1]")
            images = np.round(images * 255).astype(np.uint8)
        import h5py

        path = self.layout.stimuli
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.create_dataset(STIMULI_DATASET, data=images, chunks=(1, *images.shape[1:]))
        return path

    def write_volume_betas(
        self, subject: int, session: int, betas: np.ndarray, affine: np.ndarray | None = None, space: str = "func1pt8mm"
    ) -> Path:
        """Write volumetric betas ``betas_sessionNN.nii.gz`` as int16 = percent signal x 300.

        Parameters
        ----------
        betas : ndarray of shape (X, Y, Z, n_trials)
            Percent signal change; values are rounded after scaling by 300 and
            must fit int16 (|beta| < 109 %).
        affine : ndarray of shape (4, 4), optional
            Voxel-to-world affine; 1.8 mm isotropic if omitted.
        """
        import nibabel as nib

        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 4:
            raise DataValidationError(f"volumetric betas must have shape (X, Y, Z, n_trials), got {betas.shape}")
        scaled = np.round(betas * VOLUME_SCALE)
        if np.abs(scaled).max(initial=0) > np.iinfo(np.int16).max:
            raise DataValidationError("volumetric betas exceed the int16 range after scaling by 300")
        affine = np.diag([1.8, 1.8, 1.8, 1.0]) if affine is None else np.asarray(affine, dtype=np.float64)
        img = nib.Nifti1Image(scaled.astype(np.int16), affine)
        img.header.set_data_dtype(np.int16)
        path = self.layout.volume_betas(subject, session, space)
        with atomic_path(path) as tmp:
            nib.save(img, tmp)
        return path


def write_nsd_layout(
    root: str | os.PathLike,
    *,
    design: NSDDesign | None = None,
    betas: Mapping[int, np.ndarray | Sequence[np.ndarray]] | None = None,
    rois: Mapping[int | None, Mapping[str, Any]] | None = None,
    stimuli: np.ndarray | None = None,
    ncsnr: Mapping[int, np.ndarray] | None = None,
    roi_source: str | os.PathLike = "subject",
) -> Path:
    """Write a whole NSD tree from arrays (see :class:`NSDWriter` for each file).

    Parameters
    ----------
    root : path-like
        NSD root to create.
    design : NSDDesign, optional
        0-based design; written 1-based to ``nsd_expdesign.mat``.
    betas : mapping, optional
        ``{subject: sessions}`` where ``sessions`` is an array of shape
        (n_sessions, n_trials_per_session, 2 * V) or a sequence of arrays of
        shape (n_trials_per_session, 2 * V); session ``k`` (0-based position)
        is written as session ``k + 1``. Trial ``t`` of session ``k`` is trial
        ``k * n_trials_per_session + t`` of ``design.masterordering``.
    rois : mapping, optional
        ``{subject: {family name: labels}}`` with ``labels`` an int array (2 * V,)
        (names from :data:`ROI_FAMILIES`) or a pair ``(labels, names)``; use the
        key ``None`` with ``roi_source="fsaverage"`` for group atlases.
    stimuli : ndarray of uint8, shape (n_images, H, W, 3), optional
        The stimulus brick, row = 0-based NSD id.
    ncsnr : mapping, optional
        ``{subject: ncsnr}`` with ``ncsnr`` of shape (2 * V,).
    roi_source : str
        Where ROI labels go (see :class:`NSDLayout`).

    Returns
    -------
    Path
        ``root``.
    """
    writer = NSDWriter(root, roi_source)
    if design is not None:
        writer.write_design(design)
    for subject, sessions in (betas or {}).items():
        for k, session in enumerate(sessions):
            writer.write_betas_session(subject, k + 1, session)
    for subject, families in (rois or {}).items():
        for name, spec in families.items():
            if isinstance(spec, tuple) and len(spec) == 2:
                writer.write_roi(subject, name, spec[0], spec[1])
            else:
                writer.write_roi(subject, name, spec)
    for subject, values in (ncsnr or {}).items():
        writer.write_ncsnr(subject, values)
    if stimuli is not None:
        writer.write_stimuli(stimuli)
    return Path(root)


def _vertex_array(arr: Any, what: str, ndim: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != ndim:
        raise DataValidationError(f"{what}: expected {ndim}-D array, got shape {arr.shape}")
    level_from_n_vertices(arr.shape[-1], both_hemispheres=True, what=what)
    return arr


def _split_hemis(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = arr.shape[-1] // 2
    return arr[..., :half], arr[..., half:]

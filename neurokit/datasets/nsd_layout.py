"""The Natural Scenes Dataset's on-disk layout: path templates, the design, and a writer.

This module is the one place that knows where NSD keeps its files. The reader
(:class:`neurokit.datasets.NSD`) and the writer (:class:`NSDWriter`,
:func:`write_nsd_layout`) both go through :class:`NSDLayout`, so a tree written
here cannot be told apart from the public release by the reader.

Files (paths relative to the NSD root; ``XX`` = two-digit subject, ``NN`` =
two-digit session, ``hemi`` in ``lh``/``rh``):

========================================================  =====================================
``nsddata/experiments/nsd/nsd_expdesign.mat``              ``masterordering``, ``subjectim``,
                                                           ``sharedix`` (all 1-based, MATLAB
                                                           doubles, row vectors ``(1, n)``)
``nsddata_betas/ppdata/subjXX/fsaverage/``                 single-trial betas, MGH, float32,
``betas_fithrf_GLMdenoise_RR/{hemi}.betas_sessionNN.mgh``  shape ``(V, 1, 1, n_trials)``
``.../fsaverage/betas_fithrf_GLMdenoise_RR/{hemi}.ncsnr.mgh``  published noise-ceiling SNR,
                                                           shape ``(V, 1, 1)``
``nsddata_betas/ppdata/subjXX/func1pt8mm/``                volumetric betas, NIfTI int16 =
``betas_fithrf_GLMdenoise_RR/betas_sessionNN.nii.gz``      percent signal change x 300
``nsddata/freesurfer/subjXX/label/{hemi}.<name>_fsaverage.mgz``  per-subject ROI labels already
                                                           in fsaverage space (see below)
``nsddata/freesurfer/fsaverage/label/{hemi}.<name>.mgz``   group atlases in fsaverage space
``<label dir>/<name>.mgz.ctab``                            ``"index name"`` lines, 0 = no ROI
``nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5``           dataset ``imgBrick``,
                                                           ``(73000, 425, 425, 3)`` uint8
========================================================  =====================================

ROI sources
-----------
NSD ships per-subject ROI labels on each subject's *native* surface
(``nsddata/freesurfer/subjXX/label/{hemi}.<name>.mgz``), which do not have
fsaverage vertex counts, and group atlases in fsaverage space. The toolkit
reads labels that are already on fsaverage, from one of three sources:

``"subject"`` (default)
    ``nsddata/freesurfer/subjXX/label/{hemi}.<name>_fsaverage.mgz`` with the
    colour table ``nsddata/freesurfer/subjXX/label/<name>.mgz.ctab``. NSD does
    not ship these files: create them once by resampling the native labels with
    NSD's ``nsdcode`` transforms (or take them from the Algonauts 2023 release,
    whose per-subject masks are in fsaverage space), or write them with
    :class:`NSDWriter`.
``"fsaverage"``
    the group atlases ``nsddata/freesurfer/fsaverage/label/{hemi}.<name>.mgz``
    and ``<name>.mgz.ctab`` (the same for every subject).
any other string or path
    a directory holding ``{hemi}.<name>.mgz`` and ``<name>.mgz.ctab``; the
    string may contain ``{subject}`` (formatted with the subject number, e.g.
    ``"/data/rois/subj{subject:02d}"``).

Image ids
---------
The ``.mat`` file is 1-based (MATLAB). Everywhere else in the toolkit an *NSD
id* is the 0-based index into the 73,000-image brick (the convention of
``nsd_stim_info_merged.csv`` and of the Algonauts file names), and a trial's
*image index* is the 0-based position in the subject's ``subjectim`` row.
:class:`NSDDesign` holds the 0-based arrays; the writer adds 1 and the reader
subtracts 1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError, DatasetNotFoundError, FileFormatError, InvalidParameterError
from neurokit.io.atomic import atomic_path, atomic_write_text
from neurokit.io.surface import write_mgh
from neurokit.mesh.levels import level_from_n_vertices
from neurokit.validation import check_int, check_option

HEMIS: tuple[str, str] = ("lh", "rh")
"""Hemisphere prefixes of NSD file names, left first."""

N_STIMULI = 73_000
"""Images in the NSD stimulus brick."""

TRIALS_PER_SESSION = 750
"""Trials per NSD scan session."""

COMPLETED_SESSIONS: dict[int, int] = {1: 40, 2: 40, 3: 32, 4: 30, 5: 40, 6: 32, 7: 40, 8: 30}
"""Sessions each NSD subject completed (the public release)."""

ROI_FAMILIES: dict[str, tuple[str, ...]] = {
    "prf-visualrois": ("V1v", "V1d", "V2v", "V2d", "V3v", "V3d", "hV4"),
    "floc-faces": ("OFA", "FFA-1", "FFA-2", "mTL-faces", "aTL-faces"),
    "floc-bodies": ("EBA", "FBA-1", "FBA-2", "mTL-bodies"),
    "floc-places": ("OPA", "PPA", "RSC"),
    "floc-words": ("OWFA", "VWFA-1", "VWFA-2", "mfs-words", "mTL-words"),
    "streams": ("early", "midventral", "midlateral", "midparietal", "ventral", "lateral", "parietal"),
    "nsdgeneral": ("nsdgeneral",),
}
"""NSD's ROI label files and the names in their colour tables (index = position + 1)."""

BETAS_VERSION = "betas_fithrf_GLMdenoise_RR"
STIMULI_DATASET = "imgBrick"
VOLUME_SCALE = 300.0
"""NSD's int16 volumetric betas hold percent signal change times this factor."""


def subject_dir_name(subject: int) -> str:
    """``subjXX`` for a subject number (1-based, as in NSD)."""
    subject = check_int(subject, "subject", minimum=1)
    return f"subj{subject:02d}"


@dataclass(frozen=True)
class NSDLayout:
    """Path templates of an NSD tree rooted at ``root``.

    Parameters
    ----------
    root : path-like
        The NSD root (the folder holding ``nsddata``, ``nsddata_betas`` and
        ``nsddata_stimuli``).
    roi_source : str or path-like
        ``"subject"``, ``"fsaverage"`` or a directory (template); see the module
        documentation.
    """

    root: Path
    roi_source: str | os.PathLike = "subject"

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # design and stimuli -----------------------------------------------------------
    @property
    def expdesign(self) -> Path:
        """``nsddata/experiments/nsd/nsd_expdesign.mat``."""
        return self.root / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"

    @property
    def stimuli(self) -> Path:
        """``nsddata_stimuli/stimuli/nsd/nsd_stimuli.hdf5``."""
        return self.root / "nsddata_stimuli" / "stimuli" / "nsd" / "nsd_stimuli.hdf5"

    # betas -------------------------------------------------------------------------
    def betas_dir(self, subject: int, space: str = "fsaverage") -> Path:
        """Folder of a subject's betas in ``space`` (``"fsaverage"`` or ``"func1pt8mm"``)."""
        check_option(space, "space", ("fsaverage", "func1pt8mm", "func1mm"))
        return self.root / "nsddata_betas" / "ppdata" / subject_dir_name(subject) / space / BETAS_VERSION

    def betas(self, subject: int, session: int, hemi: str) -> Path:
        """``{hemi}.betas_sessionNN.mgh`` on fsaverage."""
        session = check_int(session, "session", minimum=1)
        return self.betas_dir(subject) / f"{_hemi(hemi)}.betas_session{session:02d}.mgh"

    def volume_betas(self, subject: int, session: int, space: str = "func1pt8mm") -> Path:
        """``betas_sessionNN.nii.gz`` in a volumetric space."""
        session = check_int(session, "session", minimum=1)
        return self.betas_dir(subject, space) / f"betas_session{session:02d}.nii.gz"

    def ncsnr(self, subject: int, hemi: str) -> Path:
        """Published noise-ceiling SNR ``{hemi}.ncsnr.mgh`` on fsaverage."""
        return self.betas_dir(subject) / f"{_hemi(hemi)}.ncsnr.mgh"

    def sessions_present(self, subject: int) -> list[int]:
        """Session numbers with at least one hemisphere's fsaverage betas file, sorted."""
        folder = self.betas_dir(subject)
        if not folder.is_dir():
            return []
        found = set()
        for hemi in HEMIS:
            prefix = f"{hemi}.betas_session"
            for p in folder.glob(f"{prefix}*.mgh"):
                digits = p.name[len(prefix) : -len(".mgh")]
                if digits.isdigit():
                    found.add(int(digits))
        return sorted(found)

    def subjects_present(self) -> list[int]:
        """Subjects with an fsaverage betas folder, sorted."""
        base = self.root / "nsddata_betas" / "ppdata"
        if not base.is_dir():
            return []
        out = []
        for p in base.glob("subj[0-9][0-9]"):
            if (p / "fsaverage" / BETAS_VERSION).is_dir():
                out.append(int(p.name[4:]))
        return sorted(out)

    # ROIs --------------------------------------------------------------------------
    def roi_dir(self, subject: int | None) -> Path:
        """Folder the ROI labels of ``subject`` are read from (see ``roi_source``)."""
        src = self.roi_source
        if src == "subject":
            if subject is None:
                raise DataValidationError("roi_source='subject' needs a subject number")
            return self.root / "nsddata" / "freesurfer" / subject_dir_name(subject) / "label"
        if src == "fsaverage":
            return self.root / "nsddata" / "freesurfer" / "fsaverage" / "label"
        text = os.fspath(src)
        if "{" in text:
            if subject is None:
                raise DataValidationError(f"roi_source {text!r} needs a subject number")
            text = text.format(subject=int(subject))
        return Path(text)

    def roi_label(self, subject: int | None, name: str, hemi: str) -> Path:
        """Label file of ROI family ``name`` for one hemisphere."""
        suffix = "_fsaverage" if self.roi_source == "subject" else ""
        return self.roi_dir(subject) / f"{_hemi(hemi)}.{name}{suffix}.mgz"

    def roi_ctab(self, subject: int | None, name: str) -> Path:
        """Colour table ``<name>.mgz.ctab`` of ROI family ``name``."""
        return self.roi_dir(subject) / f"{name}.mgz.ctab"


# ------------------------------------------------------------------------------------
# the experimental design
# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NSDDesign:
    """NSD's experimental design, 0-based.

    Parameters
    ----------
    masterordering : ndarray of int, shape (n_trials,)
        For each trial (30,000 in NSD, the same order for every subject), the
        0-based index into the subject's image list (a column of ``subjectim``).
    subjectim : ndarray of int, shape (n_subjects, n_images_per_subject)
        0-based NSD ids (rows of the stimulus brick) of each subject's images;
        row ``s - 1`` is subject ``s``.
    sharedix : ndarray of int, shape (n_shared,)
        0-based NSD ids of the images every subject saw (the "shared1000").
    """

    masterordering: np.ndarray
    subjectim: np.ndarray
    sharedix: np.ndarray

    def __post_init__(self) -> None:
        mo = _int_array(self.masterordering, "masterordering", ndim=1)
        si = _int_array(self.subjectim, "subjectim", ndim=2)
        sh = _int_array(self.sharedix, "sharedix", ndim=1)
        if mo.size and (mo.min() < 0 or mo.max() >= si.shape[1]):
            raise DataValidationError(
                f"masterordering must index the {si.shape[1]} columns of subjectim (0-based), "
                f"got values in [{mo.min()}, {mo.max()}]"
            )
        for arr, name in ((si, "subjectim"), (sh, "sharedix")):
            if arr.size and arr.min() < 0:
                raise DataValidationError(f"{name} holds NSD ids, which are >= 0 (0-based); got {arr.min()}")
        object.__setattr__(self, "masterordering", mo)
        object.__setattr__(self, "subjectim", si)
        object.__setattr__(self, "sharedix", sh)

    @property
    def n_subjects(self) -> int:
        return int(self.subjectim.shape[0])

    def trial_nsd_ids(self, subject: int) -> np.ndarray:
        """0-based NSD id shown on every trial of ``subject``, shape (n_trials,)."""
        subject = check_int(subject, "subject", minimum=1)
        if subject > self.n_subjects:
            raise DataValidationError(f"subject {subject} is not in the design (it has {self.n_subjects} subjects)")
        return self.subjectim[subject - 1][self.masterordering]

    @classmethod
    def simulate(
        cls,
        n_subjects: int = 8,
        n_images: int = 10_000,
        n_shared: int = 1_000,
        n_repeats: int = 3,
        trials_per_session: int = TRIALS_PER_SESSION,
        n_stimuli: int = N_STIMULI,
        seed: int = 0,
        shared_pool: np.ndarray | None = None,
    ) -> "NSDDesign":
        """An NSD-like design: each subject sees ``n_images`` images ``n_repeats`` times.

        The first ``n_shared`` columns of ``subjectim`` are the shared images (as in
        NSD), the others are drawn without replacement from the remaining stimuli;
        the trial order is a random permutation of the ``n_images * n_repeats``
        trials, shared by all subjects (as ``masterordering`` is in NSD).

        Parameters
        ----------
        n_subjects, n_images, n_shared, n_repeats : int
            Design size; NSD is 8, 10,000, 1,000 and 3.
        trials_per_session : int
            Must divide ``n_images * n_repeats``.
        n_stimuli : int
            Size of the stimulus pool (NSD ids are drawn from ``0..n_stimuli - 1``);
            needs ``n_shared + n_subjects * (n_images - n_shared)`` ids.
        seed : int
            Seed of the random generator.
        shared_pool : ndarray of int, optional
            Stimulus ids the shared images are drawn from; the subjects' own
            images then come only from the other ids (e.g. a photo-disjoint
            split: shared test images from test photos only). Default: any id.
        """
        n_subjects = check_int(n_subjects, "n_subjects", minimum=1)
        n_images = check_int(n_images, "n_images", minimum=1)
        n_repeats = check_int(n_repeats, "n_repeats", minimum=1)
        trials_per_session = check_int(trials_per_session, "trials_per_session", minimum=1)
        n_stimuli = check_int(n_stimuli, "n_stimuli", minimum=1)
        n_shared = check_int(n_shared, "n_shared", minimum=0, maximum=n_images)
        check_int(seed, "seed", minimum=0)
        n_trials = n_images * n_repeats
        if n_trials % trials_per_session:
            raise InvalidParameterError(
                f"trials_per_session={trials_per_session} must divide n_images * n_repeats = {n_trials}"
            )
        needed = n_shared + n_subjects * (n_images - n_shared)
        if needed > n_stimuli:
            raise InvalidParameterError(f"the design needs {needed} distinct stimuli but n_stimuli={n_stimuli}")
        rng = np.random.default_rng(seed)
        if shared_pool is None:
            pool = rng.permutation(n_stimuli)[:needed]
            shared, rest = np.sort(pool[:n_shared]), pool[n_shared:]
        else:
            shared_pool = np.unique(np.asarray(shared_pool, dtype=np.int64))
            if shared_pool.size and (shared_pool[0] < 0 or shared_pool[-1] >= n_stimuli):
                raise DataValidationError(f"shared_pool ids must lie in 0..{n_stimuli - 1}")
            others = np.setdiff1d(np.arange(n_stimuli), shared_pool)
            if shared_pool.size < n_shared or others.size < needed - n_shared:
                raise DataValidationError(
                    f"shared_pool has {shared_pool.size} ids for {n_shared} shared images and leaves "
                    f"{others.size} for the {needed - n_shared} subject-specific ones"
                )
            shared = np.sort(rng.permutation(shared_pool)[:n_shared])
            rest = rng.permutation(others)[: needed - n_shared]
        rest = rest.reshape(n_subjects, n_images - n_shared)
        subjectim = np.concatenate([np.broadcast_to(shared, (n_subjects, n_shared)), rest], axis=1)
        order = rng.permutation(np.repeat(np.arange(n_images), n_repeats))
        return cls(order, subjectim, shared)


def read_design(path: str | os.PathLike) -> NSDDesign:
    """Read ``nsd_expdesign.mat`` (MATLAB v5 or v7.3) into a 0-based :class:`NSDDesign`.

    Raises
    ------
    DatasetNotFoundError
        If the file does not exist.
    FileFormatError
        If it cannot be read or lacks ``masterordering``, ``subjectim`` or ``sharedix``.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"NSD design file not found: expected {path}")
    fields = ("masterordering", "subjectim", "sharedix")
    try:
        import scipy.io

        raw = scipy.io.loadmat(path, variable_names=list(fields))
    except NotImplementedError:  # MATLAB v7.3 files are HDF5
        raw = _read_mat73(path, fields)
    except Exception as exc:  # scipy raises ValueError/TypeError/OSError on corrupt files
        raise FileFormatError(f"{path}: not a readable MATLAB .mat file ({exc})") from exc
    missing = [f for f in fields if f not in raw]
    if missing:
        raise FileFormatError(f"{path}: NSD design file lacks the variable(s) {', '.join(missing)}")
    out = {}
    for f in fields:
        arr = np.asarray(raw[f], dtype=np.float64)
        if f != "subjectim":
            arr = arr.ravel()
        if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)) or arr.min() < 1):
            raise FileFormatError(f"{path}: {f} must hold 1-based integer indices")
        out[f] = arr.astype(np.int64) - 1
    try:
        return NSDDesign(out["masterordering"], out["subjectim"], out["sharedix"])
    except DataValidationError as exc:
        raise FileFormatError(f"{path}: inconsistent design ({exc})") from exc


def _read_mat73(path: Path, fields: Sequence[str]) -> dict[str, np.ndarray]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            # MATLAB stores column-major, so h5py sees the transpose
            return {k: np.asarray(f[k]).T for k in fields if k in f}
    except OSError as exc:
        raise FileFormatError(f"{path}: not a readable MATLAB v7.3 (HDF5) .mat file ({exc})") from exc


# ------------------------------------------------------------------------------------
# colour tables
# ------------------------------------------------------------------------------------
def read_ctab(path: str | os.PathLike) -> dict[int, str]:
    """Read an NSD ``.mgz.ctab`` file: ``"index name"`` per line, index 0 = no ROI.

    Returns
    -------
    dict
        ``{index: name}`` for every line (index 0 included if present).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"ROI colour table not found: expected {path}")
    table: dict[int, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"{path}: cannot read colour table ({exc})") from exc
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        try:
            index = int(parts[0])
        except ValueError:
            raise FileFormatError(f"{path}, line {lineno}: expected 'index name', got {line!r}") from None
        if len(parts) < 2:
            raise FileFormatError(f"{path}, line {lineno}: index {index} has no name")
        table[index] = parts[1]
    return table


# ------------------------------------------------------------------------------------
# the writer
# ------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------
def _hemi(hemi: str) -> str:
    return check_option(hemi, "hemi", HEMIS)


def _int_array(value: Any, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise DataValidationError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(arr == np.round(arr)):
            raise DataValidationError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _vertex_array(arr: Any, what: str, ndim: int) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.ndim != ndim:
        raise DataValidationError(f"{what}: expected {ndim}-D array, got shape {arr.shape}")
    level_from_n_vertices(arr.shape[-1], both_hemispheres=True, what=what)
    return arr


def _split_hemis(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = arr.shape[-1] // 2
    return arr[..., :half], arr[..., half:]


__all__ = [
    "HEMIS",
    "N_STIMULI",
    "TRIALS_PER_SESSION",
    "COMPLETED_SESSIONS",
    "ROI_FAMILIES",
    "NSDLayout",
    "NSDDesign",
    "NSDWriter",
    "read_design",
    "read_ctab",
    "write_nsd_layout",
    "subject_dir_name",
]

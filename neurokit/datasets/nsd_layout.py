"""The Natural Scenes Dataset's on-disk layout: path templates, constants and colour tables.

This module is the one place that knows where NSD keeps its files. The reader
(:class:`neurokit.datasets.NSD`) and the writer
(:class:`~neurokit.datasets.nsd_writer.NSDWriter`,
:func:`~neurokit.datasets.nsd_writer.write_nsd_layout`) both go through
:class:`NSDLayout`, so a tree written by the toolkit cannot be told apart from
the public release by the reader. The experimental design is
:mod:`neurokit.datasets.nsd_design`.

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
from dataclasses import dataclass
from pathlib import Path

from neurokit.exceptions import DataValidationError, DatasetNotFoundError, FileFormatError
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
# helpers
# ------------------------------------------------------------------------------------
def _hemi(hemi: str) -> str:
    return check_option(hemi, "hemi", HEMIS)


__all__ = [
    "HEMIS",
    "N_STIMULI",
    "TRIALS_PER_SESSION",
    "COMPLETED_SESSIONS",
    "ROI_FAMILIES",
    "BETAS_VERSION",
    "STIMULI_DATASET",
    "VOLUME_SCALE",
    "NSDLayout",
    "read_ctab",
    "subject_dir_name",
]

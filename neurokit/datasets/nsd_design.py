"""NSD's experimental design (which image each trial showed), 0-based, and its ``nsd_expdesign.mat`` file.

The ``.mat`` file is 1-based (MATLAB); :class:`NSDDesign` holds 0-based
arrays (see "Image ids" in :mod:`neurokit.datasets.nsd_layout`): the writer
(:class:`~neurokit.datasets.nsd_writer.NSDWriter`) adds 1 and :func:`read_design`
subtracts 1. :meth:`NSDDesign.simulate` makes NSD-like designs for simulated data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.datasets.nsd_layout import N_STIMULI, TRIALS_PER_SESSION
from neurokit.exceptions import DataValidationError, DatasetNotFoundError, FileFormatError, InvalidParameterError
from neurokit.validation import check_int

__all__ = ["NSDDesign", "read_design"]


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


def _int_array(value: Any, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise DataValidationError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(arr == np.round(arr)):
            raise DataValidationError(f"{name} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)

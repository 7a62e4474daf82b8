"""Reader of the Algonauts 2023 challenge data (a repackaging of NSD), mapped back to fsaverage.

Per-subject layout (``root`` holds the ``subjXX`` folders)::

    subjXX/training_split/training_fmri/{lh,rh}_training_fmri.npy   (n_train, n_challenge_hemi) float
    subjXX/training_split/training_images/train-0001_nsd-00013.png
    subjXX/test_split/test_images/test-0001_nsd-00845.png
    subjXX/roi_masks/{lh,rh}.all-vertices_fsaverage_space.npy      (V,) 1 = in challenge space
    subjXX/roi_masks/{lh,rh}.<family>_challenge_space.npy          (n_challenge_hemi,) label index
    subjXX/roi_masks/{lh,rh}.<family>_fsaverage_space.npy          (V,) label index
    subjXX/roi_masks/mapping_<family>.npy                          {index: name}, a pickled dict

"Challenge space" is the subset of fsaverage vertices (nsdgeneral plus RSC)
whose mask is non-zero in ``{hemi}.all-vertices_fsaverage_space.npy``; its
columns are those vertices in increasing order. ``V`` is inferred from the
masks (163,842 in the release; any fsaverage level is accepted).

The NSD ids in the image file names are read as 0-based rows of NSD's
73,000-image brick (the toolkit's NSD id convention, see
:mod:`neurokit.datasets.nsd_layout`).

Safe loading
------------
Numeric ``.npy`` files are read with ``allow_pickle=False``. The
``mapping_<family>.npy`` files of the release are pickled 0-d object arrays
holding a dict; they are read by :func:`load_pickled_mapping`, which parses the
``.npy`` header itself and unpickles with a restricted unpickler that can only
rebuild numpy arrays, dtypes and scalars (``_reconstruct``, ``ndarray``,
``dtype``, ``scalar``); any other global (functions, ``os.system``, classes)
raises :class:`~neurokit.exceptions.FileFormatError`. The result must be a
dict from integers to strings. Plain ``.json`` files ``mapping_<family>.json``
(``{"1": "V1v", ...}``) are read in preference when present.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from neurokit.datasets.roots import dataset_root
from neurokit.exceptions import (
    DataValidationError,
    DatasetNotFoundError,
    FileFormatError,
    HemisphereMismatchError,
    ImageShapeError,
    VertexCountError,
)
from neurokit.io.containers import load_npy
from neurokit.mesh.levels import check_level, level_from_n_vertices, n_vertices
from neurokit.surface_data import SurfaceData
from neurokit.validation import check_int, check_option, is_integer

ENV_VAR = "NEUROKIT_ALGONAUTS_DIR"
"""Environment variable naming the Algonauts 2023 root when ``root`` is not given."""

HEMIS = ("lh", "rh")
ROI_FAMILIES = ("prf-visualrois", "floc-bodies", "floc-faces", "floc-places", "floc-words", "streams")
SPLITS = {"train": ("training_split", "training_images"), "test": ("test_split", "test_images")}
_IMAGE_NAME = re.compile(r"^(train|test)-(\d+)_nsd-(\d+)\.png$")


# ------------------------------------------------------------------------------------
# safe loading of the release's pickled mappings
# ------------------------------------------------------------------------------------
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")


def load_pickled_mapping(path: str | os.PathLike) -> dict[int, str]:
    """Read a ``.npy`` file holding a pickled ``{int: str}`` dict, without arbitrary unpickling.

    Parameters
    ----------
    path : path-like
        A file written by ``np.save(path, {0: "Unknown", 1: "V1v", ...})``.

    Returns
    -------
    dict
        ``{index: name}`` with Python ``int`` keys and ``str`` values.

    Raises
    ------
    FileFormatError
        If the file is not a 0-d object ``.npy`` file, its pickle references
        anything but numpy's array-rebuilding functions, or it does not hold a
        dict of integers to strings.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"ROI mapping not found: expected {path}")
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            if dtype != np.dtype(object):
                raise FileFormatError(f"{path}: expected a pickled dict (object array), got dtype {dtype}")
            payload = f.read()
        obj = _RestrictedUnpickler(io.BytesIO(payload)).load()
    except FileFormatError:
        raise
    except Exception as exc:  # UnpicklingError, ValueError, EOFError ...
        raise FileFormatError(f"{path}: not a safe pickled mapping ({exc})") from exc
    if isinstance(obj, np.ndarray):
        if obj.shape != ():
            raise FileFormatError(f"{path}: expected a 0-d array holding a dict, got shape {obj.shape}")
        obj = obj.item()
    if not isinstance(obj, dict):
        raise FileFormatError(f"{path}: expected a dict, got {type(obj).__name__}")
    out = {}
    for k, v in obj.items():
        if not is_integer(k) or not isinstance(v, str):
            raise FileFormatError(f"{path}: expected a dict of int -> str, got entry {k!r}: {v!r}")
        out[int(k)] = v
    return out


def _load_numeric(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetNotFoundError(f"{what} not found: expected {path}")
    return load_npy(path)


# ------------------------------------------------------------------------------------
# the reader
# ------------------------------------------------------------------------------------
class Algonauts2023:
    """Reader of the Algonauts 2023 challenge data.

    Parameters
    ----------
    root : path-like, optional
        Folder holding ``subj01`` ... ``subj08``. Defaults to
        ``$NEUROKIT_ALGONAUTS_DIR``, then ``$NILEARN_DATA/algonauts2023``, then
        ``~/nilearn_data/algonauts2023``.
    """

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        root = dataset_root(root, ENV_VAR, "algonauts2023")
        if not root.is_dir():
            raise DatasetNotFoundError(f"Algonauts 2023 root not found: {root} (pass root=..., or set ${ENV_VAR})")
        self.root = root

    def __repr__(self) -> str:
        return f"Algonauts2023(root={str(self.root)!r})"

    # paths ---------------------------------------------------------------------------
    def subject_dir(self, subject: int) -> Path:
        subject = check_int(subject, "subject", minimum=1)
        path = self.root / f"subj{subject:02d}"
        if not path.is_dir():
            raise DatasetNotFoundError(f"Algonauts subject {subject} not found: expected folder {path}")
        return path

    @property
    def subjects(self) -> list[int]:
        """Subjects with a ``subjXX`` folder."""
        return sorted(int(p.name[4:]) for p in self.root.glob("subj[0-9][0-9]") if p.is_dir())

    def _masks_dir(self, subject: int) -> Path:
        return self.subject_dir(subject) / "roi_masks"

    # challenge space ---------------------------------------------------------------------
    def challenge_masks(self, subject: int) -> tuple[np.ndarray, np.ndarray]:
        """Boolean fsaverage masks of the challenge space, ``(lh, rh)``, each shape (V,)."""
        masks = []
        for hemi in HEMIS:
            path = self._masks_dir(subject) / f"{hemi}.all-vertices_fsaverage_space.npy"
            arr = _load_numeric(path, "challenge-space mask")
            if arr.ndim != 1:
                raise FileFormatError(f"{path}: expected one value per vertex, got shape {arr.shape}")
            level_from_n_vertices(arr.size, what=str(path))
            masks.append(arr != 0)
        if masks[0].size != masks[1].size:
            raise HemisphereMismatchError(
                f"subject {subject}: lh mask has {masks[0].size:,} vertices but rh has {masks[1].size:,}"
            )
        return masks[0], masks[1]

    def level(self, subject: int) -> int:
        """Mesh level of the subject's fsaverage-space masks (7 for the release)."""
        return level_from_n_vertices(self.challenge_masks(subject)[0].size)

    def challenge_vertices(self, subject: int) -> np.ndarray:
        """fsaverage vertex of each challenge-space column, shape (n_lh + n_rh,).

        Indices are into the left-first ``2 * V`` vertex space.
        """
        lh, rh = self.challenge_masks(subject)
        return np.concatenate([np.flatnonzero(lh), lh.size + np.flatnonzero(rh)])

    # fMRI -------------------------------------------------------------------------------
    def training_fmri(
        self,
        subject: int,
        *,
        space: str = "fsaverage",
        level: int | None = None,
        fill: float = np.nan,
    ) -> SurfaceData | np.ndarray:
        """Training responses of ``subject``.

        Parameters
        ----------
        subject : int
            1-based subject number.
        space : {"fsaverage", "challenge"}
            ``"challenge"`` returns the files' columns as stored, float32
            (n_train, n_lh + n_rh); ``"fsaverage"`` scatters them onto fsaverage.
        level : int, optional
            For ``space="fsaverage"``: keep the first ``n_vertices(level)``
            vertices of each hemisphere (default: the masks' level).
        fill : float
            Value outside challenge space (default NaN).

        Returns
        -------
        SurfaceData or ndarray
            ``SurfaceData`` of shape (n_train, 2 * n_vertices(level)) for
            ``"fsaverage"``.
        """
        check_option(space, "space", ("fsaverage", "challenge"))
        masks = self.challenge_masks(subject)
        parts = []
        paths = [self.subject_dir(subject) / "training_split" / "training_fmri" / f"{hemi}_training_fmri.npy"
                 for hemi in HEMIS]
        for path, hemi, mask in zip(paths, HEMIS, masks):
            arr = _load_numeric(path, "training fMRI")
            if arr.ndim != 2 or arr.shape[1] != int(mask.sum()):
                raise VertexCountError(
                    f"{path}: expected shape (n_train, {int(mask.sum()):,}) to match "
                    f"{hemi}.all-vertices_fsaverage_space.npy, got {arr.shape}"
                )
            parts.append(arr.astype(np.float32, copy=False))
        if parts[0].shape[0] != parts[1].shape[0]:
            raise HemisphereMismatchError(
                f"subject {subject}: {paths[0]} has {parts[0].shape[0]} images but {paths[1]} has {parts[1].shape[0]}"
            )
        if space == "challenge":
            return np.concatenate(parts, axis=1)
        file_level = level_from_n_vertices(masks[0].size)
        level = file_level if level is None else check_level(level)
        if level > file_level:
            raise VertexCountError(f"subject {subject}: masks are at level {file_level}; cannot give level {level}")
        n = n_vertices(level)
        out = np.full((parts[0].shape[0], 2 * n), fill, dtype=np.float32)
        for h, (mask, arr) in enumerate(zip(masks, parts)):
            idx = np.flatnonzero(mask)
            keep = idx < n
            out[:, h * n + idx[keep]] = arr[:, keep]
        return SurfaceData(out, level, f"Algonauts 2023 subject {subject} training fMRI")

    # images --------------------------------------------------------------------------------
    def image_paths(self, subject: int, split: str = "train") -> list[Path]:
        """PNG files of ``split`` (``"train"`` or ``"test"``), in file-name order."""
        check_option(split, "split", SPLITS)
        folder = self.subject_dir(subject).joinpath(*SPLITS[split])
        if not folder.is_dir():
            raise DatasetNotFoundError(f"Algonauts subject {subject}: expected image folder {folder}")
        paths = sorted(p for p in folder.iterdir() if p.suffix == ".png")
        for p in paths:
            m = _IMAGE_NAME.match(p.name)
            if not m or m.group(1) != split:
                raise FileFormatError(f"{p}: expected a name like {split}-0001_nsd-00013.png")
        return paths

    def image_ids(self, subject: int, split: str = "train") -> np.ndarray:
        """0-based NSD ids of the ``split`` images, from their file names, shape (n,)."""
        return np.array(
            [int(_IMAGE_NAME.match(p.name).group(3)) for p in self.image_paths(subject, split)], dtype=np.int64
        )

    def images(
        self, subject: int, split: str = "train", *, indices: Sequence[int] | None = None, size: int | None = None
    ) -> np.ndarray:
        """Images of ``split`` as float32 (n, H, W, 3) in [0, 1], optionally resized to ``size x size``."""
        from PIL import Image

        size = check_int(size, "size", minimum=1, allow_none=True)
        paths = self.image_paths(subject, split)
        if indices is not None:
            idx = np.asarray(indices)
            if idx.ndim != 1 or idx.dtype.kind not in "iu" or (idx.size and (idx.min() < 0 or idx.max() >= len(paths))):
                raise DataValidationError(f"indices must be integers in 0..{len(paths) - 1}")
            paths = [paths[i] for i in idx]
        out = []
        for p in paths:
            try:
                with Image.open(p) as im:
                    im = im.convert("RGB")
                    if size is not None:
                        im = im.resize((int(size), int(size)), Image.Resampling.BICUBIC)
                    out.append(np.asarray(im, dtype=np.float32) / 255.0)
            except OSError as exc:
                raise FileFormatError(f"{p}: not a readable image ({exc})") from exc
        if not out:
            return np.zeros((0, size or 0, size or 0, 3), dtype=np.float32)
        shapes = {a.shape for a in out}
        if len(shapes) > 1:
            raise ImageShapeError(f"subject {subject} {split} images differ in size {sorted(shapes)}; pass size=...")
        return np.clip(np.stack(out), 0.0, 1.0)

    # ROIs -----------------------------------------------------------------------------------
    def roi_mapping(self, subject: int, family: str) -> dict[int, str]:
        """``{index: name}`` of ROI ``family`` (0 = no ROI), read safely (see module docs)."""
        base = self._masks_dir(subject)
        js = base / f"mapping_{family}.json"
        if js.is_file():
            try:
                return {int(k): str(v) for k, v in json.loads(js.read_text(encoding="utf-8")).items()}
            except (ValueError, AttributeError) as exc:
                raise FileFormatError(f"{js}: expected a JSON object of index -> name ({exc})") from exc
        return load_pickled_mapping(base / f"mapping_{family}.npy")

    def roi_labels(self, subject: int, family: str, space: str = "fsaverage") -> np.ndarray:
        """Label index per vertex of ROI ``family``, left first: (2 * V,) or (n_lh + n_rh,) in challenge space."""
        check_option(space, "space", ("fsaverage", "challenge"))
        masks = self.challenge_masks(subject)
        parts = []
        for hemi, mask in zip(HEMIS, masks):
            path = self._masks_dir(subject) / f"{hemi}.{family}_{space}_space.npy"
            arr = _load_numeric(path, f"ROI mask {family!r}")
            expected = mask.size if space == "fsaverage" else int(mask.sum())
            if arr.shape != (expected,):
                raise VertexCountError(f"{path}: expected {expected:,} values ({space} space), got shape {arr.shape}")
            parts.append(np.round(arr).astype(np.int32))
        return np.concatenate(parts)

    def roi_mask(
        self, subject: int, roi: str, *, family: str | None = None, space: str = "fsaverage", level: int | None = None
    ) -> np.ndarray:
        """Boolean mask of ``roi`` (a family name, or a single ROI such as ``"FFA-1"``).

        Parameters
        ----------
        family : str, optional
            Family to look ``roi`` up in; by default every family is searched.
        space : {"fsaverage", "challenge"}
        level : int, optional
            For fsaverage space, slice to this coarser level.

        Returns
        -------
        ndarray of bool, shape (2 * n_vertices(level),) or (n_lh + n_rh,)
        """
        if roi in ROI_FAMILIES and family is None:
            mask = self.roi_labels(subject, roi, space) > 0
        else:
            for fam in [family] if family else ROI_FAMILIES:
                if not (self._masks_dir(subject) / f"lh.{fam}_{space}_space.npy").is_file():
                    continue
                table = self.roi_mapping(subject, fam)
                hits = [k for k, v in table.items() if v == roi and k > 0]
                if hits:
                    mask = self.roi_labels(subject, fam, space) == hits[0]
                    break
            else:
                raise DataValidationError(
                    f"ROI {roi!r} not found in the mappings of subject {subject} (families: {', '.join(ROI_FAMILIES)})"
                )
        if space == "fsaverage" and level is not None:
            half = mask.size // 2
            n = n_vertices(check_level(level))
            if n > half:
                raise VertexCountError(f"ROI masks are at {half:,} vertices per hemisphere; level {level} needs {n:,}")
            mask = np.concatenate([mask[:n], mask[half : half + n]])
        return mask


__all__ = ["Algonauts2023", "load_pickled_mapping", "ENV_VAR", "ROI_FAMILIES"]

"""Read and write data on the fsaverage surface: MGH/MGZ, GIfTI, ``.npy`` and nilearn ``SurfaceImage``.

Every reader returns float32 arrays shaped ``(n_samples, n_vertices)`` (one
hemisphere) or a :class:`~neurokit.surface_data.SurfaceData` (both
hemispheres, left first), checks that the vertex count is an fsaverage level,
that left and right files really are left and right, and that values are
finite unless ``allow_nan=True``. Whatever goes wrong inside nibabel, numpy,
gzip or the XML parser comes out as a :class:`~neurokit.exceptions.FileFormatError`
naming the file; a missing file raises
:class:`~neurokit.exceptions.DatasetNotFoundError` (a ``FileNotFoundError``).

Layouts
-------
MGH/MGZ
    Frames of a ``(V, 1, 1[, T])`` volume become samples, ``(T, V)``; the
    format is read and written by :mod:`neurokit.io.mgh`.
GIfTI
    One sample per data array (a 2-D array ``(V, k)`` is ``k`` samples);
    files holding a mesh are refused; see :mod:`neurokit.io.gifti`.
``.npy``
    ``(V,)``, ``(n_samples, V)`` for one hemisphere, or ``(n_samples, 2 V)`` for
    both; loaded with ``allow_pickle=False``.
nilearn ``SurfaceImage``
    Converted by :mod:`neurokit.io.surface_image`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurokit.exceptions import (
    DataValidationError,
    DatasetNotFoundError,
    FileFormatError,
    HemisphereMismatchError,
    InvalidParameterError,
    UnsupportedFormatError,
    VertexCountError,
)
from neurokit.io.atomic import atomic_path
from neurokit.io.containers import existing_file, load_npy
from neurokit.io.gifti import read_gifti, save_gifti
from neurokit.io.mgh import read_mgh, save_mgh
from neurokit.io.surface_image import from_surface_image, is_surface_image
from neurokit.mesh.levels import level_from_n_vertices, n_vertices
from neurokit.surface_data import SurfaceData, check_finite
from neurokit.validation import check_option

__all__ = [
    "SURFACE_FORMATS",
    "detect_hemisphere",
    "read_surface_array",
    "read_hemisphere",
    "read_hemispheres",
    "read_surface_data",
    "write_mgh",
    "write_gifti",
    "write_npy",
    "write_hemisphere",
    "write_surface_data",
]

#: File name endings the surface readers and writers understand.
SURFACE_FORMATS: tuple[str, ...] = (".mgh", ".mgz", ".gii", ".gii.gz", ".npy")

Hemisphere = Literal["left", "right"]
PathLike = str | os.PathLike

_HEMI_PATTERNS = (
    (re.compile(r"hemi-([LR])(?=[._-]|$)", re.IGNORECASE), {"l": "left", "r": "right"}),
    (re.compile(r"(?:^|[._-])(lh|rh)(?=[._-]|$)", re.IGNORECASE), {"lh": "left", "rh": "right"}),
    (re.compile(r"(?:^|[._-])(left|right)(?=[._-]|$)", re.IGNORECASE), {"left": "left", "right": "right"}),
)
_OTHER = {"left": "right", "right": "left"}


# ------------------------------------------------------------------------------- helpers
def _format_of(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(SURFACE_FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    hint = ""
    if name.endswith((".nii", ".nii.gz")):
        hint = " (for volumes use neurokit.io.read_volume or project_volume_to_surface)"
    raise UnsupportedFormatError(
        f"{path}: unsupported surface data format; supported endings are {', '.join(SURFACE_FORMATS)}{hint}"
    )


def detect_hemisphere(path: PathLike) -> Hemisphere | None:
    """Guess the hemisphere from a file name.

    Recognises FreeSurfer prefixes (``lh.``/``rh.``), BIDS entities
    (``hemi-L``/``hemi-R``) and ``left``/``right`` words separated by ``.``,
    ``_`` or ``-`` (case-insensitive), in the file name only (not folders).

    Parameters
    ----------
    path : str or path-like
        File name or path.

    Returns
    -------
    {'left', 'right'} or None
        ``None`` when the name says nothing, or says both.
    """
    name = Path(os.fspath(path)).name
    found: set[str] = set()
    for pattern, mapping in _HEMI_PATTERNS:
        for match in pattern.finditer(name):
            found.add(mapping[match.group(1).lower()])
    return found.pop() if len(found) == 1 else None  # type: ignore[return-value]


def _as_2d(values: np.ndarray, path: Path) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype.kind not in "fiub":
        raise FileFormatError(f"{path}: expected numeric data, got dtype {values.dtype}")
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise FileFormatError(f"{path}: expected (n_vertices,) or (n_samples, n_vertices) data, got shape {values.shape}")
    return np.ascontiguousarray(values, dtype=np.float32)


def _read_mgh(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    values, shape = read_mgh(path)
    return _as_2d(values, path), {"format": "mgh", "original_shape": shape}


def _read_gifti(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    values, meta = read_gifti(path)
    return _as_2d(values, path), meta


def _read_npy(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    return _as_2d(load_npy(path), path), {"format": "npy"}


_READERS = {".mgh": _read_mgh, ".mgz": _read_mgh, ".gii": _read_gifti, ".gii.gz": _read_gifti, ".npy": _read_npy}


def _read_raw(path: PathLike) -> tuple[np.ndarray, dict[str, Any], Path]:
    path = Path(os.fspath(path))
    fmt = _format_of(path)
    path = existing_file(path, "surface data")
    values, meta = _READERS[fmt](path)
    return values, meta, path


# ------------------------------------------------------------------------------- readers
def read_surface_array(path: PathLike) -> np.ndarray:
    """Read a surface data file as it is, without fsaverage or finiteness checks.

    Parameters
    ----------
    path : str or path-like
        An ``.mgh``, ``.mgz``, ``.gii``, ``.gii.gz`` or ``.npy`` file.

    Returns
    -------
    ndarray of shape (n_samples, n_vertices), float32
        Frames, GIfTI data arrays or ``.npy`` rows as samples.

    Raises
    ------
    DatasetNotFoundError
        If the file does not exist.
    UnsupportedFormatError
        If the extension is not one of :data:`SURFACE_FORMATS`.
    FileFormatError
        If the file is truncated, corrupt, or holds a mesh instead of data.
    """
    return _read_raw(path)[0]


def _check_hemi_argument(hemi: str | None) -> Hemisphere | None:
    if hemi is None:
        return None
    aliases = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right", "r": "right"}
    key = str(hemi).lower()
    if key not in aliases:
        raise InvalidParameterError(f"hemi must be 'left' or 'right' (or lh/rh, L/R), got {hemi!r}")
    return aliases[key]  # type: ignore[return-value]


def _check_hemisphere(path: Path, meta: dict[str, Any], expected: Hemisphere | None) -> Hemisphere | None:
    by_name = detect_hemisphere(path)
    by_meta = meta.get("hemisphere")
    if by_name and by_meta and by_name != by_meta:
        raise HemisphereMismatchError(
            f"{path}: the file name says {by_name} hemisphere but its GIfTI AnatomicalStructurePrimary says {by_meta}"
        )
    found = by_meta or by_name
    if expected and found and found != expected:
        raise HemisphereMismatchError(f"{path}: expected {expected} hemisphere data but the file is labelled {found}")
    return expected or found


def read_hemisphere(
    path: PathLike, *, hemi: str | None = None, level: int | None = None, allow_nan: bool = False
) -> np.ndarray:
    """Read one hemisphere of fsaverage data.

    Parameters
    ----------
    path : str or path-like
        An ``.mgh``, ``.mgz``, ``.gii``, ``.gii.gz`` or ``.npy`` file.
    hemi : {'left', 'right'}, optional
        The hemisphere the file must hold. It is checked against the file name
        (``lh.``/``rh.``, ``hemi-L``/``hemi-R``, ``_left``/``_right``) and
        GIfTI's ``AnatomicalStructurePrimary``.
    level : int, optional
        The mesh level the data must be on; by default any fsaverage level.
    allow_nan : bool, default False
        Accept NaN/inf values instead of raising.

    Returns
    -------
    ndarray of shape (n_samples, n_vertices(level)), float32

    Raises
    ------
    VertexCountError
        If the vertex count is not an fsaverage level (or not ``level``).
    HemisphereMismatchError
        If the file is labelled as the other hemisphere.
    NonFiniteDataError
        If values are NaN or infinite and ``allow_nan`` is false.
    FileFormatError, UnsupportedFormatError, DatasetNotFoundError
        See :func:`read_surface_array`.
    """
    expected = _check_hemi_argument(hemi)
    values, meta, path = _read_raw(path)
    _check_hemisphere(path, meta, expected)
    found_level = level_from_n_vertices(values.shape[1], what=str(path))
    if level is not None and found_level != level:
        raise VertexCountError(
            f"{path}: expected level {level} ({n_vertices(level):,} vertices), got {values.shape[1]:,} "
            f"vertices (level {found_level})"
        )
    if not allow_nan:
        check_finite(values, str(path))
    return values


def read_hemispheres(left_path: PathLike, right_path: PathLike, *, allow_nan: bool = False) -> SurfaceData:
    """Read a left and a right hemisphere file into one :class:`SurfaceData`.

    Parameters
    ----------
    left_path, right_path : str or path-like
        Files in any of :data:`SURFACE_FORMATS` (they may differ).
    allow_nan : bool, default False
        Accept NaN/inf values instead of raising.

    Returns
    -------
    SurfaceData
        ``data`` of shape (n_samples, 2 * n_vertices(level)), left first.

    Raises
    ------
    HemisphereMismatchError
        If a file is labelled as the other hemisphere (two left files, swapped
        order), or the two differ in level or number of samples.
    VertexCountError, NonFiniteDataError, FileFormatError, DatasetNotFoundError
        See :func:`read_hemisphere`.
    """
    if Path(os.fspath(left_path)).resolve() == Path(os.fspath(right_path)).resolve():
        raise HemisphereMismatchError(f"{left_path}: the same file was given for both hemispheres")
    named = (detect_hemisphere(left_path), detect_hemisphere(right_path))
    if named == ("right", "left"):
        raise HemisphereMismatchError(
            f"{left_path}, {right_path}: left and right look swapped; pass the left hemisphere first"
        )
    if named[0] is not None and named[0] == named[1]:
        raise HemisphereMismatchError(f"{left_path}, {right_path}: both files are labelled {named[0]} hemisphere")
    left = read_hemisphere(left_path, hemi="left", allow_nan=allow_nan)
    right = read_hemisphere(right_path, hemi="right", allow_nan=allow_nan)
    source = f"{os.fspath(left_path)} + {os.fspath(right_path)}"
    return SurfaceData.from_hemispheres(
        left, right, source=source, allow_nan=allow_nan,
        meta={"left_path": os.fspath(left_path), "right_path": os.fspath(right_path)},
    )


def _partner(path: Path, hemi: Hemisphere) -> Path:
    """The file name of the other hemisphere, by swapping the hemisphere token."""
    other = _OTHER[hemi]
    swaps = {
        "left": {"lh": "rh", "LH": "RH", "L": "R", "l": "r", "left": "right", "Left": "Right", "LEFT": "RIGHT"},
        "right": {"rh": "lh", "RH": "LH", "R": "L", "r": "l", "right": "left", "Right": "Left", "RIGHT": "LEFT"},
    }[hemi]
    name = path.name
    for pattern, mapping in _HEMI_PATTERNS:
        def repl(match: re.Match) -> str:
            token = match.group(1)
            if mapping[token.lower()] != hemi:
                return match.group(0)
            whole = match.group(0)
            offset = match.start(1) - match.start(0)
            return whole[:offset] + swaps.get(token, token) + whole[offset + len(token):]

        name = pattern.sub(repl, name)
    partner = path.with_name(name)
    if partner == path or detect_hemisphere(partner) != other:
        raise DataValidationError(
            f"{path}: cannot derive the {other} hemisphere's file name; pass both files "
            "(read_hemispheres(left_path, right_path))"
        )
    return partner


def read_surface_data(
    source: PathLike | Sequence[PathLike] | Any, *, hemi: str | None = None, allow_nan: bool = False
) -> SurfaceData:
    """Read fsaverage data on both hemispheres from files or a nilearn ``SurfaceImage``.

    Parameters
    ----------
    source : path, (left_path, right_path) or nilearn.surface.SurfaceImage
        * a pair of paths: read with :func:`read_hemispheres` (left first);
        * one path holding both hemispheres (``.npy`` of shape
          ``(n_samples, 2 * n_vertices)``, left first);
        * one path holding one hemisphere (named ``lh.``/``rh.``,
          ``hemi-L``/``hemi-R`` or ``_left``/``_right``, or declared with
          ``hemi``): the other hemisphere's file is found by swapping that
          token in the name and must exist;
        * a ``SurfaceImage``: see :func:`from_surface_image`.
    hemi : {'left', 'right'}, optional
        For a single one-hemisphere path whose name does not say it.
    allow_nan : bool, default False
        Accept NaN/inf values instead of raising.

    Returns
    -------
    SurfaceData

    Raises
    ------
    HemisphereMismatchError, VertexCountError, NonFiniteDataError,
    FileFormatError, UnsupportedFormatError, DatasetNotFoundError
        See :func:`read_hemisphere`.
    """
    if is_surface_image(source):
        return from_surface_image(source, allow_nan=allow_nan)
    if isinstance(source, (list, tuple)):
        if len(source) != 2:
            raise DataValidationError(
                f"source: expected a path or a (left_path, right_path) pair, got {len(source)} paths"
            )
        if hemi is not None:
            raise DataValidationError("hemi: only meaningful for a single one-hemisphere path")
        return read_hemispheres(source[0], source[1], allow_nan=allow_nan)
    if not isinstance(source, (str, os.PathLike)):
        raise DataValidationError(
            f"source: expected a path, a (left, right) pair of paths or a nilearn SurfaceImage, "
            f"got {type(source).__name__}"
        )
    path = Path(os.fspath(source))
    declared = _check_hemi_argument(hemi)
    named = detect_hemisphere(path)
    if declared is None and named is None:
        values, meta, path = _read_raw(path)
        if "hemisphere" in meta:
            raise DataValidationError(
                f"{path}: holds the {meta['hemisphere']} hemisphere only; pass both files "
                "(read_hemispheres(left_path, right_path))"
            )
        data = SurfaceData.from_array(values, source=str(path), allow_nan=allow_nan)
        return SurfaceData(data.data, data.level, str(path), {"path": str(path)})
    this = _check_hemisphere(path, {}, declared)
    assert this is not None
    other_path = _partner(path, this)
    if not other_path.exists():
        raise DatasetNotFoundError(
            f"{path}: holds the {this} hemisphere; the {_OTHER[this]} hemisphere was expected at {other_path}"
        )
    left, right = (path, other_path) if this == "left" else (other_path, path)
    return read_hemispheres(left, right, allow_nan=allow_nan)


# ------------------------------------------------------------------------------- writers
def _hemisphere_array(data: Any, what: str, dtype: Any = np.float32) -> np.ndarray:
    values = np.asarray(data)
    if values.dtype.kind not in "fiub":
        raise DataValidationError(f"{what}: expected numeric data, got dtype {values.dtype}")
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2:
        raise DataValidationError(f"{what}: expected (n_vertices,) or (n_samples, n_vertices), got shape {values.shape}")
    level_from_n_vertices(values.shape[1], what=what)
    return np.ascontiguousarray(values, dtype=dtype)


def write_mgh(path: PathLike, data: Any, *, dtype: Any = np.float32) -> Path:
    """Write one hemisphere to an ``.mgh`` or ``.mgz`` file in NSD's layout, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination ending in ``.mgh`` or ``.mgz`` (gzip-compressed).
    data : array-like of shape (n_vertices,) or (n_samples, n_vertices)
        Values of one hemisphere (an fsaverage vertex count).
    dtype : {float32, int32}, default float32
        The type stored: float32 for data, int32 for label files (FreeSurfer's
        ``INT``).

    Returns
    -------
    pathlib.Path

    Notes
    -----
    Samples are written as frames of a ``(V, 1, 1, T)`` volume, the layout of
    NSD's ``{lh,rh}.betas_sessionNN.mgh``. The MGH header always stores four
    dimensions, so for one sample this is byte-for-byte FreeSurfer's usual
    ``(V, 1, 1)`` overlay (nibabel reports it as 3-D).
    """
    path = Path(os.fspath(path))
    if _format_of(path) not in (".mgh", ".mgz"):
        raise UnsupportedFormatError(f"{path}: write_mgh writes .mgh or .mgz files")
    try:
        stored = np.dtype(dtype).name
    except TypeError:
        stored = dtype
    stored = check_option(stored, "dtype", ("float32", "int32"))
    values = _hemisphere_array(data, str(path), dtype=stored)
    volume = values.T[:, None, None, :]
    if values.shape[0] == 1:
        volume = volume[..., 0]
    return save_mgh(path, volume)


def write_gifti(path: PathLike, data: Any, *, hemi: str | None = None) -> Path:
    """Write one hemisphere to a GIfTI file, one data array per sample, atomically.

    Parameters
    ----------
    path : str or path-like
        Destination ending in ``.gii`` (e.g. ``lh.x.func.gii``) or ``.gii.gz``.
    data : array-like of shape (n_vertices,) or (n_samples, n_vertices)
        Values of one hemisphere, stored as float32, base64+gzip encoded.
    hemi : {'left', 'right'}, optional
        Recorded as ``AnatomicalStructurePrimary`` (``CortexLeft`` /
        ``CortexRight``); taken from the file name when not given.

    Returns
    -------
    pathlib.Path
    """
    path = Path(os.fspath(path))
    if _format_of(path) not in (".gii", ".gii.gz"):
        raise UnsupportedFormatError(f"{path}: write_gifti writes .gii or .gii.gz files")
    values = _hemisphere_array(data, str(path))
    side = _check_hemi_argument(hemi)
    _check_hemisphere(path, {}, side)
    return save_gifti(path, values, hemi=side or detect_hemisphere(path))


def write_npy(path: PathLike, data: Any) -> Path:
    """Write surface data to ``.npy`` (float32, no pickle), atomically.

    Parameters
    ----------
    path : str or path-like
        Destination ending in ``.npy``.
    data : array-like of shape (n_vertices,), (n_samples, n_vertices) or (n_samples, 2 * n_vertices)
        One hemisphere, or both (left first).
    """
    path = Path(os.fspath(path))
    if _format_of(path) != ".npy":
        raise UnsupportedFormatError(f"{path}: write_npy writes .npy files")
    values = np.asarray(data)
    if values.ndim == 1:
        values = values[None, :]
    if values.ndim != 2 or values.dtype.kind not in "fiub":
        raise DataValidationError(f"{path}: expected a numeric (n_samples, n_vertices) array, got {values.dtype} {values.shape}")
    try:
        level_from_n_vertices(values.shape[1], what=str(path))
    except VertexCountError:
        level_from_n_vertices(values.shape[1], both_hemispheres=True, what=str(path))
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.ascontiguousarray(values, dtype=np.float32), allow_pickle=False)
    return path


def write_hemisphere(path: PathLike, data: Any, *, hemi: str | None = None) -> Path:
    """Write one hemisphere in the format the extension of ``path`` names.

    See :func:`write_mgh`, :func:`write_gifti` and :func:`write_npy`.
    """
    path = Path(os.fspath(path))
    fmt = _format_of(path)
    side = _check_hemi_argument(hemi)
    if fmt in (".mgh", ".mgz"):
        _check_hemisphere(path, {}, side)
        return write_mgh(path, data)
    if fmt in (".gii", ".gii.gz"):
        return write_gifti(path, data, hemi=side)
    _check_hemisphere(path, {}, side)
    _hemisphere_array(data, str(path))
    return write_npy(path, data)


def write_surface_data(
    surface_data: SurfaceData, left_path: PathLike, right_path: PathLike | None = None
) -> tuple[Path, ...]:
    """Write :class:`SurfaceData` to a pair of hemisphere files (or one ``.npy``), atomically.

    Parameters
    ----------
    surface_data : SurfaceData
        The data to write.
    left_path, right_path : str or path-like
        Destinations of the left and right hemisphere, in any of
        :data:`SURFACE_FORMATS`. With ``right_path=None``, ``left_path`` must
        end in ``.npy`` and receives both hemispheres, shape
        ``(n_samples, 2 * n_vertices)``, left first.

    Returns
    -------
    tuple of pathlib.Path
        The files written.

    Raises
    ------
    HemisphereMismatchError
        If a file name says the other hemisphere.
    """
    if not isinstance(surface_data, SurfaceData):
        raise DataValidationError(f"surface_data: expected SurfaceData, got {type(surface_data).__name__}")
    if right_path is None:
        path = Path(os.fspath(left_path))
        if _format_of(path) != ".npy":
            raise UnsupportedFormatError(
                f"{path}: a single file for both hemispheres must be .npy; give left_path and right_path otherwise"
            )
        return (write_npy(path, surface_data.data),)
    # check both names before writing anything, so a mismatch leaves no half-written pair
    for path, side in ((left_path, "left"), (right_path, "right")):
        _format_of(Path(os.fspath(path)))
        _check_hemisphere(Path(os.fspath(path)), {}, side)  # type: ignore[arg-type]
    return (
        write_hemisphere(left_path, surface_data.left, hemi="left"),
        write_hemisphere(right_path, surface_data.right, hemi="right"),
    )

"""GIfTI files of data on a surface: the one reader and writer of the format, built on nibabel.

Each data array is one sample (``task.func.gii`` with 10 arrays of 642 values
is 10 samples); a 2-D data array ``(V, k)`` is ``k`` samples. Files that hold
a mesh (pointset/triangle arrays) are refused. The bytes are checked before
nibabel parses them (:func:`neurokit.io.containers.check_gifti_bytes`), a
``.gii.gz`` is read to the end of its gzip stream, and every data array is
checked against the dimensions it declares; any failure inside nibabel or the
XML parser comes out as a :class:`~neurokit.exceptions.FileFormatError`
naming the file. Writing is atomic (:func:`neurokit.io.atomic.atomic_path`).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurokit.exceptions import FileFormatError
from neurokit.io.atomic import atomic_path
from neurokit.io.containers import check_gifti_bytes, is_gzip_name, read_gzip, reading

__all__ = ["read_gifti", "save_gifti"]

_STRUCTURES = {"cortexleft": "left", "cortexright": "right"}
_MESH_INTENTS = {"NIFTI_INTENT_POINTSET", "NIFTI_INTENT_TRIANGLE"}


def _load(path: Path):
    import nibabel as nib

    raw = read_gzip(path) if is_gzip_name(path) else path.read_bytes()
    check_gifti_bytes(path, raw)
    with reading(path, "GIfTI"):
        return nib.gifti.GiftiImage.from_bytes(raw)


def _values(path: Path, darray: Any) -> np.ndarray:
    """The data of one GIfTI data array, checked against the dimensions it declares."""
    dims = tuple(int(d) for d in darray.dims)
    values = np.asarray(darray.data)
    if not dims or any(d < 1 for d in dims) or values.size != int(np.prod(dims, dtype=object)):
        raise FileFormatError(
            f"{path}: corrupt GIfTI data array: it declares dimensions {dims} but holds {values.size:,} values"
        )
    return values


def read_gifti(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    """Read the data arrays of a ``.gii`` or ``.gii.gz`` file as samples.

    Parameters
    ----------
    path : str or path-like
        An existing GIfTI file (gzip-compressed when it ends in ``.gz``).

    Returns
    -------
    values : ndarray of shape (n_samples, n_vertices)
        One row per 1-D data array, ``k`` rows per ``(V, k)`` data array, in
        the arrays' dtype.
    meta : dict
        ``"format": "gifti"``, ``"intents"`` (the sorted NIfTI intent names)
        and ``"hemisphere"`` (``'left'``/``'right'``) when the file's
        ``AnatomicalStructurePrimary`` says it.

    Raises
    ------
    FileFormatError
        If the file is corrupt, holds a mesh or no data arrays, or its arrays
        differ in length or have more than two dimensions.
    """
    from nibabel.nifti1 import intent_codes

    path = Path(os.fspath(path))
    img = _load(path)
    meta: dict[str, Any] = {"format": "gifti"}
    with reading(path, "GIfTI"):
        structure = (img.meta.get("AnatomicalStructurePrimary") or "").strip().lower()
        arrays = []
        intents = []
        for darray in img.darrays:
            intent_name = intent_codes.niistring[darray.intent]
            if intent_name in _MESH_INTENTS:
                raise FileFormatError(
                    f"{path}: holds a surface mesh ({intent_name}), not data on a surface; "
                    "load meshes with nibabel or neurokit.mesh"
                )
            values = _values(path, darray)
            if not structure:
                structure = (darray.meta.get("AnatomicalStructurePrimary") or "").strip().lower()
            arrays.append(values)
            intents.append(intent_name)
    if not arrays:
        raise FileFormatError(f"{path}: GIfTI file holds no data arrays")
    samples = []
    for values in arrays:
        if values.ndim == 1:
            samples.append(values[None, :])
        elif values.ndim == 2:
            samples.append(values.T)  # GIfTI rows are vertices
        else:
            raise FileFormatError(f"{path}: GIfTI data array of shape {values.shape}; expected 1-D or 2-D")
    sizes = {s.shape[1] for s in samples}
    if len(sizes) != 1:
        raise FileFormatError(f"{path}: GIfTI data arrays have different lengths {sorted(sizes)}")
    meta["intents"] = sorted(set(intents))
    if structure in _STRUCTURES:
        meta["hemisphere"] = _STRUCTURES[structure]
    return np.concatenate(samples, axis=0), meta


def save_gifti(path: str | os.PathLike, values: np.ndarray, *, hemi: Literal["left", "right"] | None = None) -> Path:
    """Write samples as float32 GIfTI data arrays (base64 + gzip encoded), atomically.

    Parameters
    ----------
    path : str or path-like
        Destination; a name ending in ``.gz`` is gzip-compressed as a whole.
    values : ndarray of shape (n_samples, n_vertices)
        One data array per row.
    hemi : {'left', 'right'}, optional
        Recorded as ``AnatomicalStructurePrimary`` (``CortexLeft`` / ``CortexRight``).

    Returns
    -------
    pathlib.Path
    """
    import nibabel as nib

    path = Path(os.fspath(path))
    meta = {"AnatomicalStructurePrimary": {"left": "CortexLeft", "right": "CortexRight"}[hemi]} if hemi else {}
    darrays = [
        nib.gifti.GiftiDataArray(row, intent="NIFTI_INTENT_NONE", datatype="NIFTI_TYPE_FLOAT32",
                                 encoding="GIFTI_ENCODING_B64GZ")
        for row in np.asarray(values)
    ]
    img = nib.gifti.GiftiImage(darrays=darrays, meta=nib.gifti.GiftiMetaData(meta))
    with atomic_path(path) as tmp:
        if is_gzip_name(path):
            with gzip.open(tmp, "wb") as fh:
                fh.write(img.to_bytes())
        else:
            img.to_filename(str(tmp))
    return path

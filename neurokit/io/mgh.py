"""FreeSurfer MGH/MGZ files: the one reader and writer of the format, built on nibabel.

FreeSurfer stores surface overlays as a volume of shape ``(x, y, z[, t])``
whose spatial axes hold the vertices (``(V, 1, 1)``; NSD's betas are
``(V, 1, 1, T)``; old FreeSurfer splits 163,842 vertices as ``(27307, 1, 6)``).
:func:`read_mgh` flattens the spatial axes in FreeSurfer's column-major order
and turns frames into rows, ``(T, V)``. Uncompressed ``.mgh`` files store each
frame's vertices contiguously, so :func:`read_mgh_rows` reads a vertex range
of every frame without touching the rest of the file (NSD's session files).

Every header is checked against the size of its file before anything is
allocated (:func:`neurokit.io.containers.mgh_header`), a ``.mgz`` is read to
the end of its gzip stream, and any failure inside nibabel comes out as a
:class:`~neurokit.exceptions.FileFormatError` naming the file. Writing is
atomic (:func:`neurokit.io.atomic.atomic_path`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.exceptions import DatasetNotFoundError, FileFormatError
from neurokit.io.atomic import atomic_path
from neurokit.io.containers import MGH_HEADER_BYTES, is_gzip_name, mgh_header, read_gzip, reading
from neurokit.validation import check_int

__all__ = ["read_mgh", "mgh_shape", "read_mgh_rows", "save_mgh"]


def read_mgh(path: str | os.PathLike) -> tuple[np.ndarray, tuple[int, ...]]:
    """Read a whole ``.mgh`` or ``.mgz`` file as frames of vertices.

    Parameters
    ----------
    path : str or path-like
        An existing MGH (uncompressed) or MGZ (gzip) file.

    Returns
    -------
    values : ndarray of shape (n_frames, n_vertices)
        The data in the file's dtype; the spatial axes flattened in Fortran order.
    shape : tuple of int
        The volume's shape as stored (3-D or 4-D).

    Raises
    ------
    FileFormatError
        If the header does not fit the file, the gzip stream is damaged, or
        the volume is not 3-D or 4-D.
    """
    from nibabel.freesurfer.mghformat import MGHImage

    path = Path(os.fspath(path))
    if is_gzip_name(path):
        # the whole gzip stream is read so its CRC and length are checked (nibabel stops
        # after the data it needs, which lets corrupt-but-inflatable bytes through as values)
        raw = read_gzip(path)
        mgh_header(path, raw[:MGH_HEADER_BYTES], len(raw))
        with reading(path, "MGH/MGZ"):
            img = MGHImage.from_bytes(raw)
    else:
        with open(path, "rb") as fh:
            mgh_header(path, fh.read(MGH_HEADER_BYTES), os.fstat(fh.fileno()).st_size)
        with reading(path, "MGH/MGZ"):
            img = MGHImage.from_filename(str(path))
    with reading(path, "MGH/MGZ"):
        data = np.asanyarray(img.dataobj)
    shape = tuple(int(s) for s in data.shape)
    if data.ndim == 3:
        data = data[..., None]
    if data.ndim != 4:
        raise FileFormatError(f"{path}: expected a 3-D or 4-D MGH volume, got shape {shape}")
    n_frames = data.shape[3]
    return data.reshape(-1, n_frames, order="F").T, shape


def mgh_shape(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and data type of an uncompressed ``.mgh`` file, its header checked against the file size.

    Parameters
    ----------
    path : str or path-like
        An uncompressed ``.mgh`` file (only those can be read in parts).

    Returns
    -------
    shape : tuple of int
        The four dimensions of the header.
    dtype : numpy.dtype
        The big-endian data type of the values.

    Raises
    ------
    DatasetNotFoundError
        If the file does not exist.
    FileFormatError
        If it is not an uncompressed ``.mgh`` file or its header does not fit it.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise DatasetNotFoundError(f"expected file not found: {path}")
    if path.suffix != ".mgh":
        raise FileFormatError(f"{path}: partial reads need an uncompressed .mgh file")
    with open(path, "rb") as f:
        head = f.read(MGH_HEADER_BYTES)
    return mgh_header(path, head, path.stat().st_size)


def read_mgh_rows(path: str | os.PathLike, start: int, stop: int) -> np.ndarray:
    """Vertices ``start:stop`` of every frame of an uncompressed ``.mgh`` file.

    Only the requested bytes are read (:func:`nibabel.fileslice.fileslice`):
    for ``n_frames`` frames that is ``n_frames`` runs of ``(stop - start)``
    values.

    Parameters
    ----------
    path : str or path-like
        An uncompressed ``.mgh`` file.
    start, stop : int
        Vertex range (first axis of the volume), ``0 <= start < stop <= V``.

    Returns
    -------
    ndarray of float32, shape (stop - start, n_frames)

    Raises
    ------
    InvalidParameterError
        If ``start`` or ``stop`` is not an integer, or ``stop <= start``.
    """
    from nibabel.fileslice import fileslice

    start = check_int(start, "start", minimum=0)
    stop = check_int(stop, "stop", minimum=start + 1)
    path = Path(os.fspath(path))
    shape, dtype = mgh_shape(path)
    with reading(path, "MGH"), open(path, "rb") as f:
        if stop - start < shape[0]:
            _no_readahead(f)
        block = fileslice(f, (slice(start, stop),), shape, dtype, MGH_HEADER_BYTES, order="F")
    return np.asarray(block, dtype=np.float32).reshape(stop - start, -1)


def _no_readahead(f: Any) -> None:
    """Tell the kernel that reads of ``f`` are scattered (``POSIX_FADV_RANDOM``).

    A vertex range of a session file is ``n_trials`` short runs far apart; the
    default readahead fetches the bytes after each run too, which doubled the
    bytes read from disk when a streamed whole-brain fit's data outgrew the
    page cache (benchmarks/streaming_fit.py at level 7).
    """
    try:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_RANDOM)
    except (AttributeError, OSError, ValueError):  # no fileno (a wrapped file), or not POSIX
        pass


def save_mgh(path: str | os.PathLike, volume: np.ndarray) -> Path:
    """Write a volume to an ``.mgh`` or ``.mgz`` file (identity affine), atomically.

    Parameters
    ----------
    path : str or path-like
        Destination; ``.mgz`` is gzip-compressed.
    volume : ndarray of shape (x, y, z) or (x, y, z, t)
        Values of a type MGH stores (uint8, int16, int32, float32); surface
        data are ``(V, 1, 1[, T])``.

    Returns
    -------
    pathlib.Path
    """
    from nibabel.freesurfer.mghformat import MGHImage

    path = Path(os.fspath(path))
    img = MGHImage(np.asarray(volume), np.eye(4))
    with atomic_path(path) as tmp:
        img.to_filename(str(tmp))
    return path

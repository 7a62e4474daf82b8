"""Checks every file reader shares: the file exists, gzip streams are whole, headers fit their files.

A corrupt file is refused before anything is allocated for it: the header is
read and checked (known format version and data type, dimensions at least 1,
declared data no larger than the bytes present) and only then is the data
read by nibabel or numpy. Gzip members are read to their end, so Python's
``gzip`` checks every member's CRC-32 and length; a cut trailer, a flipped
bit in the deflate stream or trailing garbage is refused. Any other failure
inside a dependency comes out of :func:`reading` as a
:class:`~neurokit.exceptions.FileFormatError` naming the file.

The readers of :mod:`neurokit.io.surface`, :mod:`neurokit.io.volume` and
:mod:`neurokit.datasets` use these functions; they are public for readers of
other formats built on the toolkit.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from neurokit.exceptions import (
    DatasetNotFoundError,
    FileFormatError,
    NeurokitError,
    UnsupportedFormatError,
)

__all__ = [
    "MGH_HEADER_BYTES",
    "NIFTI_HEADER_BYTES",
    "existing_file",
    "reading",
    "is_gzip_name",
    "read_gzip",
    "scan_gzip",
    "check_declared_size",
    "mgh_header",
    "nifti_header",
    "npy_header",
    "load_npy",
    "check_gifti_bytes",
]

#: Bytes before the data in an MGH file (version, dims, type, dof, RAS flag, spacing, direction cosines, centre).
MGH_HEADER_BYTES = 284
#: Bytes of a NIfTI-2 header, the longer of the two: what :func:`nifti_header` needs to see.
NIFTI_HEADER_BYTES = 540
_MGH_DTYPES = {0: ">u1", 1: ">i4", 3: ">f4", 4: ">i2"}  # FreeSurfer's UCHAR, INT, FLOAT, SHORT
_CHUNK = 1 << 22
_EXTERNAL = re.compile(rb"""Encoding\s*=\s*["']\s*ExternalFileBinary""")


def existing_file(path: str | os.PathLike, what: str = "data") -> Path:
    """``path`` as a :class:`~pathlib.Path` if it is an existing file.

    Raises
    ------
    DatasetNotFoundError
        If nothing exists at ``path``.
    FileFormatError
        If ``path`` is a folder.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a folder, expected a {what} file")
    return path


@contextlib.contextmanager
def reading(path: Path, what: str) -> Iterator[None]:
    """Turn any failure of a dependency reading ``path`` into a FileFormatError naming it.

    nibabel, numpy, gzip and the XML parser signal a corrupt file with
    almost any exception type (``MGHError``, ``HeaderDataError``,
    ``AssertionError``, ``LookupError`` for an unknown text encoding,
    ``tokenize.TokenError``, ``OverflowError``, ``struct.error``, ...), so
    every ``Exception`` is mapped. Toolkit errors pass through unchanged, and
    so does ``MemoryError``: by the time data are read the header has been
    checked against the file size, so running out of memory means a valid
    file too large for this machine, not a corrupt one.
    """
    try:
        yield
    except NeurokitError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        raise FileFormatError(
            f"{path}: cannot read as {what}; the file looks truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc


def is_gzip_name(path: str | os.PathLike) -> bool:
    """Whether the name says the file is gzip-compressed (``.gz`` or FreeSurfer's ``.mgz``)."""
    return Path(os.fspath(path)).name.lower().endswith((".gz", ".mgz"))


def _gzip_error(path: Path, exc: Exception) -> FileFormatError:
    return FileFormatError(
        f"{path}: corrupt gzip stream ({type(exc).__name__}: {exc}); expected whole gzip members "
        "whose CRC-32 and length match their data"
    )


def read_gzip(path: Path) -> bytes:
    """All uncompressed bytes of a gzip file, every member's CRC-32 and length checked.

    Raises
    ------
    FileFormatError
        If the stream is cut, a CRC or length field does not match, the
        deflate data are damaged or garbage follows the last member.
    """
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as fh:
            return fh.read()
    except MemoryError:
        raise
    except Exception as exc:  # BadGzipFile, EOFError, zlib.error, OSError
        raise _gzip_error(path, exc) from exc


def scan_gzip(path: Path, head: int) -> tuple[bytes, int]:
    """Check a gzip file to its end in constant memory; return its first ``head`` bytes and its length.

    Parameters
    ----------
    path : Path
        A gzip file.
    head : int
        Number of leading uncompressed bytes to return (a header).

    Returns
    -------
    first : bytes
        The first ``min(head, length)`` uncompressed bytes.
    length : int
        Total number of uncompressed bytes.

    Raises
    ------
    FileFormatError
        As :func:`read_gzip`.
    """
    try:
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as fh:
            first = fh.read(head)
            length = len(first)
            while chunk := fh.read(_CHUNK):
                length += len(chunk)
    except Exception as exc:  # BadGzipFile, EOFError, zlib.error, OSError
        raise _gzip_error(path, exc) from exc
    return first, length


def check_declared_size(path: Path, what: str, shape: tuple[int, ...], dtype: np.dtype, offset: int,
                        available: int) -> None:
    """Refuse a header whose dimensions are below 1 or whose data do not fit the bytes present.

    Parameters
    ----------
    path : Path
        The file (for the message).
    what : str
        The format's name (for the message).
    shape : tuple of int
        Dimensions the header declares.
    dtype : numpy.dtype
        Data type it declares.
    offset : int
        Bytes before the data.
    available : int
        Bytes the file holds (uncompressed).

    Raises
    ------
    FileFormatError
        If a dimension is below 1 or ``offset + prod(shape) * itemsize`` exceeds ``available``.
    """
    if any(int(s) < 1 for s in shape):
        raise FileFormatError(
            f"{path}: corrupt {what} header: dimensions {tuple(shape)}; expected every dimension >= 1"
        )
    declared = int(offset) + math.prod(int(s) for s in shape) * dtype.itemsize
    if declared > available:
        raise FileFormatError(
            f"{path}: truncated or corrupt {what} file: the header declares shape {tuple(shape)} of {dtype} "
            f"({declared:,} bytes with the header) but the file holds {available:,} bytes"
        )


def mgh_header(path: Path, head: bytes, available: int) -> tuple[tuple[int, ...], np.dtype]:
    """Check an MGH header (the first :data:`MGH_HEADER_BYTES` bytes) against the file's length.

    Returns
    -------
    shape : tuple of int
        The four dimensions ``(x, y, z, frames)``.
    dtype : numpy.dtype
        Big-endian data type of the voxels.

    Raises
    ------
    FileFormatError
        If the header is short, its version is not 1, its data type code is
        not FreeSurfer's UCHAR/INT/FLOAT/SHORT, a dimension is below 1 or
        the data run past the end of the file.
    """
    if len(head) < MGH_HEADER_BYTES:
        raise FileFormatError(
            f"{path}: truncated MGH file: {len(head)} bytes, expected a {MGH_HEADER_BYTES}-byte header and data"
        )
    version, *dims, code = struct.unpack(">6i", head[:24])
    if version != 1:
        raise FileFormatError(f"{path}: not an MGH file (format version {version}, expected 1)")
    if code not in _MGH_DTYPES:
        raise FileFormatError(
            f"{path}: corrupt MGH header: data type code {code}; expected one of {sorted(_MGH_DTYPES)} "
            "(uchar, int, float, short)"
        )
    dtype = np.dtype(_MGH_DTYPES[code])
    check_declared_size(path, "MGH", tuple(dims), dtype, MGH_HEADER_BYTES, available)
    return tuple(dims), dtype


def nifti_header(path: Path, head: bytes, available: int) -> Any:
    """Check a single-file NIfTI-1/2 header against the file's (uncompressed) length.

    Parameters
    ----------
    path : Path
        The file (for the message).
    head : bytes
        At least the first :data:`NIFTI_HEADER_BYTES` uncompressed bytes (fewer if the file is shorter).
    available : int
        Uncompressed length of the file.

    Returns
    -------
    nibabel.Nifti1Header or nibabel.Nifti2Header

    Raises
    ------
    FileFormatError
        If ``sizeof_hdr`` or the magic string is not NIfTI's, the number of
        dimensions is not 1..7, a dimension is below 1, ``vox_offset`` is
        not a finite offset past the header, the data type is unknown, or the
        data run past the end of the file.
    UnsupportedFormatError
        For a two-file (``.hdr``/``.img``) header.
    """
    import nibabel as nib

    sizes = {struct.unpack(f"{e}i", head[:4])[0]: e for e in "<>"} if len(head) >= 4 else {}
    kind = next((k for k in (348, 540) if k in sizes), None)
    if kind is None or len(head) < kind:
        raise FileFormatError(f"{path}: not a NIfTI-1/2 file (sizeof_hdr is not 348 or 540, or the file is cut)")
    cls = nib.Nifti1Header if kind == 348 else nib.Nifti2Header
    with reading(path, "NIfTI"):
        hdr = cls.from_fileobj(io.BytesIO(head[:kind]), check=False)
        magic = bytes(hdr["magic"]).rstrip(b"\0")
    expected = b"n+1" if kind == 348 else b"n+2"
    if magic == expected[:1] + b"i" + expected[2:]:
        raise UnsupportedFormatError(f"{path}: a two-file NIfTI header (.hdr/.img pair); expected a single .nii file")
    if magic != expected:
        raise FileFormatError(f"{path}: corrupt NIfTI header: magic {magic!r}, expected {expected!r}")
    dims = [int(d) for d in hdr["dim"]]
    if not 1 <= dims[0] <= 7:
        raise FileFormatError(f"{path}: corrupt NIfTI header: dim[0] = {dims[0]}, expected 1..7 dimensions")
    offset = float(hdr["vox_offset"])
    if not (math.isfinite(offset) and kind + 4 <= offset <= available):
        raise FileFormatError(
            f"{path}: corrupt NIfTI header: vox_offset = {offset}, expected an offset from {kind + 4} "
            f"to the file's {available:,} bytes"
        )
    with reading(path, "NIfTI"):
        dtype = hdr.get_data_dtype()  # HeaderDataError for an unknown datatype code
    if dtype.itemsize == 0 or dtype.hasobject:
        raise FileFormatError(f"{path}: corrupt NIfTI header: data type {dtype} has no fixed size")
    check_declared_size(path, "NIfTI", tuple(dims[1 : dims[0] + 1]), dtype, int(offset), available)
    return hdr


def npy_header(path: Path, fh: BinaryIO, available: int) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read and check a ``.npy`` header from ``fh`` (positioned at the start) against the file's length.

    Returns
    -------
    shape : tuple of int
    fortran_order : bool
    dtype : numpy.dtype
        A numeric (bool, integer or float) type.

    Raises
    ------
    FileFormatError
        If the magic, version or header dictionary is not numpy's, the data
        type is not numeric, a dimension is negative or the data run past the
        end of the file.
    """
    with reading(path, ".npy array"):
        version = np.lib.format.read_magic(fh)
        if version not in ((1, 0), (2, 0)):
            raise FileFormatError(f"{path}: .npy format version {version}; expected 1.0 or 2.0")
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read(fh)
    if dtype.kind not in "biuf":
        raise FileFormatError(f"{path}: expected numeric data in the .npy file, got dtype {dtype}")
    if any(s < 0 for s in shape):
        raise FileFormatError(f"{path}: corrupt .npy header: shape {shape}; expected non-negative dimensions")
    # zero-size arrays are valid .npy files: check the size without the ">= 1" rule
    declared = fh.tell() + math.prod(shape) * dtype.itemsize
    if declared > available:
        raise FileFormatError(
            f"{path}: truncated or corrupt .npy file: the header declares shape {shape} of {dtype} "
            f"({declared:,} bytes with the header) but the file holds {available:,} bytes"
        )
    return tuple(shape), bool(fortran), dtype


def load_npy(path: Path) -> np.ndarray:
    """A numeric ``.npy`` array, header checked before reading, never unpickled.

    Raises
    ------
    FileFormatError
        See :func:`npy_header`; also if reading the data fails.
    """
    with open(path, "rb") as fh:
        npy_header(path, fh, os.fstat(fh.fileno()).st_size)
    with reading(path, ".npy array"):
        return np.load(path, allow_pickle=False)


def check_gifti_bytes(path: Path, raw: bytes) -> None:
    """Refuse GIfTI data arrays stored in external files before parsing.

    Raises
    ------
    UnsupportedFormatError
        If a data array's encoding is ``ExternalFileBinary``.
    """
    if _EXTERNAL.search(raw):
        raise UnsupportedFormatError(
            f"{path}: GIfTI data arrays stored in external files (ExternalFileBinary) are not supported; "
            "expected data inside the file (ASCII, Base64Binary or GZipBase64Binary)"
        )

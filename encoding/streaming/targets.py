"""Target sources of a streamed ridge fit: what :func:`encoding.streaming.fit_streaming_ridge` reads.

:class:`ArrayTargets` reads an array, or a ``.npy`` file column block by
column block with plain reads (never memory-mapped, so the page cache does not
count against the process). :class:`encoding.from_nsd.NSDTargets` is the other
built-in source; any object with ``n_targets``, ``n_train``, ``n_test``,
``bytes_per_target()``, ``describe()`` and ``read(start, stop) -> TargetChunk``
is one too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from encoding.ridge import check_targets
from encoding.streaming.chunks import sha256_array
from neurokit.exceptions import DataValidationError, NonFiniteDataError


@dataclass
class TargetChunk:
    """One chunk of targets, as a target source's ``read`` returns it.

    Attributes
    ----------
    train : ndarray of shape (n_train, n_chunk)
        Responses of the training samples (rows of ``X``).
    test : ndarray of shape (n_test, n_chunk) or None
        Responses of the held-out samples (rows of ``X_test``), for ``test_r``.
    extras : dict of str to ndarray of shape (n_chunk,)
        Per-target values stored with the result (e.g. the noise ceiling).
    """

    train: np.ndarray
    test: np.ndarray | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)


class ArrayTargets:
    """Targets held in an array or a ``.npy`` file, read one block of columns at a time.

    Parameters
    ----------
    Y : ndarray or path-like
        Training responses, shape (n_train, n_targets): an array (or
        ``np.memmap``), or the path of a ``.npy`` file (C or Fortran order),
        which is read with plain file reads, one column block at a time.
    Y_test : ndarray or path-like, optional
        Held-out responses, shape (n_test, n_targets), for the held-out r.

    Examples
    --------
    >>> import numpy as np
    >>> src = ArrayTargets(np.zeros((10, 4), np.float32))
    >>> src.n_targets, src.read(1, 3).train.shape
    (4, (10, 2))
    """

    def __init__(self, Y: Any, Y_test: Any = None) -> None:
        self._train = _ColumnReader(Y, "Y")
        self._test = None if Y_test is None else _ColumnReader(Y_test, "Y_test")
        if self._test is not None and self._test.shape[1] != self._train.shape[1]:
            raise DataValidationError(
                f"Y has {self._train.shape[1]:,} targets but Y_test has {self._test.shape[1]:,}; they must match"
            )

    @property
    def n_targets(self) -> int:
        return int(self._train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self._train.shape[0])

    @property
    def n_test(self) -> int:
        return 0 if self._test is None else int(self._test.shape[0])

    def bytes_per_target(self) -> int:
        """Bytes one :meth:`read` holds per target (float32 copies of the column blocks)."""
        return 4 * 2 * (self.n_train + self.n_test)

    def describe(self) -> dict[str, Any]:
        """What is read, as JSON (stored with a streamed result and checked on resume)."""
        return {"source": "array", "Y": self._train.describe(),
                "Y_test": None if self._test is None else self._test.describe()}

    def read(self, start: int, stop: int) -> TargetChunk:
        """Columns ``start:stop`` as float32 ``(n_train, c)`` and ``(n_test, c)`` arrays."""
        train = self._train.read(start, stop)
        test = None if self._test is None else self._test.read(start, stop)
        return TargetChunk(train, test)


class _ColumnReader:
    """Column blocks of a 2-D array, or of a ``.npy`` file read with ``readinto`` (no memory map)."""

    def __init__(self, Y: Any, name: str) -> None:
        self.name = name
        self.path: Path | None = None
        if isinstance(Y, (str, os.PathLike)):
            self.path = Path(Y)
            if not self.path.is_file():
                raise DataValidationError(f"{name}: file not found: {self.path}")
            try:
                with open(self.path, "rb") as fh:
                    version = np.lib.format.read_magic(fh)
                    reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                    shape, self.fortran, self.dtype = reader(fh)
                    self.offset = fh.tell()
            except ValueError as exc:
                raise DataValidationError(f"{name}: {self.path} is not a .npy file ({exc})") from exc
            self.shape = tuple(int(s) for s in shape)
            expected = self.offset + int(np.prod(self.shape)) * self.dtype.itemsize
            if self.path.stat().st_size < expected:
                raise DataValidationError(
                    f"{name}: {self.path} is truncated ({self.path.stat().st_size:,} bytes, header needs {expected:,})"
                )
            if self.dtype.kind != "f" or self.dtype.hasobject:
                raise DataValidationError(f"{name}: {self.path} must hold floats, got dtype {self.dtype}")
            self.array = None
        else:
            self.array = check_targets(Y, None, where="ArrayTargets", name=name) if not isinstance(Y, np.memmap) else Y
            self.shape = tuple(self.array.shape)
            self.dtype = self.array.dtype
        if len(self.shape) != 2 or self.shape[1] == 0:
            raise DataValidationError(f"{name} must have shape (n_samples, n_targets), got {self.shape}")

    def describe(self) -> dict[str, Any]:
        """Shape and dtype, plus the file's size and modification time, or the array's SHA-256."""
        out: dict[str, Any] = {"shape": list(self.shape), "dtype": str(self.dtype)}
        if self.path is not None:
            stat = self.path.stat()
            out.update(path=str(self.path.resolve()), bytes=stat.st_size, mtime_ns=stat.st_mtime_ns)
        else:
            out["sha256"] = sha256_array(self.array)
        return out

    def read(self, start: int, stop: int) -> np.ndarray:
        if self.array is not None:
            block = np.array(self.array[:, start:stop], dtype=np.float32, order="C")
        else:
            n, t = self.shape
            item = self.dtype.itemsize
            raw = np.empty((n, stop - start) if not self.fortran else (stop - start, n), dtype=self.dtype)
            with open(self.path, "rb") as fh:
                if self.fortran:  # columns are contiguous: one read
                    fh.seek(self.offset + start * n * item)
                    _readinto(fh, raw, self.path)
                else:
                    for i in range(n):
                        fh.seek(self.offset + (i * t + start) * item)
                        _readinto(fh, raw[i], self.path)
            block = np.ascontiguousarray(raw.T if self.fortran else raw, dtype=np.float32)
        if not np.isfinite(block).all():
            raise NonFiniteDataError(f"{self.name}: targets {start}:{stop} hold NaN or infinite values")
        return block


def _readinto(fh: Any, out: np.ndarray, path: Path) -> None:
    view = memoryview(out.reshape(-1).view(np.uint8))
    if fh.readinto(view) != view.nbytes:
        raise DataValidationError(f"{path}: unexpected end of file")


__all__ = ["ArrayTargets", "TargetChunk"]

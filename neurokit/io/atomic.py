"""Atomic file output: write to a temporary file in the target folder, then ``os.replace``.

A reader never sees a half-written file, and a failed write leaves any
previous file at the target path untouched. The temporary file lives in the
same folder as the target (so ``os.replace`` is a rename on one file system)
and its name *ends with the target's name*, so libraries that pick a format
from the extension (nibabel: ``.mgz`` vs ``.mgh``, ``.gii``) behave as they
would on the final path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, make_parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` when the block succeeds.

    Parameters
    ----------
    path : str or path-like
        Final destination of the file.
    make_parents : bool, default True
        Create missing parent folders of ``path``.

    Yields
    ------
    pathlib.Path
        A path that does not exist yet, in the same folder as ``path``, whose
        name ends with ``path``'s name (same extensions). Write the file there.

    Notes
    -----
    If the ``with`` block raises, the temporary file (if any) is deleted, the
    exception propagates and ``path`` keeps its previous content. If the
    block finishes without creating the temporary file, nothing is replaced
    and ``FileNotFoundError`` is raised, because silently leaving an old
    file in place would look like success.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "x.npy")
    >>> with atomic_path(target) as tmp:
    ...     np.save(tmp, np.arange(3))
    >>> np.load(target).tolist()
    [0, 1, 2]
    """
    final = Path(os.fspath(path))
    if make_parents:
        final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".tmp-{secrets.token_hex(6)}-{final.name}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"atomic write of {final}: nothing was written to the temporary file {tmp}")
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and return the final path.

    Parameters
    ----------
    path : str or path-like
        Destination file (parent folders are created).
    data : bytes
        The complete file content.
    fsync : bool, default True
        Flush the temporary file to disk before the rename, so a crash cannot
        leave an empty file under the final name.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
    return Path(os.fspath(path))


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8", fsync: bool = True) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding), fsync=fsync)

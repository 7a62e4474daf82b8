"""Atomic file output: write to a temporary file in the target folder, then ``os.replace``.

A reader never sees a half-written file, and a failed write leaves any
previous file at the target path untouched. The temporary file lives in the
same folder as the target (so ``os.replace`` is a rename on one file system)
and its name *ends with the target's name*, so libraries that pick a format
from the extension (nibabel: ``.mgz`` vs ``.mgh``, ``.gii``) behave as they
would on the final path. The temporary name also records the host and the
process id (:func:`temporary_name`), so what a killed process left behind can
be told from what a running one is writing and removed by the next run
(:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "publish_folder",
    "replace_folder",
    "temporary_name",
    "remove_stale_temporaries",
]


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
    tmp = final.with_name(temporary_name(final.name))
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


def replace_folder(staged: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Move the complete folder ``staged`` onto ``final``, replacing a folder already there.

    Parameters
    ----------
    staged : str or path-like
        A finished folder on the same file system as ``final`` (e.g. under a
        sibling named by :func:`temporary_name`).
    final : str or path-like
        Where the folder goes.

    Returns
    -------
    pathlib.Path
        ``final``.

    Notes
    -----
    An existing ``final`` is first renamed aside (``.old-nk-...``, see
    :func:`temporary_name`), then ``staged`` is renamed into place and the old
    folder deleted; a reader finds the old folder or the new one, never a mix
    (for a moment, nothing). If the process dies between the renames, the old
    folder is left under its ``.old`` name for :func:`remove_stale_temporaries`.
    """
    staged, final = Path(os.fspath(staged)), Path(os.fspath(final))
    if final.exists():
        backup = final.with_name(temporary_name(final.name, kind="old"))
        os.replace(final, backup)
        os.replace(staged, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(staged, final)
    return final


def publish_folder(staged: str | os.PathLike, final: str | os.PathLike) -> bool:
    """Move the complete folder ``staged`` to ``final`` unless another writer got there first.

    For caches that several processes may fill at once with the same content:
    the first complete folder stays, and a later one is discarded rather than
    swapped in under a reader that may already use the first.

    Parameters
    ----------
    staged : str or path-like
        A finished folder on the same file system as ``final``.
    final : str or path-like
        Where the folder goes.

    Returns
    -------
    bool
        True when ``staged`` became ``final``; False when ``final`` already
        existed (``staged`` is then deleted).

    Raises
    ------
    OSError
        The rename failed for another reason than an existing ``final``.
    """
    staged, final = Path(os.fspath(staged)), Path(os.fspath(final))
    try:
        os.rename(staged, final)  # refuses a non-empty existing folder, never swaps it
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(staged, ignore_errors=True)
        return False
    return True


# ".tmp-nk-<host>-<pid>-<random>-<name>" (folders and files) and ".old-nk-<host>-<pid>-<random>-<name>".
_TEMPORARY = re.compile(r"^\.(?:tmp|old)-nk-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]+-")


def _host_tag() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFFFFFF:08x}"


def temporary_name(name: str, *, kind: str = "tmp") -> str:
    """A hidden sibling name for ``name`` that records this host and process.

    Parameters
    ----------
    name : str
        The final file or folder name; the temporary name ends with it, so
        libraries that choose a format from the extension behave as on the
        final path.
    kind : {"tmp", "old"}
        ``"tmp"`` while something is written, ``"old"`` for a folder being
        replaced.

    Returns
    -------
    str
        ``.tmp-nk-<host>-<pid>-<random>-<name>``.
    """
    if kind not in ("tmp", "old"):
        raise ValueError(f"kind must be 'tmp' or 'old', got {kind!r}")
    return f".{kind}-nk-{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}-{name}"


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OverflowError:
        return False
    return True


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete temporaries in ``folder`` left by processes of this host that no longer run.

    Only names made by :func:`temporary_name` are considered; a temporary of
    a live process, or of another host (a shared file system), is kept.

    Parameters
    ----------
    folder : path-like
        The folder to clean (missing: nothing to do).

    Returns
    -------
    list of pathlib.Path
        What was removed.
    """
    folder = Path(os.fspath(folder))
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    host = _host_tag()
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match["host"] != host or _process_alive(int(match["pid"])):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    return removed

"""Output folders a command owns: created new, replaced only when they are its own.

A command that writes a folder (``neurokit reconstruct --output DIR``,
``neurokit demo --output DIR``) must never destroy what a user keeps there.
The rules, in one place:

- a folder is *ours* when it holds the marker file :data:`MARKER` that an
  earlier run wrote into it (a JSON naming the command that made it);
- a command may write into a path that does not exist, into an empty folder,
  or into a folder that is ours; ``overwrite`` replaces only a folder that is
  ours (or empty), never a user's folder that holds other files, and never a
  file;
- a folder is assembled under a temporary name that carries the host and the
  process id (:func:`neurokit.io.atomic.temporary_name`) and is renamed into place when complete,
  so a failure leaves no partial folder; temporaries left by a process that no
  longer runs (after a ``kill -9``) are removed by the next run
  (:func:`neurokit.io.atomic.remove_stale_temporaries`), those of a live process never are.

Examples
--------
>>> import tempfile, pathlib
>>> parent = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_output_folder(parent / "out", command="example") as tmp:
...     _ = (tmp / "a.txt").write_text("hello")
>>> sorted(p.name for p in (parent / "out").iterdir())
['.neurokit-output.json', 'a.txt']
>>> is_own_output(parent / "out")
True
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from neurokit.exceptions import OutputExistsError
from neurokit.io.atomic import atomic_write_text, remove_stale_temporaries, replace_folder, temporary_name

__all__ = [
    "MARKER",
    "is_own_output",
    "check_output_folder",
    "claim_output_folder",
    "atomic_output_folder",
]

#: Name of the marker file that makes a folder a toolkit output folder.
MARKER = ".neurokit-output.json"

def is_own_output(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder holding the toolkit's output marker."""
    return (Path(os.fspath(path)) / MARKER).is_file()


def check_output_folder(path: str | os.PathLike, *, overwrite: bool = False, argument: str = "--output") -> Path:
    """Refuse an output path that a command must not write to; return it as a Path.

    Parameters
    ----------
    path : path-like
        The output folder asked for.
    overwrite : bool
        Whether an existing output folder of the toolkit's may be replaced.
    argument : str
        How the caller names the path in messages.

    Raises
    ------
    OutputExistsError
        If ``path`` is a file; a folder holding files the toolkit did not
        write (whatever ``overwrite`` says); or an earlier output folder and
        ``overwrite`` is false.
    """
    out = Path(os.fspath(path))
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputExistsError(f"{argument} {out}: exists and is not a folder; it is never replaced")
    if not out.exists() or not any(out.iterdir()):
        return out
    if not is_own_output(out):
        raise OutputExistsError(
            f"{argument} {out}: the folder holds files that this toolkit did not write (no {MARKER}); "
            "it is never replaced, even with --overwrite: choose a new or empty folder"
        )
    if not overwrite:
        raise OutputExistsError(f"{argument} {out}: already exists; pass --overwrite (overwrite=True) to replace it")
    return out


def _write_marker(folder: Path, command: str) -> None:
    doc = {"tool": "neurokit", "command": command, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write_text(folder / MARKER, json.dumps(doc, indent=2) + "\n")


def claim_output_folder(path: str | os.PathLike, *, command: str, argument: str = "--output") -> Path:
    """Create (or reuse) an output folder that a command fills in place and resumes in.

    For commands whose output is built up over a long run (``neurokit demo``):
    the folder may be new, empty or an earlier output of the toolkit's; it is
    created if needed and marked, and stale temporaries in it are removed.

    Raises
    ------
    OutputExistsError
        If ``path`` is a file or a folder holding files the toolkit did not write.
    """
    out = Path(os.fspath(path))
    if out.exists() and is_own_output(out):
        remove_stale_temporaries(out)
        return out
    check_output_folder(out, overwrite=False, argument=argument)
    out.mkdir(parents=True, exist_ok=True)
    _write_marker(out, command)
    return out


@contextlib.contextmanager
def atomic_output_folder(path: str | os.PathLike, *, command: str, overwrite: bool = False,
                         argument: str = "--output") -> Iterator[Path]:
    """Yield a temporary folder; move it onto ``path`` (with the marker) when the block succeeds.

    Parameters
    ----------
    path : path-like
        The final output folder (checked by :func:`check_output_folder`).
    command : str
        Written into the marker (what made the folder).
    overwrite : bool
        Replace an earlier output folder of the toolkit's.
    argument : str
        How the caller names the path in messages.

    Yields
    ------
    pathlib.Path
        An empty folder next to ``path``; write the outputs there.

    Notes
    -----
    On any exception (``KeyboardInterrupt`` included) the temporary folder is
    deleted and ``path`` is left as it was. A replaced folder is first renamed
    aside, then deleted once the new one is in place.
    """
    out = check_output_folder(path, overwrite=overwrite, argument=argument)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent)
    tmp = out.with_name(temporary_name(out.name))
    tmp.mkdir()
    try:
        yield tmp
        _write_marker(tmp, command)
        check_output_folder(out, overwrite=overwrite, argument=argument)  # nothing new appeared meanwhile
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

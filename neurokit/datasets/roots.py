"""Where a dataset's local copy lives: an explicit root, an environment variable, or nilearn's data folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["dataset_root"]


def dataset_root(root: str | os.PathLike | None, env_var: str, name: str) -> Path:
    """The folder of a dataset's local copy (not checked to exist).

    Parameters
    ----------
    root : path-like or None
        An explicit root; wins when given (``~`` is expanded).
    env_var : str
        Environment variable consulted next (e.g. ``NEUROKIT_NSD_DIR``).
    name : str
        Sub-folder of nilearn's data folder used last: ``$NILEARN_DATA/<name>``,
        or ``~/nilearn_data/<name>`` (nilearn's convention).

    Returns
    -------
    pathlib.Path
    """
    if root is not None:
        return Path(root).expanduser()
    if os.environ.get(env_var):
        return Path(os.environ[env_var]).expanduser()
    base = os.environ.get("NILEARN_DATA") or os.path.join("~", "nilearn_data")
    return Path(base).expanduser() / name

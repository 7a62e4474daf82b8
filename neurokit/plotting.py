"""Plot per-vertex data on the fsaverage surfaces with nilearn.

:func:`plot_surface_map` draws a static matplotlib figure (no pyplot state, no
backend change: the figure renders with Agg) and optionally saves it as a PNG
atomically; :func:`view_surface_map` returns nilearn's interactive
``view_surf`` HTML viewer. Data below level 5 are upsampled to level 5 (the
finest offline surfaces) for display; data at levels 6 and 7 are drawn on the
FreeSurfer surfaces when a FreeSurfer ``fsaverage`` directory is available,
otherwise sliced down to level 5 with a warning.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.exceptions import DataValidationError, InvalidParameterError, VertexCountError
from neurokit.io.atomic import atomic_path
from neurokit.mesh.freesurfer import resolve_freesurfer_dir
from neurokit.mesh.levels import check_level, n_vertices
from neurokit.mesh.resampling import downsample, upsample
from neurokit.mesh.subdivision import BUNDLED_LEVEL
from neurokit.mesh.surfaces import SURFACE_KINDS, anatomical_surface, surface_map
from neurokit.surface_data import SurfaceData
from neurokit.validation import check_option

#: Views nilearn understands for a static plot.
VIEWS = ("lateral", "medial", "dorsal", "ventral", "anterior", "posterior")
_HEMI_CHOICES = ("both", "left", "right")


def _prepare(
    values: Any, level: int | None, hemi: str, freesurfer_dir: Any
) -> tuple[dict[str, np.ndarray], int, Path | None]:
    """Per-hemisphere float64 values at the display level, the level, and the FreeSurfer dir used."""
    check_option(hemi, "hemi", _HEMI_CHOICES)
    if isinstance(values, SurfaceData):
        if values.n_samples != 1:
            raise DataValidationError(
                f"{values.source}: plot one sample at a time; got {values.n_samples} (index the data first)"
            )
        if level is not None and check_level(level) != values.level:
            raise VertexCountError(f"level={level} but the SurfaceData is at level {values.level}")
        level, array = values.level, values.data[0].astype(np.float64)
        both = True
    else:
        array = np.asarray(values)
        if array.ndim == 2 and array.shape[0] == 1:
            array = array[0]
        if array.ndim != 1 or array.dtype.kind not in "fiub":
            raise DataValidationError(
                f"values must be a numeric 1-D array of per-vertex values (both hemispheres, left first), "
                f"got dtype {array.dtype} and shape {array.shape}"
            )
        array = array.astype(np.float64)
        n = array.shape[0]
        both = True
        inferred = None
        for k in range(8):
            if n == 2 * n_vertices(k):
                inferred = k
            elif n == n_vertices(k) and hemi != "both":
                inferred, both = k, False
        if inferred is None:
            expected = "2 * n_vertices(level) (left then right)" if hemi == "both" else "n_vertices(level) or twice that"
            raise VertexCountError(
                f"values has {n:,} entries, which is not {expected} for any fsaverage level "
                f"(e.g. {2 * n_vertices(5):,} for fsaverage5 with both hemispheres)"
            )
        if level is not None and check_level(level) != inferred:
            raise VertexCountError(f"values has {n:,} entries (level {inferred}), but level={level} was given")
        level = inferred
    nv = n_vertices(level)
    per_hemi = {"left": array[:nv], "right": array[nv:]} if both else {hemi: array}
    shown = ("left", "right") if hemi == "both" else (hemi,)
    per_hemi = {h: per_hemi[h] for h in shown}
    subject = None
    if level < BUNDLED_LEVEL:
        per_hemi = {h: upsample(v, level, BUNDLED_LEVEL) for h, v in per_hemi.items()}
        level = BUNDLED_LEVEL
    elif level > BUNDLED_LEVEL:
        subject = resolve_freesurfer_dir(freesurfer_dir)
        if subject is None:
            warnings.warn(
                f"level-{level} data are shown at level {BUNDLED_LEVEL} (their first {n_vertices(BUNDLED_LEVEL):,} "
                "vertices per hemisphere): no FreeSurfer fsaverage directory for the finer surfaces "
                "(pass freesurfer_dir= or set NEUROKIT_FREESURFER_DIR)",
                UserWarning,
                stacklevel=3,
            )
            per_hemi = {h: downsample(v, BUNDLED_LEVEL) for h, v in per_hemi.items()}
            level = BUNDLED_LEVEL
    return per_hemi, level, subject


def _color_limits(per_hemi: dict[str, np.ndarray], vmin: float | None, vmax: float | None) -> tuple[float, float]:
    if vmin is not None and vmax is not None and vmin >= vmax:
        raise InvalidParameterError(f"vmin ({vmin}) must be smaller than vmax ({vmax})")
    finite = np.concatenate([v[np.isfinite(v)] for v in per_hemi.values()])
    if finite.size == 0:
        raise DataValidationError("values are all NaN or infinite; nothing to plot")
    if vmin is None and vmax is None:
        if finite.min() < 0 < finite.max():
            vmax = float(np.abs(finite).max())
            vmin = -vmax
        else:
            vmin, vmax = float(finite.min()), float(finite.max())
    elif vmin is None:
        vmin = float(min(finite.min(), vmax))
    elif vmax is None:
        vmax = float(max(finite.max(), vmin))
    if vmin >= vmax:  # constant data: open the range around the value
        pad = 0.5 * max(abs(vmin), 1.0)
        vmin, vmax = vmin - pad, vmax + pad
    return float(vmin), float(vmax)


def _background(hemi: str, level: int, subject: Path | None) -> np.ndarray | None:
    try:
        return surface_map("sulc", hemi, level, subject)
    except Exception:  # a missing background is cosmetic
        return None


def save_figure(figure: Any, output_file: str | os.PathLike, dpi: int = 100) -> Path:
    """Save a matplotlib figure atomically (temp file in the same folder, then ``os.replace``).

    The format follows the file's extension (``.png``, ``.pdf``, ``.svg``...).
    """
    path = Path(output_file)
    if path.parent and not path.parent.exists():
        raise DataValidationError(f"output_file={str(path)!r}: folder {str(path.parent)!r} does not exist")
    fmt = path.suffix.lstrip(".").lower() or "png"
    with atomic_path(path, make_parents=False) as tmp:
        figure.savefig(tmp, dpi=dpi, format=fmt)
    return path


def plot_surface_map(
    values: np.ndarray | SurfaceData,
    level: int | None = None,
    *,
    hemi: str = "both",
    view: str = "lateral",
    surface: str = "inflated",
    cmap: Any = "RdBu_r",
    vmin: float | None = None,
    vmax: float | None = None,
    threshold: float | None = None,
    title: str | None = None,
    output_file: str | os.PathLike | None = None,
    freesurfer_dir: str | os.PathLike | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Any:
    """Draw per-vertex values on fsaverage with nilearn's ``plot_surf_stat_map``.

    Parameters
    ----------
    values : ndarray of shape (2 * n_vertices(level),) or SurfaceData
        One value per vertex, left hemisphere first. With ``hemi='left'`` or
        ``'right'`` a one-hemisphere array of ``n_vertices(level)`` is also
        accepted. A :class:`SurfaceData` must hold one sample.
    level : int, optional
        Mesh level of ``values``; inferred from its length when omitted
        (a given level is checked against it).
    hemi : {'both', 'left', 'right'}
        Hemispheres to draw (side by side for 'both').
    view : {'lateral', 'medial', 'dorsal', 'ventral', 'anterior', 'posterior'}
    surface : {'inflated', 'pial', 'white', 'sphere', 'flat'}
        Surface to draw on; sulcal depth shades the background.
    cmap : str or matplotlib colormap
    vmin, vmax : float, optional
        Colour limits, shared by both hemispheres. Default: symmetric
        ``+-max|values|`` for signed data, the data range otherwise.
    threshold : float, optional
        Values with ``|value| < threshold`` are not coloured.
    title : str, optional
    output_file : path-like, optional
        Where to save the figure (PNG unless the extension says otherwise),
        written atomically.
    freesurfer_dir : path-like, optional
        FreeSurfer ``fsaverage`` directory, for drawing level 6 and 7 data at
        their own resolution.
    figsize : (float, float), optional
        Figure size in inches; default (5, 4) per hemisphere.
    dpi : int
        Resolution of the saved file.

    Returns
    -------
    matplotlib.figure.Figure
        Rendered with the Agg canvas; no pyplot figure is left open.

    Raises
    ------
    VertexCountError
        ``values`` do not have an fsaverage vertex count (or disagree with ``level``).
    InvalidParameterError
        Bad ``hemi``, ``view``, ``surface``, or ``vmin >= vmax``.
    DataValidationError
        All-NaN values.
    MeshUnavailableError
        A surface cannot be loaded.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from nilearn.plotting import plot_surf_stat_map

    check_option(view, "view", VIEWS)
    surface = check_option(surface, "surface", SURFACE_KINDS)
    per_hemi, level, subject = _prepare(values, level, hemi, freesurfer_dir)
    lo, hi = _color_limits(per_hemi, vmin, vmax)
    shown = list(per_hemi)
    fig = Figure(figsize=figsize or (5.0 * len(shown), 4.0))
    FigureCanvasAgg(fig)
    for i, h in enumerate(shown):
        ax = fig.add_subplot(1, len(shown), i + 1, projection="3d")
        mesh = anatomical_surface(surface, h, level, subject)
        plot_surf_stat_map(
            surf_mesh=mesh,
            stat_map=per_hemi[h],
            bg_map=_background(h, level, subject),
            hemi=h,
            view=view,
            cmap=cmap,
            colorbar=i == len(shown) - 1,
            threshold=threshold,
            vmin=lo,
            vmax=hi,
            symmetric_cbar=False,
            axes=ax,
            figure=fig,
        )
        if len(shown) > 1:
            ax.set_title(h, fontsize=10)
    if title:
        fig.suptitle(title)
    if output_file is not None:
        save_figure(fig, output_file, dpi=dpi)
    return fig


def view_surface_map(
    values: np.ndarray | SurfaceData,
    level: int | None = None,
    *,
    hemi: str = "both",
    surface: str = "inflated",
    cmap: Any = "RdBu_r",
    vmin: float | None = None,
    vmax: float | None = None,
    threshold: float | None = None,
    title: str | None = None,
    freesurfer_dir: str | os.PathLike | None = None,
) -> Any:
    """Interactive 3-D view of per-vertex values (nilearn's ``view_surf``).

    Parameters are as for :func:`plot_surface_map`. With ``hemi='both'`` the
    two hemispheres are joined into one mesh (set apart along x on the
    inflated, sphere and flat surfaces so they do not overlap).

    Raises
    ------
    ImportError
        If the optional package ``plotly`` is not installed.

    Returns
    -------
    nilearn.plotting.html_surface.SurfaceView
        Shows itself in a notebook; ``.save_as_html(path)`` writes a file,
        ``.get_standalone()`` gives the HTML text.
    """
    from nilearn.plotting import view_surf

    try:
        import plotly  # noqa: F401  (nilearn's interactive engine)
    except ImportError as exc:
        raise ImportError(
            "view_surface_map needs the optional package plotly (nilearn's interactive engine): "
            "pip install plotly; plot_surface_map draws static figures without it"
        ) from exc
    surface = check_option(surface, "surface", SURFACE_KINDS)
    per_hemi, level, subject = _prepare(values, level, hemi, freesurfer_dir)
    lo, hi = _color_limits(per_hemi, vmin, vmax)
    coords, faces, data, bg = [], [], [], []
    offset = 0
    for h, v in per_hemi.items():
        mesh = anatomical_surface(surface, h, level, subject)
        xyz = np.array(mesh.coordinates, dtype=np.float64)
        if len(per_hemi) > 1 and surface not in ("pial", "white"):
            gap = 5.0
            xyz[:, 0] += (-xyz[:, 0].max() - gap) if h == "left" else (-xyz[:, 0].min() + gap)
        coords.append(xyz)
        faces.append(mesh.faces + offset)
        offset += xyz.shape[0]
        data.append(v)
        background = _background(h, level, subject)
        bg.append(np.zeros_like(v) if background is None else background)
    signed = lo < 0 < hi and np.isclose(lo, -hi)
    return view_surf(
        surf_mesh=(np.concatenate(coords), np.concatenate(faces)),
        surf_map=np.concatenate(data),
        bg_map=np.concatenate(bg),
        hemi="left" if hemi == "both" else hemi,
        threshold=threshold,
        cmap=cmap,
        vmin=lo,
        vmax=hi,
        symmetric_cmap=bool(signed),
        title=title,
    )


__all__ = ["VIEWS", "plot_surface_map", "save_figure", "view_surface_map"]

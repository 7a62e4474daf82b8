"""Write a synthesis result to a folder: PNGs, predicted ROI activations, JSON, contact sheet.

Layout of ``folder``::

    images/000_<objective>_seed0.png ...   one PNG per trajectory (its best step)
    activations.csv                        predicted activation per image and ROI
    arrays.safetensors                     latents, history, best_step, predictions
    result.json                            settings and per-image results
    contact_sheet.png                      matplotlib figure: images by objective

Every file is written atomically (temporary file in the same folder, then
``os.replace``), and nothing that already exists is overwritten unless
``overwrite=True``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from neurokit.exceptions import DataValidationError, OutputExistsError
from neurokit.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text
from neurokit.report import json_default
from neurogen.objectives import DEFAULT_ENCODER, ROISpec
from neurogen.optimize import SynthesisResult

#: Above this many encoder outputs, activations.csv holds ROI means only (pass ``rois``).
MAX_CSV_TARGETS = 256


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "objective"


def image_filenames(result: SynthesisResult) -> list[str]:
    """Relative PNG paths, one per trajectory (``images/<i>_<objective>_seed<s>[_class<c>].png``)."""
    names = []
    for i in range(len(result)):
        name = f"{i:03d}_{_slug(result.objective_names[int(result.objective_index[i])])}_seed{int(result.seeds[i])}"
        if int(result.classes[i]) >= 0:
            name += f"_class{int(result.classes[i])}"
        names.append(f"images/{name}.png")
    return names


def _png_bytes(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _activation_table(
    result: SynthesisResult,
    rois: Mapping[str, ROISpec] | None,
    target_names: Mapping[str, Sequence[str]] | None,
) -> tuple[list[str], np.ndarray]:
    columns: list[str] = []
    blocks: list[np.ndarray] = []
    multi = len(result.predictions) > 1
    for enc, pred in result.predictions.items():
        prefix = f"{enc}:" if multi or enc != DEFAULT_ENCODER else ""
        if rois is not None:
            act = result.roi_activation(rois, enc)
            columns += [f"{prefix}{name}" for name in act]
            blocks.append(np.stack(list(act.values()), axis=1))
        elif pred.shape[1] <= MAX_CSV_TARGETS:
            names = list(target_names[enc]) if target_names and enc in target_names else [
                f"target{j}" for j in range(pred.shape[1])
            ]
            if len(names) != pred.shape[1]:
                raise DataValidationError(
                    f"target_names[{enc!r}] has {len(names)} names for {pred.shape[1]} encoder outputs"
                )
            columns += [f"{prefix}{name}" for name in names]
            blocks.append(pred)
    return columns, (np.concatenate(blocks, axis=1) if blocks else np.empty((len(result), 0)))


def contact_sheet_figure(result: SynthesisResult, *, max_columns: int = 8, title: str | None = None):
    """Matplotlib figure with one row per objective and its trajectories' images, best first.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot (no global state); save it or display it.
    """
    from matplotlib.figure import Figure

    n_obj = len(result.objective_names)
    rows = [result.select(k) for k in range(n_obj)]
    rows = [idx[np.argsort(-result.best_value[idx], kind="stable")][:max_columns] for idx in rows]
    n_cols = max(1, max(len(r) for r in rows))
    fig = Figure(figsize=(1.6 * n_cols + 0.4, 1.8 * n_obj + (0.4 if title else 0)), constrained_layout=True)
    axes = np.atleast_2d(fig.subplots(n_obj, n_cols, squeeze=False))
    for k, idx in enumerate(rows):
        for j in range(n_cols):
            ax = axes[k, j]
            ax.set_axis_off()
            if j >= len(idx):
                continue
            i = int(idx[j])
            ax.imshow(result.images[i], interpolation="nearest")
            label = f"seed {int(result.seeds[i])}"
            if int(result.classes[i]) >= 0:
                label += f", class {int(result.classes[i])}"
            ax.set_title(f"{label}\nvalue {result.best_value[i]:.3g}", fontsize=7)
        axes[k, 0].text(-0.08, 0.5, result.objective_names[k], transform=axes[k, 0].transAxes, rotation=90,
                        ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def save_result(
    result: SynthesisResult,
    folder: str | os.PathLike,
    *,
    rois: Mapping[str, ROISpec] | None = None,
    target_names: Mapping[str, Sequence[str]] | None = None,
    contact_sheet: bool = True,
    overwrite: bool = False,
    extra: Mapping | None = None,
) -> Path:
    """Write ``result`` into ``folder`` (see the module docstring for the layout).

    Parameters
    ----------
    result : SynthesisResult
    folder : path-like
        Output folder (created if missing).
    rois : mapping of str to ROI spec, optional
        Named ROIs whose mean predicted activation goes into ``activations.csv``
        and ``result.json``; without it the raw encoder outputs are written
        (when there are at most 256 of them).
    target_names : mapping of encoder name to sequence of str, optional
        Column names for raw encoder outputs (e.g. the ROI names of an
        ROI-mean encoder).
    contact_sheet : bool, default True
        Also write ``contact_sheet.png``.
    overwrite : bool, default False
        Replace files of a previous run. Without it, any existing output file
        raises :class:`~neurokit.exceptions.OutputExistsError` before anything is written.
    extra : mapping, optional
        JSON-serialisable fields added to ``result.json`` (e.g. the natural-image baseline).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    if not isinstance(result, SynthesisResult):
        raise DataValidationError(f"result must be a SynthesisResult, got {type(result).__name__}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"{folder}: exists and is not a folder")
    pngs = image_filenames(result)
    outputs = [*pngs, "activations.csv", "arrays.safetensors", "result.json"]
    if contact_sheet:
        outputs.append("contact_sheet.png")
    existing = [name for name in outputs if (folder / name).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{folder}: {len(existing)} output files already exist (first: {existing[0]}); "
            "choose another folder or pass overwrite=True"
        )
    columns, table = _activation_table(result, rois, target_names)

    for i, name in enumerate(pngs):
        atomic_write_bytes(folder / name, _png_bytes(result.images[i]), fsync=False)

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["image", "objective", "seed", "class", "best_step", "best_value", *columns])
    for i in range(len(result)):
        writer.writerow([
            pngs[i], result.objective_names[int(result.objective_index[i])], int(result.seeds[i]),
            int(result.classes[i]), int(result.best_step[i]), f"{float(result.best_value[i]):.6g}",
            *(f"{float(v):.6g}" for v in table[i]),
        ])
    atomic_write_text(folder / "activations.csv", buf.getvalue())

    from safetensors.numpy import save_file

    arrays = {
        "latents": np.ascontiguousarray(result.latents, dtype=np.float32),
        "history": np.ascontiguousarray(result.history, dtype=np.float32),
        "best_step": result.best_step.astype(np.int64),
        "best_value": result.best_value.astype(np.float32),
        "classes": result.classes.astype(np.int64),
        "seeds": result.seeds.astype(np.int64),
        "objective_index": result.objective_index.astype(np.int64),
        **{f"predictions.{k}": np.ascontiguousarray(v, dtype=np.float32) for k, v in result.predictions.items()},
    }
    with atomic_path(folder / "arrays.safetensors") as tmp:
        save_file(arrays, str(tmp))

    records = []
    for i in range(len(result)):
        records.append({
            "image": pngs[i],
            "objective": result.objective_names[int(result.objective_index[i])],
            "seed": int(result.seeds[i]),
            "class": None if int(result.classes[i]) < 0 else int(result.classes[i]),
            "best_step": int(result.best_step[i]),
            "best_value": float(result.best_value[i]),
            "initial_value": float(result.history[i, 0]),
            "activation": {c: float(v) for c, v in zip(columns, table[i])},
        })
    document = {
        "settings": result.settings,
        "objectives": result.objective_names,
        "images": records,
        **({"extra": dict(extra)} if extra else {}),
    }
    atomic_write_text(folder / "result.json", json.dumps(document, indent=2, default=json_default))

    if contact_sheet:
        fig = contact_sheet_figure(result)
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=120)
        atomic_write_bytes(folder / "contact_sheet.png", png.getvalue(), fsync=False)
    return folder

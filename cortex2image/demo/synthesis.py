"""Stage ``neurogen``: images that maximise the new subject's face, body and place ROIs through its
personalized encoder, beside the best natural images on predicted and ground-truth responses (report section 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cortex2image.demo.runner import DemoRun, Stage

__all__ = ["STAGE", "stage_neurogen", "neurogen_section"]


def stage_neurogen(run: DemoRun) -> dict[str, Any]:
    """Region-maximising images for the new subject on the main world (:func:`world_claims.measure_neurogen`),
    saved with their contact sheets and compared with the best natural images."""
    from cortex2image.world_claims import measure_neurogen
    from neurogen import contact_sheet_figure, save_result
    from neurokit.plotting import save_figure

    s = run.settings
    result = measure_neurogen(run.world(), run.features_of, run.image_encoder, rois=s.neurogen_rois,
                              n_few=s.ensemble_images, steps=s.neurogen_steps, n_seeds=s.neurogen_seeds,
                              n_boot=s.n_boot, progress=s.progress)
    runs, natural, ranking = result.pop("runs"), result.pop("natural"), result.pop("ranking")
    result.pop("nsd_ids")
    out = run.root / "neurogen"
    for label, res, _ in runs:
        folder = out / slug(label)
        save_result(res, folder, target_names={"encoder": list(result["rois"])}, overwrite=True)
        save_figure(contact_sheet_figure(res, title=f"subject {result['subject']}: {label}"),
                    run.figure(f"neurogen-{slug(label)}.png"))
        for roi in result["per_roi"]:
            if result["per_roi"][roi]["generator"] == label:
                result["per_roi"][roi]["image"] = str((folder / "images").relative_to(run.root))
    neurogen_figure(run, result, natural, ranking, runs)
    return result


def neurogen_figure(run: DemoRun, summary: dict[str, Any], natural: np.ndarray, ranking: Any, runs: list) -> Path:
    """Per ROI: the best synthetic image beside the best natural one, with predicted and true responses."""
    from matplotlib.figure import Figure

    from neurokit.plotting import save_figure

    rois = summary["rois"]
    fig = Figure(figsize=(5.2, 2.5 * len(rois)), constrained_layout=True)
    axes = np.atleast_2d(fig.subplots(len(rois), 2, squeeze=False))
    for k, roi in enumerate(rois):
        info = summary["per_roi"][roi]
        result = next(r for _, r, idx in runs if k in idx)
        axes[k, 0].imshow(result.images[result.best(roi)])
        axes[k, 0].set_title(f"{roi} synthetic\npred {info['synthetic_predicted']:.2f}, "
                             f"true {info['synthetic_ground_truth']:.2f}", fontsize=9)
        axes[k, 1].imshow(natural[int(ranking.order[k, 0])])
        axes[k, 1].set_title(f"{roi} best natural\npred {info['best_natural_predicted']:.2f}, "
                             f"true {info['best_natural_ground_truth']:.2f}", fontsize=9)
        for ax in axes[k]:
            ax.set_axis_off()
    path = run.figure("neurogen-vs-natural.png")
    return save_figure(fig, path)


def neurogen_section(run: DemoRun, report: Any) -> None:
    res, subject = run.results["neurogen"], run.target_subject
    sec = report.section(f"3. NeuroGen: images that drive subject {subject}'s face, body and place areas")
    sec.text("Latents of the packaged DCGAN face generator (face areas) or of a Fourier image parameterisation "
             "(other areas) are optimised (Adam, best step kept) to maximise the ROI's response predicted by the "
             "subject's personalized ROI-level encoder. 'True' is the simulated subject's noise-free response, which "
             "the optimiser never saw. Units: single-trial noise SD.")
    rows = []
    for roi, v in res["per_roi"].items():
        rows.append([roi, v["generator"], v["synthetic_predicted"], v["best_natural_predicted"],
                     v["synthetic_ground_truth"], v["best_natural_ground_truth"], v["natural_max_ground_truth"],
                     v["synthetic_predicted"] > v["best_natural_predicted"],
                     v["synthetic_ground_truth"] > v["natural_max_ground_truth"]])
    sec.table("predicted and ground-truth ROI responses (main world; the claims above cover every world seed)",
              ["ROI", "generator", "synthetic (pred)", "best natural (pred)", "synthetic (true)",
               "best-predicted natural (true)", "natural maximum (true)", "synthetic > best natural (pred)",
               "synthetic > natural maximum (true)"], rows)
    sec.figure(run.figure("neurogen-vs-natural.png"), "best synthetic image beside the best natural image per ROI")
    for path in sorted(run.figure_dir.glob("neurogen-*.png")):
        if path.name != "neurogen-vs-natural.png":
            sec.figure(path, "all trajectories' best images, one row per ROI")


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


STAGE = Stage("neurogen", stage_neurogen, neurogen_section)

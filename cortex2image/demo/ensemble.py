"""Stage ``ensemble``: the new subject's personalized ensemble encoder from the other subjects' encoders and
``--ensemble-images`` of its images, beside full-data ridge, ridge on the same images and the cohort average
(report section 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from cortex2image.demo.runner import DemoRun, Stage
from cortex2image.demo.settings import REPORT_ROIS
from neurokit.exceptions import DataValidationError

__all__ = ["STAGE", "stage_ensemble", "ensemble_section", "bar_figure"]


def stage_ensemble(run: DemoRun) -> dict[str, Any]:
    """Encoder and ensemble measurements of the last (new) subject on the main world.

    See :func:`cortex2image.world_claims.measure_encoding`: default-feature
    ridge against the oracle and mismatched features; the personalized
    ensemble from ``--ensemble-images`` images against full-data ridge, ridge
    on the same images and the cohort average; recovery of the subject's own
    deviation from the cohort.
    """
    from cortex2image.world_claims import measure_encoding

    s, world = run.settings, run.world()
    resp = run.responses(world.target)
    n_train = int((~np.isin(resp.nsd_ids, world.shared_ids)).sum())
    if s.ensemble_images > n_train:
        raise DataValidationError(
            f"--ensemble-images {s.ensemble_images} exceeds subject {world.target}'s {n_train} training images"
        )
    encoders = {k: run.encoder(k) for k in world.subjects}
    result = measure_encoding(world, run.features_of, run.mismatched_of, encoders, n_few=s.ensemble_images,
                              n_boot=s.n_boot, report_rois=REPORT_ROIS)
    return {"subject": world.target, **result}


def bar_figure(path: Path, groups: dict[str, dict[str, float]], ylabel: str, title: str) -> Path:
    """Grouped bars: one group per key of each inner dict, one colour per outer key."""
    from matplotlib.figure import Figure

    from neurokit.plotting import save_figure

    names = list(next(iter(groups.values())).keys())
    fig = Figure(figsize=(min(11.0, 0.7 * len(names) + 2.5), 3.6), constrained_layout=True)
    ax = fig.subplots()
    width = 0.8 / len(groups)
    x = np.arange(len(names))
    for i, (label, values) in enumerate(groups.items()):
        ax.bar(x + (i - (len(groups) - 1) / 2) * width, [values[n] for n in names], width, label=label)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    low = min(min(v.values()) for v in groups.values())
    if low > 0:
        ax.set_ylim(max(0.0, low - 0.15), None)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=len(groups), frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path, dpi=110)


def ensemble_section(run: DemoRun, report: Any) -> None:
    """Section 2: the ensemble's held-out accuracy beside its baselines, with CIs, and per ROI."""
    s, res, subject = run.settings, run.results, run.target_subject
    ens = res["ensemble"]
    summ = ens["summary"]
    sec = report.section(f"2. Personalized ensemble encoder for subject {subject}")
    sec.text(
        f"A PersonalizedEnsembleEncoder combines the other {s.n_subjects - 1} subjects' ridge encoders with one "
        f"weight per source and vertex plus an intercept, fitted on only {ens['n_few']} of subject {subject}'s "
        f"images; it is compared with a ridge encoder on all {ens['n_full']} images, with ridge on the same "
        f"{ens['n_few']} images and with the cohort average (the mean of the other subjects' encoders, intercept "
        f"and scale refit on the same images), on {ens['n_test']} test images of photos no training image came "
        "from. 'oracle' is the subject's noise-free ground-truth response; 'mismatched' is ridge on a randomly "
        "initialised EfficientNet-Lite0."
    )
    from neurokit.statistics import BootstrapDistribution

    dists = ens["distributions"]

    def row(label: str, key: str, name: str) -> list:
        _, low, high = BootstrapDistribution.from_dict(dists[key]).ci()
        return [label, summ["median_r"][key], f"[{low:.3f}, {high:.3f}]", summ["median_noise_normalized"][name]]

    rows = [row(name, f"ensemble.{name}", name) for name in ("ensemble", "full_data", "same_few_images",
                                                              "cohort_average")]
    rows += [row("ridge, mismatched features", "encoder.mismatched", "mismatched"),
             row("oracle (noise-free truth)", "encoder.oracle", "oracle")]
    sec.table(f"held-out accuracy on visual vertices (main world, seed {s.seed}; 95 % bootstrap CI over the "
              f"{ens['n_test']} test images)", ["model", "median r", "95 % CI", "median % of noise ceiling"], rows)
    sec.text(f"Share of the subject's noise-free response (visual vertices, median) outside the span of the other "
             f"subjects' responses: {summ['private_variance_fraction']:.2f}; no ensemble of the others' encoders "
             "can predict that part.")
    fig_path = bar_figure(run.figure("ensemble-vs-full.png"), summ["roi_mean_r"],
                          "r (ROI-mean response)", f"subject {subject}: held-out accuracy per ROI")
    sec.figure(fig_path, "ROI-mean held-out correlation per model")


STAGE = Stage("ensemble", stage_ensemble, ensemble_section)

"""Stage ``encoders``: a ridge encoder per subject, scored on the shared test images against noise ceilings
(report section 1)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from cortex2image.demo.runner import DemoRun, Stage
from neurokit.report import json_default

__all__ = ["STAGE", "stage_encoders", "encoders_section"]


def _roi_mean(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.nanmean(data[:, mask], axis=1)


def _accuracy(run: DemoRun, subject: int, predicted: np.ndarray, measured: np.ndarray,
              noise_ceiling: np.ndarray) -> dict[str, Any]:
    """Per-vertex r and noise-normalised accuracy, summarised per ROI."""
    from neurokit.metrics import noise_normalized_accuracy, pearson_r

    r = pearson_r(measured, predicted)
    nna = noise_normalized_accuracy(r, noise_ceiling)
    masks = run.roi_masks(subject)
    visual = run.visual_mask(subject)
    roi_r = {name: float(pearson_r(_roi_mean(measured, m)[:, None], _roi_mean(predicted, m)[:, None])[0])
             for name, m in masks.items()}
    return {
        "vertex_r": r,
        "noise_normalized": nna,
        "median_r_visual": float(np.nanmedian(r[visual])),
        "median_noise_normalized_visual": float(np.nanmedian(nna[visual])),
        "roi_mean_r": roi_r,
    }


def stage_encoders(run: DemoRun) -> dict[str, Any]:
    """A ridge encoder per subject: own training images -> shared test images."""
    from tqdm.auto import tqdm

    from encoding.persistence import save_encoder
    from encoding.ridge import RidgeEncoder

    nsd = run.nsd()
    summary: dict[str, Any] = {}
    for subject in tqdm(nsd.subjects, desc="ridge encoders", disable=not run.settings.progress):
        done = run.load_stage("encoders", unit=f"subj{subject:02d}")
        if done is not None:  # finished by an earlier, interrupted run
            run.log(f"[demo] encoders: reusing subject {subject}")
            summary[str(subject)] = done
            continue
        resp = run.responses(subject)
        test = np.isin(resp.nsd_ids, nsd.shared1000)
        X = run.features_of(resp.nsd_ids)
        encoder = RidgeEncoder(alphas=np.logspace(-1, 5, 13), device=run.settings.device)
        encoder.fit(X[~test], resp.data[~test])
        save_encoder(encoder, run.stage_dir / f"ridge-subj{subject:02d}", metadata={"subject": subject})
        run.remember(("enc", subject), encoder)
        acc = _accuracy(run, subject, encoder.predict(X[test]), resp.data[test], resp.noise_ceiling)
        np.save(run.stage_dir / f"accuracy-subj{subject:02d}.npy", acc.pop("noise_normalized"))
        np.save(run.stage_dir / f"r-subj{subject:02d}.npy", acc.pop("vertex_r"))
        np.save(run.stage_dir / f"noise-ceiling-subj{subject:02d}.npy", resp.noise_ceiling)
        acc.update(n_train=int((~test).sum()), n_test=int(test.sum()))
        run.save_stage("encoders", acc, unit=f"subj{subject:02d}")  # last: the subject's files are complete
        summary[str(subject)] = json.loads(json.dumps(acc, default=json_default))
    return {"subjects": summary}


def encoders_section(run: DemoRun, report: Any) -> None:
    """Section 1: each subject's held-out accuracy and the new subject's noise-ceiling and accuracy maps."""
    from neurokit.plotting import plot_surface_map

    res, subject = run.results, run.target_subject
    enc = res["encoders"]["subjects"]
    sec = report.section("1. Ridge encoders per subject")
    sec.text("Each subject's RidgeEncoder (one alpha per vertex by generalised cross-validation) on "
             "EfficientNet-Lite0 features of its own training images, scored on the shared test images. "
             "Noise-normalised accuracy = r^2 (r clipped at 0) as a percentage of the vertex's noise ceiling.")
    sec.table("held-out accuracy", ["subject", "train images", "test images", "median r (visual ROIs)",
                                    "median % of noise ceiling (visual ROIs)"],
              [[k, v["n_train"], v["n_test"], v["median_r_visual"], v["median_noise_normalized_visual"]]
               for k, v in enc.items()])
    nna = np.load(run.stage_dir / f"accuracy-subj{subject:02d}.npy")
    nc = np.load(run.stage_dir / f"noise-ceiling-subj{subject:02d}.npy")
    for values, name, caption, cmap, vmax in (
        (nc, "noise-ceiling.png", f"subject {subject}: noise ceiling (% variance), ventral view", "hot", 80.0),
        (np.where(nc >= 5.0, np.nan_to_num(nna), 0.0), "encoder-accuracy.png",
         f"subject {subject}: ridge encoder accuracy (% of noise ceiling; vertices with a ceiling "
         "under 5 % left blank), ventral view", "hot", 100.0),
    ):
        fig_path = run.figure(name)
        plot_surface_map(np.nan_to_num(values), view="ventral", cmap=cmap, vmin=0.0, vmax=vmax,
                         title=caption.split(":")[1].split(",")[0].strip(), output_file=fig_path)
        sec.figure(fig_path, caption)


STAGE = Stage("encoders", stage_encoders, encoders_section)

"""Stage ``replicates``: the encoder, ensemble and NeuroGen measurements on ``--world-seeds - 1`` more worlds."""

from __future__ import annotations

from typing import Any

from cortex2image.demo.runner import DemoRun, Stage
from cortex2image.demo.settings import REPORT_ROIS

__all__ = ["STAGE", "stage_replicates"]


def stage_replicates(run: DemoRun) -> dict[str, Any]:
    """The cheap claims on ``--world-seeds - 1`` more worlds: new subjects and noise on the same stimuli.

    Each replicate (:meth:`encoding.simulation.Cohort.replicate`, seeds ``seed + 1, ...``) is held in
    memory (no NSD files), its encoders fitted, and measured by the same functions as the main world
    (:func:`world_claims.measure_encoding`, :func:`world_claims.measure_neurogen`); every finished seed
    is stored, so an interrupted run resumes at the next one.
    """
    from cortex2image.world_claims import WorldData, fit_encoders, measure_encoding, measure_neurogen

    s = run.settings
    seeds = [s.seed + k for k in range(1, s.world_seeds)]
    done: dict[str, Any] = {}
    for seed in seeds:
        unit = f"seed{seed}"
        cached = run.load_stage("replicates", unit=unit)
        if cached is not None:
            run.log(f"[demo] replicates: reusing world seed {seed}")
            done[str(seed)] = cached
            continue
        world = WorldData.from_cohort(run.cohort().replicate(seed))
        encoders = fit_encoders(world, run.features_of, progress=s.progress)
        encoding = measure_encoding(world, run.features_of, run.mismatched_of, encoders, n_few=s.ensemble_images,
                                    n_boot=s.n_boot, report_rois=REPORT_ROIS)
        neurogen = measure_neurogen(world, run.features_of, run.image_encoder, rois=s.neurogen_rois,
                                    n_few=s.ensemble_images, steps=s.neurogen_steps, n_seeds=s.neurogen_seeds,
                                    n_boot=s.n_boot, progress=s.progress)
        for key in ("runs", "natural", "ranking", "nsd_ids"):
            neurogen.pop(key)
        done[str(seed)] = {"seed": seed, "ensemble": encoding, "neurogen": neurogen}
        run.save_stage("replicates", done[str(seed)], unit=unit)
    return {"seeds": seeds, "worlds": done}


STAGE = Stage("replicates", stage_replicates)

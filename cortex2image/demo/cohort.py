"""Stage ``cohort``: simulate the cohort and write it as an NSD tree (the real NSD reader loads it back)."""

from __future__ import annotations

from typing import Any

from cortex2image.demo.runner import DemoRun, Stage

__all__ = ["STAGE", "stage_cohort"]


def stage_cohort(run: DemoRun) -> dict[str, Any]:
    """Simulate the cohort and write it as an NSD tree."""
    import shutil

    from encoding.simulation import simulate_cohort

    s = run.settings
    cohort = simulate_cohort(
        n_subjects=s.n_subjects, n_images=s.n_images, n_shared=s.n_shared, image_size=s.image_size,
        seed=s.seed, level=5, progress=s.progress,
    )
    if run.nsd_root.exists():  # a tree from an earlier run with other settings: ours to replace
        shutil.rmtree(run.nsd_root)
    cohort.write(run.nsd_root, progress=s.progress)
    return {
        "n_subjects": s.n_subjects,
        "n_images_per_subject": s.n_images,
        "n_shared_images": s.n_shared,
        "n_stimuli": int(len(cohort.images)),
        "level": 5,
        "n_vertices": int(cohort.n_vertices),
    }


STAGE = Stage("cohort", stage_cohort)

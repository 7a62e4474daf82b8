"""The demo's stages in order (:data:`STAGES`) and :func:`run_demo`, which runs or resumes them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from cortex2image.demo import (claims, cohort, encoders, ensemble, features, reconstruction, replicates, report,
                               synthesis)
from cortex2image.demo.runner import DemoRun, Stage
from cortex2image.demo.settings import DemoSettings, check_settings
from neurokit.io.atomic import remove_stale_temporaries
from neurokit.io.output_folder import claim_output_folder
from neurokit.report import json_default

__all__ = ["STAGES", "run_demo"]

#: Every stage by name, in the order they run (each needs the results of those before it).
STAGES: dict[str, Stage] = {stage.name: stage for stage in (
    cohort.STAGE, features.STAGE, encoders.STAGE, ensemble.STAGE, synthesis.STAGE, replicates.STAGE,
    claims.STAGE, reconstruction.STAGE, report.STAGE,
)}


def run_demo(settings: DemoSettings | None = None, *, stages: list[str] | None = None,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run (or resume) the demo; return every stage's results.

    Parameters
    ----------
    settings : DemoSettings
    stages : list of str, optional
        Run only up to these stages (their prerequisites run first); default: all.
    log : callable
        Where progress lines go.

    Returns
    -------
    dict
        ``{stage name: results}`` of every stage run or reused (JSON values).
    """
    settings = settings or DemoSettings()
    check_settings(settings)
    root = claim_output_folder(settings.output, command="neurokit demo")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        remove_stale_temporaries(folder)  # what a killed earlier run was writing
    run = DemoRun(settings, root, log, stages=tuple(STAGES.values()))
    wanted = list(STAGES) if stages is None else stages
    last = max(list(STAGES).index(s) for s in wanted)
    for name in list(STAGES)[: last + 1]:
        stage = STAGES[name]
        cached = run.load_stage(name) if stage.cached else None
        if cached is not None:
            log(f"[demo] {name}: reusing results from an earlier run")
            run.results[name] = cached
            continue
        log(f"[demo] {name}: running")
        start = time.perf_counter()
        results = stage.compute(run)
        seconds = time.perf_counter() - start
        run.save_stage(name, results, seconds)
        run.results[name] = json.loads(json.dumps(results, default=json_default))
        log(f"[demo] {name}: done in {seconds:.1f} s")
    return run.results

"""Stage ``report``: ``report.html`` (the claims first, then every stage's section, with figures and tables)
and ``report.json`` (every number), through :class:`neurokit.report.Report`."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from cortex2image.demo.runner import DemoRun, Stage

__all__ = ["STAGE", "stage_report", "without_distributions"]

TITLE = "neurokit demo: encoding, synthesis and reconstruction on a simulated cohort"


def stage_report(run: DemoRun) -> dict[str, Any]:
    """Write report.html (figures, tables) and report.json (every number).

    The sections are those of ``run.stages`` that have one, in stage order, each written by its stage's
    ``section(run, report)`` from its results.
    """
    from neurokit.claims import Claim
    from neurokit.report import Report

    s, res = run.settings, run.results
    report = Report(run.root, TITLE)
    report.meta.append(
        f"{s.n_subjects} simulated subjects on fsaverage5 (20,484 vertices), {s.n_images} images each "
        f"({s.n_shared} shared test images, from photographs no training image was cut from), seed {s.seed}. "
        "The simulated brain (world 'soc-lite2': a second-order-contrast model of V1-hV4 and nonlinear read-outs "
        "of EfficientNet-Lite2) shares no model's features, so its ground truth can prove a method wrong; every "
        "claim below is checked against it and against held-out data, beside its baselines."
    )
    # every number but the claims (written once, as report.json's top-level "claims")
    numbers = {k: v for k, v in res.items() if k != "claims"}
    if "cortex2image" in numbers:
        numbers["cortex2image"] = {k: v for k, v in numbers["cortex2image"].items() if k != "claims"}
    report.numbers = {"settings": asdict(s), **without_distributions(numbers)}
    if "claims" in res:
        report.numbers["world_seeds"] = res["claims"]["world_seeds"]
    # the world claims (stage claims) and Cortex2Image's (its stage; their notes name their world seeds)
    report.claims = [Claim.from_dict(c) for name in ("claims", "cortex2image")
                     for c in res.get(name, {}).get("claims", [])]
    if "claims" in res:
        report.claims_scope = (f"on this simulated world ({len(res['claims']['world_seeds'])} world seeds: "
                               f"{', '.join(map(str, res['claims']['world_seeds']))})")
    for stage in run.stages:
        if stage.section is not None and stage.name in res:
            stage.section(run, report)
    html_path, json_path = report.write()
    return {"html": str(html_path), "json": str(json_path)}


def without_distributions(value: Any) -> Any:
    """``value`` without its bootstrap samples (kept in the stage records; report.json keeps the claims)."""
    if isinstance(value, dict):
        return {k: without_distributions(v) for k, v in value.items() if k != "distributions"}
    return value


STAGE = Stage("report", stage_report, cached=False)

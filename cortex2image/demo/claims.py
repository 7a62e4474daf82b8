"""Stage ``claims``: every encoder, ensemble and NeuroGen claim with its baselines over all world seeds
(rendered by the report as its first section, from the claims themselves)."""

from __future__ import annotations

from typing import Any

from cortex2image.demo.runner import DemoRun, Stage

__all__ = ["STAGE", "stage_claims"]


def stage_claims(run: DemoRun) -> dict[str, Any]:
    """Every claim with its baselines over all world seeds (:func:`world_claims.build_claims`)."""
    from cortex2image.world_claims import build_claims

    res = run.results
    worlds = [res["ensemble"]] + [w["ensemble"] for w in res["replicates"]["worlds"].values()]
    neurogen = [res["neurogen"]] + [w["neurogen"] for w in res["replicates"]["worlds"].values()]
    claims = build_claims([w["distributions"] for w in worlds], [w["distributions"] for w in neurogen],
                          run.settings.neurogen_rois, n_few=res["ensemble"]["n_few"], n_full=res["ensemble"]["n_full"])
    return {"world_seeds": [run.settings.seed] + res["replicates"]["seeds"],
            "claims": [c.to_dict() for c in claims]}


STAGE = Stage("claims", stage_claims)

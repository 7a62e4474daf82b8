"""The demo's runner: :class:`DemoRun` (the state the stages share, its cache of shared objects and the
stage records that make a rerun resume) and :class:`Stage` (one step: its computation and report section).

A stage's results are stored under ``<output>/stages/<stage>.json`` (or ``<stage>/<unit>.json`` for one
finished unit of it, a subject or a world seed) with the fingerprint of the settings it depends on
(:data:`STAGE_DEPENDS`); :meth:`DemoRun.load_stage` gives them back only when that fingerprint still
matches and ``--force`` is not set.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from cortex2image.demo.settings import NEUROGEN, REPORT_ROIS, VISUAL_ROIS, WORLD, DemoSettings
from neurokit.exceptions import DataValidationError
from neurokit.io.atomic import atomic_write_text
from neurokit.report import json_default

__all__ = ["DemoRun", "Stage", "STAGE_DEPENDS"]

T = TypeVar("T")

#: The settings each stage's results depend on (its record is redone when one of them changes).
STAGE_DEPENDS: dict[str, tuple[str, ...]] = {
    "cohort": WORLD,
    "features": WORLD,
    "encoders": WORLD,
    "ensemble": (*WORLD, "ensemble_images", "n_boot"),
    "neurogen": (*WORLD, *NEUROGEN, "n_boot"),
    "replicates": (*WORLD, *NEUROGEN, "n_boot", "world_seeds"),
    "claims": (*WORLD, *NEUROGEN, "n_boot", "world_seeds"),
    "cortex2image": (*WORLD, "c2i_epochs", "c2i_samples", "c2i_world_seeds", "n_boot", "metric_networks"),
}


@dataclass
class DemoRun:
    """State shared by the stages of one demo run.

    Parameters
    ----------
    settings : DemoSettings
    root : Path
        The output folder.
    log : callable
        Where progress lines go.
    results : dict
        Every finished stage's results, by stage name (JSON values).
    stages : sequence of Stage
        The stages of this run, in order (the report stage writes their sections).
    """

    settings: DemoSettings
    root: Path
    log: Callable[[str], None] = print
    results: dict[str, Any] = field(default_factory=dict)
    stages: Sequence["Stage"] = ()
    _cache: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    # the cache of shared objects ------------------------------------------------------
    def cached(self, key: Hashable, make: Callable[[], T]) -> T:
        """The shared object stored under ``key``, made by ``make()`` the first time it is asked for."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def remember(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` (a stage that just made a shared object, so it is not read back)."""
        self._cache[key] = value

    def forget(self, key: Hashable) -> None:
        """Drop what is stored under ``key`` (a stage that rewrote its file); nothing when nothing is."""
        self._cache.pop(key, None)

    # folders ------------------------------------------------------------------------
    @property
    def nsd_root(self) -> Path:
        return self.root / "nsd"

    @property
    def stage_dir(self) -> Path:
        return self.root / "stages"

    @property
    def figure_dir(self) -> Path:
        return self.root / "figures"

    @property
    def target_subject(self) -> int:
        """The 'new' subject: the last one."""
        return self.settings.n_subjects

    def figure(self, name: str) -> Path:
        """Path of the figure file ``name`` (its folder created)."""
        self.figure_dir.mkdir(parents=True, exist_ok=True)
        return self.figure_dir / name

    # shared objects -------------------------------------------------------------------
    def nsd(self):
        """The demo's NSD tree, read by :class:`neurokit.datasets.NSD`."""
        def make():
            from neurokit.datasets import NSD

            return NSD(self.nsd_root)

        return self.cached("nsd", make)

    def cohort(self):
        """The simulated cohort (ground truth, cached ground-truth features of the stimuli) as written."""
        def make():
            from encoding.simulation import load_cohort

            return load_cohort(self.nsd_root)

        return self.cached("cohort", make)

    def responses(self, subject: int):
        """The subject's responses as read from the NSD tree."""
        return self.cached(("resp", subject), lambda: self.nsd().responses(subject))

    def features(self, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
        """``(nsd_ids, features)`` of every stimulus (stage ``features``; ``name='mismatched'``: the baseline's)."""
        def make():
            from safetensors.numpy import load_file

            return load_file(str(self.stage_dir / "features.safetensors"))

        data = self.cached("features", make)
        return data["nsd_ids"], data[name]

    def features_of(self, nsd_ids: np.ndarray, name: str = "features") -> np.ndarray:
        """The stored features of these NSD images, row by row."""
        ids, feats = self.features(name)
        index = np.searchsorted(ids, nsd_ids)
        if np.any(ids[np.clip(index, 0, len(ids) - 1)] != nsd_ids):
            raise DataValidationError("some NSD ids have no features; rerun the demo with --force")
        return feats[index]

    def mismatched_of(self, nsd_ids: np.ndarray) -> np.ndarray:
        """The mismatched-feature baseline's features of these NSD images."""
        return self.features_of(nsd_ids, "mismatched")

    def image_encoder(self, readout: Any):
        """Images -> ``readout`` through the default features (differentiable; NeuroGen, reranking)."""
        from encoding.features.defaults import DEFAULT_FEATURES, default_extractor
        from encoding.image_encoder import ImageEncoder

        return ImageEncoder(default_extractor(self.settings.image_size), DEFAULT_FEATURES, readout).eval()

    def world(self):
        """The main world as a :class:`cortex2image.world_claims.WorldData` read from the NSD files."""
        def make():
            from cortex2image.world_claims import WorldData
            from encoding.simulation.rois import ROI_FAMILY_NAMES

            nsd = self.nsd()
            names = tuple(n for fam in ROI_FAMILY_NAMES.values() for n in fam)
            cohort = self.cohort()
            return WorldData(
                seed=self.settings.seed, subjects=list(nsd.subjects), responses=self.responses,
                roi_masks=lambda k: self.roi_masks(k, names), truth=cohort.subjects, clean=cohort.clean_responses,
                images=lambda ids: nsd.images(ids, size=self.settings.image_size), shared_ids=nsd.shared1000,
            )

        return self.cached("world", make)

    def encoder(self, subject: int):
        """The subject's ridge encoder (stage ``encoders``)."""
        def make():
            from encoding.persistence import load_encoder

            return load_encoder(self.stage_dir / f"ridge-subj{subject:02d}")[0]

        return self.cached(("enc", subject), make)

    def roi_masks(self, subject: int, names=REPORT_ROIS) -> dict[str, np.ndarray]:
        """``{roi: mask (2V,)}`` read from the subject's ROI label files (cached)."""
        level = self.nsd().file_level(subject)
        return {name: self.cached(("roi", subject, name), lambda name=name: self.nsd().roi_mask(subject, name, level))
                for name in names}

    def visual_mask(self, subject: int) -> np.ndarray:
        """Union of the visual ROI families (early visual, face, body, place areas)."""
        return self.cached(("visual", subject), lambda: self.nsd().roi_mask(subject, list(VISUAL_ROIS),
                                                                            self.nsd().file_level(subject)))

    # stage records ----------------------------------------------------------------------
    def stage_file(self, stage: str, unit: str | None = None) -> Path:
        """Where the record of ``stage`` (or of one ``unit`` of it) is stored."""
        return self.stage_dir / (f"{stage}.json" if unit is None else f"{stage}/{unit}.json")

    def load_stage(self, stage: str, unit: str | None = None) -> dict[str, Any] | None:
        """Results of a finished stage (or of one finished ``unit`` of it: a subject), or None.

        None when it was not finished, ``--force`` is set, it was computed with
        other settings, or its record is unreadable (a damaged record is redone,
        never used).
        """
        path = self.stage_file(stage, unit)
        if self.settings.force or not path.is_file():
            return None
        try:
            record = json.loads(path.read_text())
            fingerprint, results = record["fingerprint"], record["results"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.log(f"[demo] {stage}: {path.name} is unreadable ({exc}); redoing it")
            return None
        if fingerprint != self.settings.fingerprint(*STAGE_DEPENDS.get(stage, ())):
            return None
        return results

    def save_stage(self, stage: str, results: dict[str, Any], seconds: float | None = None,
                   unit: str | None = None) -> None:
        """Store the results of ``stage`` (or of one ``unit`` of it), atomically, with its settings' fingerprint."""
        record = {
            "stage": stage,
            "fingerprint": self.settings.fingerprint(*STAGE_DEPENDS.get(stage, ())),
            "seconds": seconds,
            "results": results,
        }
        atomic_write_text(self.stage_file(stage, unit), json.dumps(record, indent=2, default=json_default))


@dataclass(frozen=True)
class Stage:
    """One stage of the demo: its computation and the section it writes into the report.

    Parameters
    ----------
    name : str
        Its name (``--stages`` choice, stage record file name).
    compute : callable
        ``compute(run) -> dict`` of JSON-serialisable results (numpy values allowed).
    section : callable, optional
        ``section(run, report)`` adds its section to a :class:`neurokit.report.Report` from
        ``run.results[name]``; None for a stage the report has no section for.
    cached : bool
        Whether its results are stored and reused by a later run (False for the report itself).
    """

    name: str
    compute: Callable[[DemoRun], dict[str, Any]]
    section: Callable[[DemoRun, Any], None] | None = None
    cached: bool = True


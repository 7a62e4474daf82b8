"""The main job end to end on the embedded default data: ``neurokit demo``.

It runs the whole toolkit, offline, on a simulated NSD-like cohort whose
ground truth is known, and writes a report a scientist would read:

1. ``cohort``: simulate 8 subjects on fsaverage5 and write them in the NSD
   layout (the real :class:`neurokit.datasets.NSD` reader loads them back);
2. ``features``: EfficientNet-Lite0 features of every stimulus, read from the
   NSD stimulus file;
3. ``encoders``: a :class:`encoding.RidgeEncoder` per subject on its own
   training images, scored on the shared test images against noise ceilings;
4. ``ensemble``: a :class:`encoding.PersonalizedEnsembleEncoder` for the last
   subject from the other subjects' encoders and only ``--ensemble-images``
   of its images, compared with its full-data ridge encoder and with ridge on
   the same few images;
5. ``neurogen``: images that maximise that subject's face, body and place
   ROIs through its personalized encoder, compared with the best natural images
   on predicted *and* ground-truth responses;
6. ``cortex2image``: Cortex2Image trained for that subject, then its test
   images reconstructed from its fMRI files;
7. ``report``: ``report.html`` with figures and ``report.json`` with every number.

Every stage stores its results under ``<output>/stages``; a second run with the
same settings reuses what the first finished (``--force`` redoes everything).
Long stages also resume inside: ``features`` per chunk of stimuli (through a
:class:`encoding.feature_store.FeatureStore`),
``encoders`` per subject, ``cortex2image`` per training epoch (the
:class:`neurokit.training.Trainer`'s checkpoints), so a run stopped anywhere
(Ctrl-C, ``kill``, a lost node) continues where it stopped and ends with the
same ``report.json`` as an uninterrupted run. ``<output>`` must be new, empty
or an earlier demo output (it holds ``.neurokit-output.json``).
The module sits at the top of the dependency chain (it uses every package),
which is why it lives in ``cortex2image``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurokit.report import json_default
from neurokit.exceptions import DataValidationError
from neurokit.io.atomic import atomic_path, atomic_write_text, remove_stale_temporaries
from neurokit.io.output_folder import claim_output_folder

#: The simulated subjects' ROIs the demo reports, by family.
REPORT_ROIS = ("V1v", "V1d", "V2v", "V3v", "hV4", "OFA", "FFA-1", "EBA", "OPA", "PPA", "RSC")
VISUAL_ROIS = ("prf-visualrois", "floc-faces", "floc-bodies", "floc-places")


@dataclass
class DemoSettings:
    """Every setting of the demo (each one a ``neurokit demo`` flag)."""

    output: str = "neurokit-demo"
    n_subjects: int = 8
    n_images: int = 600
    n_shared: int = 120
    image_size: int = 64
    ensemble_images: int = 300
    neurogen_rois: tuple[str, ...] = ("FFA-1", "EBA", "PPA")
    neurogen_steps: int = 40
    neurogen_seeds: int = 3
    c2i_epochs: int = 12
    c2i_samples: int = 8
    c2i_world_seeds: int = 2
    metric_networks: tuple[str, ...] = ()  # "NAME=PATH": local weights of cortex2image.metric_networks networks
    world_seeds: int = 3
    n_boot: int = 1000
    seed: int = 0
    device: str = "cpu"
    feature_chunk: int = 256
    progress: bool = True
    force: bool = False

    def fingerprint(self, *names: str) -> str:
        """A short hash of the named settings (what a stage's results depend on)."""
        values = {k: v for k, v in asdict(self).items() if k in names}
        return hashlib.sha256(json.dumps(values, sort_keys=True, default=list).encode()).hexdigest()[:16]


_WORLD = ("n_subjects", "n_images", "n_shared", "image_size", "seed")
_NEUROGEN = ("ensemble_images", "neurogen_rois", "neurogen_steps", "neurogen_seeds")
STAGE_DEPENDS: dict[str, tuple[str, ...]] = {
    "cohort": _WORLD,
    "features": _WORLD,
    "encoders": _WORLD,
    "ensemble": (*_WORLD, "ensemble_images", "n_boot"),
    "neurogen": (*_WORLD, *_NEUROGEN, "n_boot"),
    "replicates": (*_WORLD, *_NEUROGEN, "n_boot", "world_seeds"),
    "claims": (*_WORLD, *_NEUROGEN, "n_boot", "world_seeds"),
    "cortex2image": (*_WORLD, "c2i_epochs", "c2i_samples", "c2i_world_seeds", "n_boot", "metric_networks"),
}
#: What Cortex2Image's training depends on (its checkpoint folders are keyed by these).
_C2I_TRAINING = (*_WORLD, "c2i_epochs", "c2i_samples")


@dataclass
class DemoRun:
    """State shared by the stages of one demo run."""

    settings: DemoSettings
    root: Path
    log: Callable[[str], None] = print
    results: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

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

    # shared objects -------------------------------------------------------------------
    def nsd(self):
        if "nsd" not in self._cache:
            from neurokit.datasets import NSD

            self._cache["nsd"] = NSD(self.nsd_root)
        return self._cache["nsd"]

    def cohort(self):
        """The simulated cohort (ground truth, cached ground-truth features of the stimuli) as written."""
        if "cohort" not in self._cache:
            from encoding.simulation import load_cohort

            self._cache["cohort"] = load_cohort(self.nsd_root)
        return self._cache["cohort"]

    def responses(self, subject: int):
        if ("resp", subject) not in self._cache:
            self._cache[("resp", subject)] = self.nsd().responses(subject)
        return self._cache[("resp", subject)]

    def features(self, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
        """``(nsd_ids, features)`` of every stimulus (stage ``features``; ``name='mismatched'``: the baseline's)."""
        if "features" not in self._cache:
            from safetensors.numpy import load_file

            self._cache["features"] = load_file(str(self.stage_dir / "features.safetensors"))
        data = self._cache["features"]
        return data["nsd_ids"], data[name]

    def features_of(self, nsd_ids: np.ndarray, name: str = "features") -> np.ndarray:
        ids, feats = self.features(name)
        index = np.searchsorted(ids, nsd_ids)
        if np.any(ids[np.clip(index, 0, len(ids) - 1)] != nsd_ids):
            raise DataValidationError("some NSD ids have no features; rerun the demo with --force")
        return feats[index]

    def mismatched_of(self, nsd_ids: np.ndarray) -> np.ndarray:
        return self.features_of(nsd_ids, "mismatched")

    def image_encoder(self, readout: Any):
        """Images -> ``readout`` through the default features (differentiable; NeuroGen, reranking)."""
        from encoding.features.defaults import DEFAULT_FEATURES, default_extractor
        from encoding.image_encoder import ImageEncoder

        return ImageEncoder(default_extractor(self.settings.image_size), DEFAULT_FEATURES, readout).eval()

    def world(self):
        """The main world as a :class:`cortex2image.world_claims.WorldData` read from the NSD files."""
        if "world" not in self._cache:
            from cortex2image.world_claims import WorldData
            from encoding.simulation.rois import ROI_FAMILY_NAMES

            nsd = self.nsd()
            names = tuple(n for fam in ROI_FAMILY_NAMES.values() for n in fam)
            cohort = self.cohort()
            self._cache["world"] = WorldData(
                seed=self.settings.seed, subjects=list(nsd.subjects), responses=self.responses,
                roi_masks=lambda k: self.roi_masks(k, names), truth=cohort.subjects, clean=cohort.clean_responses,
                images=lambda ids: nsd.images(ids, size=self.settings.image_size), shared_ids=nsd.shared1000,
            )
        return self._cache["world"]

    def encoder(self, subject: int):
        if ("enc", subject) not in self._cache:
            from encoding.persistence import load_encoder

            self._cache[("enc", subject)] = load_encoder(self.stage_dir / f"ridge-subj{subject:02d}")[0]
        return self._cache[("enc", subject)]

    def roi_masks(self, subject: int, names=REPORT_ROIS) -> dict[str, np.ndarray]:
        """``{roi: mask (2V,)}`` read from the subject's ROI label files (cached)."""
        level = self.nsd().file_level(subject)
        masks = {}
        for name in names:
            key = ("roi", subject, name)
            if key not in self._cache:
                self._cache[key] = self.nsd().roi_mask(subject, name, level)
            masks[name] = self._cache[key]
        return masks

    def visual_mask(self, subject: int) -> np.ndarray:
        """Union of the visual ROI families (early visual, face, body, place areas)."""
        key = ("visual", subject)
        if key not in self._cache:
            self._cache[key] = self.nsd().roi_mask(subject, list(VISUAL_ROIS), self.nsd().file_level(subject))
        return self._cache[key]

    def figure(self, name: str) -> Path:
        self.figure_dir.mkdir(parents=True, exist_ok=True)
        return self.figure_dir / name


# stage bookkeeping ----------------------------------------------------------------------
def _stage_file(run: DemoRun, stage: str, unit: str | None = None) -> Path:
    return run.stage_dir / (f"{stage}.json" if unit is None else f"{stage}/{unit}.json")


def _load_stage(run: DemoRun, stage: str, unit: str | None = None) -> dict[str, Any] | None:
    """Results of a finished stage (or of one finished ``unit`` of it: a subject), or None.

    None when it was not finished, ``--force`` is set, it was computed with
    other settings, or its record is unreadable (a damaged record is redone,
    never used).
    """
    path = _stage_file(run, stage, unit)
    if run.settings.force or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        fingerprint, results = record["fingerprint"], record["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        run.log(f"[demo] {stage}: {path.name} is unreadable ({exc}); redoing it")
        return None
    if fingerprint != run.settings.fingerprint(*STAGE_DEPENDS.get(stage, ())):
        return None
    return results


def _save_stage(run: DemoRun, stage: str, results: dict[str, Any], seconds: float | None = None,
                unit: str | None = None) -> None:
    record = {
        "stage": stage,
        "fingerprint": run.settings.fingerprint(*STAGE_DEPENDS.get(stage, ())),
        "seconds": seconds,
        "results": results,
    }
    atomic_write_text(_stage_file(run, stage, unit), json.dumps(record, indent=2, default=json_default))


def _roi_mean(data: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.nanmean(data[:, mask], axis=1)


# stages ---------------------------------------------------------------------------------
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


#: Images per forward pass of the features stage.
FEATURE_BATCH = 64


def stage_features(run: DemoRun) -> dict[str, Any]:
    """The models' features of every stimulus, from the NSD files: the default EfficientNet-Lite0 features
    and the mismatched-feature baseline's (randomly initialised Lite0), neither the ground truth's.

    Computed through a :class:`encoding.feature_store.FeatureStore` in the stage folder, in chunks
    of ``feature_chunk`` stimuli, so an interrupted run resumes at the first unfinished chunk.
    """
    import shutil

    from safetensors.numpy import save_file

    from encoding.features.defaults import DEFAULT_FEATURES, default_extractor, mismatched_extractor
    from encoding.feature_store import FeatureStore, NSDStimuli
    from encoding.from_nsd import nsd_image_features

    nsd, s = run.nsd(), run.settings
    ids = np.unique(np.concatenate([nsd.image_ids(k) for k in nsd.subjects]))
    store = FeatureStore(run.stage_dir / "feature-store", chunk_size=s.feature_chunk)
    if s.force and store.folder.exists():
        shutil.rmtree(store.folder)
    out = {"nsd_ids": ids.astype(np.int64)}
    for name, extractor in (("features", default_extractor(s.image_size)),
                            ("mismatched", mismatched_extractor(s.image_size))):
        status = store.status(store.key(NSDStimuli(nsd, image_size=s.image_size), ids, extractor, DEFAULT_FEATURES))
        if status is not None and status[0]:
            run.log(f"[demo] features: {status[0]} of {status[1]} chunks of {name!r} already in the feature store")
        out[name] = nsd_image_features(nsd, ids, extractor, DEFAULT_FEATURES, image_size=s.image_size,
                                       batch_size=FEATURE_BATCH, progress=s.progress, store=store)
    with atomic_path(run.stage_dir / "features.safetensors") as tmp:
        save_file(out, str(tmp))
    run._cache.pop("features", None)
    return {"n_stimuli": int(len(ids)), "n_features": int(out["features"].shape[1]),
            "layers": list(DEFAULT_FEATURES["layers"]), "network": "EfficientNet-Lite0 (ImageNet)",
            "mismatched_network": "EfficientNet-Lite0, randomly initialised (seed 0)"}


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
        done = _load_stage(run, "encoders", unit=f"subj{subject:02d}")
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
        run._cache[("enc", subject)] = encoder
        acc = _accuracy(run, subject, encoder.predict(X[test]), resp.data[test], resp.noise_ceiling)
        np.save(run.stage_dir / f"accuracy-subj{subject:02d}.npy", acc.pop("noise_normalized"))
        np.save(run.stage_dir / f"r-subj{subject:02d}.npy", acc.pop("vertex_r"))
        np.save(run.stage_dir / f"noise-ceiling-subj{subject:02d}.npy", resp.noise_ceiling)
        acc.update(n_train=int((~test).sum()), n_test=int(test.sum()))
        _save_stage(run, "encoders", acc, unit=f"subj{subject:02d}")  # last: the subject's files are complete
        summary[str(subject)] = json.loads(json.dumps(acc, default=json_default))
    return {"subjects": summary}


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
        folder = out / _slug(label)
        save_result(res, folder, target_names={"encoder": list(result["rois"])}, overwrite=True)
        save_figure(contact_sheet_figure(res, title=f"subject {result['subject']}: {label}"),
                    run.figure(f"neurogen-{_slug(label)}.png"))
        for roi in result["per_roi"]:
            if result["per_roi"][roi]["generator"] == label:
                result["per_roi"][roi]["image"] = str((folder / "images").relative_to(run.root))
    _neurogen_figure(run, result, natural, ranking, runs)
    return result


def _neurogen_figure(run: DemoRun, summary: dict[str, Any], natural: np.ndarray, ranking: Any, runs: list) -> Path:
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


def _neurogen_section(run: DemoRun, report: Any) -> None:
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
        cached = _load_stage(run, "replicates", unit=unit)
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
        _save_stage(run, "replicates", done[str(seed)], unit=unit)
    return {"seeds": seeds, "worlds": done}


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


def _c2i_world(run: DemoRun, nsd_root: Path, folder: Path, training_dir: Path) -> dict[str, Any]:
    """Train Cortex2Image for the new subject of one world (an NSD tree), reconstruct its test images from MGH
    files, write them (PNG + index) and score them beside every baseline (:mod:`cortex2image.evaluation`)."""
    from cortex2image.cli import write_reconstruction
    from cortex2image.evaluation import evaluate_from_nsd
    from cortex2image.metrics import feature_identification
    from cortex2image.training import train_reconstructor
    from neurokit.datasets import NSD
    from neurokit.io import write_surface_data
    from neurokit.surface_data import SurfaceData

    s, subject = run.settings, run.target_subject
    nsd = run.nsd() if nsd_root == run.nsd_root else NSD(nsd_root)
    model, test = train_reconstructor(
        nsd, subject, level=4, image_size=s.image_size, semantic_epochs=s.c2i_epochs,
        detail_epochs=s.c2i_epochs, semantic_dropout=0.2, val_fraction=0.1, patience=5, seed=s.seed,
        progress=s.progress, device=s.device, run_dir=training_dir,
        trunk=dict(coarse_level=1, channels=[8, 16, 32, 64], attention_dim=64, attention_depth=1, num_heads=4),
    )
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model")
    # The test responses as the files a user would hand over (left and right hemisphere MGH).
    lh, rh = folder / "test-responses" / "lh.test.mgh", folder / "test-responses" / "rh.test.mgh"
    lh.parent.mkdir(parents=True, exist_ok=True)
    write_surface_data(SurfaceData.from_array(test["responses"], source="test responses"), lh, rh)
    result = model.reconstruct((lh, rh), n_samples=s.c2i_samples, seed=s.seed)
    write_reconstruction(result, folder / "reconstructions", overwrite=True, record={"subject": subject, "shuffle_seed": s.seed},
                         nsd_ids=test["nsd_ids"])
    # brain correlation by an encoder: the subject's ridge encoder (stage encoders; in another world fitted here
    # the same way, on the same stimuli's features)
    if nsd_root == run.nsd_root:
        ridge = run.encoder(subject)
    else:
        from cortex2image.world_claims import RIDGE_ALPHAS
        from encoding.ridge import RidgeEncoder

        resp = nsd.responses(subject)
        ridge = RidgeEncoder(alphas=RIDGE_ALPHAS).fit(run.features_of(resp.nsd_ids[~resp.shared]),
                                                      resp.data[~resp.shared])
    encoder = run.image_encoder(ridge).predict
    evaluation, images = evaluate_from_nsd(result.images, test["nsd_ids"], nsd, subject, encoder=encoder,
                                           metric_networks=metric_network_files(s), seed=s.seed, device=s.device)
    # Two-way identification in the decoder's own semantic space: decoded embedding vs the seen image's.
    semantic_true = model.space.embed(test["images"])
    perm = np.asarray(evaluation.details["shuffled_permutation"])
    return {
        "n_train_and_validation": int(len(nsd.image_ids(subject)) - len(test["images"])),
        "n_test": int(len(test["images"])),
        "evaluation": evaluation.to_dict(n_boot=s.n_boot),
        "semantic_identification": float(feature_identification(semantic_true, result.semantic).mean()),
        "semantic_identification_shuffled": float(feature_identification(semantic_true, result.semantic[perm]).mean()),
        "figure_images": {k: images[k] for k in ("reconstruction", "nearest_neighbour", "ridge_pixels")},
        "seen": test["images"],
        "generator": model.generator,
    }


def stage_cortex2image(run: DemoRun) -> dict[str, Any]:
    """Cortex2Image for the new subject on ``--c2i-world-seeds`` worlds, scored beside its baselines, and its claims.

    The main world is read from the demo's NSD tree (its reconstructions, written under
    ``<output>/cortex2image/reconstructions`` with their NSD ids, can be rescored from that folder and the NSD
    root alone: :func:`cortex2image.evaluation.evaluate_reconstruction_folder`); each further world
    (:meth:`encoding.simulation.Cohort.replicate`, seeds ``seed + 1, ...``) is written as an NSD tree in the
    stage folder, measured the same way, and its tree removed; every finished world is stored, so an
    interrupted run resumes at the next one.
    """
    import shutil

    from cortex2image.evaluation import reconstruction_claims

    s, subject = run.settings, run.target_subject
    # Checkpoints every epoch: an interrupted run resumes at its last finished epoch. The folders are
    # keyed by the training settings; folders of other settings (and with --force, these) go first.
    fingerprint = s.fingerprint(*_C2I_TRAINING)
    for old in run.stage_dir.glob("cortex2image-training-*"):
        if s.force or not old.name.startswith(f"cortex2image-training-{fingerprint}"):
            shutil.rmtree(old)
    main = _c2i_world(run, run.nsd_root, run.root / "cortex2image",
                      run.stage_dir / f"cortex2image-training-{fingerprint}")
    figure_images, seen = main.pop("figure_images"), main.pop("seen")
    _reconstruction_figure(run, seen, figure_images)
    generator = _generator_quality(run, main.pop("generator"), seen)
    seeds = [s.seed + k for k in range(s.c2i_world_seeds)]
    worlds = {str(s.seed): main}
    for seed in seeds[1:]:
        unit = f"world{seed}"
        cached = _load_stage(run, "cortex2image", unit=unit)
        if cached is None:
            folder = run.stage_dir / f"cortex2image-{unit}"
            if folder.exists():
                shutil.rmtree(folder)
            run.cohort().replicate(seed, progress=s.progress).write(folder / "nsd", progress=s.progress)
            cached = _c2i_world(run, folder / "nsd", folder,
                                run.stage_dir / f"cortex2image-training-{fingerprint}-{unit}")
            for key in ("figure_images", "seen", "generator"):
                cached.pop(key)
            shutil.rmtree(folder / "nsd")
            _save_stage(run, "cortex2image", cached, unit=unit)
        else:
            run.log(f"[demo] cortex2image: reusing world seed {seed}")
        worlds[str(seed)] = cached
    claims = reconstruction_claims([w["evaluation"]["distributions"] for w in worlds.values()], seeds,
                                   subject=subject, n_test=main["n_test"])
    return {"subject": subject, "world_seeds": seeds, **main, "generator": generator,
            "worlds": {k: v for k, v in worlds.items() if k != str(s.seed)},
            "claims": [c.to_dict() for c in claims]}


#: Test images in the reconstruction figure (chosen at random with the demo's seed).
FIGURE_IMAGES = 12
#: Prior draws of the detail noise per image in the generator figure.
GENERATOR_Z_DRAWS = 3


def _generator_quality(run: DemoRun, gen: Any, seen: np.ndarray) -> dict[str, Any]:
    """The reconstructions' generator on the main world's test images (photographs it never saw), and a figure.

    Measured: :func:`neurogen.generator_training.generator_quality` (regeneration from each image's own
    features beside another image's features and the mean image), plus the figure: seen image, regenerated,
    and :data:`GENERATOR_Z_DRAWS` draws of the detail noise ``z`` from the prior.
    """
    import torch
    from matplotlib.figure import Figure

    from neurogen.generator_training import generator_quality
    from neurokit.plotting import save_figure

    x = torch.from_numpy(np.ascontiguousarray(seen.transpose(0, 3, 1, 2))).float()
    quality = generator_quality(gen, x, seed=run.settings.seed)
    n = min(8, len(seen))
    pick = np.sort(np.random.default_rng(run.settings.seed + 1).choice(len(seen), n, replace=False))
    with torch.no_grad():
        xb = x[pick]
        h = gen.instance_features(xb)
        mu, _ = gen.encode(xb)
        rows = [("seen", xb), ("regenerated from its features", gen(mu, h))]
        rows += [(f"prior z draw {k + 1}", gen(gen.sample_noise(mu, seed=run.settings.seed + k), h))
                 for k in range(GENERATOR_Z_DRAWS)]
    fig = Figure(figsize=(1.3 * n, 1.4 * len(rows)), constrained_layout=True)
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j in range(n):
            axes[i, j].imshow(np.clip(imgs[j].permute(1, 2, 0).numpy(), 0.0, 1.0))
            axes[i, j].set_axis_off()
        axes[i, 0].set_title(label, fontsize=9, loc="left")
    save_figure(fig, run.figure("generator.png"))
    info = gen.info
    epochs = info.get("history", {}).get("epochs", [])
    return {"weights": gen.source, "command": info.get("command"), "training": info.get("training"),
            "left_out_photos": info.get("data", {}).get("left_out", {}).get("n_photos"),
            "train_loss": [e["train_loss"] for e in epochs], "val_score": [e["val_score"] for e in epochs],
            "quality_on_test_images": quality,
            "quality_on_left_out_photos": info.get("quality_on_left_out_photos")}


def _generator_section(run: DemoRun, report: Any) -> None:
    g = run.results["cortex2image"]["generator"]
    sec = report.section("5. The offline generator: EfficientNet-Lite0 feature inversion trained on the photo bank")
    sec.text("No installed package carries the weights of a natural-image generator, so the toolkit trains its own "
             "(neurogen.FeatureInversionGenerator: a conditional VAE that regenerates an image from its Lite0 "
             "instance feature h, its Lite0 stage-3 map on a 4 x 4 grid and a detail noise z; pixel, perceptual and "
             "feature losses; conditioning augmentation) and ships the weights. Command: "
             f"`{g['command']}`; {g['left_out_photos']} photographs, those of the simulated world's test images, "
             f"were left out of its training. Training loss by epoch: "
             + ", ".join(f"{v:.3f}" for v in g["train_loss"]) + "; validation score (minus the loss on crops of "
             "held-out photographs, higher is better): " + ", ".join(f"{v:.3f}" for v in g["val_score"]) + ".")
    q = g["quality_on_test_images"]
    rows = [[label, q[key]["pixel_mse"], q[key]["pixcorr"], q[key]["instance_identification"]]
            for key, label in (("generator", "own features, posterior-mean z"), ("prior_z", "own features, prior z"),
                               ("shuffled_features", "another test image's features"),
                               ("mean_image", "mean test image"))]
    sec.table(f"regenerating the {q['n_images']} test images (photographs the generator never saw) from their true "
              "features", ["input", "pixel MSE", "PixCorr", "Lite0 instance 2-way identification"], rows)
    sec.text(f"Pixel standard deviation across prior draws of z: {q['z_diversity']:.4f}.")
    sec.figure(run.figure("generator.png"), "test images, regenerated from their own features, and draws of z")


def _reconstruction_figure(run: DemoRun, seen: np.ndarray, images: dict[str, np.ndarray]) -> Path:
    """Seen image, reconstruction, nearest-neighbour retrieval and ridge to pixels for random test images."""
    from matplotlib.figure import Figure

    from cortex2image.evaluation import METHOD_LABELS
    from neurokit.plotting import save_figure

    n = min(FIGURE_IMAGES, len(seen))
    pick = np.sort(np.random.default_rng(run.settings.seed).choice(len(seen), n, replace=False))
    rows = [("seen", seen)] + [(METHOD_LABELS[k], v) for k, v in images.items()]
    fig = Figure(figsize=(1.3 * n, 1.4 * len(rows)), constrained_layout=True)
    axes = fig.subplots(len(rows), n, squeeze=False)
    for i, (label, imgs) in enumerate(rows):
        for j, k in enumerate(pick):
            axes[i, j].imshow(np.clip(imgs[k], 0.0, 1.0))
            axes[i, j].set_axis_off()
        axes[i, 0].set_title(label, fontsize=9, loc="left")
    path = run.figure("reconstructions.png")
    return save_figure(fig, path)


def _cortex2image_section(run: DemoRun, report: Any) -> None:
    from cortex2image.evaluation import BASELINES, METHOD_LABELS, baseline_verdict, metric_table

    res, subject = run.results["cortex2image"], run.target_subject
    worlds = [res["evaluation"]] + [w["evaluation"] for w in res["worlds"].values()]
    dists = [w["distributions"] for w in worlds]
    sec = report.section(f"4. Cortex2Image: subject {subject}'s test images reconstructed from its fMRI files")
    sec.text("Cortex2Semantic (MeshConv trunk + sigmoid-attention blocks -> the generator's instance feature h, "
             "EfficientNet-Lite0's centred pooled embedding) and Cortex2Detail (the same kind of trunk -> a Gaussian "
             "over the generator's latent: Lite0 stage-3 features on a 4 x 4 grid and detail noise, regressed onto "
             "the seen images' posterior latents, best validation epoch kept, decoded latents calibrated) were "
             f"trained at fsaverage level 4 on the subject's {res['n_train_and_validation']} non-shared images; "
             f"the {res['n_test']} shared test images (from photographs no training image was cut from) were then "
             "reconstructed from the test responses written as lh/rh MGH files by the toolkit's own "
             "instance-conditioned generator (section 5), drawing "
             f"{run.settings.c2i_samples} samples per image and keeping the one whose response, predicted by the "
             "subject's encoder fit on the training images, correlates best with the measured one. "
             "Every metric is shown beside four "
             "baselines on the same test images: the " + ", ".join(METHOD_LABELS[b] for b in BASELINES) + " "
             "(the training image whose measured response correlates best with the test response; a linear map "
             "from responses to pixels; the reconstructions paired with the wrong test images). Identification "
             "is two-way, in EfficientNet-Lite2 pooled features (the simulated brain's network, not the decoder's "
             "semantic space); brain correlation (ground truth) compares the subject's noise-free response to each "
             "image with its response to the seen image.")
    header, rows = metric_table(dists)
    seeds = res["world_seeds"]
    sec.table(f"reconstruction metrics, mean over {res['n_test']} test images with 95 % bootstrap CIs "
              f"({len(seeds)} world seed(s): {', '.join(map(str, seeds))})", header, rows)
    header, rows = metric_table(dists, differences=True)
    sec.table("paired differences, reconstruction minus each baseline, on the same test images and resamples "
              "(95 % bootstrap CIs; for a distance, negative favours the reconstruction)", header, rows)
    sec.text(baseline_verdict(dists, worlds[0]["higher_is_better"]))
    sec.text(f"Two-way identification in the decoder's own semantic space (decoded embedding vs the seen image's, "
             f"main world): {res['semantic_identification']:.3f} (shuffled pairs "
             f"{res['semantic_identification_shuffled']:.3f}).")
    sec.figure(run.figure("reconstructions.png"),
               f"{min(FIGURE_IMAGES, res['n_test'])} test images chosen at random (seed {run.settings.seed}): seen "
               "image, reconstruction, nearest-neighbour retrieval, ridge to pixels")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


STAGES: dict[str, Callable[[DemoRun], dict[str, Any]]] = {
    "cohort": stage_cohort,
    "features": stage_features,
    "encoders": stage_encoders,
    "ensemble": stage_ensemble,
    "neurogen": stage_neurogen,
    "replicates": stage_replicates,
    "claims": stage_claims,
    "cortex2image": stage_cortex2image,
}


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
    """
    settings = settings or DemoSettings()
    _check_settings(settings)
    root = claim_output_folder(settings.output, command="neurokit demo")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        remove_stale_temporaries(folder)  # what a killed earlier run was writing
    run = DemoRun(settings, root, log)
    wanted = list(STAGES) if stages is None else stages
    last = max(list(STAGES).index(s) for s in wanted)
    for name in list(STAGES)[: last + 1]:
        cached = None if name == "report" else _load_stage(run, name)
        if cached is not None:
            log(f"[demo] {name}: reusing results from an earlier run")
            run.results[name] = cached
            continue
        log(f"[demo] {name}: running")
        start = time.perf_counter()
        results = STAGES[name](run)
        seconds = time.perf_counter() - start
        _save_stage(run, name, results, seconds)
        run.results[name] = json.loads(json.dumps(results, default=json_default))
        log(f"[demo] {name}: done in {seconds:.1f} s")
    return run.results


def metric_network_files(s: DemoSettings) -> dict[str, str]:
    """``--metric-network NAME=PATH`` settings as ``{name: path}``, checked against
    :data:`cortex2image.metric_networks.METRIC_NETWORKS` and the file system."""
    from cortex2image.metric_networks import METRIC_NETWORKS

    files = {}
    for entry in s.metric_networks:
        name, sep, path = str(entry).partition("=")
        if not sep or name not in METRIC_NETWORKS:
            raise DataValidationError(f"--metric-network {entry!r}: expected NAME=PATH with NAME one of "
                                      f"{sorted(METRIC_NETWORKS)}")
        if not Path(path).is_file():
            raise DataValidationError(f"--metric-network {entry!r}: no weight file at {path}")
        files[name] = path
    return files


def _check_settings(s: DemoSettings) -> None:
    if s.n_subjects < 2:
        raise DataValidationError(f"--subjects must be at least 2 (sources plus one new subject), got {s.n_subjects}")
    if not 2 <= s.n_shared < s.n_images:
        raise DataValidationError(f"--shared must be in 2..{s.n_images - 1} (fewer than --images), got {s.n_shared}")
    if s.ensemble_images < 3:
        raise DataValidationError(f"--ensemble-images must be at least 3, got {s.ensemble_images}")
    if s.feature_chunk < 1:
        raise DataValidationError(f"--feature-chunk must be at least 1, got {s.feature_chunk}")
    if s.world_seeds < 1:
        raise DataValidationError(f"--world-seeds must be at least 1 (the main world), got {s.world_seeds}")
    if s.c2i_world_seeds < 1:
        raise DataValidationError(f"--c2i-world-seeds must be at least 1 (the main world), got {s.c2i_world_seeds}")
    metric_network_files(s)
    if s.n_boot < 100:
        raise DataValidationError(f"--bootstrap must be at least 100 resamples, got {s.n_boot}")


# command line ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = DemoSettings()
    parser.add_argument("--output", default=d.output, help="output folder (default: %(default)s)")
    parser.add_argument("--subjects", type=int, default=d.n_subjects, dest="n_subjects",
                        help="simulated subjects; the last is the 'new' one (default: %(default)s)")
    parser.add_argument("--images", type=int, default=d.n_images, dest="n_images",
                        help="images per subject (default: %(default)s)")
    parser.add_argument("--shared", type=int, default=d.n_shared, dest="n_shared",
                        help="images every subject saw, the test set (default: %(default)s)")
    parser.add_argument("--image-size", type=int, default=d.image_size, help="stimulus size in pixels")
    parser.add_argument("--ensemble-images", type=int, default=d.ensemble_images,
                        help="images of the new subject for its personalized encoder (default: %(default)s)")
    parser.add_argument("--neurogen-rois", nargs="+", default=list(d.neurogen_rois),
                        help="ROIs to synthesise images for (default: %(default)s)")
    parser.add_argument("--neurogen-steps", type=int, default=d.neurogen_steps, help="optimisation steps")
    parser.add_argument("--neurogen-seeds", type=int, default=d.neurogen_seeds, help="seeds per ROI")
    parser.add_argument("--c2i-epochs", type=int, default=d.c2i_epochs, help="Cortex2Image training epochs")
    parser.add_argument("--c2i-samples", type=int, default=d.c2i_samples,
                        help="reconstructions sampled per test image (reranked by brain correlation)")
    parser.add_argument("--c2i-world-seeds", type=int, default=d.c2i_world_seeds,
                        help="world seeds Cortex2Image is trained and scored on, the main one included (each one more "
                             "training; default: %(default)s)")
    parser.add_argument("--metric-network", action="append", default=[], dest="metric_networks",
                        metavar="NAME=PATH",
                        help="score the reconstructions also in this metric network of the field's table (alexnet-2, "
                             "alexnet-5, inception-v3, clip, efficientnet-b1, swav) from a local weight file; "
                             "repeatable")
    parser.add_argument("--world-seeds", type=int, default=d.world_seeds,
                        help="world seeds of the encoder, ensemble and NeuroGen claims, the main one included "
                             "(default: %(default)s)")
    parser.add_argument("--bootstrap", type=int, default=d.n_boot, dest="n_boot",
                        help="bootstrap resamples of every confidence interval (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--device", default=d.device, help="torch device (cpu, cuda)")
    parser.add_argument("--feature-chunk", type=int, default=d.feature_chunk,
                        help="stimuli per resumable chunk of the features stage (default: %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--force", action="store_true", help="redo every stage instead of resuming")
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=None,
                        help="run only up to these stages")


def settings_from_args(args: argparse.Namespace) -> DemoSettings:
    return DemoSettings(
        output=args.output, n_subjects=args.n_subjects, n_images=args.n_images, n_shared=args.n_shared,
        image_size=args.image_size, ensemble_images=args.ensemble_images,
        neurogen_rois=tuple(args.neurogen_rois), neurogen_steps=args.neurogen_steps,
        neurogen_seeds=args.neurogen_seeds, c2i_epochs=args.c2i_epochs, c2i_samples=args.c2i_samples,
        c2i_world_seeds=args.c2i_world_seeds, metric_networks=tuple(args.metric_networks), world_seeds=args.world_seeds, n_boot=args.n_boot, seed=args.seed,
        device=args.device, feature_chunk=args.feature_chunk, progress=not args.no_progress, force=args.force,
    )


def command(args: argparse.Namespace) -> int:
    results = run_demo(settings_from_args(args), stages=args.stages)
    report = results.get("report", {}).get("html")
    print(f"[demo] finished; report: {report}" if report else "[demo] finished")
    return 0


def register(subparsers: Any) -> None:
    """Add ``neurokit demo`` (entry point of the ``neurokit.commands`` group)."""
    parser = subparsers.add_parser("demo", help="the whole pipeline on the embedded default data, offline")
    add_arguments(parser)
    parser.set_defaults(func=command)


# report ---------------------------------------------------------------------------------
def _bar_figure(path: Path, groups: dict[str, dict[str, float]], ylabel: str, title: str) -> Path:
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


def stage_report(run: DemoRun) -> dict[str, Any]:
    """Write report.html (figures, tables) and report.json (every number)."""
    from neurokit.report import Report
    from neurokit.plotting import plot_surface_map

    s, res, subject = run.settings, run.results, run.target_subject
    report = Report(run.root, "neurokit demo: encoding, synthesis and reconstruction on a simulated cohort")
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
    report.numbers = {"settings": asdict(s), **_without_distributions(numbers)}
    if "claims" in res:
        report.numbers["world_seeds"] = res["claims"]["world_seeds"]
    from neurokit.claims import Claim

    # the world claims (stage claims) and Cortex2Image's (its stage; their notes name their world seeds)
    report.claims = [Claim.from_dict(c) for name in ("claims", "cortex2image")
                     for c in res.get(name, {}).get("claims", [])]
    if "claims" in res:
        report.claims_scope = (f"on this simulated world ({len(res['claims']['world_seeds'])} world seeds: "
                               f"{', '.join(map(str, res['claims']['world_seeds']))})")

    # 1. encoders
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

    # 2. ensemble
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
    fig_path = _bar_figure(run.figure("ensemble-vs-full.png"), summ["roi_mean_r"],
                           "r (ROI-mean response)", f"subject {subject}: held-out accuracy per ROI")
    sec.figure(fig_path, "ROI-mean held-out correlation per model")

    for name in ("neurogen", "cortex2image"):
        if name in res and name in REPORT_SECTIONS:
            REPORT_SECTIONS[name](run, report)
    if "generator" in res.get("cortex2image", {}):
        _generator_section(run, report)
    html_path, json_path = report.write()
    return {"html": str(html_path), "json": str(json_path)}


def _without_distributions(value: Any) -> Any:
    """``value`` without its bootstrap samples (kept in the stage records; report.json keeps the claims)."""
    if isinstance(value, dict):
        return {k: _without_distributions(v) for k, v in value.items() if k != "distributions"}
    return value


#: Extra report sections, one per later stage: ``section(run, report)``.
REPORT_SECTIONS: dict[str, Callable[[DemoRun, Any], None]] = {
    "neurogen": _neurogen_section,
    "cortex2image": _cortex2image_section,
}
STAGES["report"] = stage_report

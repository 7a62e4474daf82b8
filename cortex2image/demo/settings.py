"""The demo's settings (:class:`DemoSettings`, one field per ``neurokit demo`` flag) and their checks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from neurokit.exceptions import DataValidationError

__all__ = ["DemoSettings", "REPORT_ROIS", "VISUAL_ROIS", "WORLD", "NEUROGEN", "C2I_TRAINING", "check_settings",
           "metric_network_files"]

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


#: The settings that make the simulated world (every stage depends on them).
WORLD = ("n_subjects", "n_images", "n_shared", "image_size", "seed")
#: The settings of NeuroGen's synthesis.
NEUROGEN = ("ensemble_images", "neurogen_rois", "neurogen_steps", "neurogen_seeds")
#: What Cortex2Image's training depends on (its checkpoint folders are keyed by these).
C2I_TRAINING = (*WORLD, "c2i_epochs", "c2i_samples")


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


def check_settings(s: DemoSettings) -> None:
    """Refuse settings the demo cannot run with, before any work, naming the flag.

    Raises
    ------
    DataValidationError
        If a setting is out of range or a ``--metric-network`` entry is malformed or has no file.
    """
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

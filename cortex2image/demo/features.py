"""Stage ``features``: the models' features of every stimulus, read from the NSD stimulus file."""

from __future__ import annotations

from typing import Any

import numpy as np

from cortex2image.demo.runner import DemoRun, Stage
from neurokit.io.atomic import atomic_path

__all__ = ["STAGE", "FEATURE_BATCH", "stage_features"]

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
    run.forget("features")
    return {"n_stimuli": int(len(ids)), "n_features": int(out["features"].shape[1]),
            "layers": list(DEFAULT_FEATURES["layers"]), "network": "EfficientNet-Lite0 (ImageNet)",
            "mismatched_network": "EfficientNet-Lite0, randomly initialised (seed 0)"}


STAGE = Stage("features", stage_features)

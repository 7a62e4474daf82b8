"""Cortex2Image: reconstruct seen images from fMRI responses on fsaverage.

- :class:`CortexTrunk` -- MeshConv residual trunk + sigmoid-attention blocks;
- :class:`Cortex2Semantic` -- responses -> L2-normalised semantic embedding
  (:class:`EfficientNetSemanticSpace` offline, :class:`CLIPSemanticSpace`);
- :class:`Cortex2Detail` -- responses -> Gaussian over a generator's latent;
- :class:`Reconstructor` -- files or arrays -> images (normalisation, level
  mapping, samples, reranking, save/load), reading its inputs through
  :mod:`cortex2image.inputs` (:func:`as_surface_data`);
- :class:`LinearImageEncoder` (:mod:`cortex2image.rerank_encoder`) -- images -> responses, the encoder a
  Reconstructor reranks its samples with;
- :func:`fit_reconstructor`, :func:`train_reconstructor` -- training;
- :mod:`cortex2image.metrics` -- PixCorr, SSIM, two-way identification, feature distance, brain correlation;
- :mod:`cortex2image.metric_networks` -- the field's metric networks (AlexNet 2/5, InceptionV3, CLIP,
  EfficientNet-B1, SwAV) from local weight files;
- :mod:`cortex2image.baselines` -- the baselines a reconstruction must beat (mean training image,
  nearest-neighbour retrieval, ridge to pixels, shuffled pairs);
- :mod:`cortex2image.evaluation` -- the reconstruction scored beside every baseline, with paired bootstrap
  intervals and claims; a written reconstruction folder rescored from the NSD root;
- :mod:`cortex2image.detail_objectives` -- what Cortex2Detail is trained on (through the generator, or by
  latent regression);
- :mod:`cortex2image.world_claims` -- the demo's claims measured on one simulated world;
- :mod:`cortex2image.cli` -- ``neurokit reconstruct``; :mod:`cortex2image.demo` -- ``neurokit demo``, the whole
  toolkit end to end (a subpackage: settings, runner, one module per stage).

The package sits at the top of the dependency chain (kernels <- neurokit <- encoding <- neurogen,
cortex2image): it uses every other package and none imports it. Names in ``__all__`` are imported lazily.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "cortex2image.trunk": ("CortexTrunk",),
    "cortex2image.semantic": ("Cortex2Semantic", "SemanticSpace", "EfficientNetSemanticSpace", "CLIPSemanticSpace",
                              "semantic_space_from_config"),
    "cortex2image.detail": ("Cortex2Detail", "ClassConditioner", "kl_divergence"),
    "cortex2image.inputs": ("as_surface_data",),
    "cortex2image.rerank_encoder": ("LinearImageEncoder",),
    "cortex2image.reconstructor": ("Reconstructor", "Reconstruction"),
    "cortex2image.training": ("fit_reconstructor", "train_reconstructor"),
    "cortex2image.metrics": ("pixcorr", "ssim", "feature_identification", "feature_distance", "brain_correlation",
                             "score_reconstructions", "ReconstructionScores"),
    "cortex2image.metric_networks": ("MetricNetwork", "METRIC_NETWORKS"),
    "cortex2image.baselines": ("mean_image_baseline", "nearest_neighbour_baseline", "ridge_pixels_baseline",
                               "shuffled_baseline"),
    "cortex2image.evaluation": ("ReconstructionEvaluation", "evaluate_reconstruction", "evaluate_from_nsd",
                                "evaluate_reconstruction_folder", "reconstruction_claims"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import the public API lazily, so ``cortex2image.cli`` loads without torch."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'cortex2image' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_WHERE))


__all__ = [
    "CortexTrunk",
    "Cortex2Semantic",
    "Cortex2Detail",
    "ClassConditioner",
    "kl_divergence",
    "SemanticSpace",
    "EfficientNetSemanticSpace",
    "CLIPSemanticSpace",
    "semantic_space_from_config",
    "Reconstructor",
    "Reconstruction",
    "LinearImageEncoder",
    "as_surface_data",
    "fit_reconstructor",
    "train_reconstructor",
    "pixcorr",
    "ssim",
    "feature_identification",
    "feature_distance",
    "brain_correlation",
    "MetricNetwork",
    "METRIC_NETWORKS",
    "score_reconstructions",
    "ReconstructionScores",
    "mean_image_baseline",
    "nearest_neighbour_baseline",
    "ridge_pixels_baseline",
    "shuffled_baseline",
    "ReconstructionEvaluation",
    "evaluate_reconstruction",
    "evaluate_from_nsd",
    "evaluate_reconstruction_folder",
    "reconstruction_claims",
]

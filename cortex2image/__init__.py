"""Cortex2Image: reconstruct seen images from fMRI responses on fsaverage.

- :class:`CortexTrunk` -- MeshConv residual trunk + sigmoid-attention blocks;
- :class:`Cortex2Semantic` -- responses -> L2-normalised semantic embedding
  (:class:`EfficientNetSemanticSpace` offline, :class:`CLIPSemanticSpace`);
- :class:`Cortex2Detail` -- responses -> Gaussian over a generator's latent;
- :class:`Reconstructor` -- files or arrays -> images (normalisation, level
  mapping, samples, reranking, save/load); :class:`LinearImageEncoder`;
- :func:`fit_reconstructor`, :func:`train_reconstructor` -- training;
- :mod:`cortex2image.metrics` -- PixCorr, SSIM, two-way identification, brain correlation.
"""

from cortex2image.detail import ClassConditioner, Cortex2Detail, kl_divergence
from cortex2image.metrics import (
    ReconstructionScores,
    brain_correlation,
    feature_identification,
    pixcorr,
    score_reconstructions,
    ssim,
)
from cortex2image.reconstructor import LinearImageEncoder, Reconstruction, Reconstructor, as_surface_data
from cortex2image.semantic import (
    CLIPSemanticSpace,
    Cortex2Semantic,
    EfficientNetSemanticSpace,
    SemanticSpace,
    semantic_space_from_config,
)
from cortex2image.training import fit_reconstructor, train_reconstructor
from cortex2image.trunk import CortexTrunk

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
    "brain_correlation",
    "score_reconstructions",
    "ReconstructionScores",
]

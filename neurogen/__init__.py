"""neurogen: region-maximising images from an encoder and an image generator (NeuroGen, Gu et al. 2022).

* generators behind one interface (:mod:`neurogen.generators`): the packaged
  DCGAN faces, a generator-free Fourier parameterisation, BigGAN-deep, IC-GAN, any module;
* objectives over ROIs, patterns, ROI and subject contrasts (:mod:`neurogen.objectives`);
* the latent optimiser (:mod:`neurogen.optimize`) and transformation robustness
  (:mod:`neurogen.augment`);
* the natural-image baseline (:mod:`neurogen.baseline`) and result files
  (:mod:`neurogen.outputs`);
* training the toolkit's own feature-inversion generator on the photo bank
  (:mod:`neurogen.generator_training`, ``neurokit train-generator``).

It builds on :mod:`neurokit` and :mod:`encoding` (an encoder drives the generator's gradient); only
:mod:`cortex2image` sits above it.
"""

from neurogen.augment import RandomAffine
from neurogen.baseline import ImageRanking, rank_images
from neurogen.generators import (
    BigGANGenerator,
    DCGANFaceGenerator,
    FourierImage,
    ICGANGenerator,
    ImageGenerator,
    ModuleGenerator,
)
from neurogen.objectives import (
    LatentPenalty,
    Objective,
    ROIActivation,
    ROIContrast,
    SubjectContrast,
    TargetPattern,
    WeightedSum,
)
from neurogen.optimize import LatentOptimizer, SynthesisResult, rank_classes, synthesize
from neurogen.outputs import contact_sheet_figure, save_result

__all__ = [
    "ImageGenerator",
    "DCGANFaceGenerator",
    "FourierImage",
    "BigGANGenerator",
    "ICGANGenerator",
    "ModuleGenerator",
    "Objective",
    "ROIActivation",
    "ROIContrast",
    "SubjectContrast",
    "TargetPattern",
    "LatentPenalty",
    "WeightedSum",
    "RandomAffine",
    "LatentOptimizer",
    "SynthesisResult",
    "synthesize",
    "rank_classes",
    "ImageRanking",
    "rank_images",
    "save_result",
    "contact_sheet_figure",
]

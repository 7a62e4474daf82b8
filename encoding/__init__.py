"""Encoding models: images -> features -> fsaverage responses, fitted, scored, saved and simulated.

Everything here maps images (or their features) to responses on the nested
fsaverage hierarchy, left hemisphere first, with the scikit-learn face
(``fit``, ``predict``, ``score`` giving one Pearson r per target):

- feature extractors (:mod:`encoding.features`): pretrained image networks
  (EfficientNet-Lite0/Lite2 offline, OpenCLIP from the user's weights, any
  torch module) with pooling and PCA;
- linear encoders: :class:`RidgeEncoder` (one penalty per target,
  :mod:`encoding.ridge`), whole-brain fits streamed from disk
  (:func:`fit_streaming_ridge`), and personalized ensembles of other
  subjects' encoders (:class:`PersonalizedEnsembleEncoder`);
- differentiable encoders from pixels, so a generator can follow their
  gradient: :class:`ImageEncoder` (extractor + a fitted linear readout) and
  :class:`SurfaceMeshEncoder` (mesh-query attention and MeshConvs,
  :mod:`encoding.mesh_encoder`);
- fitting a subject's encoder from an NSD tree (:mod:`encoding.from_nsd`);
- the simulated cohort with known ground truth (:mod:`encoding.simulation`).

``encoding`` builds on :mod:`neurokit` (meshes, I/O, metrics, training) and
``kernels``; ``neurogen`` and ``cortex2image`` build on it.
"""

from encoding.ensemble import EnsembleModule, PersonalizedEnsembleEncoder
from encoding.features import EfficientNetLite0Extractor, FeatureExtractor, OpenCLIPExtractor, TorchModuleExtractor
from encoding.from_nsd import NSDEncoderInfo, NSDTargets, fit_subject_encoder_from_nsd, nsd_image_features
from encoding.image_encoder import ImageEncoder, fit_image_encoder, image_features
from encoding.mesh_encoder import SurfaceMeshEncoder
from encoding.ridge import EstimatorNotFittedError, RidgeEncoder
from encoding.simulation import Cohort, SimulatedSubject, load_ground_truth, simulate_cohort
from encoding.streaming import ArrayTargets, fit_streaming_ridge, load_streaming_ridge

__all__ = [
    # feature extractors
    "FeatureExtractor",
    "EfficientNetLite0Extractor",
    "OpenCLIPExtractor",
    "TorchModuleExtractor",
    # linear encoders
    "RidgeEncoder",
    "EstimatorNotFittedError",
    "PersonalizedEnsembleEncoder",
    "EnsembleModule",
    "fit_streaming_ridge",
    "load_streaming_ridge",
    "ArrayTargets",
    # differentiable encoders
    "ImageEncoder",
    "fit_image_encoder",
    "image_features",
    "SurfaceMeshEncoder",
    # NSD
    "NSDTargets",
    "NSDEncoderInfo",
    "fit_subject_encoder_from_nsd",
    "nsd_image_features",
    # the simulated cohort
    "Cohort",
    "SimulatedSubject",
    "simulate_cohort",
    "load_ground_truth",
]

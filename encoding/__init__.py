"""encoding package."""

# --- linear and ensemble encoders (encoding.ridge, encoding.ensemble) ---
from encoding.ensemble import EnsembleModule, PersonalizedEnsembleEncoder  # noqa: E402
from encoding.ridge import EstimatorNotFittedError, RidgeEncoder  # noqa: E402
# --- end linear and ensemble encoders ---

# --- feature extractors and simulated cohort (encoding.features, encoding.simulation) ---
from encoding.features import (  # noqa: E402
    EfficientNetLite0Extractor,
    FeatureExtractor,
    OpenCLIPExtractor,
    TorchModuleExtractor,
)
from encoding.simulation import Cohort, SimulatedSubject, load_ground_truth, simulate_cohort  # noqa: E402
# --- end feature extractors and simulated cohort ---

# --- differentiable image -> response encoders (encoding.image_encoder) ---
from encoding.image_encoder import ImageEncoder, fit_image_encoder, image_features  # noqa: E402
# --- end image encoders ---

# --- surface-mesh convolutional encoder (encoding.mesh_encoder) ---
from encoding.mesh_encoder import MeshReadout, SurfaceMeshEncoder  # noqa: E402
# --- end surface-mesh convolutional encoder ---

# --- fitting a subject's encoder from an NSD tree (encoding.from_nsd) ---
from encoding.from_nsd import NSDEncoderInfo, fit_subject_encoder_from_nsd, nsd_image_features  # noqa: E402
# --- end NSD encoders ---

# --- streamed whole-brain ridge fits (encoding.streaming) ---
from encoding.from_nsd import NSDTargets  # noqa: E402
from encoding.streaming import ArrayTargets, fit_streaming_ridge, load_streaming_ridge  # noqa: E402
# --- end streamed fits ---

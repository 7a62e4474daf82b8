"""Fit one subject's encoding model straight from an NSD tree, scored on the shared1000.

:func:`fit_subject_encoder_from_nsd` is the NSD-facing convenience around
:class:`encoding.ridge.RidgeEncoder` and :class:`encoding.image_encoder.ImageEncoder`:

1. responses: the subject's betas through :class:`neurokit.datasets.NSD`,
   z-scored per vertex within each session and averaged over the repeats of
   each image (the standard preparation);
2. images -> features: the stimuli are streamed from ``nsd_stimuli.hdf5`` in
   chunks (never all 425 x 425 images in memory at once) through a
   :class:`~encoding.features.FeatureExtractor`, giving exactly the design
   matrix of :func:`encoding.image_encoder.image_features`; or precomputed
   features are looked up by NSD id;
3. a ridge regression (one alpha per vertex) on the training images (by
   default every image outside the shared1000);
4. held-out accuracy on the shared1000 images the subject saw: Pearson r per
   vertex and the noise-normalised accuracy ``100 r^2 / NC`` against the
   noise ceiling of those (repeat-averaged) test responses.

:func:`nsd_image_features` is step 2 on its own, for extracting features once
and fitting several subjects on them; :class:`NSDTargets` is steps 1 and 3 for
:func:`encoding.streaming.fit_streaming_ridge` (a chunk of vertices at a time).

Modules: :mod:`~encoding.from_nsd.stimulus_features` (step 2),
:mod:`~encoding.from_nsd.responses` (training / held-out rows, :class:`NSDTargets`),
:mod:`~encoding.from_nsd.fit` (:func:`fit_subject_encoder_from_nsd`, :class:`NSDEncoderInfo`).
"""

from encoding.from_nsd.fit import NSDEncoderInfo, fit_subject_encoder_from_nsd, noise_normalized
from encoding.from_nsd.responses import NSDTargets
from encoding.from_nsd.stimulus_features import DEFAULT_CHUNK_SIZE, nsd_image_features

__all__ = [
    "fit_subject_encoder_from_nsd",
    "nsd_image_features",
    "NSDEncoderInfo",
    "NSDTargets",
    "noise_normalized",
    "DEFAULT_CHUNK_SIZE",
]

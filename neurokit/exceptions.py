"""Exception types raised by the toolkit.

Every error a user can cause with bad input is one of these, so callers can
catch :class:`NeurokitError` and get a message that names the file or argument
and what was expected.
"""

from __future__ import annotations


class NeurokitError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class DataValidationError(NeurokitError, ValueError):
    """Array contents or shapes are not what the toolkit expects."""


class VertexCountError(DataValidationError):
    """The number of vertices matches no fsaverage level, or not the one expected."""


class HemisphereMismatchError(DataValidationError):
    """Left and right hemisphere data disagree (sizes, order or labels)."""


class NonFiniteDataError(DataValidationError):
    """Data contain NaN or infinite values where finite values are required."""


class ImageShapeError(DataValidationError):
    """Images have the wrong number of dimensions, channels or size."""


class FileFormatError(NeurokitError, OSError):
    """A file is truncated, corrupt or not in the format its name says."""


class UnsupportedFormatError(FileFormatError):
    """A file's extension or contents name a format the toolkit does not read."""


class DatasetNotFoundError(NeurokitError, FileNotFoundError):
    """A dataset root or one of its expected files is missing."""


class MeshUnavailableError(NeurokitError, RuntimeError):
    """A mesh level (or anatomical surface) cannot be built from the assets present."""


class CheckpointError(NeurokitError, OSError):
    """A checkpoint is missing, corrupt, or does not match the model it is loaded into."""


class NotFittedError(NeurokitError, AttributeError):
    """An estimator was used before ``fit``."""


class OptionalDependencyError(NeurokitError, ImportError):
    """An optional package a feature needs is not installed (the message says how to get it)."""


class OutputExistsError(NeurokitError, FileExistsError):
    """An output file already exists and overwriting was not asked for."""


class InvalidParameterError(NeurokitError, ValueError):
    """A hyperparameter or option has a value outside what the function or estimator accepts."""


__all__ = [
    "NeurokitError",
    "DataValidationError",
    "VertexCountError",
    "HemisphereMismatchError",
    "NonFiniteDataError",
    "ImageShapeError",
    "FileFormatError",
    "UnsupportedFormatError",
    "DatasetNotFoundError",
    "MeshUnavailableError",
    "CheckpointError",
    "NotFittedError",
    "OptionalDependencyError",
    "OutputExistsError",
    "InvalidParameterError",
]


class FeatureStoreError(NeurokitError, OSError):
    """A feature store entry is missing, unfinished or damaged (its checksums do not match)."""

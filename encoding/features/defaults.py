"""The toolkit's default encoder features, and the mismatched-feature baseline beside them.

``DEFAULT_FEATURES`` are the :meth:`FeatureExtractor.extract` arguments every
default encoder uses: EfficientNet-Lite0 (ImageNet weights) stage 3 on a
4 x 4 grid plus the pooled 1,280-d embedding (1,920 features). The simulated
world's ground truth does *not* use them (it reads EfficientNet-Lite2 and a
second-order-contrast model; :mod:`encoding.simulation.brain`), so an
encoder's accuracy on it measures how well these features transfer, as on
real data. :func:`mismatched_extractor` is the same architecture with random
weights: the "features that know nothing about images" control.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from encoding.features.efficientnet import EfficientNetLite0Extractor

#: Arguments of :meth:`FeatureExtractor.extract` for the default features.
DEFAULT_FEATURES: dict[str, Any] = {"layers": ["stage3", "pool"], "pooling": "grid", "grid_size": 4}


@lru_cache(maxsize=4)
def default_extractor(image_size: int = 224) -> EfficientNetLite0Extractor:
    """EfficientNet-Lite0 with its ImageNet weights at ``image_size`` pixels (cached, shared)."""
    return EfficientNetLite0Extractor(input_size=int(image_size))


@lru_cache(maxsize=4)
def mismatched_extractor(image_size: int = 224) -> EfficientNetLite0Extractor:
    """EfficientNet-Lite0 with random weights (torch seed 0, the global RNG untouched), at ``image_size``."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return EfficientNetLite0Extractor(weights=None, input_size=int(image_size))


__all__ = ["DEFAULT_FEATURES", "default_extractor", "mismatched_extractor"]

"""Image feature extractors: one interface, several backends.

- :class:`FeatureExtractor` -- the interface (``extract`` for numpy features,
  ``forward_features`` for differentiable torch activations);
- :class:`EfficientNetLite0Extractor` -- offline default, ImageNet weights;
- :class:`EfficientNetLite2Extractor` -- a second, partly independent network (the simulated world's);
- :class:`TorchModuleExtractor` -- any ``torch.nn.Module`` through forward hooks;
- :class:`OpenCLIPExtractor` -- any open_clip model (optional dependency);
- :data:`EXTRACTORS` -- the registry through which saved configs name and rebuild extractors.
"""

from encoding.features.base import EXTRACTORS, FeatureExtractor, as_image_tensor, pool_activation, square_resize
from encoding.features.defaults import DEFAULT_FEATURES, default_extractor, mismatched_extractor
from encoding.features.efficientnet import (
    EfficientNetLite,
    EfficientNetLite0,
    EfficientNetLite0Extractor,
    EfficientNetLite2Extractor,
    load_efficientnet_lite,
    load_efficientnet_lite0,
)
from encoding.features.openclip import OpenCLIPExtractor, import_open_clip
from encoding.features.torch_module import TorchModuleExtractor, first_tensor

__all__ = [
    "DEFAULT_FEATURES",
    "default_extractor",
    "mismatched_extractor",
    "EXTRACTORS",
    "FeatureExtractor",
    "as_image_tensor",
    "pool_activation",
    "square_resize",
    "EfficientNetLite",
    "EfficientNetLite0",
    "EfficientNetLite0Extractor",
    "EfficientNetLite2Extractor",
    "load_efficientnet_lite",
    "load_efficientnet_lite0",
    "OpenCLIPExtractor",
    "import_open_clip",
    "TorchModuleExtractor",
    "first_tensor",
]

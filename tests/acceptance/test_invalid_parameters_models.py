"""Every public model constructor of the extractor, generator and semantic-space families refuses bad parameters.

Each case feeds one invalid value and expects :class:`InvalidParameterError`
(never a bare ``TypeError``/``ValueError`` from deeper down) whose message
names the argument.
"""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest
import torch
from torch import nn

from cortex2image.semantic import CLIPSemanticSpace, Cortex2Semantic, EfficientNetSemanticSpace
from encoding.features import (
    EfficientNetLite,
    EfficientNetLite0Extractor,
    EfficientNetLite2Extractor,
    OpenCLIPExtractor,
    TorchModuleExtractor,
    pool_activation,
)
from neurogen.generators import (
    BigGANGenerator,
    DCGANFaceGenerator,
    FeatureInversionGenerator,
    FourierImage,
    ICGANGenerator,
    ModuleGenerator,
    truncated_normal,
)
from neurokit.exceptions import InvalidParameterError

HAS_OPEN_CLIP = importlib.util.find_spec("open_clip") is not None

#: A tiny IC-GAN architecture (as in test_generators_icgan).
ICGAN_SMALL = {"resolution": 32, "G_ch": 8, "dim_z": 24, "G_attn": "16", "shared_dim": 8, "shared_dim_feat": 16,
               "n_classes": 10}


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def _decoder() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3 * 8 * 8), nn.Unflatten(1, (3, 8, 8)))


NEEDS_OPEN_CLIP = pytest.mark.skipif(not HAS_OPEN_CLIP, reason="open_clip not installed")


def case(name, build, argument, marks=()):
    return pytest.param(build, argument, id=name, marks=marks)


CASES = [
    # feature extractors
    ("EfficientNetLite variant", lambda: EfficientNetLite(variant="lite9"), "variant"),
    ("Lite0 input_size small", lambda: EfficientNetLite0Extractor(weights=None, input_size=8), "input_size"),
    ("Lite0 input_size float", lambda: EfficientNetLite0Extractor(weights=None, input_size=96.0), "input_size"),
    ("Lite0 input_size bool", lambda: EfficientNetLite0Extractor(weights=None, input_size=True), "input_size"),
    ("Lite2 input_size", lambda: EfficientNetLite2Extractor(weights=None, input_size="260"), "input_size"),
    ("TorchModule module", lambda: TorchModuleExtractor(lambda x: x, ["conv"]), "module"),
    ("TorchModule layers empty", lambda: TorchModuleExtractor(_Net(), []), "layers"),
    ("TorchModule layers unknown", lambda: TorchModuleExtractor(_Net(), ["conv9"]), "layers"),
    ("TorchModule std zero", lambda: TorchModuleExtractor(_Net(), ["conv"], std=(1.0, 0.0, 1.0)), "std"),
    ("TorchModule mean short", lambda: TorchModuleExtractor(_Net(), ["conv"], mean=(0.5, 0.5)), "mean"),
    ("TorchModule input_size", lambda: TorchModuleExtractor(_Net(), ["conv"], input_size=0), "input_size"),
    ("TorchModule stop_early", lambda: TorchModuleExtractor(_Net(), ["conv"], stop_early="yes"), "stop_early"),
    ("pool_activation pooling", lambda: pool_activation(torch.ones(2, 3), "median"), "pooling"),
    ("OpenCLIP model_name", lambda: OpenCLIPExtractor("No-Such-ViT"), "model_name", NEEDS_OPEN_CLIP),
    # generators
    ("truncated_normal truncation", lambda: truncated_normal((2, 2), truncation=0.0), "truncation"),
    ("truncated_normal seed", lambda: truncated_normal((2, 2), seed=-1), "seed"),
    ("truncated_normal seed bool", lambda: truncated_normal((2, 2), seed=True), "seed"),
    ("Fourier image_size", lambda: FourierImage(1), "image_size"),
    ("Fourier image_size triple", lambda: FourierImage((8, 8, 8)), "image_size"),
    ("Fourier image_size str", lambda: FourierImage("64"), "image_size"),
    ("Fourier decay_power", lambda: FourierImage(8, decay_power=float("nan")), "decay_power"),
    ("Fourier decorrelate_colors", lambda: FourierImage(8, decorrelate_colors=1), "decorrelate_colors"),
    ("Fourier init_std", lambda: FourierImage(8, init_std=0.0), "init_std"),
    ("Fourier sample n", lambda: FourierImage(8).sample_latents(0), "n"),
    ("DCGAN latent_dim", lambda: DCGANFaceGenerator(latent_dim=0), "latent_dim"),
    ("DCGAN base_channels", lambda: DCGANFaceGenerator(base_channels=2.5), "base_channels"),
    ("FeatureInversion image_size", lambda: FeatureInversionGenerator(image_size=48), "image_size"),
    ("FeatureInversion channels", lambda: FeatureInversionGenerator(image_size=32, channels=(8, 8)), "channels"),
    ("FeatureInversion z_dim", lambda: FeatureInversionGenerator(z_dim=0), "z_dim"),
    ("FeatureInversion cond_dim", lambda: FeatureInversionGenerator(cond_dim=np.float64(2.0)), "cond_dim"),
    ("Module module", lambda: ModuleGenerator("not a module", 4), "module"),
    ("Module latent_shape", lambda: ModuleGenerator(_decoder(), 0), "latent_shape"),
    ("Module output_range", lambda: ModuleGenerator(_decoder(), 4, output_range=(1, 0)), "output_range"),
    ("Module output_range type", lambda: ModuleGenerator(_decoder(), 4, output_range=None), "output_range"),
    ("Module n_classes", lambda: ModuleGenerator(_decoder(), 4, n_classes=-1), "n_classes"),
    ("BigGAN model", lambda: BigGANGenerator(nn.Linear(2, 2)), "model"),
    ("ICGAN resolution", lambda: ICGANGenerator({**ICGAN_SMALL, "resolution": 48}), "resolution"),
    ("ICGAN G_ch", lambda: ICGANGenerator({**ICGAN_SMALL, "G_ch": 0}), "G_ch"),
    ("ICGAN hier", lambda: ICGANGenerator({**ICGAN_SMALL, "hier": 1}), "hier"),
    ("ICGAN BN_eps", lambda: ICGANGenerator({**ICGAN_SMALL, "BN_eps": -1.0}), "BN_eps"),
    ("ICGAN truncation", lambda: ICGANGenerator(ICGAN_SMALL, truncation=1.5), "truncation"),
    # semantic spaces and the semantic decoder
    ("EfficientNet space input_size", lambda: EfficientNetSemanticSpace(input_size=8), "input_size"),
    ("EfficientNet space layer", lambda: EfficientNetSemanticSpace(input_size=32, layer="stage9"), "layers"),
    ("CLIP space model_name", lambda: CLIPSemanticSpace("No-Such-ViT"), "model_name", NEEDS_OPEN_CLIP),
    ("Cortex2Semantic embed_dim", lambda: Cortex2Semantic(2, 0), "embed_dim"),
    ("Cortex2Semantic embed_dim bool", lambda: Cortex2Semantic(2, True), "embed_dim"),
    ("Cortex2Semantic dropout", lambda: Cortex2Semantic(2, 8, dropout=1.0), "dropout"),
]


@pytest.mark.parametrize("build, argument", [case(*c) for c in CASES])
def test_bad_parameter_raises_invalid_parameter_error_naming_it(build, argument):
    with pytest.raises(InvalidParameterError, match=re.escape(argument)):
        build()


def test_numpy_integers_are_integers():
    """One idea of an integer: anything with ``__index__`` that is not a bool."""
    gen = FourierImage(np.int64(8), init_std=np.float32(0.01))
    assert gen.image_size == (8, 8) and type(gen.image_size[0]) is int
    assert gen.sample_latents(np.int64(2), seed=np.int64(0)).shape[0] == 2
    assert DCGANFaceGenerator(latent_dim=np.int32(8), base_channels=np.int64(4)).latent_shape == (8,)

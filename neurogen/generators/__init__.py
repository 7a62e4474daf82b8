"""Image generators behind one interface: latents (and classes or instance features) -> images (n, 3, H, W) in [0, 1].

* :class:`DCGANFaceGenerator` -- the 64 x 64 face DCGAN shipped by ``gan-face-generate`` (offline default);
* :class:`FeatureInversionGenerator` -- the toolkit's own instance-conditioned generator of natural
  images (EfficientNet-Lite0 feature inversion, trained on the photo bank; weights shipped);
* :class:`FourierImage` -- generator-free decorrelated Fourier parameterisation;
* :class:`BigGANGenerator` -- BigGAN-deep through ``pytorch-pretrained-biggan`` (NeuroGen's generator);
* :class:`ICGANGenerator` -- IC-GAN's BigGAN, images from noise and a 2048-d SwAV instance feature;
* :class:`ModuleGenerator` -- any user ``nn.Module`` mapping latents to images.

:data:`GENERATORS` is the family's registry: :func:`generator_config` describes a
generator (``{"class": name, **get_config()}``) and :func:`generator_from_config`
rebuilds it offline from that description.
"""

from neurogen.generators.base import ImageGenerator, InstanceConditionedGenerator, truncated_normal
from neurogen.generators.biggan import BigGANGenerator, import_biggan
from neurogen.generators.dcgan import DCGANFaceGenerator, packaged_weights_path
from neurogen.generators.feature_inversion import FeatureInversionGenerator, packaged_generator_path
from neurogen.generators.icgan import ICGANGenerator, icgan_architecture
from neurogen.generators.fourier import FourierImage, spectrum_scale
from neurogen.generators.module import ModuleGenerator
from neurogen.generators.registry import GENERATORS, generator_config, generator_from_config

__all__ = [
    "ImageGenerator",
    "InstanceConditionedGenerator",
    "truncated_normal",
    "DCGANFaceGenerator",
    "packaged_weights_path",
    "FourierImage",
    "FeatureInversionGenerator",
    "packaged_generator_path",
    "spectrum_scale",
    "BigGANGenerator",
    "import_biggan",
    "ICGANGenerator",
    "icgan_architecture",
    "ModuleGenerator",
    "GENERATORS",
    "generator_config",
    "generator_from_config",
]

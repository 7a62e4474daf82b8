"""IC-GAN's BigGAN generator (Casanova et al., NeurIPS 2021): images from noise and an instance feature.

IC-GAN conditions a BigGAN generator (Brock et al. 2019, the ``BigGAN-PyTorch``
code) on the 2048-d SwAV ResNet-50 feature ``h`` of one image instead of a
class: ``h`` goes through a linear layer (``shared_feat``, 2048 -> 512) and,
with a chunk of the hierarchical noise ``z``, drives every conditional batch
norm. The architecture is written here so that the state dict of a published
IC-GAN generator (``G_ema_best0.pth`` of facebookresearch/ic_gan's archives)
loads with strict key and shape matching; only the weights come from the files.

Published archives (``icgan_biggan_imagenet_res256.tar.gz`` and its
siblings) unpack to a folder named after the experiment, holding
``G_ema_<suffix>.pth`` (the EMA generator's state dict; the weights used for
inference) and ``state_dict_<suffix>.pth`` (training state and the run's
config). Only the first is needed here. The second pickles the config together
with ``torch.nn.ReLU`` objects, which ``torch.load(..., weights_only=True)``
refuses, so the architecture comes from, in this order: the ``config``
argument (a dict or a JSON file, e.g. IC-GAN's own
``config_files/ImageNet/IC-GAN/icgan_res256.json``), a ``state_dict_*.pth``
that ``weights_only`` can read (as :meth:`ICGANGenerator.save_pretrained`
writes), or :data:`PUBLISHED_ARCHITECTURES` by the experiment's name.
Nothing is ever unpickled beyond what ``weights_only=True`` allows.

The instance features are not computed here (``neurogen`` does not depend on
the metric networks of ``cortex2image``): pass the 2048-d global-average-pooled
output of SwAV's ResNet-50 (``swav_800ep_pretrain.pth.tar``) for the image,
e.g. ``cortex2image.metric_networks.MetricNetwork("swav", path)(images)``.
The generator L2-normalises them, as IC-GAN does before conditioning.

The package holds one concept per module: :mod:`~neurogen.generators.icgan.architecture`
(the settings, :func:`icgan_architecture`), :mod:`~neurogen.generators.icgan.network`
(the BigGAN-style network, :class:`ICGANNetwork`), :mod:`~neurogen.generators.icgan.published`
(reading and writing the published checkpoint layout) and
:mod:`~neurogen.generators.icgan.generator` (:class:`ICGANGenerator`, registered in
:data:`~neurogen.generators.GENERATORS`).
"""

from neurogen.generators.icgan.architecture import (
    ARCHITECTURE_DEFAULTS,
    BLOCK_CHANNELS,
    FIXED_SETTINGS,
    INSTANCE_DIM,
    PUBLISHED_ARCHITECTURES,
    icgan_architecture,
)
from neurogen.generators.icgan.generator import ICGANGenerator
from neurogen.generators.icgan.network import ICGANNetwork
from neurogen.generators.icgan.published import ARCHIVE_SUFFIXES, STATE_PATTERN, WEIGHTS_PATTERN

__all__ = [
    "ICGANGenerator",
    "ICGANNetwork",
    "icgan_architecture",
    "INSTANCE_DIM",
    "BLOCK_CHANNELS",
    "ARCHITECTURE_DEFAULTS",
    "FIXED_SETTINGS",
    "PUBLISHED_ARCHITECTURES",
    "WEIGHTS_PATTERN",
    "STATE_PATTERN",
    "ARCHIVE_SUFFIXES",
]

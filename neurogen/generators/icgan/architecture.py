"""IC-GAN BigGAN architecture settings: IC-GAN's config names, their defaults and checks, the published models'.

:func:`icgan_architecture` validates a config (IC-GAN's own JSON config files work) and fills in
:data:`ARCHITECTURE_DEFAULTS`; :data:`PUBLISHED_ARCHITECTURES` names the published generators' settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from neurokit.exceptions import InvalidParameterError
from neurokit.validation import check_bool, check_int, check_option, check_real

__all__ = ["INSTANCE_DIM", "BLOCK_CHANNELS", "ARCHITECTURE_DEFAULTS", "FIXED_SETTINGS", "PUBLISHED_ARCHITECTURES",
           "icgan_architecture"]

#: Size of IC-GAN's instance features (SwAV ResNet-50 pooled features); fixed by the architecture.
INSTANCE_DIM = 2048

#: Channel multipliers (in, out) of the residual blocks per output resolution (BigGAN-PyTorch's ``G_arch``);
#: each block doubles the resolution, starting from ``bottom_width`` (4).
BLOCK_CHANNELS: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {
    32: ((4, 4, 4), (4, 4, 4)),
    64: ((16, 16, 8, 4), (16, 8, 4, 2)),
    128: ((16, 16, 8, 4, 2), (16, 8, 4, 2, 1)),
    256: ((16, 16, 8, 8, 4, 2), (16, 8, 8, 4, 2, 1)),
    512: ((16, 16, 8, 8, 4, 2, 1), (16, 8, 8, 4, 2, 1, 1)),
}

#: Architecture settings (IC-GAN's config names) and their defaults, as IC-GAN's training code sets them.
ARCHITECTURE_DEFAULTS: dict[str, Any] = {
    "resolution": 128,
    "G_ch": 64,
    "dim_z": 120,
    "hier": True,
    "G_attn": "64",
    "shared_dim": 128,
    "shared_dim_feat": 512,
    "G_shared_feat": True,
    "n_classes": 1000,
    "bottom_width": 4,
    "BN_eps": 1e-5,
    "SN_eps": 1e-6,
}

#: Settings of IC-GAN's code that this implementation supports with one value only.
FIXED_SETTINGS: dict[str, Any] = {
    "class_cond": False,
    "instance_cond": True,
    "G_shared": True,
    "num_G_SVs": 1,
    "num_G_SV_itrs": 1,
    "norm_style": "bn",
    "mybn": False,
    "cross_replica": False,
    "G_nl": "relu",
    "G_param": "SN",
    "G_fp16": False,
}

#: Architectures of the published instance-conditioned (not class-conditioned) IC-GAN BigGAN
#: generators, from facebookresearch/ic_gan's ``config_files`` (the archive's folder name as key).
PUBLISHED_ARCHITECTURES: dict[str, dict[str, Any]] = {
    "icgan_biggan_imagenet_res256": {"resolution": 256, "G_ch": 96, "G_attn": "64"},
    "icgan_biggan_imagenet_res256_halfcap": {"resolution": 256, "G_ch": 64, "G_attn": "64"},
    "icgan_biggan_imagenet_res128": {"resolution": 128, "G_ch": 96, "G_attn": "64"},
    "icgan_biggan_imagenet_res64": {"resolution": 64, "G_ch": 64, "G_attn": "32"},
    "icgan_biggan_coco_res256": {"resolution": 256, "G_ch": 48, "G_attn": "64"},
    "icgan_biggan_coco_res128": {"resolution": 128, "G_ch": 48, "G_attn": "64"},
}

def icgan_architecture(config: Mapping[str, Any]) -> dict[str, Any]:
    """The architecture settings of an IC-GAN BigGAN generator, validated, with defaults filled in.

    Parameters
    ----------
    config : mapping
        IC-GAN config entries (their names: ``resolution``, ``G_ch``, ``dim_z``,
        ``hier``, ``G_attn``, ``shared_dim``, ``shared_dim_feat``, ...). Other
        entries (training settings of a full IC-GAN config) are ignored; the
        settings in :data:`FIXED_SETTINGS`, when present, must have the value
        listed there (class-conditional ``cc_icgan`` models are not supported).

    Returns
    -------
    dict
        Exactly the keys of :data:`ARCHITECTURE_DEFAULTS`, JSON-serialisable.

    Raises
    ------
    InvalidParameterError
        A value of the wrong type or range, or an unsupported setting.
    """
    if not isinstance(config, Mapping):
        raise InvalidParameterError(f"an IC-GAN config must be a dict, got {type(config).__name__}")
    for key, value in FIXED_SETTINGS.items():
        if key in config and config[key] != value:
            raise InvalidParameterError(
                f"IC-GAN setting {key}={config[key]!r} is not supported (only {value!r}); "
                "class-conditional cc_icgan models and other variants are not implemented"
            )
    arch = {key: config.get(key, default) for key, default in ARCHITECTURE_DEFAULTS.items()}
    check_option(arch["resolution"], "IC-GAN resolution", sorted(BLOCK_CHANNELS))
    for key, low in (("G_ch", 1), ("dim_z", 1), ("shared_dim", 0), ("shared_dim_feat", 1), ("n_classes", 1),
                     ("bottom_width", 1)):
        arch[key] = check_int(arch[key], f"IC-GAN setting {key}", minimum=low)
    for key in ("hier", "G_shared_feat"):
        arch[key] = check_bool(arch[key], f"IC-GAN setting {key}")
    for key in ("BN_eps", "SN_eps"):
        arch[key] = check_real(arch[key], f"IC-GAN setting {key}", minimum=0.0, include_minimum=False)
    if not isinstance(arch["G_attn"], str) or not re.fullmatch(r"\d+(_\d+)*", arch["G_attn"]):
        raise InvalidParameterError(
            f"IC-GAN setting G_attn must be resolutions joined by '_' (e.g. '64', '32_64', '0' for none), "
            f"got {arch['G_attn']!r}"
        )
    if not arch["G_shared_feat"] and arch["shared_dim_feat"] != INSTANCE_DIM:
        raise InvalidParameterError(
            f"with G_shared_feat=false the instance feature feeds the batch norms directly, so shared_dim_feat "
            f"must be {INSTANCE_DIM}, got {arch['shared_dim_feat']}"
        )
    n_slots = len(BLOCK_CHANNELS[arch["resolution"]][0]) + 1
    if arch["hier"] and arch["dim_z"] < n_slots:
        raise InvalidParameterError(
            f"a hierarchical z is split into {n_slots} chunks at resolution {arch['resolution']}; "
            f"dim_z must be at least {n_slots}, got {arch['dim_z']}"
        )
    return arch

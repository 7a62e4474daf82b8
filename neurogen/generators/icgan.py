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
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn
from torch.nn import functional as F

from neurokit.exceptions import CheckpointError, InvalidParameterError
from neurokit.validation import check_bool, check_int, check_option, check_real
from neurogen.generators.base import InstanceConditionedGenerator, check_truncation, make_torch_generator
from neurogen.generators.registry import GENERATORS, RANDOM_WEIGHTS, weights_file

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

#: File names inside a published experiment folder (``<suffix>`` is e.g. ``best0``).
WEIGHTS_PATTERN = re.compile(r"^G_ema(?:_(?P<suffix>[A-Za-z0-9]+))?\.pth$")
STATE_PATTERN = re.compile(r"^state_dict(?:_[A-Za-z0-9]+)?\.pth$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


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


# ----------------------------------------------------------------------------- layers
class _SpectralNorm:
    """Spectral normalisation as BigGAN-PyTorch does it: buffers ``u0`` (singular vector) and ``sv0``.

    Each call runs one power iteration from the stored ``u0``; only in train
    mode are the new ``u0`` and the singular value ``sv0`` stored, so in eval
    mode the normalised weight is the same at every call.
    """

    weight: torch.Tensor
    u0: torch.Tensor
    sv0: torch.Tensor
    training: bool

    def _init_spectral_norm(self, n_outputs: int, eps: float) -> None:
        self.sn_eps = eps
        self.register_buffer("u0", torch.randn(1, n_outputs))  # type: ignore[attr-defined]
        self.register_buffer("sv0", torch.ones(1))  # type: ignore[attr-defined]

    def normalised_weight(self) -> torch.Tensor:
        matrix = self.weight.view(self.weight.shape[0], -1)
        with torch.no_grad():
            v = F.normalize(self.u0 @ matrix, eps=self.sn_eps)
            u = F.normalize(v @ matrix.t(), eps=self.sn_eps)
            if self.training:
                self.u0.copy_(u)
        sigma = ((v @ matrix.t()) @ u.t()).squeeze()
        if self.training:
            with torch.no_grad():
                self.sv0.copy_(sigma.detach())
        return self.weight / sigma


class _SNConv2d(nn.Conv2d, _SpectralNorm):
    def __init__(self, in_ch: int, out_ch: int, kernel_size: int = 3, *, bias: bool = True, eps: float = 1e-6) -> None:
        nn.Conv2d.__init__(self, in_ch, out_ch, kernel_size, padding=kernel_size // 2, bias=bias)
        self._init_spectral_norm(out_ch, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.normalised_weight(), self.bias, padding=self.padding)


class _SNLinear(nn.Linear, _SpectralNorm):
    def __init__(self, n_in: int, n_out: int, *, bias: bool = True, eps: float = 1e-6) -> None:
        nn.Linear.__init__(self, n_in, n_out, bias=bias)
        self._init_spectral_norm(n_out, eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalised_weight(), self.bias)


class _ConditionalBatchNorm(nn.Module):
    """Batch norm whose gain ``1 + W_g y`` and bias ``W_b y`` come from the conditioning vector ``y``."""

    def __init__(self, channels: int, cond_dim: int, linear: Callable[..., nn.Module], eps: float) -> None:
        super().__init__()
        self.gain = linear(cond_dim, channels, bias=False)
        self.bias = linear(cond_dim, channels, bias=False)
        self.eps = eps
        self.register_buffer("stored_mean", torch.zeros(channels))
        self.register_buffer("stored_var", torch.ones(channels))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        gain = (1.0 + self.gain(y)).view(y.shape[0], -1, 1, 1)
        bias = self.bias(y).view(y.shape[0], -1, 1, 1)
        out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None, self.training, 0.1, self.eps)
        return out * gain + bias


class _BatchNorm(nn.Module):
    """Unconditional batch norm of the output layer (learned ``gain`` and ``bias``)."""

    def __init__(self, channels: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.register_buffer("stored_mean", torch.zeros(channels))
        self.register_buffer("stored_var", torch.ones(channels))
        self.gain = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias, self.training, 0.1, self.eps)


class _GBlock(nn.Module):
    """Residual up-block: BN-ReLU-upsample-conv-BN-ReLU-conv, plus an upsampled 1x1-conv shortcut."""

    def __init__(self, in_ch: int, out_ch: int, conv: Callable[..., nn.Module],
                 bn: Callable[[int], nn.Module]) -> None:
        super().__init__()
        self.conv1 = conv(in_ch, out_ch)
        self.conv2 = conv(out_ch, out_ch)
        self.conv_sc = conv(in_ch, out_ch, kernel_size=1)
        self.bn1 = bn(in_ch)
        self.bn2 = bn(out_ch)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.bn1(x, y)), scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.conv_sc(F.interpolate(x, scale_factor=2))


class _Attention(nn.Module):
    """SA-GAN self-attention as in BigGAN-PyTorch (keys and values max-pooled by 2)."""

    def __init__(self, ch: int, conv: Callable[..., nn.Module]) -> None:
        super().__init__()
        self.ch = ch
        self.theta = conv(ch, ch // 8, kernel_size=1, bias=False)
        self.phi = conv(ch, ch // 8, kernel_size=1, bias=False)
        self.g = conv(ch, ch // 2, kernel_size=1, bias=False)
        self.o = conv(ch // 2, ch, kernel_size=1, bias=False)
        self.gamma = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        n, _, height, width = x.shape
        theta = self.theta(x).view(n, self.ch // 8, height * width)
        phi = F.max_pool2d(self.phi(x), 2).view(n, self.ch // 8, height * width // 4)
        g = F.max_pool2d(self.g(x), 2).view(n, self.ch // 2, height * width // 4)
        beta = F.softmax(theta.transpose(1, 2) @ phi, dim=-1)
        return self.gamma * self.o((g @ beta.transpose(1, 2)).view(n, self.ch // 2, height, width)) + x


class _ICGANNetwork(nn.Module):
    """The generator network; its module names are BigGAN-PyTorch's, so state dicts match key for key."""

    def __init__(self, arch: dict[str, Any]) -> None:
        super().__init__()
        in_mult, out_mult = BLOCK_CHANNELS[arch["resolution"]]
        ch, width = arch["G_ch"], arch["bottom_width"]
        self.bottom_width = width
        self.n_slots = len(in_mult) + 1 if arch["hier"] else 1
        self.z_chunk = arch["dim_z"] // self.n_slots if arch["hier"] else 0
        self.dim_z = self.z_chunk * self.n_slots if arch["hier"] else arch["dim_z"]
        eps = arch["SN_eps"]

        def conv(i: int, o: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
            return _SNConv2d(i, o, kernel_size, bias=bias, eps=eps)

        def linear(i: int, o: int, bias: bool = True) -> nn.Module:
            return _SNLinear(i, o, bias=bias, eps=eps)

        cond_dim = self.z_chunk + arch["shared_dim_feat"]

        def bn(channels: int) -> nn.Module:
            return _ConditionalBatchNorm(channels, cond_dim, linear, arch["BN_eps"])

        # The class embedding exists in every IC-GAN generator (G_shared) even when unused.
        self.shared = nn.Embedding(arch["n_classes"], arch["shared_dim"] or arch["dim_z"])
        self.shared_feat = linear(INSTANCE_DIM, arch["shared_dim_feat"]) if arch["G_shared_feat"] else nn.Identity()
        self.linear = linear(self.dim_z // self.n_slots, ch * in_mult[0] * width**2)
        attention = {int(r) for r in arch["G_attn"].split("_")}
        blocks = []
        for index, (i, o) in enumerate(zip(in_mult, out_mult)):
            block: list[nn.Module] = [_GBlock(ch * i, ch * o, conv, bn)]
            if 8 * 2**index in attention:  # block outputs are at 8, 16, 32, ... px
                block.append(_Attention(ch * o, conv))
            blocks.append(nn.ModuleList(block))
        self.blocks = nn.ModuleList(blocks)
        self.output_layer = nn.Sequential(_BatchNorm(ch * out_mult[-1], arch["BN_eps"]), nn.ReLU(),
                                          conv(ch * out_mult[-1], 3))

    def forward(self, z: torch.Tensor, feats: torch.Tensor) -> torch.Tensor:
        y = self.shared_feat(feats)
        if self.z_chunk:
            zs = torch.split(z, self.z_chunk, dim=1)
            z, ys = zs[0], [torch.cat([y, chunk], dim=1) for chunk in zs[1:]]
        else:
            ys = [y] * len(self.blocks)
        h = self.linear(z).view(z.shape[0], -1, self.bottom_width, self.bottom_width)
        for blocklist, y_block in zip(self.blocks, ys):
            for layer in blocklist:
                h = layer(h, y_block)
        return torch.tanh(self.output_layer(h))


# ----------------------------------------------------------------------------- the generator
class ICGANGenerator(InstanceConditionedGenerator):
    """IC-GAN's BigGAN generator behind the :class:`InstanceConditionedGenerator` interface.

    Parameters
    ----------
    architecture : dict
        IC-GAN architecture settings (see :func:`icgan_architecture`).
    truncation : float in (0, 1], default 1.0
        IC-GAN's truncation: :meth:`sample_latents` draws a standard normal cut
        at +-2 x truncation, and :meth:`forward` clamps the latents to that
        range (as IC-GAN's notebook does; the gradient of a clamped entry is 0).
        IC-GAN's notebook suggests 0.7 to 0.9 for cleaner images.

    Attributes
    ----------
    latent_shape : tuple of int
        ``(dim_z,)`` after the hierarchical split (119 for the 256-px models,
        120 for 128 and 64 px).
    instance_dim : int
        2048.
    network : torch.nn.Module
        The generator; ``network.state_dict()`` has the keys and shapes of
        IC-GAN's ``G_ema_*.pth``.

    Notes
    -----
    ``forward(latents, instance)`` clamps the latents, L2-normalises the instance
    features, runs the network and maps its tanh output from [-1, 1] to [0, 1].
    The network is built in eval mode (stored batch-norm statistics and
    spectral-norm vectors, as IC-GAN samples); ``.train()`` would switch it to
    IC-GAN's training behaviour (batch statistics, power-iteration updates).

    Examples
    --------
    >>> gen = ICGANGenerator.from_pretrained("/models/icgan_biggan_imagenet_res256.tar.gz")  # doctest: +SKIP
    >>> images = gen(gen.sample_latents(4, seed=0), swav_features)   # (4, 3, 256, 256)   # doctest: +SKIP
    """

    instance_dim = INSTANCE_DIM

    def __init__(self, architecture: Mapping[str, Any], *, truncation: float = 1.0) -> None:
        super().__init__()
        self.architecture = icgan_architecture(architecture)
        self.network = _ICGANNetwork(self.architecture).eval()
        self.truncation = check_truncation(truncation)
        self.latent_shape = (self.network.dim_z,)
        size = self.architecture["bottom_width"] * 2 ** len(self.network.blocks)
        self.image_size = (size, size)
        self.source = RANDOM_WEIGHTS

    # construction ---------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, truncation: float = 1.0, seed: int = 0) -> "ICGANGenerator":
        """A randomly initialised IC-GAN generator (orthogonal init, as IC-GAN's ``G_init='ortho'``).

        The spectral-norm vectors and batch-norm statistics are then settled by
        20 training-mode passes on random inputs, so the untrained network gives
        images that are neither constant nor saturated (useful for tests).

        Parameters
        ----------
        config : dict
            Architecture settings (see :func:`icgan_architecture`); e.g.
            ``{"resolution": 32, "G_ch": 8, "dim_z": 24, "G_attn": "16",
            "shared_dim_feat": 16}`` for a small test network.
        truncation : float, default 1.0
            See :class:`ICGANGenerator`.
        seed : int, default 0
            The same seed gives the same weights.
        """
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            gen = cls(config, truncation=truncation)
            for module in gen.network.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
                    nn.init.orthogonal_(module.weight)
            gen.network.train()
            with torch.no_grad():
                for _ in range(20):
                    z = torch.randn(4, gen.latent_shape[0]).clamp(-2.0, 2.0)
                    gen.network(z, F.normalize(torch.randn(4, INSTANCE_DIM), dim=1))
        gen.network.eval()
        return gen

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike,
        *,
        config: Mapping[str, Any] | str | os.PathLike | None = None,
        checkpoint: str | None = None,
        truncation: float = 1.0,
    ) -> "ICGANGenerator":
        """Load a published IC-GAN BigGAN generator from local files.

        Parameters
        ----------
        path : path-like
            The archive as downloaded (``icgan_biggan_imagenet_res256.tar.gz``,
            ``.tgz`` or ``.tar``; read in place, nothing is extracted), or the
            folder it unpacks to (``icgan_biggan_imagenet_res256/``), or the
            folder holding that one. Needed inside: ``G_ema_<suffix>.pth`` (e.g.
            ``G_ema_best0.pth``); optional: ``state_dict_<suffix>.pth``.
        config : dict or path-like, optional
            Architecture settings, a dict or a JSON file (IC-GAN's own
            ``config_files/.../icgan_res256.json`` works). Needed when the
            experiment's name is not in :data:`PUBLISHED_ARCHITECTURES` and its
            ``state_dict_*.pth`` cannot be read with ``weights_only=True``
            (IC-GAN's own files pickle ``torch.nn.ReLU`` objects in it).
        checkpoint : str, optional
            The ``<suffix>`` to load (``"best0"``, ``"best1"``; ``""`` for
            ``G_ema.pth``). Needed only when the folder holds several
            ``G_ema*.pth`` files (IC-GAN's own loader picks by the FID stored in
            the pickled ``state_dict_*.pth``, which is not read here).
        truncation : float, default 1.0
            See :class:`ICGANGenerator`.

        Raises
        ------
        CheckpointError
            Missing, unreadable or non-tensor files; weights whose keys or
            shapes do not match the architecture exactly; no architecture found.
        """
        files, experiment, origin = _published_files(Path(os.fspath(path)))
        suffix = _choose_checkpoint(files, checkpoint, origin)
        weights_name = f"G_ema_{suffix}.pth" if suffix else "G_ema.pth"
        state_name = f"state_dict_{suffix}.pth" if suffix else "state_dict.pth"
        label, opener = files[weights_name]
        state = _read_tensors(label, opener)
        arch = _resolve_architecture(config, files.get(state_name), experiment, origin)
        gen = cls(arch, truncation=truncation)
        try:
            gen.network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{label}: weights do not match the IC-GAN architecture {arch} "
                f"({_mismatch(gen.network, state)})"
            ) from exc
        gen.source = label
        return gen

    def save_pretrained(self, path: str | os.PathLike, *, checkpoint: str = "best0") -> Path:
        """Write the generator in IC-GAN's published layout (read back by :meth:`from_pretrained`).

        Parameters
        ----------
        path : path-like
            A folder (created; it receives the files) or an archive name ending
            in ``.tar.gz``, ``.tgz`` or ``.tar``, which then holds one folder
            named after the archive, as the published archives do.
        checkpoint : str, default "best0"
            The file suffix.

        Returns
        -------
        pathlib.Path
            ``path``.

        Notes
        -----
        Writes ``G_ema_<checkpoint>.pth`` (``torch.save`` of the network's state
        dict) and ``state_dict_<checkpoint>.pth`` holding ``{"config": ...}``
        with the architecture settings only, as plain values that
        ``weights_only=True`` reads.
        """
        from neurokit.io.atomic import atomic_path

        if not re.fullmatch(r"[A-Za-z0-9]*", checkpoint):
            raise InvalidParameterError(f"checkpoint must be letters and digits (e.g. 'best0'), got {checkpoint!r}")
        path = Path(os.fspath(path))
        tail = f"_{checkpoint}" if checkpoint else ""
        payloads = {
            f"G_ema{tail}.pth": {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()},
            f"state_dict{tail}.pth": {"config": dict(self.architecture)},
        }
        archive = _archive_stem(path)
        if archive is None:
            path.mkdir(parents=True, exist_ok=True)
            for name, payload in payloads.items():
                with atomic_path(path / name) as tmp:
                    torch.save(payload, tmp)
            return path
        mode = "w:gz" if path.name.endswith((".tar.gz", ".tgz")) else "w"
        with atomic_path(path) as tmp, tarfile.open(tmp, mode) as tar:
            for name, payload in payloads.items():
                buffer = io.BytesIO()
                torch.save(payload, buffer)
                info = tarfile.TarInfo(f"{archive}/{name}")
                info.size = buffer.tell()
                buffer.seek(0)
                tar.addfile(info, buffer)
        return path

    # interface --------------------------------------------------------------------
    def sample_latents(
        self, n: int, *, truncation: float = 1.0, seed: int | torch.Generator | None = None
    ) -> torch.Tensor:
        """IC-GAN's truncated noise: a standard normal cut at +-2 x ``truncation``.

        Returns
        -------
        Tensor of shape (n, dim_z), float32, on :attr:`device`.
        """
        n = check_int(n, "n", minimum=1)
        bound = 2.0 * check_truncation(truncation)
        out = torch.empty(n, *self.latent_shape)
        nn.init.trunc_normal_(out, 0.0, 1.0, -bound, bound, generator=make_torch_generator(seed))
        return out.to(self.device)

    def generate(self, latents: torch.Tensor, instance: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        bound = 2.0 * self.truncation
        z = latents.clamp(-bound, bound)
        return (self.network(z, F.normalize(instance, dim=1)) + 1.0) * 0.5

    def get_config(self) -> dict:
        """``{"weights", "truncation", "architecture"}``, from which :data:`~neurogen.generators.GENERATORS` reloads it."""
        return {"weights": self.source, "truncation": self.truncation, "architecture": dict(self.architecture)}

    def describe(self) -> dict:
        return {**super().describe(), **self.get_config()}


def _from_config(weights: str, architecture: Mapping[str, Any] | None = None,
                 truncation: float = 1.0) -> ICGANGenerator:
    """Reload an :class:`ICGANGenerator` from the local checkpoint its config names.

    ``weights`` is the generator's :attr:`~ICGANGenerator.source`: a
    ``.../G_ema_<suffix>.pth`` file, or ``<archive>:<folder>/G_ema_<suffix>.pth``
    inside an archive; the folder or archive is read again with that checkpoint.
    """
    label = weights_file(weights, "ICGANGenerator")
    archive, sep, member = label.rpartition(":")
    if sep and archive.endswith(ARCHIVE_SUFFIXES):
        location, name = Path(archive), Path(member).name
    else:
        location, name = Path(label).parent, Path(label).name
    match = WEIGHTS_PATTERN.match(name)
    if match is None:
        raise CheckpointError(f"{label}: not an IC-GAN generator file (G_ema_<suffix>.pth)")
    return ICGANGenerator.from_pretrained(location, config=architecture, checkpoint=match.group("suffix") or "",
                                          truncation=float(truncation))


GENERATORS.register("ICGANGenerator", builder=_from_config)(ICGANGenerator)


# ----------------------------------------------------------------------------- files
Opener = Callable[[], IO[bytes]]


def _archive_stem(path: Path) -> str | None:
    for suffix in ARCHIVE_SUFFIXES:
        if path.name.endswith(suffix) and len(path.name) > len(suffix):
            return path.name[: -len(suffix)]
    return None


def _published_files(path: Path) -> tuple[dict[str, tuple[str, Opener]], str, str]:
    """``{file name: (label for messages, opener)}`` of the experiment folder, its name, and ``path`` as text."""
    origin = str(path)
    if _archive_stem(path) is not None and path.is_file():
        # One streaming pass; only the generator and state files are kept (not D, G or optimiser states).
        contents: dict[str, bytes] = {}
        try:
            with tarfile.open(path, "r|*") as tar:
                for member in tar:
                    name = Path(member.name).name
                    if member.isfile() and (WEIGHTS_PATTERN.match(name) or STATE_PATTERN.match(name)):
                        handle = tar.extractfile(member)
                        contents[member.name] = handle.read() if handle is not None else b""
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise CheckpointError(f"{path}: not a readable tar archive ({exc})") from exc
        folders = sorted({str(Path(m).parent) for m in contents if WEIGHTS_PATTERN.match(Path(m).name)})
        if not folders:
            raise CheckpointError(f"{path}: the archive holds no G_ema*.pth (an IC-GAN BigGAN archive has "
                                  "<experiment>/G_ema_best0.pth)")
        if len(folders) > 1:
            raise CheckpointError(f"{path}: G_ema*.pth files in several folders ({', '.join(folders)})")
        files = {Path(m).name: (f"{path}:{m}", (lambda data=data: io.BytesIO(data)))
                 for m, data in contents.items() if str(Path(m).parent) == folders[0]}
        experiment = Path(folders[0]).name if folders[0] not in ("", ".") else _archive_stem(path) or ""
        return files, experiment, origin
    if not path.is_dir():
        raise CheckpointError(
            f"{path}: not an IC-GAN archive ({', '.join(ARCHIVE_SUFFIXES)}) or folder; a published model is e.g. "
            "icgan_biggan_imagenet_res256.tar.gz, or the folder it unpacks to"
        )
    def has_weights(folder: Path) -> bool:
        return any(WEIGHTS_PATTERN.match(p.name) for p in folder.iterdir())

    folder = path
    if not has_weights(path):  # the folder the archive was unpacked into
        inner = [d for d in sorted(path.iterdir()) if d.is_dir() and has_weights(d)]
        if not inner:
            raise CheckpointError(f"{path}: no G_ema*.pth here nor in a sub-folder")
        if len(inner) > 1:
            raise CheckpointError(
                f"{path}: several sub-folders hold a G_ema*.pth ({', '.join(d.name for d in inner)}); name one"
            )
        folder = inner[0]
    files = {p.name: (str(p), (lambda p=p: open(p, "rb"))) for p in folder.iterdir() if p.is_file()}
    return files, folder.name, origin


def _choose_checkpoint(files: Mapping[str, Any], checkpoint: str | None, origin: str) -> str:
    suffixes = sorted((m.group("suffix") or "") for name in files if (m := WEIGHTS_PATTERN.match(name)))
    if checkpoint is not None:
        if checkpoint not in suffixes:
            raise CheckpointError(f"{origin}: no checkpoint {checkpoint!r} (found: "
                                  f"{', '.join(repr(s) for s in suffixes) or 'none'})")
        return checkpoint
    if len(suffixes) > 1:
        raise CheckpointError(
            f"{origin}: several generator checkpoints ({', '.join(repr(s) for s in suffixes)}); pass checkpoint=... "
            "(IC-GAN's own loader picks the one with the lower best_FID in state_dict_<suffix>.pth)"
        )
    return suffixes[0]


def _torch_load(label: str, opener: Opener) -> Any:
    try:
        with opener() as handle:
            return torch.load(handle, map_location="cpu", weights_only=True)
    except Exception as exc:  # refused pickles, corrupt zip, truncated files: all unreadable
        raise CheckpointError(f"{label}: cannot read with torch.load(weights_only=True) ({exc})") from exc


def _read_tensors(label: str, opener: Opener) -> dict[str, torch.Tensor]:
    state = _torch_load(label, opener)
    if not isinstance(state, Mapping) or not state or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{label}: not a state dict (a non-empty mapping from names to tensors)")
    return dict(state)


def _resolve_architecture(
    config: Mapping[str, Any] | str | os.PathLike | None,
    state_file: tuple[str, Opener] | None,
    experiment: str,
    origin: str,
) -> dict[str, Any]:
    if isinstance(config, Mapping):
        return icgan_architecture(config)
    if config is not None:
        config_path = Path(os.fspath(config))
        try:
            loaded = json.loads(config_path.read_text(encoding="utf-8"))
            return icgan_architecture(loaded)
        except (OSError, ValueError) as exc:  # unreadable, bad JSON, or InvalidParameterError
            raise CheckpointError(f"{config_path}: not a valid IC-GAN config ({exc})") from exc
    if state_file is not None:
        label, opener = state_file
        try:
            state = _torch_load(label, opener)
        except CheckpointError:
            state = None  # IC-GAN's own state_dict pickles nn.ReLU objects: weights_only refuses it
        if isinstance(state, Mapping) and isinstance(state.get("config"), Mapping):
            try:
                return icgan_architecture(state["config"])
            except InvalidParameterError as exc:
                raise CheckpointError(f"{label}: not a supported IC-GAN config ({exc})") from exc
    if experiment in PUBLISHED_ARCHITECTURES:
        return icgan_architecture(PUBLISHED_ARCHITECTURES[experiment])
    raise CheckpointError(
        f"{origin}: cannot tell the architecture of experiment {experiment!r} (not one of "
        f"{', '.join(PUBLISHED_ARCHITECTURES)}, and no state_dict_*.pth readable with weights_only=True); "
        "pass config= (a dict or IC-GAN's JSON config file)"
    )


def _mismatch(network: nn.Module, state: Mapping[str, torch.Tensor]) -> str:
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(expected[k].shape)}"
              for k in sorted(set(state) & set(expected)) if state[k].shape != expected[k].shape]
    parts = []
    for title, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)):
        if items:
            parts.append(f"{len(items)} {title}, first: {', '.join(items[:3])}")
    return "; ".join(parts)

"""The IC-GAN BigGAN generator behind the :class:`~neurogen.generators.InstanceConditionedGenerator` interface.

:class:`ICGANGenerator` wraps :class:`~neurogen.generators.icgan.ICGANNetwork`: random initialisation
(:meth:`~ICGANGenerator.from_config`), the published checkpoints (:meth:`~ICGANGenerator.from_pretrained`,
:meth:`~ICGANGenerator.save_pretrained`), IC-GAN's truncated noise, and its registration in
:data:`~neurogen.generators.GENERATORS` (reloaded offline from the checkpoint its config names).
"""

from __future__ import annotations

import io
import os
import re
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from neurokit.exceptions import CheckpointError, InvalidParameterError
from neurokit.validation import check_int
from neurogen.generators.base import InstanceConditionedGenerator, check_truncation, make_torch_generator
from neurogen.generators.icgan.architecture import INSTANCE_DIM, icgan_architecture
from neurogen.generators.icgan.network import ICGANNetwork
from neurogen.generators.icgan.published import (
    ARCHIVE_SUFFIXES,
    WEIGHTS_PATTERN,
    archive_stem,
    choose_checkpoint,
    published_files,
    read_state_dict,
    resolve_architecture,
    state_mismatch,
)
from neurogen.generators.registry import GENERATORS, RANDOM_WEIGHTS, weights_file

__all__ = ["ICGANGenerator"]


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
        self.network = ICGANNetwork(self.architecture).eval()
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
        files, experiment, origin = published_files(Path(os.fspath(path)))
        suffix = choose_checkpoint(files, checkpoint, origin)
        weights_name = f"G_ema_{suffix}.pth" if suffix else "G_ema.pth"
        state_name = f"state_dict_{suffix}.pth" if suffix else "state_dict.pth"
        label, opener = files[weights_name]
        state = read_state_dict(label, opener)
        arch = resolve_architecture(config, files.get(state_name), experiment, origin)
        gen = cls(arch, truncation=truncation)
        try:
            gen.network.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(
                f"{label}: weights do not match the IC-GAN architecture {arch} "
                f"({state_mismatch(gen.network, state)})"
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
        archive = archive_stem(path)
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

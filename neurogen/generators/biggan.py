"""BigGAN-deep (Brock et al. 2019), NeuroGen's original generator, via ``pytorch-pretrained-biggan``.

The architecture comes from the PyPI package ``pytorch-pretrained-biggan``
(install with ``pip install --no-deps pytorch-pretrained-biggan``; the
``biggan`` extra). Its download helpers import ``boto3`` and ``requests``
at module level; they are not needed here, so when they are missing the
package's download module is replaced by a local-only stand-in before import.
Weights are fetched by this module (only when a user names a pretrained model)
and always read with ``torch.load(..., weights_only=True)`` or safetensors,
never unpickled.

NeuroGen (Gu et al. 2022) optimises only the 128-d noise ``z`` of
BigGAN-deep-256 with a fixed one-hot class, starting from the top-10 ImageNet
classes of the region, with truncated noise (truncation 0.4).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neurokit.exceptions import CheckpointError, InvalidParameterError, OptionalDependencyError
from neurogen.generators.base import ImageGenerator, check_truncation
from neurogen.generators.registry import GENERATORS, RANDOM_WEIGHTS, weights_file

#: Names the package knows (ImageNet class-conditional, 1,000 classes, z = 128).
PRETRAINED_NAMES = ("biggan-deep-128", "biggan-deep-256", "biggan-deep-512")
WEIGHTS_NAME = "pytorch_model.bin"
SAFETENSORS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
#: State-dict entries a checkpoint may omit: torch spectral norm's power-iteration vectors.
SPECTRAL_NORM_BUFFERS = (".weight_u", ".weight_v")


def _default_cache_dir() -> Path:
    root = os.environ.get("NEUROKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "neurokit"
    )
    return Path(root) / "biggan"


def import_biggan() -> types.ModuleType:
    """Import ``pytorch_pretrained_biggan`` without its download dependencies.

    Returns
    -------
    module
        The package (with ``BigGAN``, ``BigGANConfig`` and the archive maps).

    Raises
    ------
    OptionalDependencyError
        If the package is not installed.
    """
    if importlib.util.find_spec("pytorch_pretrained_biggan") is None:
        raise OptionalDependencyError(
            "BigGAN needs the package 'pytorch-pretrained-biggan': "
            "pip install --no-deps pytorch-pretrained-biggan  (or the 'biggan' extra)"
        )
    name = "pytorch_pretrained_biggan.file_utils"
    if name not in sys.modules:
        try:
            importlib.import_module(name)
        except ImportError:  # boto3 / botocore / requests missing: only needed for downloads
            sys.modules.pop(name, None)
            stub = types.ModuleType(name)
            stub.__doc__ = "Local-only stand-in installed by neurogen (boto3/requests are not installed)."
            stub.PYTORCH_PRETRAINED_BIGGAN_CACHE = str(_default_cache_dir())

            def cached_path(url_or_filename: Any, cache_dir: Any = None) -> str:
                path = os.fspath(url_or_filename)
                if os.path.exists(path):
                    return path
                raise OptionalDependencyError(
                    f"{path}: not a local file, and downloading through pytorch-pretrained-biggan needs "
                    "boto3 and requests; use neurogen.BigGANGenerator.from_pretrained instead"
                )

            stub.cached_path = cached_path
            sys.modules[name] = stub
    return importlib.import_module("pytorch_pretrained_biggan")


class BigGANGenerator(ImageGenerator):
    """Class-conditional BigGAN(-deep) behind the :class:`ImageGenerator` interface.

    Parameters
    ----------
    model : pytorch_pretrained_biggan.BigGAN
        The network (see :meth:`from_pretrained` and :meth:`from_config`).
    truncation : float in (0, 1], default 0.4
        Truncation passed to the network's batch norms (it picks their stored
        statistics); use the same value for :meth:`sample_latents`.

    Notes
    -----
    ``forward(latents, classes)`` feeds a one-hot class vector per latent and
    maps the tanh output from [-1, 1] to [0, 1]. The images are
    ``config.output_dim`` pixels square (256 for ``biggan-deep-256``).
    """

    def __init__(self, model: nn.Module, *, truncation: float = 0.4) -> None:
        super().__init__()
        config = getattr(model, "config", None)
        if config is None or not hasattr(config, "z_dim") or not hasattr(config, "num_classes"):
            raise InvalidParameterError(
                f"model must be a pytorch_pretrained_biggan.BigGAN (with a .config), got {type(model).__name__}"
            )
        self.model = model
        self.truncation = check_truncation(truncation)
        self.latent_shape = (int(config.z_dim),)
        self.n_classes = int(config.num_classes)
        self.image_size = (int(config.output_dim), int(config.output_dim))
        self.source = RANDOM_WEIGHTS

    # construction ---------------------------------------------------------------
    @classmethod
    def from_config(
        cls, config: Any, *, truncation: float = 0.4, seed: int = 0
    ) -> "BigGANGenerator":
        """A randomly initialised BigGAN from a ``BigGANConfig`` or a dict of its fields.

        Useful for tests and for architectures trained elsewhere; parameters the
        package leaves uninitialised (the unconditional batch-norm affine) are set
        to the identity.
        """
        pkg = import_biggan()
        if isinstance(config, dict):
            config = pkg.BigGANConfig.from_dict(config)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            model = pkg.BigGAN(config)
            model.generator.bn.weight.data.fill_(1.0)
            model.generator.bn.bias.data.zero_()
            # Converge the spectral-norm power iterations (they only run in train mode), so
            # each layer's weight has unit spectral norm and activations neither explode
            # nor saturate the output tanh.
            model.train()
            with torch.no_grad():
                eye = torch.eye(config.num_classes)
                for _ in range(20):
                    model(torch.randn(4, config.z_dim), eye[torch.randint(config.num_classes, (4,))], truncation)
        return cls(model.eval(), truncation=truncation)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike = "biggan-deep-256",
        *,
        truncation: float = 0.4,
        cache_dir: str | os.PathLike | None = None,
        download: bool = True,
    ) -> "BigGANGenerator":
        """Load a pretrained BigGAN-deep by name, or from a local folder.

        Parameters
        ----------
        name_or_path : str or path-like
            One of ``biggan-deep-128``, ``biggan-deep-256`` (NeuroGen's),
            ``biggan-deep-512``; or a folder holding ``config.json`` and
            ``model.safetensors`` or ``pytorch_model.bin``.
        truncation : float, default 0.4
            See :class:`BigGANGenerator`.
        cache_dir : path-like, optional
            Where named models are kept (default ``$NEUROKIT_CACHE/biggan`` or
            ``~/.cache/neurokit/biggan``). A named model already there is
            loaded without any network access.
        download : bool, default True
            Whether a named model missing from the cache may be downloaded (from
            the URLs the package lists). With False a missing model raises.

        Raises
        ------
        CheckpointError
            Unknown name, missing files, unreadable or mismatched weights.
        OptionalDependencyError
            ``pytorch-pretrained-biggan`` is not installed.
        """
        pkg = import_biggan()
        key = os.fspath(name_or_path)
        if key in PRETRAINED_NAMES:
            folder = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
            folder = folder / key
            if not (folder / CONFIG_NAME).is_file() or not (
                (folder / WEIGHTS_NAME).is_file() or (folder / SAFETENSORS_NAME).is_file()
            ):
                if not download:
                    raise CheckpointError(f"{folder}: {key} is not in the cache and download=False")
                _download(pkg, key, folder)
        else:
            folder = Path(key)
            if not folder.is_dir():
                raise CheckpointError(
                    f"{key}: not a folder and not a known BigGAN name (expected one of {', '.join(PRETRAINED_NAMES)})"
                )
        model = _load_folder(pkg, folder)
        gen = cls(model, truncation=truncation)
        gen.source = str(folder)
        return gen

    def save_pretrained(self, folder: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to ``folder`` (read back by :meth:`from_pretrained`)."""
        from safetensors.torch import save_file

        from neurokit.io.atomic import atomic_path, atomic_write_text

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        with atomic_path(folder / SAFETENSORS_NAME) as tmp:
            save_file(state, str(tmp))
        atomic_write_text(folder / CONFIG_NAME, json.dumps(self.model.config.to_dict(), indent=2, default=list))
        return folder

    # interface --------------------------------------------------------------------
    def generate(self, latents: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        onehot = nn.functional.one_hot(classes, self.n_classes).to(latents.dtype)
        return (self.model(latents, onehot, self.truncation) + 1.0) * 0.5

    def get_config(self) -> dict:
        """``{"weights": folder, "truncation": t}``, from which :data:`~neurogen.generators.GENERATORS` reloads it."""
        return {"weights": self.source, "truncation": self.truncation}

    def describe(self) -> dict:
        return {**super().describe(), **self.get_config()}


def _load_folder(pkg: types.ModuleType, folder: Path) -> nn.Module:
    config_path = folder / CONFIG_NAME
    if not config_path.is_file():
        raise CheckpointError(f"{config_path}: BigGAN config not found")
    try:
        config = pkg.BigGANConfig.from_json_file(str(config_path))
        config.layers = [tuple(layer) for layer in config.layers]
        model = pkg.BigGAN(config)
    except (ValueError, OSError, TypeError, AttributeError, KeyError) as exc:  # bad JSON, wrong fields or types
        raise CheckpointError(f"{config_path}: not a valid BigGAN config ({type(exc).__name__}: {exc})") from exc
    if (folder / SAFETENSORS_NAME).is_file():
        from safetensors.torch import load_file

        weights = folder / SAFETENSORS_NAME
        try:
            state = load_file(str(weights), device="cpu")
        except Exception as exc:
            raise CheckpointError(f"{weights}: cannot read safetensors weights ({exc})") from exc
    else:
        weights = folder / WEIGHTS_NAME
        if not weights.is_file():
            raise CheckpointError(f"{folder}: neither {SAFETENSORS_NAME} nor {WEIGHTS_NAME} found")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise CheckpointError(f"{weights}: cannot read weights with weights_only=True ({exc})") from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CheckpointError(f"{weights}: not a state dict (a mapping from names to tensors)")
    try:
        # The package loads its published files non-strictly; here only the spectral-norm
        # power-iteration vectors (weight_u / weight_v buffers) may be missing.
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # wrong shapes
        raise CheckpointError(f"{weights}: weights do not match the config in {config_path} ({exc})") from exc
    missing = sorted(k for k in result.missing_keys if not k.endswith(SPECTRAL_NORM_BUFFERS))
    for problem, keys in (("missing", missing), ("unexpected", sorted(result.unexpected_keys))):
        if keys:
            raise CheckpointError(
                f"{weights}: {len(keys)} {problem} entries for the config in {config_path} "
                f"(first: {', '.join(keys[:3])})"
            )
    return model.eval()


def _download(pkg: types.ModuleType, name: str, folder: Path) -> None:  # pragma: no cover - needs a network
    from pytorch_pretrained_biggan import model as biggan_model

    folder.mkdir(parents=True, exist_ok=True)
    for url, target in (
        (biggan_model.PRETRAINED_CONFIG_ARCHIVE_MAP[name], folder / CONFIG_NAME),
        (biggan_model.PRETRAINED_MODEL_ARCHIVE_MAP[name], folder / WEIGHTS_NAME),
    ):
        try:
            torch.hub.download_url_to_file(url, str(target), progress=True)  # writes a temp file, then moves
        except Exception as exc:
            raise CheckpointError(f"cannot download {name} from {url} ({exc}); put its files in {folder}") from exc


def _from_config(weights: str, truncation: float = 0.4) -> BigGANGenerator:
    """Reload a :class:`BigGANGenerator` from its config: a local folder or a cached model, never a download."""
    return BigGANGenerator.from_pretrained(weights_file(weights, "BigGANGenerator"), truncation=float(truncation),
                                           download=False)


GENERATORS.register("BigGANGenerator", builder=_from_config)(BigGANGenerator)

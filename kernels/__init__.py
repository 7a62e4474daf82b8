"""Sigmoid attention: fused Triton kernels, a blockwise PyTorch fallback, and modules.

``sigmoid_attention(q, k, v)`` computes ``sigmoid(Q K^T / sqrt(d) - log(n_keys)) V``
(Ramapuram et al., 2024) with memory linear in the sequence length, on CUDA
through the FlashSigmoid-style Triton kernels and elsewhere through a blockwise
PyTorch implementation with the same results. The modules built on it
(self-attention, cross-attention, transformer block) take (batch, seq, dim).

This package sits at the bottom of the toolkit: it imports only
``neurokit.exceptions`` and ``neurokit.validation`` from the rest of it.
"""

from kernels.dispatch import (
    BACKENDS,
    MAX_TRITON_HEAD_DIM,
    SIGMOID_IMPLS,
    TORCH_DTYPES,
    TRITON_DTYPES,
    sigmoid_attention,
    triton_available,
    triton_interpreted,
)
from kernels.modules import (
    SigmoidCrossAttention,
    SigmoidSelfAttention,
    SigmoidTransformerBlock,
)

__all__ = [
    "sigmoid_attention",
    "triton_available",
    "triton_interpreted",
    "TRITON_DTYPES",
    "TORCH_DTYPES",
    "MAX_TRITON_HEAD_DIM",
    "BACKENDS",
    "SIGMOID_IMPLS",
    "SigmoidSelfAttention",
    "SigmoidCrossAttention",
    "SigmoidTransformerBlock",
]

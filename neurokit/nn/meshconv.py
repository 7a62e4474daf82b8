"""MeshConv: convolution on the fsaverage sphere (Jiang et al., ICLR 2019).

A filter is a linear combination of four differential operators applied to each
input channel ``f_i``::

    y_o = sum_i [ w0 f_i + w1 L f_i + w2 D_EW f_i + w3 D_NS f_i ] + b_o

with ``L`` the cotangent Laplacian and ``D_EW``, ``D_NS`` the east-west and
north-south derivatives. The three sparse operators
of every hemisphere are stacked into one block matrix, so a forward pass is one
sparse-dense product for all batch items and channels at once, followed by the
``4 * in_channels -> out_channels`` mixing as four accumulated dense products.

Layout and speed: the input ``(B, C, N)`` is viewed vertex-major as an
``(N, B * C)`` matrix (free when it came out of another MeshConv, whose output
is a ``(B, O, N)`` view of a vertex-major ``(N, B, O)`` array), the sparse
product gives the three operator responses as contiguous ``(N * B, C)``
blocks, and the mixing consumes them in place, so no concatenated
``(B, N, 4 C)`` feature tensor is ever built. A hand-written backward pass
reuses the saved blocks (one transposed sparse product, eight GEMMs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from neurokit.exceptions import DataValidationError, InvalidParameterError, MeshUnavailableError
from neurokit.mesh.levels import check_level
from neurokit.nn._layout import check_input, resolve_hemispheres
from neurokit.nn._sparse import block_stack, csr_pair, spmm, to_coo
from neurokit.validation import check_int

OPERATOR_NAMES = ("laplacian", "ew_derivative", "ns_derivative")


def _load_operators(level: int, hemispheres: tuple[str, ...]) -> list[Any]:
    try:
        from neurokit.mesh.operators import mesh_operators
    except ImportError as err:  # pragma: no cover - depends on the install
        raise MeshUnavailableError(
            "MeshConv needs neurokit.mesh.operators.mesh_operators to build its operators; "
            "pass operators=... explicitly or install a complete neurokit"
        ) from err
    return [mesh_operators(level, hemi) for hemi in hemispheres]


def stacked_operator(operators: Sequence[Any]) -> torch.Tensor:
    """Stack the MeshConv operators of one or more hemispheres into one matrix.

    Parameters
    ----------
    operators : sequence of MeshOperators
        One per hemisphere (left first), each with sparse ``laplacian``,
        ``ew_derivative`` and ``ns_derivative`` of shape (V, V).

    Returns
    -------
    torch.Tensor
        Sparse COO matrix of shape (3 * H * V, H * V): row block ``k`` is
        operator ``k`` (Laplacian, east-west, north-south), block-diagonal over
        the ``H`` hemispheres.
    """
    if len(operators) == 0:
        raise DataValidationError("operators: need at least one hemisphere's MeshOperators")
    mats = []
    for h, ops in enumerate(operators):
        row = []
        for name in OPERATOR_NAMES:
            if not hasattr(ops, name):
                raise DataValidationError(f"operators[{h}] has no attribute {name!r}; expected a MeshOperators")
            mat = to_coo(getattr(ops, name), f"operators[{h}].{name}")
            if mat.shape[0] != mat.shape[1]:
                raise DataValidationError(f"operators[{h}].{name} must be square, got {tuple(mat.shape)}")
            row.append(mat)
        mats.append(row)
    n_hemi = len(mats)
    blocks: list[list[torch.Tensor | None]] = []
    for k in range(len(OPERATOR_NAMES)):
        for h in range(n_hemi):
            blocks.append([mats[h][k] if j == h else None for j in range(n_hemi)])
    return block_stack(blocks)


class _MeshConvFunction(torch.autograd.Function):
    """Fused MeshConv: sparse operators, then channel mixing, with a hand-written backward.

    Forward, with ``xt = x`` as ``(N, B * C)`` (vertex-major) and ``S`` the
    stacked ``(3 N, N)`` operator::

        F = S @ xt                              # (3, N, B, C): L x, D_EW x, D_NS x
        y = xt W0^T + F1 W1^T + F2 W2^T + F3 W3^T + b      # (N * B, O)

    Backward::

        dW_j = dy^T F_j,   db = sum dy,   dxt = dy W0 + S^T [dy W1; dy W2; dy W3]
    """

    @staticmethod
    def forward(ctx, x, weight, bias, operator, operator_t):  # noqa: D102
        b, c, n = x.shape
        o = weight.shape[0]
        xt = x.permute(2, 0, 1).reshape(n, b * c)  # a view when x came from another MeshConv
        feats = spmm(operator, xt).view(3, n * b, c)
        x_rows = xt.reshape(n * b, c)
        w = weight.to(x.dtype)
        y = x_rows @ w[:, :, 0].t()
        for j in range(3):
            y.addmm_(feats[j], w[:, :, j + 1].t())
        if bias is not None:
            y += bias.to(x.dtype)
        ctx.save_for_backward(x_rows, feats, weight)
        ctx.operator_t = operator_t
        ctx.has_bias = bias is not None
        ctx.shape = (b, c, n)
        return y.view(n, b, o).permute(1, 2, 0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):  # noqa: D102
        x_rows, feats, weight = ctx.saved_tensors
        b, c, n = ctx.shape
        o = weight.shape[0]
        g = grad.permute(2, 0, 1).reshape(n * b, o).to(x_rows.dtype)  # (N * B, O)
        w = weight.to(x_rows.dtype)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[1]:
            gt = g.t()
            grad_w = torch.stack([gt @ x_rows] + [gt @ feats[j] for j in range(3)], dim=-1).to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = g.sum(0).to(weight.dtype)
        if ctx.needs_input_grad[0]:
            g_ops = g.new_empty(3, n * b, c)
            for j in range(3):
                torch.mm(g, w[:, :, j + 1], out=g_ops[j])
            gx = spmm(ctx.operator_t, g_ops.view(3 * n, b * c)).view(n * b, c)
            gx.addmm_(g, w[:, :, 0])
            grad_x = gx.view(n, b, c).permute(1, 2, 0)
        return grad_x, grad_w, grad_b, None, None


class MeshConv(nn.Module):
    """Four-operator convolution on one or both fsaverage hemispheres.

    Parameters
    ----------
    in_channels, out_channels : int
        Number of input and output feature channels.
    level : int, optional
        fsaverage icosahedron level (0..7) of the input; the operators come
        from :func:`neurokit.mesh.operators.mesh_operators`. Needed unless
        ``operators`` is given.
    hemispheres : {"both", "left", "right"} or sequence of str
        Hemispheres present in the input, concatenated along the vertex axis
        in this order (left first for ``"both"``). Weights are shared between
        hemispheres; each hemisphere uses its own operators.
    bias : bool
        Whether to add a learned per-output-channel bias ``b_o``.
    operators : sequence of MeshOperators, optional
        Explicit operators, one per hemisphere (objects with sparse
        ``laplacian``, ``ew_derivative`` and ``ns_derivative`` of shape
        (V, V)); overrides ``level``.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (out_channels, in_channels, 4)
        Coefficients of the identity, Laplacian, east-west and north-south
        terms, in that order.
    bias : torch.nn.Parameter of shape (out_channels,) or None
    n_vertices : int
        Vertices of the input and output, ``n_hemispheres * V``.

    Notes
    -----
    Input and output are ``(batch, channels, n_hemispheres * V)``. The stacked
    operator ``[L; D_EW; D_NS]`` (block-diagonal over hemispheres) is a
    non-persistent buffer: ``.to(device)`` moves it, checkpoints do not store
    it. The layer computes in the operator's dtype (float32 unless the module
    was converted with ``.double()``), also under autocast. The output is a
    ``(batch, out_channels, n_vertices)`` view of a vertex-major array, which
    the next MeshConv reads without a copy; call ``.contiguous()`` if you need
    a batch-major layout.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        level: int | None = None,
        hemispheres: str | Sequence[str] = "both",
        bias: bool = True,
        operators: Sequence[Any] | None = None,
    ) -> None:
        super().__init__()
        in_channels = check_int(in_channels, "MeshConv: in_channels", minimum=1)
        out_channels = check_int(out_channels, "MeshConv: out_channels", minimum=1)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.hemispheres = resolve_hemispheres(hemispheres)
        if operators is None:
            if level is None:
                raise InvalidParameterError("MeshConv: give a mesh level or explicit operators")
            self.level: int | None = check_level(level)
            operators = _load_operators(self.level, self.hemispheres)
        else:
            self.level = None if level is None else check_level(level)
            if len(operators) != len(self.hemispheres):
                raise DataValidationError(
                    f"MeshConv: got {len(operators)} operator sets for hemispheres {self.hemispheres}"
                )
        stacked = stacked_operator(operators)
        self.n_vertices = stacked.shape[1]
        op, op_t = csr_pair(stacked)
        self.register_buffer("operator", op, persistent=False)
        self.register_buffer("operator_t", op_t, persistent=False)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 4))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-uniform weights over the ``4 * in_channels`` fan-in, like ``nn.Linear``."""
        fan_in = 4 * self.in_channels
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.kaiming_uniform_(self.weight.view(self.out_channels, fan_in), a=math.sqrt(5))
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve ``x``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_vertices)

        Returns
        -------
        torch.Tensor of shape (batch, out_channels, n_vertices)
        """
        check_input(x, self.in_channels, self.n_vertices, "MeshConv")
        dtype = self.operator.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            return _MeshConvFunction.apply(x.to(dtype), self.weight, self.bias, self.operator, self.operator_t)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, level={self.level}, "
            f"hemispheres={self.hemispheres}, n_vertices={self.n_vertices}, bias={self.bias is not None}"
        )

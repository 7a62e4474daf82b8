"""Sparse operator plumbing shared by the mesh layers.

Private module: it turns per-hemisphere sparse operators into one block-diagonal
CSR matrix (and its transpose, for the backward pass) and applies it to all
channels of a batch with a single sparse-dense product.

On the CPU the product runs through scipy's CSR kernel (a plain row loop,
about 3x faster than torch's CPU sparse-dense product for the few-entries-per-row
MeshConv operators with hundreds of dense columns); elsewhere through torch's
sparse CSR matmul.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
import torch

from neurokit.exceptions import DataValidationError


def to_coo(matrix: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``matrix`` as a coalesced float32 sparse COO tensor on the CPU."""
    if not isinstance(matrix, torch.Tensor):
        raise DataValidationError(f"{name}: expected a torch sparse tensor, got {type(matrix).__name__}")
    if matrix.ndim != 2:
        raise DataValidationError(f"{name}: expected a 2-D sparse matrix, got shape {tuple(matrix.shape)}")
    matrix = matrix.detach().cpu()
    if matrix.layout != torch.sparse_coo:
        matrix = matrix.to_sparse_coo() if matrix.layout != torch.strided else matrix.to_sparse()
    return matrix.coalesce().to(torch.float32)


def block_stack(blocks: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
    """Assemble a sparse block matrix from a grid of COO blocks.

    Parameters
    ----------
    blocks : list of rows, each a list of sparse COO tensors or ``None``
        ``None`` stands for an all-zero block; block sizes must agree along
        rows and columns (every row and column needs one non-``None`` block).

    Returns
    -------
    torch.Tensor
        Coalesced sparse COO matrix.
    """
    n_rows = [next(b.shape[0] for b in row if b is not None) for row in blocks]
    n_cols = [next(row[j].shape[1] for row in blocks if row[j] is not None) for j in range(len(blocks[0]))]
    indices, values = [], []
    r0 = 0
    for i, row in enumerate(blocks):
        c0 = 0
        for j, block in enumerate(row):
            if block is not None:
                if tuple(block.shape) != (n_rows[i], n_cols[j]):
                    raise DataValidationError(
                        f"operator block ({i}, {j}) has shape {tuple(block.shape)}, expected {(n_rows[i], n_cols[j])}"
                    )
                idx = block.indices()
                indices.append(torch.stack([idx[0] + r0, idx[1] + c0]))
                values.append(block.values())
            c0 += n_cols[j]
        r0 += n_rows[i]
    out = torch.sparse_coo_tensor(
        torch.cat(indices, dim=1), torch.cat(values), (sum(n_rows), sum(n_cols)), dtype=torch.float32,
        check_invariants=False,  # indices are in range by construction
    )
    return out.coalesce()


def csr_pair(matrix_coo: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(A, A.T)`` of a COO matrix, both in CSR layout."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return matrix_coo.to_sparse_csr(), matrix_coo.t().coalesce().to_sparse_csr()


def spmm(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``matrix @ x`` for a constant sparse CSR ``matrix`` and a dense 2-D ``x`` (no autograd).

    Parameters
    ----------
    matrix : torch.Tensor
        Sparse CSR (M, N), float32 or float64, on ``x``'s device.
    x : torch.Tensor of shape (N, K)
        Dense, same dtype as ``matrix``.

    Returns
    -------
    torch.Tensor of shape (M, K)
        Contiguous. On the CPU computed by scipy (sharing memory with the
        torch tensors, no copies of ``matrix`` or ``x``).
    """
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
        a = sp.csr_matrix(
            (matrix.values().numpy(), matrix.col_indices().numpy(), matrix.crow_indices().numpy()),
            shape=tuple(matrix.shape),
            copy=False,
        )
        out = a @ x.detach().contiguous().numpy()
        return torch.from_numpy(np.ascontiguousarray(out, dtype=out.dtype))
    return matrix @ x.contiguous()


class _SparseMatmul(torch.autograd.Function):
    """``A @ X`` with a constant sparse ``A``; the backward pass is ``A.T @ G``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, matrix: torch.Tensor, matrix_t: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ctx.matrix_t = matrix_t
        return spmm(matrix, x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # noqa: D102
        return spmm(ctx.matrix_t, grad), None, None


def sparse_apply(matrix: torch.Tensor, matrix_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Apply a constant sparse CSR matrix to the columns of a dense matrix.

    Parameters
    ----------
    matrix, matrix_t : torch.Tensor
        Sparse CSR ``A`` of shape (M, N) and its transpose (N, M).
    x : torch.Tensor of shape (N, K)
        Dense input; computed in float32 whatever the autocast dtype.

    Returns
    -------
    torch.Tensor of shape (M, K), float32
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.to(matrix.dtype).contiguous()
        return _SparseMatmul.apply(x, matrix, matrix_t)

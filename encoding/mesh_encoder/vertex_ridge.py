"""Per-vertex ridge over streamed Gram matrices, with the penalty chosen on 1-ring pooled validation errors.

The solver behind :meth:`encoding.mesh_encoder.MeshReadout.refit_readout`, as
plain functions (the way himalaya keeps its solvers apart from its
estimators). Every vertex ``v`` has its own linear readout of its own
``n_features`` features ``f_v(x)``; with the features fixed, all of them are
solved in closed form:

1. the images are streamed in batches and, per vertex, the Gram matrix
   ``G_v = sum_x f_v f_v^T`` and the cross-products ``c_v = sum_x f_v y_v``
   are accumulated (:func:`ridge_candidates`), then centred;
2. one eigendecomposition of ``G_v`` per vertex (and per band scale) gives
   the ridge solution ``(G_v + a tr(G_v) / C I) w = c_v`` for every relative
   penalty ``a`` at once;
3. every candidate's squared error on the validation images
   (:func:`validation_errors`) is pooled over each vertex's 1-ring
   (:func:`pooled_errors`, ``alpha_smoothing`` passes) and each vertex keeps
   the candidate with the lowest pooled error (:func:`solve_vertex_ridge`).

Only the *choice* is pooled: each vertex's weights are still its own ridge
solution. The Gram matrices take ``4 C^2`` bytes per vertex; vertices are
solved in spans that fit ``max_gram_bytes``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from neurokit.mesh import fsaverage_hemisphere
from neurokit.mesh.levels import n_vertices
from neurokit.validation import check_int, check_real

__all__ = [
    "DEFAULT_VERTEX_ALPHAS",
    "VertexRidgeSolution",
    "ring_mean",
    "pooled_errors",
    "span_batches",
    "ridge_candidates",
    "validation_errors",
    "solve_vertex_ridge",
]

#: Relative ridge penalties tried per vertex by default.
DEFAULT_VERTEX_ALPHAS: tuple[float, ...] = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)

#: ``features(x_batch)`` -> readout features of every vertex, shape (n_vertices, batch, n_features).
FeatureFunction = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class VertexRidgeSolution:
    """What :func:`solve_vertex_ridge` returns.

    Attributes
    ----------
    weights : Tensor of shape (n_vertices, n_features), float64
        Each vertex's ridge weights, in standardised target units.
    bias : Tensor of shape (n_vertices,), float64
        Each vertex's intercept (standardised target units).
    best : Tensor of shape (n_vertices,), int64
        Index of the chosen candidate (``alphas[j % n_alphas]`` with band
        scale ``spatial_scales[j // n_alphas]``).
    alphas : ndarray of shape (n_vertices,), float64
        The relative penalty chosen for every vertex.
    """

    weights: torch.Tensor
    bias: torch.Tensor
    best: torch.Tensor
    alphas: np.ndarray


@functools.lru_cache(maxsize=4)
def ring_mean(level: int) -> sp.csr_matrix:
    """1-ring averaging on both hemispheres at ``level``: each vertex and its neighbours, equal weights.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (2 V, 2 V)
        Row-stochastic, block-diagonal (no edge between the hemispheres),
        left hemisphere first; ``V = n_vertices(level)``.
    """
    blocks = []
    for hemi in ("left", "right"):
        ring = fsaverage_hemisphere(level, hemi).adjacency() + sp.eye(n_vertices(level), format="csr")
        blocks.append(sp.diags(1.0 / np.asarray(ring.sum(1)).ravel()) @ ring)
    return sp.block_diag(blocks, format="csr")


def pooled_errors(err: torch.Tensor, level: int, passes: int) -> torch.Tensor:
    """Candidate errors after ``passes`` rounds of 1-ring averaging on the mesh of ``level``.

    Parameters
    ----------
    err : Tensor of shape (n_candidates, 2 * n_vertices(level))
        Validation error of every candidate at every vertex, left hemisphere first.
    level : int
        fsaverage level of the vertices.
    passes : int
        Rounds of :func:`ring_mean` (0 returns ``err`` itself).

    Returns
    -------
    Tensor of the shape, dtype and device of ``err``.
    """
    if passes == 0:
        return err
    ring = ring_mean(level)
    pooled = err.cpu().numpy().T
    for _ in range(passes):
        pooled = ring @ pooled
    return torch.from_numpy(np.ascontiguousarray(pooled.T)).to(err.device)


def span_batches(features: FeatureFunction, part: slice, x: torch.Tensor, y: torch.Tensor, batch_size: int,
                 y_mean: torch.Tensor, y_scale: torch.Tensor) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Readout features and standardised responses of the vertices ``part``, batch by batch.

    Parameters
    ----------
    features : callable
        ``features(x_batch)`` -> (n_vertices, batch, n_features).
    part : slice
        The vertices of the span.
    x : Tensor of shape (n, ...)
        Inputs of ``features`` (moved to ``y_mean``'s device batch by batch).
    y : Tensor of shape (n, n_vertices)
        Responses, in target units.
    batch_size : int
        Inputs per call of ``features``.
    y_mean, y_scale : Tensor of shape (n_vertices,)
        Per-vertex standardisation of the responses.

    Yields
    ------
    (Tensor of shape (v, B, C), Tensor of shape (v, B))
        float32 features and standardised responses of the ``v`` vertices of ``part``.
    """
    dev = y_mean.device
    y_mean, y_scale = y_mean[part], y_scale[part]
    for s in range(0, x.shape[0], batch_size):
        f = features(x[s : s + batch_size].to(dev))[part].float()
        yield f, ((y[s : s + batch_size, part].to(dev) - y_mean) / y_scale).t().float()


def ridge_candidates(batches: Iterator[tuple[torch.Tensor, torch.Tensor]], n_vertices_span: int,
                     alphas: Sequence[float], vertex_chunk: int, spatial_scales: Sequence[float], n_banded: int,
                     device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Ridge readouts of a span of vertices for every candidate penalty, from streamed batches.

    Parameters
    ----------
    batches : iterator of (Tensor (v, B, C), Tensor (v, B))
        Features and responses of the span's ``v`` vertices (:func:`span_batches` on the training images).
    n_vertices_span : int
        ``v``.
    alphas : sequence of float
        Relative penalties: vertex ``v`` solves ``(G_v + a tr(G_v) / C I) w = c_v``.
    vertex_chunk : int
        Vertices eigendecomposed at once.
    spatial_scales : sequence of float
        Banded ridge: the last ``n_banded`` features are scaled by each factor
        before the solve (their relative penalty is ``1 / scale^2``).
    n_banded : int
        Number of trailing features the scales apply to.
    device : torch.device
        Where the Gram matrices live.

    Returns
    -------
    candidates : Tensor of shape (n_alphas * n_scales, v, C), float64
        Candidate ``j`` is alpha ``alphas[j % n_alphas]`` with scale
        ``spatial_scales[j // n_alphas]``; weights of the unscaled features.
    mu : Tensor of shape (v, C), float64
        Feature means of the training images.
    y_mu : Tensor of shape (v,), float64
        Response means of the training images.
    """
    dev = device
    gram = cross = f_sum = None
    y_sum, n = torch.zeros(n_vertices_span, dtype=torch.float64, device=dev), 0
    for f, y in batches:
        if gram is None:
            gram = torch.zeros(f.shape[0], f.shape[2], f.shape[2], device=dev)
            cross = torch.zeros(f.shape[0], f.shape[2], dtype=torch.float64, device=dev)
            f_sum = torch.zeros(f.shape[0], f.shape[2], dtype=torch.float64, device=dev)
        gram.baddbmm_(f.transpose(1, 2), f)
        cross += torch.bmm(f.transpose(1, 2), y.unsqueeze(-1)).squeeze(-1).double()
        f_sum += f.sum(1).double()
        y_sum += y.sum(1).double()
        n += f.shape[1]
    mu, y_mu = f_sum / n, y_sum / n
    cross -= n * mu * y_mu.unsqueeze(1)
    n_v, c = mu.shape
    n_a = len(alphas)
    candidates = torch.empty(n_a * len(spatial_scales), n_v, c, dtype=torch.float64, device=dev)
    first_spatial = c - n_banded
    for k, factor in enumerate(spatial_scales):
        d = torch.ones(c, dtype=torch.float64, device=dev)
        d[first_spatial:] = float(factor)
        for s in range(0, n_v, vertex_chunk):
            mu_c = mu[s : s + vertex_chunk]
            g = (gram[s : s + vertex_chunk].double() - n * mu_c[:, :, None] * mu_c[:, None, :]) * d[:, None] * d
            evals, evecs = torch.linalg.eigh(g)  # (v, C), (v, C, C)
            evals = evals.clamp_min(0)
            proj = torch.bmm(evecs.transpose(1, 2), (cross[s : s + vertex_chunk] * d).unsqueeze(-1)).squeeze(-1)
            ridge = g.diagonal(dim1=1, dim2=2).sum(1, keepdim=True) / c
            for i, a in enumerate(alphas):
                w_scaled = torch.bmm(evecs, (proj / (evals + a * ridge)).unsqueeze(-1)).squeeze(-1)
                candidates[k * n_a + i, s : s + vertex_chunk] = w_scaled * d  # weights of the unscaled features
    return candidates, mu, y_mu


def validation_errors(batches: Iterator[tuple[torch.Tensor, torch.Tensor]], candidates: torch.Tensor,
                      mu: torch.Tensor, y_mu: torch.Tensor) -> torch.Tensor:
    """Summed squared validation error of every candidate readout of a span of vertices.

    Parameters
    ----------
    batches : iterator of (Tensor (v, B, C), Tensor (v, B))
        Features and responses of the span's vertices on the validation images.
    candidates, mu, y_mu
        From :func:`ridge_candidates`.

    Returns
    -------
    Tensor of shape (n_candidates, v), float64
    """
    err = torch.zeros(candidates.shape[0], candidates.shape[1], dtype=torch.float64, device=candidates.device)
    w32, mu32, y_mu32 = candidates.float(), mu.float(), y_mu.float()
    for f, y in batches:
        fc = f - mu32.unsqueeze(1)
        for i in range(len(candidates)):
            pred = torch.bmm(fc, w32[i].unsqueeze(-1)).squeeze(-1) + y_mu32.unsqueeze(1)
            err[i] += ((pred - y) ** 2).sum(1).double()
    return err


@torch.no_grad()
def solve_vertex_ridge(
    features: FeatureFunction,
    train: torch.Tensor,
    y_train: torch.Tensor,
    val: torch.Tensor,
    y_val: torch.Tensor,
    *,
    y_mean: torch.Tensor,
    y_scale: torch.Tensor,
    level: int,
    n_features: int,
    n_banded: int = 0,
    alphas: Sequence[float] = DEFAULT_VERTEX_ALPHAS,
    batch_size: int = 32,
    vertex_chunk: int = 2048,
    max_gram_bytes: int = 2 * 1024**3,
    spatial_scales: Sequence[float] = (1.0,),
    alpha_smoothing: int = 2,
    where: str = "solve_vertex_ridge",
) -> VertexRidgeSolution:
    """Per-vertex ridge readouts of fixed features, each vertex's penalty chosen on pooled validation errors.

    Parameters
    ----------
    features : callable
        ``features(x_batch)`` -> (n_vertices, batch, n_features), the
        readout features of every vertex (for example
        :meth:`encoding.mesh_encoder.MeshReadout.vertex_features`).
    train, val : Tensor of shape (n, ...)
        Inputs of ``features`` for the training and validation images.
    y_train, y_val : Tensor of shape (n, n_vertices)
        Their responses, in target units.
    y_mean, y_scale : Tensor of shape (n_vertices,)
        Per-vertex standardisation of the responses (the solution is in
        standardised units); their device is where the solve runs.
    level : int
        fsaverage level of the vertices (both hemispheres, left first), for the 1-ring pooling.
    n_features : int
        ``C``, features per vertex.
    n_banded : int
        Trailing features that ``spatial_scales`` apply to (0: none).
    alphas : sequence of float
        Relative ridge penalties tried per vertex (positive).
    batch_size : int
        Images per call of ``features``.
    vertex_chunk : int
        Vertices eigendecomposed at once.
    max_gram_bytes : int
        Memory allowed for the float32 Gram matrices (``4 C^2`` bytes per
        vertex). Above it, the vertices are solved in spans that fit, each
        with its own passes over the images (with ``alpha_smoothing`` and
        more than one span the training passes run twice: every span's
        errors are needed before any choice).
    spatial_scales : sequence of float
        Banded ridge (Nunez-Elizalde et al. 2019) scales of the last
        ``n_banded`` features (positive); every vertex keeps the (alpha,
        scale) pair with the lowest pooled validation error.
    alpha_smoothing : int
        Passes of 1-ring averaging of the validation errors before each
        vertex's choice (0: every vertex alone).
    where : str
        Caller, named in error messages.

    Returns
    -------
    VertexRidgeSolution

    Raises
    ------
    InvalidParameterError
        A bad ``alphas``, ``spatial_scales``, ``n_banded``, ``batch_size``,
        ``vertex_chunk``, ``max_gram_bytes`` or ``alpha_smoothing``.

    Notes
    -----
    Argmin ties go to the first candidate: the smallest alpha (of the first scale).
    """
    for i, a in enumerate(alphas):
        check_real(a, f"{where}: alphas[{i}]", minimum=0, include_minimum=False)
    for i, a in enumerate(spatial_scales):
        check_real(a, f"{where}: spatial_scales[{i}]", minimum=0, include_minimum=False)
    n_features = check_int(n_features, f"{where}: n_features", minimum=1)
    n_banded = check_int(n_banded, f"{where}: n_banded", minimum=0, maximum=n_features)
    batch_size = check_int(batch_size, f"{where}: batch_size", minimum=1)
    vertex_chunk = check_int(vertex_chunk, f"{where}: vertex_chunk", minimum=1)
    max_gram_bytes = check_int(max_gram_bytes, f"{where}: max_gram_bytes", minimum=1)
    alpha_smoothing = check_int(alpha_smoothing, f"{where}: alpha_smoothing", minimum=0)
    dev = y_mean.device
    n_v = int(y_mean.shape[0])
    c = n_features
    span = int(max(1, min(n_v, max_gram_bytes // (4 * c * c))))
    spans = [slice(v0, min(v0 + span, n_v)) for v0 in range(0, n_v, span)]

    def solve(part: slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batches = span_batches(features, part, train, y_train, batch_size, y_mean, y_scale)
        return ridge_candidates(batches, part.stop - part.start, alphas, vertex_chunk, spatial_scales, n_banded, dev)

    w = torch.empty(n_v, c, dtype=torch.float64, device=dev)
    bias = torch.empty(n_v, dtype=torch.float64, device=dev)
    err = torch.empty(len(alphas) * len(spatial_scales), n_v, dtype=torch.float64, device=dev)
    best = torch.empty(n_v, dtype=torch.long, device=dev)

    def keep(part: slice, candidates: torch.Tensor, mu: torch.Tensor, y_mu: torch.Tensor) -> None:
        w[part] = candidates[best[part], torch.arange(part.stop - part.start, device=dev)]
        bias[part] = y_mu - (w[part] * mu).sum(1)

    # pooled choices need every span's errors first: then the spans are solved a second time
    deferred = alpha_smoothing > 0 and len(spans) > 1
    for part in spans:
        candidates, mu, y_mu = solve(part)
        batches = span_batches(features, part, val, y_val, batch_size, y_mean, y_scale)
        err[:, part] = validation_errors(batches, candidates, mu, y_mu)
        if not deferred:  # one span (pooled over every vertex) or unpooled choices
            best[part] = pooled_errors(err, level, alpha_smoothing)[:, part].argmin(0)
            keep(part, candidates, mu, y_mu)
        del candidates, mu, y_mu  # before the next span's Gram matrices
    if deferred:
        best.copy_(pooled_errors(err, level, alpha_smoothing).argmin(0))
        for part in spans:
            keep(part, *solve(part))
    chosen = torch.as_tensor(alphas, dtype=torch.float64).repeat(len(spatial_scales))[best.cpu()].numpy()
    return VertexRidgeSolution(w, bias, best, chosen)

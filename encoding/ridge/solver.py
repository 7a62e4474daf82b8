"""The ridge solver as plain functions: one decomposition of ``X``, then any number of blocks of targets.

A voxel-wise (vertex-wise) encoding model maps image features ``X`` of shape
``(n_samples, n_features)`` to responses ``Y`` of shape ``(n_samples, n_targets)``
with one ridge regression per target. Targets differ in signal-to-noise ratio,
so each gets its own ``alpha``, chosen from a grid by cross-validation.

This is done for 100k+ targets in a few matrix products:

* one thin SVD of the (centred) design ``X = U diag(s) V^T`` in float64
  (from the eigendecomposition of the smaller Gram matrix), computed once
  for all targets and all alphas;
* targets are processed in batches (memory is bounded by the batch, not by
  ``n_targets``); for each batch ``Z = U^T Y`` is formed once, in the compute
  dtype, on the chosen torch device;
* the cross-validation error of every alpha then follows in closed form:

  - ``cv="gcv"`` (generalised cross-validation, Golub, Heath & Wahba 1979)::

        GCV(alpha) = (RSS(alpha) / n) / (1 - df(alpha) / n) ** 2
        RSS(alpha) = ||Y||^2 - ||Z||^2 + sum_j (alpha / (s_j^2 + alpha))^2 Z_j^2
        df(alpha)  = [fit_intercept] + sum_j s_j^2 / (s_j^2 + alpha)

    which costs ``O(n_alphas * rank * n_targets)`` on top of the projection;
  - ``cv="loo"`` (exact leave-one-out, the criterion of scikit-learn's
    ``RidgeCV(cv=None)``)::

        LOO(alpha) = mean_i ((y_i - yhat_i(alpha)) / (1 - h_ii(alpha))) ** 2
        h_ii(alpha) = [fit_intercept] / n + sum_j U_ij^2 s_j^2 / (s_j^2 + alpha)

    which costs ``O(n_alphas * n * rank * n_targets)``;
  - ``cv=int`` or a scikit-learn splitter: K-fold cross-validation, one SVD
    per training fold, the validation predictions of every alpha from that
    fold's ``U^T Y``; the criterion is the validation squared error pooled
    over folds;

* the weights of every target with its own alpha are
  ``W = V (s / (s^2 + alpha_t)) Z`` (one matrix product per batch).

The intercept is never penalised (``X`` and ``Y`` are centred when
``fit_intercept`` is true), exactly as in scikit-learn's ``Ridge``.

:class:`encoding.ridge.RidgeEncoder` fits through these functions; a
whole-brain fit that streams its targets from disk
(:func:`encoding.streaming.fit_streaming_ridge`) calls them directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import torch
from sklearn.model_selection import check_cv
from tqdm.auto import tqdm

from encoding.ridge.checks import check_alphas, check_cv_mode, check_device, check_dtype
from neurokit.exceptions import DataValidationError
from neurokit.validation import check_int

__all__ = ["DEFAULT_ALPHAS", "RidgePlan", "RidgeSolution", "plan_ridge", "solve_ridge"]

#: Default alpha grid: ``np.logspace(-2, 6, 9)``.
DEFAULT_ALPHAS: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6)

#: Bytes of one batch of targets (``n_samples * batch * itemsize``) when
#: ``target_batch_size`` is None.
_AUTO_BATCH_BYTES = 256 * 2**20

#: In float32 GCV, targets whose residual energy is below this fraction of their
#: total energy get ``U^T Y`` recomputed in float64 (``||Y||^2 - ||U^T Y||^2`` cancels).
_CANCELLATION_RATIO = 0.1


# ----------------------------------------------------------------------------------
# the solver as plain functions: one plan per design, reused for every block of targets
class RidgePlan:
    """Everything about a ridge problem that depends on ``X`` only, for any number of targets.

    Built by :func:`plan_ridge`; :func:`solve_ridge` applies it to blocks of
    targets. The decomposition of ``X`` (and of each training fold for
    K-fold cross-validation) is computed once here, so a whole-brain fit that
    streams its targets from disk block by block pays for it once.

    Attributes
    ----------
    alphas : ndarray of shape (n_alphas,), float64
    n_samples, n_features, rank : int
        Shape and numerical rank of the (centred) design.
    fit_intercept : bool
    mode : {"gcv", "loo", "kfold"}
    dtype : numpy dtype
        Precision of the per-target products (and of the coefficients).
    device : torch.device
    nbytes : int
        Memory held by the plan (decompositions and per-alpha factors), bytes.
    """

    def __init__(self, X: np.ndarray, alphas: np.ndarray, cv: Any, mode: str, fit_intercept: bool,
                 np_dtype: type, t_dtype: torch.dtype, device: torch.device, where: str) -> None:
        n, p = X.shape
        self.alphas = alphas
        self.n_samples, self.n_features = n, p
        self.fit_intercept = fit_intercept
        self.mode = mode
        self.dtype = np.dtype(np_dtype)
        self.t_dtype = t_dtype
        self.device = device
        X64 = X.astype(np.float64, copy=True)
        self.x_mean = X64.mean(axis=0) if fit_intercept else np.zeros(p)
        X64 -= self.x_mean
        self.full = full = _Decomposition.of(X64, np_dtype, device)
        del X64
        self.rank = int(full.s64.numel())
        self.folds = []
        if mode == "kfold":
            for train, test in check_cv(cv).split(X):
                train = np.asarray(train)
                test = np.asarray(test)
                if train.size < 2 or test.size < 1:
                    raise DataValidationError(
                        f"{where}: a cross-validation split has {train.size} training and "
                        f"{test.size} validation samples; need at least 2 and 1"
                    )
                Xtr = X.astype(np.float64)[train]
                tr_mean = Xtr.mean(axis=0) if fit_intercept else np.zeros(p)
                dec = _Decomposition.of(Xtr - tr_mean, np_dtype, device)
                Xval = X.astype(np.float64)[test] - tr_mean
                a_val = torch.from_numpy((Xval @ dec.V64).astype(np_dtype)).to(device)
                self.folds.append((torch.from_numpy(train).to(device), torch.from_numpy(test).to(device), dec, a_val))
        self.alphas_t = alphas_t = torch.as_tensor(alphas, dtype=torch.float64, device=device)
        s2 = full.s64.square()
        self.gain_full = (full.s64[None, :] / (s2[None, :] + alphas_t[:, None])).to(t_dtype)  # (A, r)
        if mode == "gcv":
            self.shrink_sq = (alphas_t[:, None] / (s2[None, :] + alphas_t[:, None])).square()  # (A, r)
            df = float(fit_intercept) + (s2[None, :] / (s2[None, :] + alphas_t[:, None])).sum(1)
            denom = (1.0 - df / n).square()
            self.denom = torch.where(df < n - 1e-9, denom, torch.zeros_like(denom))
        elif mode == "loo":
            d = s2[None, :] / (s2[None, :] + alphas_t[:, None])  # (A, r)
            h = float(fit_intercept) / n + full.U64.square() @ d.T  # (n, A)
            self.inv_one_minus_h = (1.0 / (1.0 - h).clamp_min(1e-12)).T.to(t_dtype)  # (A, n)
            self.d_t = d.to(t_dtype)
        self.x_mean_t = torch.as_tensor(self.x_mean, dtype=torch.float64, device=device)
        tensors = [full.U64, full.U, full.V, full.s64] + [t for f in self.folds for t in (f[2].U64, f[2].U, f[2].V, f[3])]
        self.nbytes = int(sum(t.numel() * t.element_size() for t in tensors)) + sum(
            f[2].V64.nbytes for f in self.folds) + full.V64.nbytes

    def solve_block(self, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Coefficients ``(b, p)``, intercepts ``(b,)``, alpha indices ``(b,)``, errors ``(A, b)`` of a block."""
        n = self.n_samples
        full, t_dtype, device = self.full, self.t_dtype, self.device
        b = Y.shape[1]
        n_alphas = self.alphas.size
        block = np.array(Y, dtype=self.dtype, order="C", copy=True)
        Yb = torch.from_numpy(block).to(device)
        if self.fit_intercept:
            y_mean = Yb.mean(dim=0, dtype=torch.float64)
            Yb -= y_mean.to(t_dtype)
        else:
            y_mean = torch.zeros(b, dtype=torch.float64, device=device)
        Z = full.U.T @ Yb  # (r, b)

        if self.mode == "gcv":
            Z2 = Z.to(torch.float64).square()
            yy = Yb.square().sum(dim=0, dtype=torch.float64)
            perp = (yy - Z2.sum(0)).clamp_min(0.0)
            if t_dtype != torch.float64:
                # ||Y||^2 - ||Z||^2 cancels when the fit is good: redo those targets in float64
                exact = perp < _CANCELLATION_RATIO * yy
                if bool(exact.any()):
                    Yx = Yb[:, exact].to(torch.float64)
                    Zx = full.U64.T @ Yx
                    Z2[:, exact] = Zx.square()
                    perp[exact] = (Yx.square().sum(0) - Zx.square().sum(0)).clamp_min(0.0)
            rss = perp[None, :] + self.shrink_sq @ Z2  # (A, b)
            err = torch.where(self.denom[:, None] > 0, rss / n / self.denom[:, None], torch.inf)
        elif self.mode == "loo":
            err = torch.empty((n_alphas, b), dtype=torch.float64, device=device)
            for a in range(n_alphas):
                resid = Yb - full.U @ (self.d_t[a][:, None] * Z)
                resid *= self.inv_one_minus_h[a][:, None]
                err[a] = resid.square().sum(dim=0, dtype=torch.float64) / n
        else:
            err = torch.zeros((n_alphas, b), dtype=torch.float64, device=device)
            for train, test, dec, a_val in self.folds:
                Ytr = Yb[train]
                tr_mean = Ytr.mean(dim=0, dtype=torch.float64).to(t_dtype) if self.fit_intercept else 0.0
                Ztr = dec.U.T @ (Ytr - tr_mean)
                s2f = dec.s64.square()
                gain = (dec.s64[None, :] / (s2f[None, :] + self.alphas_t[:, None])).to(t_dtype)
                target = Yb[test] - tr_mean
                for a in range(n_alphas):
                    resid = target - a_val @ (gain[a][:, None] * Ztr)
                    err[a] += resid.square().sum(dim=0, dtype=torch.float64)
            err /= n
        err = torch.nan_to_num(err, nan=torch.inf)
        idx = torch.argmin(err, dim=0)  # first minimum on ties
        W = full.V @ (self.gain_full[idx].T * Z)  # (p, b)
        b_icpt = y_mean - self.x_mean_t @ W.to(torch.float64)
        return W.T.cpu().numpy(), b_icpt.cpu().numpy(), idx.cpu().numpy(), err.cpu().numpy()


class RidgeSolution:
    """Fitted values of a block of targets, as returned by :func:`solve_ridge`.

    Attributes
    ----------
    coef : ndarray of shape (n_targets, n_features), in the plan's dtype
    intercept : ndarray of shape (n_targets,), float64
    best_alphas : ndarray of shape (n_targets,), float64
    cv_errors : ndarray of shape (n_alphas, n_targets), float64
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, best_alphas: np.ndarray, cv_errors: np.ndarray):
        self.coef = coef
        self.intercept = intercept
        self.best_alphas = best_alphas
        self.cv_errors = cv_errors


def plan_ridge(
    X: Any,
    alphas: Any = DEFAULT_ALPHAS,
    *,
    cv: Any = "gcv",
    fit_intercept: bool = True,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    where: str = "plan_ridge",
) -> RidgePlan:
    """Decompose the design ``X`` once for any number of targets (the solver's first half).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (already validated: finite, 2-D, at least 2 samples).
    alphas, cv, fit_intercept, dtype, device
        As in :class:`RidgeEncoder`.
    where : str
        Caller, for error messages.

    Returns
    -------
    RidgePlan
        Pass it to :func:`solve_ridge` with each block of targets.

    Raises
    ------
    DataValidationError
        Fewer than 2 samples, or a cross-validation split with too few samples.
    InvalidParameterError
        Invalid ``alphas``, ``cv``, ``dtype`` or ``device``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 10))
    >>> plan = plan_ridge(X)
    >>> a = solve_ridge(plan, X @ rng.standard_normal((10, 30)))
    >>> b = solve_ridge(plan, X @ rng.standard_normal((10, 5)))  # same plan, next block
    >>> a.coef.shape, b.coef.shape
    ((30, 10), (5, 10))
    """
    alphas = check_alphas(alphas, name="alphas")
    np_dtype, t_dtype = check_dtype(dtype)
    device = check_device(device)
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataValidationError(f"{where}: X must have shape (n_samples, n_features), got {X.shape}")
    if X.shape[0] < 2:
        raise DataValidationError(
            f"{where}: X has {X.shape[0]} sample (n_samples={X.shape[0]}); at least 2 are needed to choose alpha"
        )
    mode = check_cv_mode(cv)
    return RidgePlan(X, alphas, cv, mode, bool(fit_intercept), np_dtype, t_dtype, device, where)


def solve_ridge(
    plan: RidgePlan, Y: Any, *, target_batch_size: int | None = None, progress: bool = False
) -> RidgeSolution:
    """Fit every column of ``Y`` with its own alpha, reusing ``plan`` (the solver's second half).

    Parameters
    ----------
    plan : RidgePlan
        From :func:`plan_ridge` on the same samples.
    Y : ndarray of shape (n_samples, n_targets)
        Responses (finite; already validated). Only one batch is copied at a time.
    target_batch_size : int or None
        Targets solved together (None: about 256 MiB of ``Y`` per batch).
        Results do not depend on it.
    progress : bool
        Show a tqdm progress bar over batches.

    Returns
    -------
    RidgeSolution

    Raises
    ------
    DataValidationError
        ``Y`` is not 2-D with ``plan.n_samples`` rows.
    InvalidParameterError
        Invalid ``target_batch_size``.
    """
    if Y.ndim != 2 or Y.shape[0] != plan.n_samples:
        raise DataValidationError(
            f"solve_ridge: Y must have shape ({plan.n_samples}, n_targets) (the plan's samples), got {Y.shape}"
        )
    n_targets = Y.shape[1]
    batch = _batch_size(target_batch_size, plan.n_samples, n_targets, plan.dtype.itemsize)
    coef = np.empty((n_targets, plan.n_features), dtype=plan.dtype)
    intercept = np.empty(n_targets, dtype=np.float64)
    best = np.empty(n_targets, dtype=np.int64)
    errors = np.empty((plan.alphas.size, n_targets), dtype=np.float64)
    starts = range(0, n_targets, batch)
    for b0 in tqdm(starts, desc="ridge targets", unit="batch", disable=not progress):
        b1 = min(b0 + batch, n_targets)
        coef[b0:b1], intercept[b0:b1], best[b0:b1], errors[:, b0:b1] = plan.solve_block(Y[:, b0:b1])
    return RidgeSolution(coef, intercept, plan.alphas[best], errors)


# ----------------------------------------------------------------------------------
# the SVD shared by all targets
class _Decomposition:
    """Thin SVD ``X = U diag(s) V^T`` in float64, numerically-zero directions dropped.

    Computed from the eigendecomposition of the smaller Gram matrix (``X^T X``
    or ``X X^T``), which is several times faster than a direct SVD of a tall
    matrix; directions with ``s^2 <= max(n, p) * eps * s_max^2`` are dropped
    (they cannot matter for any ``alpha`` above ``1e-9 * s_max^2``), which keeps
    ``U = X V / s`` (or ``V = X^T U / s``) accurate. Falls back to LAPACK SVD if
    the symmetric eigensolver fails.
    """

    def __init__(self, U64: np.ndarray, s64: np.ndarray, V64: np.ndarray, np_dtype, device) -> None:
        self.V64 = V64
        self.U64 = torch.from_numpy(U64).to(device)
        self.s64 = torch.from_numpy(s64).to(device)
        self.U = torch.from_numpy(U64.astype(np_dtype)).to(device)
        self.V = torch.from_numpy(V64.astype(np_dtype)).to(device)

    @classmethod
    def of(cls, X64: np.ndarray, np_dtype, device) -> "_Decomposition":
        n, p = X64.shape
        tall = n >= p
        gram = X64.T @ X64 if tall else X64 @ X64.T
        try:
            lam, vecs = scipy.linalg.eigh(gram, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            U, s, Vt = _robust_svd(X64)
            keep = s > (s[0] if s.size else 0.0) * max(n, p) * np.finfo(np.float64).eps
            return cls(np.ascontiguousarray(U[:, keep]), s[keep], np.ascontiguousarray(Vt[keep].T), np_dtype, device)
        lam, vecs = lam[::-1], vecs[:, ::-1]  # descending
        tol = max(lam[0], 0.0) * max(n, p) * np.finfo(np.float64).eps if lam.size else 0.0
        keep = lam > max(tol, 0.0)
        keep &= lam > 0
        s = np.sqrt(lam[keep])
        vecs = np.ascontiguousarray(vecs[:, keep])
        other = (X64 @ vecs if tall else X64.T @ vecs) / s
        U, V = (other, vecs) if tall else (vecs, other)
        return cls(np.ascontiguousarray(U), s, np.ascontiguousarray(V), np_dtype, device)


def _robust_svd(X64: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thin SVD in float64; falls back from the divide-and-conquer driver to QR iteration."""
    try:
        return scipy.linalg.svd(X64, full_matrices=False, lapack_driver="gesdd", check_finite=False)
    except np.linalg.LinAlgError:
        return scipy.linalg.svd(X64, full_matrices=False, lapack_driver="gesvd", check_finite=False)


def _batch_size(batch: Any, n_samples: int, n_targets: int, itemsize: int) -> int:
    if batch is None:
        return max(1, min(n_targets, _AUTO_BATCH_BYTES // max(1, n_samples * itemsize)))
    return check_int(batch, "target_batch_size", minimum=1)

"""Linear (ridge) encoders with one regularisation strength per target.

A voxel-wise (vertex-wise) encoding model maps image features ``X`` of shape
``(n_samples, n_features)`` to responses ``Y`` of shape ``(n_samples, n_targets)``
with one ridge regression per target. Targets differ in signal-to-noise ratio,
so each gets its own ``alpha``, chosen from a grid by cross-validation.

:class:`RidgeEncoder` does this for 100k+ targets in a few matrix products:

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
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.linalg
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.model_selection import check_cv
from sklearn.utils.validation import validate_data
from tqdm.auto import tqdm

from neurokit.exceptions import (
    DataValidationError,
    InvalidParameterError,
    NotFittedError,
)
from neurokit.metrics import pearson_r
from neurokit.surface_data import check_finite

#: Default alpha grid: ``np.logspace(-2, 6, 9)``.
DEFAULT_ALPHAS: tuple[float, ...] = (1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6)

#: Bytes of one batch of targets (``n_samples * batch * itemsize``) when
#: ``target_batch_size`` is None.
_AUTO_BATCH_BYTES = 256 * 2**20

#: In float32 GCV, targets whose residual energy is below this fraction of their
#: total energy get ``U^T Y`` recomputed in float64 (``||Y||^2 - ||U^T Y||^2`` cancels).
_CANCELLATION_RATIO = 0.1

#: Targets scored together (bounds the float64 copies made by ``pearson_r``).
_SCORE_CHUNK = 8192

_DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


class RidgeEncoder(RegressorMixin, BaseEstimator):
    """Ridge regression from features to many targets, one alpha per target.

    Parameters
    ----------
    alphas : sequence of float, default ``np.logspace(-2, 6, 9)``
        Candidate regularisation strengths (positive). Each target gets the one
        with the lowest cross-validation error.
    cv : {"gcv", "loo"}, int, or scikit-learn splitter, default "gcv"
        How alphas are scored. ``"gcv"``: generalised cross-validation in
        closed form (fastest; cost independent of ``n_alphas`` beyond a small
        term). ``"loo"``: exact efficient leave-one-out, the same criterion as
        ``sklearn.linear_model.RidgeCV(cv=None, alpha_per_target=True)``.
        An int ``k`` or a splitter (``KFold(...)``, an iterable of
        ``(train, test)`` index pairs): K-fold cross-validation (unshuffled
        ``KFold`` for an int) with the squared validation error pooled over folds.
    fit_intercept : bool, default True
        Fit an unpenalised intercept per target (``X`` and ``Y`` are centred).
    device : str or torch.device, default "cpu"
        Torch device for the per-target work (``"cuda"`` on a GPU machine).
        The decomposition of ``X`` is always done in float64 on the CPU with LAPACK.
    dtype : {"float32", "float64"}, default "float32"
        Precision of the per-target matrix products and of ``coef_``.
        Criteria are accumulated in float64.
    target_batch_size : int or None, default None
        Number of targets processed together. None picks a batch whose slice
        of ``Y`` takes about 256 MiB. Results do not depend on it.
    verbose : bool, default False
        Show a tqdm progress bar over target batches.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features), or (n_features,) for 1-D ``y``
        Weights, in ``dtype``.
    intercept_ : ndarray of shape (n_targets,), or float for 1-D ``y``
        Intercepts (0 when ``fit_intercept`` is false).
    best_alphas_ : ndarray of shape (n_targets,)
        The alpha chosen for each target (length 1 for 1-D ``y``).
    cv_errors_ : ndarray of shape (n_alphas, n_targets)
        Cross-validation error (mean squared error in the units of ``y``
        squared; lower is better) of each alpha, in the order of ``alphas``.
    rank_ : int
        Numerical rank of the (centred) design matrix.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Notes
    -----
    ``score`` returns the Pearson correlation between prediction and data
    *per target* (the encoding-model convention), not scikit-learn's R^2:
    an array of shape (n_targets,) for 2-D ``y`` and a float for 1-D ``y``;
    ``score(X, y, multioutput="uniform_average")`` gives the mean over
    targets as a float, e.g. for ``GridSearchCV``.

    Singular values below ``max(n, p) * eps * s_max`` are treated as zero, so
    collinear features (duplicated, or constant columns) are safe in float32.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 20))
    >>> Y = X @ rng.standard_normal((20, 50)) + rng.standard_normal((200, 50))
    >>> enc = RidgeEncoder().fit(X, Y)
    >>> enc.coef_.shape, enc.best_alphas_.shape
    ((50, 20), (50,))
    >>> bool(enc.score(X, Y).mean() > 0.9)
    True
    """

    def __init__(
        self,
        alphas: Any = DEFAULT_ALPHAS,
        *,
        cv: Any = "gcv",
        fit_intercept: bool = True,
        device: str | torch.device = "cpu",
        dtype: str = "float32",
        target_batch_size: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.device = device
        self.dtype = dtype
        self.target_batch_size = target_batch_size
        self.verbose = verbose

    # scikit-learn plumbing ---------------------------------------------------------
    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # fitting -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> "RidgeEncoder":
        """Fit one ridge regression per target, each with its own alpha.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (for example image-network activations).
        y : array-like of shape (n_samples, n_targets) or (n_samples,)
            Responses (for example betas per fsaverage vertex or per ROI).
            A float32 C-ordered array is used without a copy (only one batch
            of targets is copied at a time).

        Returns
        -------
        self : RidgeEncoder

        Raises
        ------
        DataValidationError
            Wrong shapes, fewer than 2 samples, or mismatched ``n_samples``.
        NonFiniteDataError
            NaN or infinite values in ``X`` or ``y``.
        InvalidParameterError
            Invalid ``alphas``, ``cv``, ``dtype``, ``device`` or ``target_batch_size``.
        """
        where = f"{type(self).__name__}.fit"
        X = _validate_features(self, X, reset=True, where=where)
        Y = check_targets(y, X.shape[0], where=where, name="y")
        plan = plan_ridge(X, self.alphas, cv=self.cv, fit_intercept=self.fit_intercept, dtype=self.dtype,
                          device=self.device, where=where)
        single = Y.ndim == 1
        Y2 = Y[:, None] if single else Y
        solution = solve_ridge(plan, Y2, target_batch_size=self.target_batch_size, progress=self.verbose)
        self.best_alphas_ = solution.best_alphas
        self.cv_errors_ = solution.cv_errors
        self.rank_ = plan.rank
        _set_coefficients(self, solution.coef, solution.intercept, single)
        return self

    # prediction --------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """Predict responses.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Y : ndarray of shape (n_samples, n_targets), or (n_samples,) if fit on 1-D ``y``
            float64 if ``X`` is float64 (or integer), else the dtype of ``coef_``.
        """
        _check_fitted(self, "coef_")
        X = _validate_features(self, X, reset=False, where=f"{type(self).__name__}.predict")
        coef = self.coef_
        out = X @ coef.T
        out += np.asarray(self.intercept_, dtype=out.dtype)
        return out

    def score(self, X: Any, y: Any, multioutput: str = "raw_values") -> np.ndarray | float:
        """Pearson correlation between predicted and measured responses, per target.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples, n_targets) or (n_samples,)
        multioutput : {"raw_values", "uniform_average"}, default "raw_values"
            Return one r per target, or their mean (a float).

        Returns
        -------
        r : ndarray of shape (n_targets,) or float
            A float for 1-D ``y`` or ``multioutput="uniform_average"``. Targets
            where prediction or data are constant get r = 0.
        """
        return _score_predictions(self, X, y, multioutput)

    # interop -----------------------------------------------------------------------
    def to_torch_module(
        self,
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype = torch.float32,
        requires_grad: bool = False,
    ) -> torch.nn.Linear:
        """The fitted encoder as a differentiable ``torch.nn.Linear``.

        Parameters
        ----------
        device : str or torch.device, optional
            Where the module lives (default: CPU).
        dtype : torch.dtype, default torch.float32
        requires_grad : bool, default False
            Whether the weights are trainable. Gradients always flow to the
            input (for example a generator's latent through a feature network).

        Returns
        -------
        module : torch.nn.Linear
            Maps ``(..., n_features)`` to ``(..., n_targets)`` (``n_targets`` is 1
            for an encoder fit on 1-D ``y``); in eval mode.
        """
        _check_fitted(self, "coef_")
        coef = np.atleast_2d(self.coef_)
        n_targets, n_features = coef.shape
        module = torch.nn.Linear(n_features, n_targets, bias=True, device=device, dtype=dtype)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(coef)))
            module.bias.copy_(torch.from_numpy(np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64))))
        module.requires_grad_(requires_grad)
        return module.eval()


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
    np_dtype, t_dtype = _check_dtype(dtype)
    device = _check_device(device)
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataValidationError(f"{where}: X must have shape (n_samples, n_features), got {X.shape}")
    if X.shape[0] < 2:
        raise DataValidationError(
            f"{where}: X has {X.shape[0]} sample (n_samples={X.shape[0]}); at least 2 are needed to choose alpha"
        )
    mode = _check_cv(cv)
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


# ----------------------------------------------------------------------------------
# validation shared with the ensemble encoder
def check_alphas(alphas: Any, *, name: str = "alphas") -> np.ndarray:
    """Validate a grid of regularisation strengths.

    Parameters
    ----------
    alphas : float or sequence of float
        Positive, finite values.
    name : str
        Argument name used in the error message.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,), float64

    Raises
    ------
    InvalidParameterError
        If ``alphas`` is empty, not numeric, or has a value that is not positive and finite.
    """
    try:
        arr = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"{name} must be positive numbers, got {alphas!r}") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise InvalidParameterError(f"{name} must be a non-empty 1-D sequence of positive numbers, got {alphas!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise InvalidParameterError(f"{name} must all be positive and finite, got {arr.tolist()}")
    return arr


def check_targets(y: Any, n_samples: int | None, *, where: str, name: str = "y") -> np.ndarray:
    """Validate responses without copying a float array.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    n_samples : int or None
        Number of samples ``y`` must have (that of ``X``); None skips the check.
    where : str
        Caller, for error messages (e.g. ``"RidgeEncoder.fit"``).
    name : str
        Argument name, for error messages.

    Returns
    -------
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Floating-point (integers and booleans are converted to float64).

    Raises
    ------
    DataValidationError
        ``y`` is None, not numeric, not 1-D/2-D, empty, or has the wrong number of samples.
    NonFiniteDataError
        ``y`` holds NaN or infinite values.
    """
    if y is None:
        raise DataValidationError(f"{where} requires y to be passed, but the target y is None")
    if hasattr(y, "toarray") or hasattr(y, "tocsr"):
        raise DataValidationError(f"{where}: {name} must be a dense array, got a sparse matrix")
    arr = np.asarray(y)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(f"{where}: {name} must be numeric, got dtype object") from exc
    if arr.dtype.kind in "iub":
        arr = arr.astype(np.float64)
    if arr.dtype.kind == "c":
        raise DataValidationError(f"{where}: {name} must be real numbers; Complex data not supported")
    if arr.dtype.kind != "f":
        raise DataValidationError(f"{where}: {name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise DataValidationError(
            f"{where}: {name} must have shape (n_samples,) or (n_samples, n_targets), got {arr.shape}"
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise DataValidationError(
            f"{where}: X has {n_samples} samples but {name} has {arr.shape[0]}; they must match"
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise DataValidationError(f"{where}: {name} has 0 targets (shape {arr.shape})")
    _check_finite_fast(arr, f"{where}: {name}")
    return arr


def _validate_features(estimator: Any, X: Any, *, reset: bool, where: str) -> np.ndarray:
    """scikit-learn's ``validate_data`` (float32 kept, ints to float64), then our finiteness check.

    scikit-learn's ValueErrors (wrong number of features, empty, 1-D, complex, strings)
    come back as :class:`DataValidationError` with the same text, prefixed by ``where``.
    """
    try:
        X = validate_data(estimator, X, dtype=[np.float64, np.float32], ensure_all_finite=False, reset=reset)
    except DataValidationError:
        raise
    except ValueError as exc:
        raise DataValidationError(f"{where}: {exc}") from exc
    _check_finite_fast(X, f"{where}: X")
    return X


def _check_finite_fast(a: np.ndarray, what: str) -> None:
    """Raise NonFiniteDataError if ``a`` holds NaN/inf, with O(1) extra memory when it does not."""
    if a.dtype.kind not in "fc":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(a, dtype=np.float64)
    if np.isfinite(total):
        return
    check_finite(a, what)  # raises, naming the first bad index (sum may also overflow on finite data)


def _check_dtype(dtype: Any) -> tuple[type, torch.dtype]:
    key = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if key not in _DTYPES:
        raise InvalidParameterError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return _DTYPES[key]


def _check_device(device: Any) -> torch.device:
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise InvalidParameterError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device={device!r} was asked for but torch sees no CUDA device")
    return dev


def _check_cv(cv: Any) -> str:
    if isinstance(cv, str):
        if cv not in ("gcv", "loo"):
            raise InvalidParameterError(f"cv must be 'gcv', 'loo', an int >= 2 or a splitter, got {cv!r}")
        return cv
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise InvalidParameterError(f"cv must be at least 2 folds, got {cv}")
        return "kfold"
    if hasattr(cv, "split") or hasattr(cv, "__iter__"):
        return "kfold"
    raise InvalidParameterError(f"cv must be 'gcv', 'loo', an int >= 2 or a splitter, got {cv!r}")


def _batch_size(batch: Any, n_samples: int, n_targets: int, itemsize: int) -> int:
    if batch is None:
        return max(1, min(n_targets, _AUTO_BATCH_BYTES // max(1, n_samples * itemsize)))
    if isinstance(batch, bool) or not isinstance(batch, numbers.Integral) or batch < 1:
        raise InvalidParameterError(f"target_batch_size must be a positive int or None, got {batch!r}")
    return int(batch)


class EstimatorNotFittedError(NotFittedError, _SklearnNotFittedError):
    """Raised when an encoder is used before ``fit``.

    Both :class:`neurokit.exceptions.NotFittedError` and
    :class:`sklearn.exceptions.NotFittedError`, so either ``except`` catches it.
    """


def _set_coefficients(estimator: Any, coef: np.ndarray, intercept: np.ndarray, single: bool) -> None:
    """Store ``coef_`` (n_targets, k) and ``intercept_`` (n_targets,), or one row and a float for 1-D ``y``."""
    if single:
        estimator.coef_ = coef[0]
        estimator.intercept_ = float(intercept[0])
    else:
        estimator.coef_ = coef
        estimator.intercept_ = intercept


def _check_fitted(estimator: Any, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise EstimatorNotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; call 'fit' before using it"
        )


def _score_predictions(estimator: Any, X: Any, y: Any, multioutput: str) -> np.ndarray | float:
    """Shared ``score``: per-target Pearson r of ``estimator.predict(X)`` against ``y``."""
    where = f"{type(estimator).__name__}.score"
    if multioutput not in ("raw_values", "uniform_average"):
        raise InvalidParameterError(
            f"multioutput must be 'raw_values' or 'uniform_average', got {multioutput!r}"
        )
    pred = estimator.predict(X)
    Y = check_targets(y, pred.shape[0], where=where, name="y")
    if Y.ndim != pred.ndim or Y.shape != pred.shape:
        raise DataValidationError(f"{where}: y has shape {Y.shape} but the predictions have shape {pred.shape}")
    if Y.ndim == 1:
        return float(pearson_r(Y, pred))
    chunk = _SCORE_CHUNK
    r = np.concatenate([pearson_r(Y[:, c : c + chunk], pred[:, c : c + chunk]) for c in range(0, Y.shape[1], chunk)])
    return float(r.mean()) if multioutput == "uniform_average" else r


__all__ = [
    "RidgeEncoder",
    "RidgePlan",
    "RidgeSolution",
    "plan_ridge",
    "solve_ridge",
    "EstimatorNotFittedError",
    "DEFAULT_ALPHAS",
    "check_alphas",
    "check_targets",
]

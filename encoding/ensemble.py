"""Personalized ensemble encoders (Gu et al., Communications Biology 2022).

A new subject with only a few hundred image-response pairs borrows the
encoders of deeply sampled subjects: every *source* encoder predicts the new
subject's responses to the new subject's images, and the new subject's encoder
is, per target (ROI or fsaverage vertex), an intercept plus one weight per
source encoder, fit by least squares::

    y_t(x) ~ b_t + sum_k w_tk * f_k(x)_t

On fsaverage all subjects share the vertex space, so the same idea works per
vertex: the ``n_targets`` tiny ``(k x k)`` normal-equation systems are formed
and solved in batches with torch (no Python loop over targets).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin, clone

from encoding.ridge.checks import check_finite_fast, check_targets, validate_features
from encoding.ridge.estimator import check_fitted, score_predictions, set_coefficients
from neurokit.exceptions import DataValidationError, InvalidParameterError
from neurokit.validation import check_bool, check_int, check_real

#: Bytes of float64 source predictions handled per batch of targets.
_AUTO_BATCH_BYTES = 256 * 2**20

#: Largest number of sources for ``positive=True`` (exact NNLS enumerates 2**k supports).
MAX_POSITIVE_SOURCES = 12


class PersonalizedEnsembleEncoder(RegressorMixin, BaseEstimator):
    """Per-target weighted combination of other subjects' encoders.

    Parameters
    ----------
    source_encoders : sequence of fitted estimators, or None
        Encoders of other subjects; anything with ``predict(X)`` returning
        ``(n_samples, n_targets)`` (or ``(n_samples,)`` for one target) in
        the target space of ``y`` (the same ROIs, or the same fsaverage
        vertices). They are used as they are, never refit (``sklearn.clone``
        of this estimator shares them). None: ``X`` *is* the source
        predictions (see ``fit``).
    regularization : float or None, default None
        None: ordinary least squares, as published. A float ``lam >= 0``:
        ridge penalty ``lam * mean_k(||f_k - mean f_k||^2) * ||w_t - 1/k||^2``,
        i.e. the weights are shrunk towards the equal-weight group average
        (``w = 1/k``), scaled per target by the sources' mean variance so
        ``lam`` is unit-free (``lam -> inf`` gives the group average plus an
        intercept).
    positive : bool, default False
        Constrain the source weights to be non-negative (exact per-target
        NNLS by enumerating supports; at most ``MAX_POSITIVE_SOURCES`` sources).
    fit_intercept : bool, default True
        Fit an unpenalised intercept per target.
    target_batch_size : int or None, default None
        Targets solved together; None picks a batch of about 256 MiB.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_sources), or (n_sources,) for 1-D ``y``
        Source weights, float64.
    intercept_ : ndarray of shape (n_targets,), or float for 1-D ``y``
    n_sources_ : int
    n_targets_ : int
    n_features_in_ : int
        Only with precomputed predictions: ``n_sources * n_targets``.

    Notes
    -----
    With fewer samples than sources (plus intercept) the least-squares problem
    is underdetermined and the minimum-norm solution is returned; use
    ``regularization`` there. ``score`` returns Pearson r per target, as
    :class:`encoding.ridge.RidgeEncoder` does.

    References
    ----------
    Gu, Z., Jamison, K., Sabuncu, M., Kuceyeski, A. (2022). Personalized
    visual encoding model construction with small data. Communications
    Biology 5, 1382.
    """

    def __init__(
        self,
        source_encoders: Sequence[Any] | None = None,
        *,
        regularization: float | None = None,
        positive: bool = False,
        fit_intercept: bool = True,
        target_batch_size: int | None = None,
    ) -> None:
        self.source_encoders = source_encoders
        self.regularization = regularization
        self.positive = positive
        self.fit_intercept = fit_intercept
        self.target_batch_size = target_batch_size

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def __sklearn_clone__(self) -> "PersonalizedEnsembleEncoder":
        """Clone the hyperparameters but share the (fitted, fixed) source encoders."""
        params = self.get_params(deep=False)
        sources = params.pop("source_encoders")
        params = {k: clone(v, safe=False) for k, v in params.items()}
        return type(self)(source_encoders=sources, **params)

    # source predictions ------------------------------------------------------------
    def source_predictions(self, X: Any, *, n_targets: int | None = None) -> np.ndarray:
        """Stack the sources' predictions for ``X``.

        Parameters
        ----------
        X : array-like
            With ``source_encoders``: whatever they take (images, features).
            Without (precomputed mode): source predictions of shape
            ``(n_samples, n_sources, n_targets)``, or that array flattened in C
            order to ``(n_samples, n_sources * n_targets)``.
        n_targets : int, optional
            Needed to unflatten 2-D precomputed ``X`` before ``fit`` (taken from
            ``y`` in ``fit``, from ``n_targets_`` afterwards).

        Returns
        -------
        P : ndarray of shape (n_samples, n_sources, n_targets)
            Floating point; a view of ``X`` in precomputed mode where possible.
        """
        where = f"{type(self).__name__}"
        if n_targets is None:
            check_fitted(self, "coef_")
            n_targets = self.n_targets_
        if self.source_encoders is None:
            return self._precomputed(X, n_targets, reset=False, where=f"{where}.predict")
        return self._predict_sources(X, n_targets, where=where)

    def _precomputed(self, X: Any, n_targets: int, *, reset: bool, where: str) -> np.ndarray:
        arr = X
        if hasattr(X, "ndim") and X.ndim == 3:
            if X.shape[2] != n_targets:
                raise DataValidationError(
                    f"{where}: precomputed X has shape {X.shape} (n_samples, n_sources, n_targets) "
                    f"but there are {n_targets} targets"
                )
            arr = np.reshape(X, (X.shape[0], -1))
        arr = validate_features(self, arr, reset=reset, where=where)
        if arr.shape[1] % n_targets:
            raise DataValidationError(
                f"{where}: precomputed X has {arr.shape[1]} columns, not a multiple of the "
                f"{n_targets} targets; expected (n_samples, n_sources * n_targets)"
            )
        return arr.reshape(arr.shape[0], arr.shape[1] // n_targets, n_targets)

    def _predict_sources(self, X: Any, n_targets: int | None, *, where: str) -> np.ndarray:
        sources = _check_sources(self.source_encoders)
        preds = []
        for k, enc in enumerate(sources):
            p = np.asarray(enc.predict(X))
            if p.ndim == 1:
                p = p[:, None]
            if p.ndim != 2 or p.dtype.kind not in "fiu":
                raise DataValidationError(
                    f"{where}: source_encoders[{k}].predict returned shape {p.shape} dtype {p.dtype}; "
                    "expected numbers of shape (n_samples, n_targets)"
                )
            if preds and p.shape != preds[0].shape:
                raise DataValidationError(
                    f"{where}: source_encoders[{k}] predicts shape {p.shape} but source_encoders[0] "
                    f"predicts {preds[0].shape}; all sources must share the target space"
                )
            if n_targets is not None and p.shape[1] != n_targets:
                raise DataValidationError(
                    f"{where}: source_encoders[{k}] predicts {p.shape[1]} targets but y has {n_targets}"
                )
            check_finite_fast(p, f"{where}: source_encoders[{k}] predictions")
            preds.append(p)
        return np.stack(preds, axis=1)

    # fitting -----------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> "PersonalizedEnsembleEncoder":
        """Fit per-target source weights and intercepts on the new subject's data.

        Parameters
        ----------
        X : array-like
            Inputs of the source encoders (images, features), or, with
            ``source_encoders=None``, their predictions: shape
            ``(n_samples, n_sources, n_targets)`` or flattened in C order to
            ``(n_samples, n_sources * n_targets)``.
        y : array-like of shape (n_samples, n_targets) or (n_samples,)
            The new subject's responses.

        Returns
        -------
        self : PersonalizedEnsembleEncoder

        Raises
        ------
        DataValidationError
            Shapes disagree (samples, targets, sources), or fewer than 2 samples.
        NonFiniteDataError
            NaN or infinite values in ``y`` or the source predictions.
        InvalidParameterError
            Bad ``source_encoders``, ``regularization`` or ``target_batch_size``,
            or too many sources for ``positive=True``.
        """
        where = f"{type(self).__name__}.fit"
        lam = _check_regularization(self.regularization)
        check_bool(self.positive, "positive")
        check_bool(self.fit_intercept, "fit_intercept")
        Y = check_targets(y, None, where=where, name="y")
        single = Y.ndim == 1
        Y2 = Y[:, None] if single else Y
        n_targets = Y2.shape[1]
        if self.source_encoders is None:
            P = self._precomputed(X, n_targets, reset=True, where=where)
        else:
            P = self._predict_sources(X, n_targets, where=where)
        n, k, _ = P.shape
        if n != Y2.shape[0]:
            raise DataValidationError(f"{where}: X has {n} samples but y has {Y2.shape[0]}; they must match")
        if n < 2:
            raise DataValidationError(f"{where}: got 1 sample (n_samples=1); at least 2 are needed")
        if self.positive and k > MAX_POSITIVE_SOURCES:
            raise InvalidParameterError(
                f"positive=True supports at most {MAX_POSITIVE_SOURCES} source encoders, got {k}"
            )
        per_target = n * k * 8 + (_positive_bytes_per_target(k) if self.positive else 0)
        batch = _batch_size(self.target_batch_size, per_target, n_targets)
        coef = np.empty((n_targets, k), dtype=np.float64)
        intercept = np.empty(n_targets, dtype=np.float64)
        for b0 in range(0, n_targets, batch):
            b1 = min(b0 + batch, n_targets)
            Pb = torch.from_numpy(np.array(P[:, :, b0:b1], dtype=np.float64)).permute(2, 0, 1)  # (b, n, k)
            yb = torch.from_numpy(np.array(Y2[:, b0:b1], dtype=np.float64)).T  # (b, n)
            w, b = _solve_batch(Pb, yb, lam, bool(self.positive), bool(self.fit_intercept))
            coef[b0:b1] = w.numpy()
            intercept[b0:b1] = b.numpy()
        self.n_sources_ = k
        self.n_targets_ = n_targets
        self._single_target = single
        set_coefficients(self, coef, intercept, single)
        return self

    # prediction --------------------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """Predict the new subject's responses.

        Parameters
        ----------
        X : array-like
            As in ``fit``.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_targets), or (n_samples,) if fit on 1-D ``y``
            In the dtype of the source predictions (float64 for integer ones).
        """
        check_fitted(self, "coef_")
        P = self.source_predictions(X)
        if P.shape[1] != self.n_sources_:
            raise DataValidationError(
                f"{type(self).__name__}.predict: got predictions of {P.shape[1]} sources, "
                f"fit with {self.n_sources_}"
            )
        dtype = P.dtype if P.dtype.kind == "f" else np.float64
        coef = np.atleast_2d(self.coef_).astype(dtype)
        out = np.einsum("nkt,tk->nt", P, coef, dtype=dtype, casting="unsafe")
        out += np.atleast_1d(np.asarray(self.intercept_, dtype=dtype))
        return out[:, 0] if self._single_target else out

    def score(self, X: Any, y: Any, multioutput: str = "raw_values") -> np.ndarray | float:
        """Pearson correlation between predicted and measured responses, per target.

        Parameters
        ----------
        X : array-like
            As in ``fit``.
        y : array-like of shape (n_samples, n_targets) or (n_samples,)
        multioutput : {"raw_values", "uniform_average"}, default "raw_values"

        Returns
        -------
        r : ndarray of shape (n_targets,) or float
            A float for 1-D ``y`` or ``multioutput="uniform_average"``.
        """
        return score_predictions(self, X, y, multioutput)

    # interop -----------------------------------------------------------------------
    def to_torch_module(self) -> "EnsembleModule":
        """The fitted ensemble as a differentiable torch module.

        Every source encoder must provide ``to_torch_module()`` (as
        :class:`encoding.ridge.RidgeEncoder` does).

        Returns
        -------
        module : EnsembleModule
            Maps the sources' common input to ``(..., n_targets)``.
        """
        check_fitted(self, "coef_")
        if self.source_encoders is None:
            raise InvalidParameterError(
                "to_torch_module needs source_encoders; this ensemble was fit on precomputed predictions"
            )
        modules = []
        for k, enc in enumerate(_check_sources(self.source_encoders)):
            if not hasattr(enc, "to_torch_module"):
                raise InvalidParameterError(
                    f"source_encoders[{k}] ({type(enc).__name__}) has no to_torch_module()"
                )
            modules.append(enc.to_torch_module())
        return EnsembleModule(modules, np.atleast_2d(self.coef_), np.atleast_1d(self.intercept_))


class EnsembleModule(torch.nn.Module):
    """``y_t = b_t + sum_k w_tk * source_k(x)_t`` as a torch module.

    Parameters
    ----------
    sources : list of torch.nn.Module
        Each maps the input to ``(..., n_targets)``.
    weights : ndarray of shape (n_targets, n_sources)
    bias : ndarray of shape (n_targets,)
    """

    def __init__(self, sources: Sequence[torch.nn.Module], weights: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.sources = torch.nn.ModuleList(sources)
        self.register_buffer("weight", torch.as_tensor(np.asarray(weights), dtype=torch.float32))
        self.register_buffer("bias", torch.as_tensor(np.asarray(bias), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Combine the sources' outputs for input ``x``."""
        out = self.bias
        for k, source in enumerate(self.sources):
            out = out + self.weight[:, k] * source(x)
        return out


# ----------------------------------------------------------------------------------
def _solve_batch(
    P: torch.Tensor, y: torch.Tensor, lam: float | None, positive: bool, fit_intercept: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Least squares per target. P: (b, n, k), y: (b, n), float64. Returns w (b, k), intercept (b,)."""
    b, n, k = P.shape
    if fit_intercept:
        p_mean = P.mean(dim=1)  # (b, k)
        y_mean = y.mean(dim=1)  # (b,)
        P = P - p_mean[:, None, :]
        y = y - y_mean[:, None]
    G = P.transpose(1, 2) @ P  # (b, k, k)
    c = (P.transpose(1, 2) @ y[:, :, None])[..., 0]  # (b, k)
    if lam is not None and lam > 0:
        scale = lam * torch.diagonal(G, dim1=1, dim2=2).mean(dim=1)  # (b,)
        G = G + scale[:, None, None] * torch.eye(k, dtype=G.dtype)
        c = c + scale[:, None] / k
    w = _nnls_by_supports(G, c) if positive else _pinv_solve(G, c)
    intercept = (y_mean - (p_mean * w).sum(dim=1)) if fit_intercept else torch.zeros(b, dtype=P.dtype)
    return w, intercept


def _pinv_solve(G: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Minimum-norm solution of G w = c for a batch of symmetric PSD G (b, k, k)."""
    evals, evecs = torch.linalg.eigh(G)
    k = G.shape[-1]
    tol = evals.amax(dim=-1, keepdim=True).clamp_min(0) * k * torch.finfo(G.dtype).eps
    inv = torch.where(evals > tol, 1.0 / evals.where(evals > tol, torch.ones_like(evals)), torch.zeros_like(evals))
    coords = (evecs.transpose(-1, -2) @ c[..., None])[..., 0] * inv
    return (evecs @ coords[..., None])[..., 0]


def _nnls_by_supports(G: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Exact non-negative least squares min_w>=0 (w'Gw - 2c'w), per target.

    Some optimum has linearly independent support columns, on which it is the
    unconstrained optimum; so the best feasible unconstrained solution over all
    supports is an optimum. All supports of one size are solved in one batched
    call: ``2**k`` small solves per target in ``k`` calls.
    """
    b, k = c.shape
    best_w = torch.zeros_like(c)
    best_loss = torch.zeros(b, dtype=c.dtype)  # empty support: w = 0
    for size in range(1, k + 1):
        supports = torch.tensor(list(itertools.combinations(range(k), size)))  # (m, size)
        Gs = G[:, supports[:, :, None], supports[:, None, :]]  # (b, m, size, size)
        cs = c[:, supports]  # (b, m, size)
        ws = _pinv_solve(Gs, cs)
        scale = ws.abs().amax(dim=-1).clamp_min(1.0)
        feasible = (ws >= -1e-10 * scale[..., None]).all(dim=-1)  # (b, m)
        ws = ws.clamp_min(0.0)
        loss = (ws[..., None, :] @ Gs @ ws[..., :, None])[..., 0, 0] - 2 * (ws * cs).sum(dim=-1)
        loss = torch.where(feasible, loss, torch.inf)
        size_loss, which = loss.min(dim=1)  # (b,)
        better = size_loss < best_loss - 1e-12 * best_loss.abs()
        if bool(better.any()):
            full = torch.zeros_like(c)
            rows = torch.arange(b)
            full[rows[:, None], supports[which]] = ws[rows, which]
            best_w = torch.where(better[:, None], full, best_w)
            best_loss = torch.where(better, size_loss, best_loss)
    return best_w


def _positive_bytes_per_target(k: int) -> int:
    """Peak float64 bytes per target of :func:`_nnls_by_supports` (a few copies of the largest size)."""
    return 4 * 8 * max(math.comb(k, s) * s * (s + 2) for s in range(1, k + 1))


def _check_sources(sources: Any) -> list:
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Sequence) or len(sources) == 0:
        raise InvalidParameterError(
            f"source_encoders must be a non-empty list of fitted encoders (or None), got {sources!r}"
        )
    for k, enc in enumerate(sources):
        if not callable(getattr(enc, "predict", None)):
            raise InvalidParameterError(
                f"source_encoders[{k}] ({type(enc).__name__}) has no predict(X) method"
            )
    return list(sources)


def _check_regularization(lam: Any) -> float | None:
    return check_real(lam, "regularization", minimum=0, allow_none=True)


def _batch_size(batch: Any, bytes_per_target: int, n_targets: int) -> int:
    if batch is None:
        return max(1, min(n_targets, _AUTO_BATCH_BYTES // max(1, bytes_per_target)))
    return check_int(batch, "target_batch_size", minimum=1)


__all__ = ["PersonalizedEnsembleEncoder", "EnsembleModule", "MAX_POSITIVE_SOURCES"]

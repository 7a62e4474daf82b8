"""The ridge estimator: :class:`RidgeEncoder`, and the face every linear encoder shares.

:class:`RidgeEncoder` is thin: it checks its inputs, plans the solve once for
``X`` (:func:`encoding.ridge.solver.plan_ridge`) and solves every target
(:func:`encoding.ridge.solver.solve_ridge`). The functions below it
(:func:`check_fitted`, :func:`set_coefficients`, :func:`score_predictions`)
are the fitted-state and scoring conventions shared with
:class:`encoding.ensemble.PersonalizedEnsembleEncoder`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from encoding.ridge.checks import check_targets, validate_features
from encoding.ridge.solver import DEFAULT_ALPHAS, plan_ridge, solve_ridge
from neurokit.exceptions import DataValidationError, InvalidParameterError, NotFittedError
from neurokit.metrics import pearson_r
from neurokit.validation import check_bool

__all__ = ["RidgeEncoder", "EstimatorNotFittedError", "check_fitted", "set_coefficients", "score_predictions"]

#: Targets scored together (bounds the float64 copies made by ``pearson_r``).
_SCORE_CHUNK = 8192


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
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        verbose = check_bool(self.verbose, "verbose")
        X = validate_features(self, X, reset=True, where=where)
        Y = check_targets(y, X.shape[0], where=where, name="y")
        plan = plan_ridge(X, self.alphas, cv=self.cv, fit_intercept=fit_intercept, dtype=self.dtype,
                          device=self.device, where=where)
        single = Y.ndim == 1
        Y2 = Y[:, None] if single else Y
        solution = solve_ridge(plan, Y2, target_batch_size=self.target_batch_size, progress=verbose)
        self.best_alphas_ = solution.best_alphas
        self.cv_errors_ = solution.cv_errors
        self.rank_ = plan.rank
        set_coefficients(self, solution.coef, solution.intercept, single)
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
        check_fitted(self, "coef_")
        X = validate_features(self, X, reset=False, where=f"{type(self).__name__}.predict")
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
        return score_predictions(self, X, y, multioutput)

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
        check_fitted(self, "coef_")
        coef = np.atleast_2d(self.coef_)
        n_targets, n_features = coef.shape
        module = torch.nn.Linear(n_features, n_targets, bias=True, device=device, dtype=dtype)
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(coef)))
            module.bias.copy_(torch.from_numpy(np.atleast_1d(np.asarray(self.intercept_, dtype=np.float64))))
        module.requires_grad_(requires_grad)
        return module.eval()


class EstimatorNotFittedError(NotFittedError, SklearnNotFittedError):
    """Raised when an encoder is used before ``fit``.

    Both :class:`neurokit.exceptions.NotFittedError` and
    :class:`sklearn.exceptions.NotFittedError`, so either ``except`` catches it.
    """


def set_coefficients(estimator: Any, coef: np.ndarray, intercept: np.ndarray, single: bool) -> None:
    """Store ``coef_`` (n_targets, k) and ``intercept_`` (n_targets,), or one row and a float for 1-D ``y``."""
    if single:
        estimator.coef_ = coef[0]
        estimator.intercept_ = float(intercept[0])
    else:
        estimator.coef_ = coef
        estimator.intercept_ = intercept


def check_fitted(estimator: Any, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise EstimatorNotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; call 'fit' before using it"
        )


def score_predictions(estimator: Any, X: Any, y: Any, multioutput: str) -> np.ndarray | float:
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

"""Linear (ridge) encoders with one regularisation strength per target.

- :mod:`~encoding.ridge.estimator`: :class:`RidgeEncoder` (scikit-learn
  estimator) and the fitted-state and scoring conventions every linear
  encoder shares;
- :mod:`~encoding.ridge.solver`: the solver as plain functions,
  :func:`plan_ridge` (one decomposition of ``X``) and :func:`solve_ridge`
  (any number of blocks of targets), with the closed-form GCV, exact
  leave-one-out and K-fold criteria;
- :mod:`~encoding.ridge.checks`: argument and data checks shared with the
  ensemble and the streamed fits.
"""

from encoding.ridge.checks import check_alphas, check_targets
from encoding.ridge.estimator import EstimatorNotFittedError, RidgeEncoder
from encoding.ridge.solver import DEFAULT_ALPHAS, RidgePlan, RidgeSolution, plan_ridge, solve_ridge

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

"""encoding package."""

# --- linear and ensemble encoders (encoding.ridge, encoding.ensemble) ---
from encoding.ensemble import EnsembleModule, PersonalizedEnsembleEncoder  # noqa: E402
from encoding.ridge import EstimatorNotFittedError, RidgeEncoder  # noqa: E402
# --- end linear and ensemble encoders ---

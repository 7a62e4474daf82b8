import numpy as np
import pytest

from encoding.persistence import load_encoder, save_encoder
from encoding.ridge import RidgeEncoder
from neurokit.exceptions import CheckpointError, NeurokitError


def test_ridge_encoder_round_trip_predicts_identically(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 12)).astype(np.float32)
    Y = X @ rng.normal(size=(12, 30)) + 0.5 * rng.normal(size=(80, 30))
    enc = RidgeEncoder(alphas=np.logspace(-1, 3, 5)).fit(X, Y)
    save_encoder(enc, tmp_path / "enc", metadata={"subject": 3})
    loaded, meta = load_encoder(tmp_path / "enc")
    assert meta == {"subject": 3}
    assert isinstance(loaded, RidgeEncoder)
    np.testing.assert_array_equal(loaded.best_alphas_, enc.best_alphas_)
    np.testing.assert_array_equal(loaded.predict(X), enc.predict(X))
    np.testing.assert_allclose(loaded.get_params()["alphas"], enc.get_params()["alphas"])


def test_unfitted_and_tampered_encoders_are_refused(tmp_path):
    with pytest.raises(NeurokitError, match="not fitted"):
        save_encoder(RidgeEncoder(), tmp_path / "x")
    rng = np.random.default_rng(1)
    enc = RidgeEncoder().fit(rng.normal(size=(20, 3)), rng.normal(size=(20, 2)))
    path = save_encoder(enc, tmp_path / "enc")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        load_encoder(tmp_path / "enc")

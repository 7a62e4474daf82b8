import numpy as np
import pytest

from encoding.persistence import encoder_from_state, encoder_state, load_encoder, save_encoder
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


def test_the_in_memory_state_is_what_the_file_holds_and_rebuilds_the_encoder(tmp_path):
    """encoder_state gives the arrays (dtypes kept) and config save_encoder writes; encoder_from_state rebuilds."""
    from neurokit.checkpoints import load_checkpoint

    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 6))
    enc = RidgeEncoder(alphas=[0.1, 10.0]).fit(X, rng.normal(size=(40, 4)))
    arrays, config = encoder_state(enc, metadata={"subject": 1})
    assert config["class"] == "RidgeEncoder" and config["metadata"] == {"subject": 1}
    assert all(arrays[k].dtype == getattr(enc, k).dtype for k in arrays)
    on_disk, disk_config = load_checkpoint(save_encoder(enc, tmp_path / "enc", metadata={"subject": 1}))
    assert disk_config == config and set(on_disk) == set(arrays)
    rebuilt, meta = encoder_from_state(arrays, config)
    assert meta == {"subject": 1}
    np.testing.assert_array_equal(rebuilt.predict(X), enc.predict(X))
    with pytest.raises(CheckpointError, match="unknown encoder class"):
        encoder_from_state(arrays, {**config, "class": "Nope"}, where="memory")
    with pytest.raises(NeurokitError, match="not fitted"):
        encoder_state(RidgeEncoder())


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


def _tamper(tmp_path, edit):
    """Save a fitted encoder, let ``edit`` change its JSON config, return the stem."""
    import json

    rng = np.random.default_rng(2)
    save_encoder(RidgeEncoder().fit(rng.normal(size=(20, 3)), rng.normal(size=(20, 2))), tmp_path / "enc")
    json_path = tmp_path / "enc.json"
    doc = json.loads(json_path.read_text())
    edit(doc["config"])
    json_path.write_text(json.dumps(doc))
    return tmp_path / "enc"


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda c: c["scalars"].update({"__class__": {"__class__": "os.system"}}), "'__class__' is not a fitted"),
        (lambda c: c["scalars"].update({"rank_": {"__class__": "numpy.ndarray"}}), "'rank_' holds dict"),
        (lambda c: c["scalars"].update({"rank_": [1, 2]}), "'rank_' holds list"),
        (lambda c: c["scalars"].update({"predict": 1}), "'predict' is not a fitted"),  # would shadow a method
        (lambda c: c["scalars"].update({"score_": 1}), "'score_' is not a fitted"),
        (lambda c: c["scalars"].update({"_private": 1}), "'_private' is not a fitted"),
        (lambda c: c.update({"scalars": [1]}), "'scalars' must be a JSON object"),
        (lambda c: c["params"].update({"fit": 1}), r"unknown hyperparameter\(s\) \['fit'\]"),
        (lambda c: c["params"].update({"cv": {"__class__": "x"}}), "'cv' of RidgeEncoder holds dict"),
        (lambda c: c["params"].update({"alphas": ["a"]}), "'alphas' of RidgeEncoder holds list"),
        (lambda c: c.update({"params": "x"}), "'params' must be a JSON object"),
        (lambda c: c.update({"metadata": [1]}), "'metadata' must be a JSON object"),
        (lambda c: c.update({"class": {"x": 1}}), "unknown encoder class"),
    ],
)
def test_tampered_config_raises_checkpoint_error(tmp_path, edit, words):
    stem = _tamper(tmp_path, edit)
    with pytest.raises(CheckpointError, match=f"enc.json.*{words}"):
        load_encoder(stem)


def test_fitted_attribute_names_are_what_fit_sets():
    from encoding.persistence import FITTED_ATTRIBUTES

    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 3))
    for y in (rng.normal(size=(20, 2)), rng.normal(size=20)):
        fitted = {k for k in vars(RidgeEncoder().fit(X, y)) if k.endswith("_")}
        assert fitted == FITTED_ATTRIBUTES["RidgeEncoder"]
    assert not any(hasattr(RidgeEncoder, k) for k in FITTED_ATTRIBUTES["RidgeEncoder"])

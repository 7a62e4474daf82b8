"""The feature store: computed once per key, resumable after a kill, verified on every open."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from tests.processes import signal_when
from torch import nn

from encoding.feature_store import ArrayStimuli, FeatureStore, NSDStimuli, extractor_fingerprint
from encoding.features import TorchModuleExtractor
from encoding.from_nsd import nsd_image_features
from encoding.image_encoder import image_features
from neurokit.exceptions import DataValidationError, FeatureStoreError, InvalidParameterError

KW = {"layers": ["conv", "pool"], "pooling": "avg"}


def _extractor(seed: int = 0) -> TorchModuleExtractor:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
    return TorchModuleExtractor(net, layers={"conv": "0", "pool": "2"}, input_size=16)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(size=(50, 20, 20, 3)).astype(np.float32)


def test_features_equal_direct_extraction_and_are_computed_once(tmp_path, images):
    store, source, ext = FeatureStore(tmp_path, chunk_size=16), ArrayStimuli(images), _extractor()
    ids = np.array([7, 3, 3, 40, 0, 49])
    calls = []
    stored = store.features(source, np.arange(50), ext, KW, progress=False, on_chunk=lambda d, t: calls.append(d))
    assert calls == [1, 2, 3, 4]  # 50 stimuli in chunks of 16
    direct = image_features(ext, images, KW, batch_size=32)
    got = np.concatenate([v for v in stored.layer_features(ids).values()], axis=1)
    np.testing.assert_allclose(got, direct[ids], rtol=1e-5, atol=1e-6)
    assert stored.data.shape == (50, direct.shape[1]) and not stored.data.flags.writeable
    again = store.features(source, np.arange(50), ext, KW, progress=False, on_chunk=lambda d, t: calls.append(d))
    assert calls == [1, 2, 3, 4] and again.path == stored.path  # nothing recomputed
    assert store.status(stored.path.name) == (4, 4)
    assert json.loads((stored.path / "meta.json").read_text())["extractor"]["fingerprint"] == extractor_fingerprint(ext)


def test_every_setting_weight_and_stimulus_change_gives_another_key(images):
    store, source, ext = FeatureStore("unused"), ArrayStimuli(images), _extractor()
    ids = np.arange(10)
    base = store.key(source, ids, ext, KW)
    other_weights = _extractor(seed=1)
    changed = {
        "weights": store.key(source, ids, other_weights, KW),
        "layers": store.key(source, ids, ext, {**KW, "layers": ["pool"]}),
        "pooling": store.key(source, ids, ext, {**KW, "pooling": "max"}),
        "stimuli": store.key(ArrayStimuli(images[::-1].copy()), ids, ext, KW),
        "ids": store.key(source, np.arange(11), ext, KW),
    }
    assert len({base, *changed.values()}) == 6, changed
    assert store.key(source, ids[::-1], ext, KW) == base  # order and repeats do not matter
    ext.module[0].weight.data[0, 0, 0, 0] += 1e-3
    assert store.key(source, ids, ext, KW) != base  # one weight changed in place


def test_a_damaged_entry_is_refused_or_recomputed_never_served(tmp_path, images):
    store, source, ext = FeatureStore(tmp_path, chunk_size=16), ArrayStimuli(images), _extractor()
    good = np.array(store.features(source, np.arange(50), ext, KW, progress=False).data)
    key = store.key(source, np.arange(50), ext, KW)
    path = tmp_path / key / "features.npy"
    raw = bytearray(path.read_bytes())
    raw[-4 * good.shape[1]] ^= 0x40  # a bit flip in the last row (chunk 3)
    path.write_bytes(bytes(raw))
    with pytest.raises(FeatureStoreError, match=r"chunk\(s\) \[3\]"):
        store.open(key)
    with pytest.warns(RuntimeWarning, match="recomputing"):
        fixed = store.features(source, np.arange(50), ext, KW, progress=False)
    assert np.array_equal(np.asarray(fixed.data), good)
    path.write_bytes(path.read_bytes()[:200])  # truncated
    with pytest.raises(FeatureStoreError, match="features.npy"):
        store.open(key)
    with pytest.warns(RuntimeWarning):
        assert np.array_equal(np.asarray(store.features(source, np.arange(50), ext, KW, progress=False).data), good)
    (tmp_path / key / "chunks.json").write_text('{"done": {"0": "x"}}')
    with pytest.raises(FeatureStoreError, match="unfinished"):
        store.open(key)
    with pytest.raises(FeatureStoreError, match="no feature store entry"):
        store.open("nothing-here")


def test_bad_arguments_get_the_toolkits_errors(tmp_path, images):
    store, source, ext = FeatureStore(tmp_path), ArrayStimuli(images), _extractor()
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        FeatureStore(tmp_path, chunk_size=0)
    with pytest.raises(DataValidationError, match="0..49"):
        store.features(source, [0, 50], ext, KW, progress=False)
    with pytest.raises(DataValidationError, match="1-D integer"):
        store.features(source, [0.5], ext, KW, progress=False)
    with pytest.raises(InvalidParameterError, match="extractor"):
        store.features(source, [0], object(), KW, progress=False)
    with pytest.raises(DataValidationError, match="not in this store entry"):
        store.features(source, [0, 1], ext, KW, progress=False).rows([2])
    with pytest.raises(DataValidationError, match=r"\(n, H, W, 3\)"):
        ArrayStimuli(images[0])


KILLED = textwrap.dedent("""
    import sys
    import numpy as np
    from encoding.feature_store import FeatureStore, NSDStimuli
    from encoding.features import DEFAULT_FEATURES, default_extractor
    from neurokit.datasets import NSD
    nsd = NSD(sys.argv[1])
    store = FeatureStore(sys.argv[2], chunk_size=16)
    ids = np.arange(int(sys.argv[3]))
    store.features(NSDStimuli(nsd, image_size=64), ids, default_extractor(64), DEFAULT_FEATURES,
                   batch_size=16, progress=False)
""")


def test_a_killed_extraction_resumes_and_equals_an_uninterrupted_one(tmp_path, make_cohort):
    """SIGKILL an NSD extraction after its first chunks; the next call finishes it, identical to one run."""
    from neurokit.datasets import NSD

    cohort = make_cohort(n_subjects=1, n_images=120, n_shared=20, level=3, image_size=64, seed=1)
    root = cohort.write(tmp_path / "nsd", progress=False)
    nsd, n = NSD(root), len(cohort.images)
    from encoding.features import DEFAULT_FEATURES, default_extractor

    ext, kw = default_extractor(64), DEFAULT_FEATURES

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(root), str(killed), str(n)])
    signal_when(proc, lambda: bool(list(killed.glob("*/chunks.json"))), signal.SIGKILL, what="the first chunk")
    store = FeatureStore(killed, chunk_size=16)
    source = NSDStimuli(nsd, image_size=64)
    key = store.key(source, np.arange(n), ext, kw)
    done, total = store.status(key)
    assert 1 <= done < total, (done, total)
    with pytest.raises(FeatureStoreError, match="unfinished"):
        store.open(key)
    recomputed = []
    resumed = store.features(source, np.arange(n), ext, kw, batch_size=16, progress=False,
                             on_chunk=lambda d, t: recomputed.append(d))
    assert recomputed[0] > done - 1 and len(recomputed) <= total - done + 1  # finished chunks were kept
    fresh = FeatureStore(tmp_path / "fresh", chunk_size=16).features(source, np.arange(n), ext, kw, batch_size=16,
                                                                      progress=False)
    assert np.array_equal(np.asarray(resumed.data), np.asarray(fresh.data))
    # and the design matrix the encoders use comes out of the store unchanged
    ids = np.array([5, 2, 90, 2])
    from_store = nsd_image_features(nsd, ids, ext, kw, image_size=64, batch_size=16, store=store)
    direct = nsd_image_features(nsd, ids, ext, kw, image_size=64, batch_size=16)
    np.testing.assert_allclose(from_store, direct, rtol=1e-4, atol=1e-4)  # other batches: float rounding only
    assert [p.name for p in killed.iterdir()] == [key]  # a subset is served by the entry that covers it

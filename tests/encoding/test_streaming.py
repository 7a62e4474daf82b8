"""Tests of encoding.streaming: chunked whole-brain ridge fits, resume after a kill, corruption, 2 ranks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encoding.from_nsd import NSDTargets, fit_subject_encoder_from_nsd, noise_normalized
from encoding.persistence import load_encoder, save_encoder
from encoding.ridge import RidgeEncoder, plan_ridge, solve_ridge
from encoding.streaming import (
    ArrayTargets,
    CorruptChunkWarning,
    fit_streaming_ridge,
    load_streaming_ridge,
    parse_bytes,
)
from neurokit.datasets import NSD, NSDDesign, NSDWriter
from neurokit.exceptions import (
    CheckpointError,
    DataValidationError,
    InvalidParameterError,
    NonFiniteDataError,
    OutputExistsError,
)
from neurokit.mesh.levels import n_vertices

REPO = Path(__file__).resolve().parents[2]
ALPHAS = np.logspace(-1, 5, 7)
LEVEL = 3
N_FEATURES = 8


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """A level-3 NSD tree: 3 sessions x 100 trials (100 images x 3 repeats, 20 shared), betas = features @ W + noise."""
    root = tmp_path_factory.mktemp("nsd") / "nsd"
    design = NSDDesign.simulate(n_subjects=1, n_images=100, n_shared=20, n_repeats=3, trials_per_session=100,
                                n_stimuli=300, seed=1)
    writer = NSDWriter(root)
    writer.write_design(design)
    rng = np.random.default_rng(0)
    features = rng.standard_normal((300, N_FEATURES)).astype(np.float32)
    nv = 2 * n_vertices(LEVEL)
    W = rng.standard_normal((N_FEATURES, nv)).astype(np.float32) * rng.uniform(0, 1, nv).astype(np.float32)
    ids = design.trial_nsd_ids(1)
    for s in range(3):
        trial_ids = ids[s * 100 : (s + 1) * 100]
        betas = features[trial_ids] @ W + rng.standard_normal((100, nv)).astype(np.float32) + 0.3 * s
        betas[:, 7] = np.nan  # a NaN vertex: set to 0 before fitting, reported
        writer.write_betas_session(1, s + 1, betas)
    writer.write_roi(1, "nsdgeneral", (rng.random(nv) < 0.3).astype(np.int32))
    np.save(root.parent / "features.npy", features)
    return NSD(root), (np.arange(300), features)


def _reference(tree, **kw):
    nsd, feats = tree
    return fit_subject_encoder_from_nsd(nsd, 1, features=feats, level=LEVEL, alphas=ALPHAS, progress=False, **kw)


def _stream(tree, out, *, chunk_size=100, **kw):
    nsd, feats = tree
    src = NSDTargets(nsd, 1, feats, level=LEVEL, rois=kw.pop("rois", None))
    report = fit_streaming_ridge(src.X_train, src, out, X_test=src.X_test, alphas=ALPHAS, chunk_size=chunk_size,
                                 progress=False, **kw)
    return src, report


def _assert_same_fit(a, b, exact=False):
    check = np.testing.assert_array_equal if exact else (lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6))
    check(a.coef_, b.coef_)
    check(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(a.best_alphas_, b.best_alphas_)
    check(a.cv_errors_, b.cv_errors_)


# ------------------------------------------------------------------------------------ equality
def test_chunked_nsd_fit_equals_in_memory_fit(tree, tmp_path):
    ref, info = _reference(tree)
    src, report = _stream(tree, tmp_path / "fit", chunk_size=100)
    assert report.n_chunks == 13 and report.fitted == tuple(range(13)) and report.complete
    assert not (tmp_path / "fit" / "chunks").exists()  # chunk files removed once assembled
    enc, extra = load_streaming_ridge(tmp_path / "fit")
    assert isinstance(enc.coef_, np.memmap) and enc.coef_.shape == ref.coef_.shape
    _assert_same_fit(enc, ref)
    assert enc.rank_ == ref.rank_
    np.testing.assert_allclose(extra["test_r"], info.test_r, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(extra["noise_ceiling"], info.noise_ceiling)
    np.testing.assert_array_equal(extra["nan_vertices"], info.nan_vertices)
    assert extra["nan_vertices"][7] and extra["nan_vertices"].sum() == 1
    np.testing.assert_array_equal(extra["vertices"], info.vertices)
    np.testing.assert_allclose(noise_normalized(extra["test_r"], extra["noise_ceiling"]), info.noise_normalized,
                               rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(src.test_ids, info.test_ids)
    np.testing.assert_array_equal(src.train_ids, info.train_ids)
    # the result saves and loads through encoding.persistence like any RidgeEncoder
    save_encoder(enc, tmp_path / "saved")
    back, _ = load_encoder(tmp_path / "saved")
    _assert_same_fit(back, enc, exact=True)
    np.testing.assert_allclose(back.predict(src.X_test), ref.predict(src.X_test), rtol=1e-5, atol=1e-5)


def test_chunked_roi_fit_equals_in_memory_fit(tree, tmp_path):
    ref, info = _reference(tree, rois="nsdgeneral")
    _, report = _stream(tree, tmp_path / "roi", chunk_size=64, rois="nsdgeneral")
    enc, extra = load_streaming_ridge(tmp_path / "roi", mmap=False)
    assert not isinstance(enc.coef_, np.memmap) and report.n_chunks == -(-info.vertices.size // 64)
    _assert_same_fit(enc, ref)
    np.testing.assert_array_equal(extra["vertices"], info.vertices)
    np.testing.assert_allclose(extra["test_r"], info.test_r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cv", ["gcv", "loo", 3])
def test_array_targets_from_npy_equal_ridge_encoder(tmp_path, cv):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((90, 6))
    Y = (X @ rng.standard_normal((6, 70)) + rng.standard_normal((90, 70))).astype(np.float32)
    ref = RidgeEncoder(ALPHAS, cv=cv).fit(X, Y)
    for order in ("C", "F"):
        path = tmp_path / f"y{order}.npy"
        np.save(path, np.asarray(Y, order=order))
        out = tmp_path / f"fit-{order}"
        report = fit_streaming_ridge(X, str(path), out, alphas=ALPHAS, cv=cv, chunk_size=16, progress=False)
        assert report.n_chunks == 5
        enc, extra = load_streaming_ridge(out)
        _assert_same_fit(enc, ref)
        assert "test_r" not in extra


def test_max_memory_sets_the_chunk_size_and_plan_is_reused(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2000, 10))
    Y = rng.standard_normal((2000, 6000)).astype(np.float32)
    src = ArrayTargets(Y)

    def held():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    # about 41 kB per target (two float32 copies of its 2,000 samples, the solver's temporaries)
    small = fit_streaming_ridge(X, src, tmp_path / "a", max_memory=held() + 40 * 2**20, progress=False)
    large = fit_streaming_ridge(X, src, tmp_path / "b", max_memory=held() + 100 * 2**20, progress=False)
    assert 1 < large.n_chunks < small.n_chunks and small.chunk_size < large.chunk_size
    assert json.loads((tmp_path / "a" / "result.json").read_text())["manifest"]["chunk_size"] == small.chunk_size
    _assert_same_fit(load_streaming_ridge(tmp_path / "a")[0], load_streaming_ridge(tmp_path / "b")[0])
    # the solver's plan: one decomposition of X, any blocks of targets
    plan = plan_ridge(X, ALPHAS)
    parts = [solve_ridge(plan, Y[:, a:b], target_batch_size=700) for a, b in ((0, 1000), (1000, 6000))]
    whole = RidgeEncoder(ALPHAS).fit(X, Y)
    np.testing.assert_allclose(np.concatenate([p.coef for p in parts]), whole.coef_, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(np.concatenate([p.best_alphas for p in parts]), whole.best_alphas_)


# ------------------------------------------------------------------------------------ resume
KILLER = """
import os, signal, sys
import numpy as np
from encoding.from_nsd import NSDTargets
from encoding.streaming import fit_streaming_ridge
root, out, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
feats = (np.arange(300), np.load(os.path.join(os.path.dirname(root), "features.npy")))
src = NSDTargets(root, 1, feats, level={level})
def kill(i, done, total):
    if done == k:
        os.kill(os.getpid(), signal.SIGKILL)
fit_streaming_ridge(src.X_train, src, out, X_test=src.X_test, alphas=np.logspace(-1, 5, 7), chunk_size=100,
                    progress=False, on_chunk=kill)
"""


def _env():
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore", "PYTHONPATH": str(REPO)}
    env.pop("RANK", None), env.pop("WORLD_SIZE", None), env.pop("LOCAL_RANK", None)
    return env


def test_sigkilled_fit_resumes_without_redoing_finished_chunks(tree, tmp_path):
    nsd, _ = tree
    out = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILLER.format(level=LEVEL), str(nsd.root), str(out), "3"],
                          capture_output=True, text=True, env=_env(), timeout=240)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    records = sorted(p.name for p in (out / "chunks").glob("*.json"))
    assert records == [f"chunk-{i:06d}.json" for i in range(3)] and not (out / "result.json").exists()
    with pytest.raises(CheckpointError, match="not finished"):
        load_streaming_ridge(out)
    with pytest.raises(OutputExistsError, match="resume"):
        _stream(tree, out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "chunks").iterdir()}
    seen = []
    _, report = _stream(tree, out, resume=True, keep_chunks=True,
                        on_chunk=lambda i, done, total: seen.append((i, done, total)))
    assert report.reused == (0, 1, 2) and report.fitted == tuple(range(3, 13)) and report.redone == ()
    assert seen[0] == (3, 4, 13) and seen[-1] == (12, 13, 13)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "chunks").iterdir()}
    assert all(after[name] == t for name, t in mtimes.items())  # the killed run's chunks were not rewritten
    _stream(tree, tmp_path / "straight")
    _assert_same_fit(load_streaming_ridge(out)[0], load_streaming_ridge(tmp_path / "straight")[0], exact=True)
    # resuming a finished fit does nothing
    again = _stream(tree, out, resume=True)[1]
    assert again.fitted == () and again.complete


def test_corrupt_or_truncated_chunk_is_reported_and_redone(tree, tmp_path):
    out = tmp_path / "corrupt"

    def stop(i, done, total):
        if done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _stream(tree, out, on_chunk=stop)
    chunks = out / "chunks"
    truncated, flipped = chunks / "chunk-000001.npz", chunks / "chunk-000002.npz"
    truncated.write_bytes(truncated.read_bytes()[:-100])
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    (chunks / "chunk-000003.npz").unlink()  # a record without its file
    with pytest.warns(CorruptChunkWarning) as caught:
        _, report = _stream(tree, out, resume=True, keep_chunks=True)
    text = " ".join(str(w.message) for w in caught)
    assert "chunk 1 is truncated" in text and "chunk 2 is corrupt: the checksum" in text and "chunk 3" in text
    assert report.redone == (1, 2, 3) and report.reused == (0,) and report.fitted == tuple(range(1, 13))
    _stream(tree, tmp_path / "clean")
    enc = load_streaming_ridge(out)[0]
    _assert_same_fit(enc, load_streaming_ridge(tmp_path / "clean")[0], exact=True)
    # a damaged file of the assembled result is refused, never used
    coef = out / "coef.npy"
    data = bytearray(coef.read_bytes())
    data[-1] ^= 0x01
    coef.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_streaming_ridge(out)
    assert load_streaming_ridge(out, verify=False)[0].coef_.shape == enc.coef_.shape


# ------------------------------------------------------------------------------------ 2 ranks
def test_two_torchrun_workers_equal_one(tree, tmp_path):
    nsd, _ = tree
    features = nsd.root.parent / "features.npy"
    args = ["--nsd-root", str(nsd.root), "--subject", "1", "--level", str(LEVEL), "--features", str(features),
            "--alphas", *map(str, ALPHAS), "--chunk-size", "100", "--no-progress"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "encoding.streaming", *args, "--output", str(tmp_path / "two")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("13 chunks of 100 targets; this run fitted 7 on rank 0") == 1  # rank 0 prints
    from encoding.streaming import main

    assert main([*args, "--output", str(tmp_path / "one")]) == 0
    two, info2 = load_streaming_ridge(tmp_path / "two")
    one, info1 = load_streaming_ridge(tmp_path / "one")
    _assert_same_fit(two, one, exact=True)
    np.testing.assert_array_equal(info2["test_r"], info1["test_r"])


# ------------------------------------------------------------------------------------ errors
def test_bad_arguments_get_toolkit_errors(tree, tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 4))
    Y = rng.standard_normal((30, 12)).astype(np.float32)
    fit_streaming_ridge(X, Y, tmp_path / "fit", alphas=ALPHAS, chunk_size=5, progress=False)
    with pytest.raises(InvalidParameterError, match="alphas differ"):
        fit_streaming_ridge(X, Y, tmp_path / "fit", alphas=ALPHAS[:3], chunk_size=5, resume=True, progress=False)
    with pytest.raises(InvalidParameterError, match="X_sha256"):
        fit_streaming_ridge(X + 1, Y, tmp_path / "fit", alphas=ALPHAS, resume=True, progress=False)
    with pytest.raises(InvalidParameterError, match="source differ"):  # other responses of the same shape
        fit_streaming_ridge(X, Y + 1, tmp_path / "fit", alphas=ALPHAS, resume=True, progress=False)
    with pytest.raises(InvalidParameterError, match="chunk_size=6 but"):
        fit_streaming_ridge(X, Y, tmp_path / "fit", alphas=ALPHAS, chunk_size=6, resume=True, progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="not an empty folder"):
        fit_streaming_ridge(X, Y, tmp_path / "other", progress=False)
    with pytest.raises(InvalidParameterError, match="not both"):
        fit_streaming_ridge(X, Y, tmp_path / "a", chunk_size=3, max_memory="1GB")
    with pytest.raises(InvalidParameterError, match="max_memory=1,000 bytes is below"):
        fit_streaming_ridge(X, Y, tmp_path / "b", max_memory=1000)
    for bad in ("lots", "0GB", -1, True):
        with pytest.raises(InvalidParameterError, match="max_memory must be"):
            parse_bytes(bad)
    assert parse_bytes("2GB") == 2 * 10**9 and parse_bytes("1.5GiB") == 3 * 2**29 and parse_bytes("512M") == 2**29
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        fit_streaming_ridge(X, Y, tmp_path / "c", chunk_size=0)
    with pytest.raises(InvalidParameterError, match="cv must be"):
        fit_streaming_ridge(X, Y, tmp_path / "d", cv=1)
    with pytest.raises(InvalidParameterError, match="targets must be"):
        fit_streaming_ridge(X, {"Y": Y}, tmp_path / "e")
    with pytest.raises(DataValidationError, match="X has 29 rows"):
        fit_streaming_ridge(X[:29], Y, tmp_path / "f")
    with pytest.raises(DataValidationError, match="Y_test has 11"):
        ArrayTargets(Y, Y[:, :11])
    bad = Y.copy()
    bad[3, 10] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(NonFiniteDataError, match="targets 10:12"):
        fit_streaming_ridge(X, tmp_path / "nan.npy", tmp_path / "g", chunk_size=2, progress=False)
    (tmp_path / "short.npy").write_bytes((tmp_path / "nan.npy").read_bytes()[:-8])
    with pytest.raises(DataValidationError, match="truncated"):
        ArrayTargets(tmp_path / "short.npy")
    with pytest.raises(CheckpointError, match="not a streamed ridge result"):
        load_streaming_ridge(tmp_path / "other")
    nsd, feats = tree
    with pytest.raises(DataValidationError, match="no precomputed features"):
        NSDTargets(nsd, 1, (feats[0][:50], feats[1][:50]), level=LEVEL)


def test_vertex_selection_matches_responses(tree):
    nsd, _ = tree
    level, vertices = nsd.vertex_selection(1, level=2, rois="nsdgeneral")
    resp = nsd.responses(1, level=2, rois="nsdgeneral")
    assert level == resp.level == 2
    np.testing.assert_array_equal(vertices, resp.vertices)
    assert np.all(np.diff(vertices) > 0)


def test_command_line_with_npy_targets(tmp_path, capsys):
    from encoding.streaming import main

    rng = np.random.default_rng(4)
    X, X_test = rng.standard_normal((40, 5)), rng.standard_normal((10, 5))
    W = rng.standard_normal((5, 9))
    Y, Y_test = (X @ W + rng.standard_normal((40, 9))).astype(np.float32), (X_test @ W).astype(np.float32)
    for name, a in (("x", X), ("xt", X_test), ("y", Y), ("yt", Y_test)):
        np.save(tmp_path / f"{name}.npy", a)
    args = ["--features", str(tmp_path / "x.npy"), "--targets", str(tmp_path / "y.npy"), "--test-features",
            str(tmp_path / "xt.npy"), "--test-targets", str(tmp_path / "yt.npy"), "--output", str(tmp_path / "fit"),
            "--chunk-size", "4", "--cv", "loo", "--no-progress"]
    assert main(args) == 0
    assert "3 chunks of 4 targets; this run fitted 3" in capsys.readouterr().out
    enc, info = load_streaming_ridge(tmp_path / "fit")
    ref = RidgeEncoder(cv="loo").fit(X, Y)
    _assert_same_fit(enc, ref)
    np.testing.assert_allclose(info["test_r"], ref.score(X_test, Y_test), rtol=1e-5)
    assert main([*args, "--resume"]) == 0  # a finished fit: nothing to do
    assert "fitted 0 on rank 0" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--nsd-root", str(tmp_path), "--features", str(tmp_path / "x.npy"), "--output", str(tmp_path / "o")])
    with pytest.raises(SystemExit):
        main(["--features", str(tmp_path / "x.npy"), "--output", str(tmp_path / "o")])


def test_partial_vertex_reads_turn_readahead_off(tree, monkeypatch):
    nsd, _ = tree
    calls = []
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, off, n, advice: calls.append(advice), raising=False)
    nsd.responses(1, level=LEVEL)  # whole files: readahead helps, left on
    assert calls == []
    mask = np.zeros(2 * n_vertices(LEVEL), dtype=bool)
    mask[100:200] = True
    nsd.responses(1, level=LEVEL, mask=mask)  # one short run per trial: scattered reads
    assert calls and set(calls) == {os.POSIX_FADV_RANDOM}


def test_chunk_records_and_the_memory_plan_on_their_own(tmp_path):
    """ChunkStore: a written chunk is intact until its file is damaged or lost; the budget sets the chunk size."""
    from encoding.streaming.chunks import ChunkStore
    from encoding.streaming.plan import chunk_size_for_budget

    store = ChunkStore(tmp_path)
    store.dir.mkdir()
    assert store.state(0) == "missing"
    store.write(0, 0, 3, {"coef": np.arange(6.0).reshape(3, 2)})
    assert store.state(0) is None and np.array_equal(store.load(0)["coef"], np.arange(6.0).reshape(3, 2))
    store.data(0).write_bytes(store.data(0).read_bytes()[:-8])
    assert store.state(0).startswith("is truncated")
    with pytest.raises(CheckpointError, match="chunk 0 is truncated"):
        store.load(0)
    store.discard(0)
    assert store.state(0) == "missing" and not store.data(0).exists()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6)).astype(np.float32)
    src = ArrayTargets(rng.standard_normal((40, 10_000)).astype(np.float32))
    plan = plan_ridge(X, ALPHAS)
    with open("/proc/self/statm") as fh:
        held = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    sizes = [chunk_size_for_budget(held + mb * 2**20, src, plan, 0, src.n_targets, "t") for mb in (2, 8)]
    assert 1 <= sizes[0] < sizes[1] < src.n_targets
    assert chunk_size_for_budget(2**50, src, plan, 0, src.n_targets, "t") == src.n_targets
    with pytest.raises(InvalidParameterError, match="max_memory=1,000 bytes is below"):
        chunk_size_for_budget(1000, src, plan, 0, src.n_targets, "t")

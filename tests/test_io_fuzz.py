"""Fuzz corpus against every file reader: corrupt inputs are refused with the toolkit's error, valid ones read exactly.

Each input of :mod:`fuzz_corpus` is written to disk and handed to every
reader of its format. An outcome is one of

* ``loaded-equal``: values equal what nibabel/numpy read from the same bytes
  (strictly: gzip CRC and length checked, declared sizes within the file);
* ``refused``: a :class:`~neurokit.exceptions.NeurokitError` whose message
  names the file;
* ``bare``: any other exception, or a toolkit error not naming the file;
* ``accepted-corrupt``: values returned although the container is corrupt;
* ``loaded-unequal``: values returned that differ from the reference.

The last three must never happen. A few hundred inputs run always; the full
corpus (over 1,000) carries the ``slow`` mark.
"""

from __future__ import annotations

import collections
import logging
import warnings

import numpy as np
import pytest

import fuzz_corpus
from neurokit.exceptions import NeurokitError
from neurokit.io import read_hemisphere, read_hemispheres, read_surface_array, read_volume

BAD = ("bare", "accepted-corrupt", "loaded-unequal")


def _surface_readers():
    return {
        "read_surface_array": read_surface_array,
        "read_hemisphere": lambda p: read_hemisphere(p, hemi="left", allow_nan=True),
        "read_hemisphere-checked": lambda p: read_hemisphere(p, hemi="left"),
    }


def _volume_readers():
    return {
        "read_volume": lambda p: np.asanyarray(read_volume(p).dataobj),
        "read_volume-lazy": lambda p: read_volume(p, load_data=False),
    }


def _classify(call, path, reference):
    """Run one reader on one file; return (outcome, detail)."""
    try:
        got = call(path)
    except NeurokitError as exc:
        if str(path) not in str(exc):
            return "bare", f"{type(exc).__name__} without the file name: {exc}"
        return "refused", ""
    except Exception as exc:  # noqa: BLE001 - counting what escapes is the point
        return "bare", f"{type(exc).__name__}: {exc}"
    if reference is None:
        return "accepted-corrupt", ""
    if not isinstance(got, np.ndarray):  # a lazy image: only its header was read
        return ("loaded-equal", "") if tuple(got.shape) == reference.shape else ("loaded-unequal", f"{got.shape}")
    if got.shape != reference.shape or not np.array_equal(got, reference, equal_nan=True):
        return "loaded-unequal", f"{got.shape} vs {reference.shape}"
    return "loaded-equal", ""


def run_corpus(cases, folder):
    """Outcome counts per file ending, and the failures (case, reader, outcome, detail)."""
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures = []
    logging.getLogger("nibabel").setLevel(logging.CRITICAL)  # nibabel logs every header fix it attempts
    for case in cases:
        path = folder / case.filename
        path.write_bytes(case.data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = fuzz_corpus.reference_reading(case)
            readers = _volume_readers() if case.ext in fuzz_corpus.VOLUME_EXTS else _surface_readers()
            for name, call in readers.items():
                outcome, detail = _classify(call, path, reference)
                counts[case.ext][outcome] += 1
                if outcome in BAD:
                    failures.append((case.name, name, outcome, detail[:200]))
        if case.name.endswith("/valid"):
            assert reference is not None, case.name
        path.unlink()
    assert not list(folder.iterdir()), "a reader wrote files"
    return counts, failures


def _report(counts):
    lines = [f"{'format':8s} {'calls':>6s} " + " ".join(f"{k:>16s}" for k in ("loaded-equal", "refused", *BAD))]
    for ext, c in sorted(counts.items()):
        lines.append(f"{ext:8s} {sum(c.values()):6d} " + " ".join(f"{c[k]:16d}" for k in ("loaded-equal", "refused", *BAD)))
    return "\n".join(lines)


def _check(cases, tmp_path):
    counts, failures = run_corpus(cases, tmp_path)
    print(_report(counts))
    assert not failures, f"{len(failures)} bad outcomes, e.g.:\n" + "\n".join(map(str, failures[:25]))
    for ext, c in counts.items():  # the corpus reaches both outcomes in every format
        assert c["loaded-equal"] > 0 and c["refused"] > 0, (ext, c)


def test_fuzz_corpus_sample(tmp_path):
    _check(fuzz_corpus.generate(seed=0, per_format=50), tmp_path)


@pytest.mark.slow
def test_fuzz_corpus_full(tmp_path):
    cases = fuzz_corpus.generate(seed=1, per_format=160)
    assert len(cases) >= 1000
    _check(cases, tmp_path)


def test_fuzz_oracle_can_fail(tmp_path):
    """The harness counts a reader that accepts anything, or raises bare errors, as failing."""
    cases = [c for c in fuzz_corpus.generate(seed=0, per_format=20) if c.ext == ".npy"]
    ref_ok = next(c for c in cases if c.name.endswith("/valid"))
    corrupt = next(c for c in cases if fuzz_corpus.reference_reading(c) is None)
    for case, call, expected in [
        (corrupt, lambda p: np.zeros((1, 1)), "accepted-corrupt"),
        (corrupt, lambda p: np.load(p), "bare"),
        (ref_ok, lambda p: np.load(p)[None] * 0, "loaded-unequal"),
        (ref_ok, lambda p: np.atleast_2d(np.load(p)).astype(np.float32), "loaded-equal"),
    ]:
        path = tmp_path / case.filename
        path.write_bytes(case.data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert _classify(call, path, fuzz_corpus.reference_reading(case))[0] == expected


def test_pairs_with_a_corrupt_or_swapped_partner_are_refused(tmp_path):
    """read_hemispheres: one corrupt file of a pair, or the pair swapped, is refused naming the file."""
    rng = np.random.default_rng(3)
    left, right = tmp_path / "lh.x.mgh", tmp_path / "rh.x.mgh"
    left.write_bytes(fuzz_corpus.mgh_bytes(fuzz_corpus.random_values(rng)))
    right.write_bytes(fuzz_corpus.mgh_bytes(fuzz_corpus.random_values(rng)))
    assert read_hemispheres(left, right).data.shape == (fuzz_corpus.T, 2 * fuzz_corpus.V)
    with pytest.raises(NeurokitError, match="swapped"):
        read_hemispheres(right, left)
    corrupt = [c for c in fuzz_corpus.generate(seed=2, per_format=30) if c.ext == ".mgz"]
    n_refused = 0
    for case in corrupt:
        if fuzz_corpus.reference_reading(case) is not None:
            continue
        bad = tmp_path / f"rh.{case.filename[3:]}"
        bad.write_bytes(case.data)
        with pytest.raises(NeurokitError, match=str(bad).replace(".", r"\.")):
            read_hemispheres(left, bad)
        n_refused += 1
    assert n_refused > 10

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

from tests import fuzz_corpus
from neurokit.datasets import NSD, Algonauts2023, NSDDesign, NSDLayout, write_nsd_layout
from neurokit.exceptions import NeurokitError
from neurokit.mesh.levels import n_vertices
from neurokit.io import read_hemisphere, read_hemispheres, read_surface_array, read_volume

BAD = ("bare", "accepted-corrupt", "loaded-unequal")
_LEVEL_SIZES = {n_vertices(level) for level in range(fuzz_corpus.LEVEL, 8)}  # finer files are sliced (nested levels)


def _file_readers(case, folder):
    """``(name, path, call, expected)`` for every reader of the case's format; ``expected`` maps the reference."""
    path = folder / case.filename
    same = lambda ref: ref  # noqa: E731
    if case.ext in fuzz_corpus.VOLUME_EXTS:
        return [
            ("read_volume", path, lambda p: np.asanyarray(read_volume(p).dataobj), same),
            ("read_volume-lazy", path, lambda p: read_volume(p, load_data=False), same),
        ]
    return [
        ("read_surface_array", path, read_surface_array, same),
        ("read_hemisphere", path, lambda p: read_hemisphere(p, hemi="left", allow_nan=True), same),
        ("read_hemisphere-checked", path, lambda p: read_hemisphere(p, hemi="left"), same),
    ]


def _dataset_readers(case, roots):
    """The NSD and Algonauts readers that open a file of the case's format themselves."""
    if roots is None:
        return []
    nsd, algonauts = roots
    v = fuzz_corpus.V
    if case.ext == ".mgh":
        layout = NSDLayout(nsd)
        return [
            # partial reads of betas (header checked, then only the rows needed)
            ("NSD.responses", layout.betas(1, 1, "lh"),
             lambda p: NSD(nsd).responses(1, average=False, zscore=False).data[:, :v], lambda ref: ref),
            ("NSD.published_ncsnr", layout.ncsnr(1, "lh"), lambda p: NSD(nsd).published_ncsnr(1)[:v],
             lambda ref: ref[0, :v] if ref.shape[0] == 1 and ref.shape[1] in _LEVEL_SIZES else None),
        ]
    if case.ext == ".mgz":
        return [("NSD.roi_labels", NSDLayout(nsd).roi_label(1, "floc-faces", "lh"),
                 lambda p: NSD(nsd).roi_labels(1, "floc-faces")[0][:v].astype(np.float32), _integer_vector)]
    if case.ext == ".nii.gz":
        return [("NSD.volume_betas", NSDLayout(nsd).volume_betas(1, 1), lambda p: NSD(nsd).volume_betas(1, 1),
                 lambda ref: (ref.astype(np.float32) / np.float32(300)).astype(np.float32) if ref.ndim == 4 else None)]
    if case.ext == ".npy":
        fmri = algonauts / "subj01" / "training_split" / "training_fmri" / "lh_training_fmri.npy"
        return [("Algonauts2023.training_fmri", fmri,
                 lambda p: Algonauts2023(algonauts).training_fmri(1, space="challenge")[:, :v], lambda ref: ref)]
    return []


def _integer_vector(ref):
    """What a label reader must return for a reference reading: one frame of integers on a level, or None."""
    if ref.shape[0] != 1 or ref.shape[1] not in _LEVEL_SIZES or not np.all(np.isfinite(ref) & (ref == np.round(ref))):
        return None
    return ref[0, : fuzz_corpus.V]


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


def run_corpus(cases, folder, dataset_roots=None):
    """Outcome counts per file ending and per input, and the failures (case, reader, outcome, detail).

    ``dataset_roots`` (an NSD and an Algonauts tree) adds the dataset readers:
    each case replaces one of their files, which is restored afterwards.
    """
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    per_input: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures = []
    logging.getLogger("nibabel").setLevel(logging.CRITICAL)  # nibabel logs every header fix it attempts
    trees = [] if dataset_roots is None else [p for root in dataset_roots for p in root.rglob("*")]
    for case in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = fuzz_corpus.reference_reading(case)
            outcomes = set()
            for name, path, call, expected in _file_readers(case, folder) + _dataset_readers(case, dataset_roots):
                original = path.read_bytes() if path.exists() else None
                path.write_bytes(case.data)
                try:
                    want = None if reference is None else expected(reference)
                    outcome, detail = _classify(call, path, want)
                    if outcome == "accepted-corrupt" and reference is not None:
                        # a valid file this reader must refuse (several frames read as one vector)
                        outcome = "loaded-unequal"
                finally:
                    if original is None:
                        path.unlink()
                    else:
                        path.write_bytes(original)
                counts[case.ext][outcome] += 1
                outcomes.add(outcome)
                if outcome in BAD:
                    failures.append((case.name, name, outcome, detail[:200]))
        worst = next((o for o in (*BAD, "loaded-equal", "refused") if o in outcomes), "refused")
        per_input[case.ext][worst] += 1
        if case.name.endswith("/valid"):
            assert reference is not None, case.name
    assert not list(folder.iterdir()), "a reader wrote files"
    if dataset_roots is not None:
        assert [p for root in dataset_roots for p in root.rglob("*")] == trees, "a dataset reader wrote files"
    return counts, per_input, failures


def _report(counts):
    lines = [f"{'format':8s} {'n':>6s} " + " ".join(f"{k:>16s}" for k in ("loaded-equal", "refused", *BAD))]
    for ext, c in sorted(counts.items()):
        cells = " ".join(f"{c[k]:16d}" for k in ("loaded-equal", "refused", *BAD))
        lines.append(f"{ext:8s} {sum(c.values()):6d} {cells}")
    return "\n".join(lines)


def _check(cases, folder, roots):
    counts, per_input, failures = run_corpus(cases, folder, roots)
    print("reader calls:\n" + _report(counts))
    print("inputs (worst outcome over its readers):\n" + _report(per_input))
    assert not failures, f"{len(failures)} bad outcomes, e.g.:\n" + "\n".join(map(str, failures[:25]))
    for ext, c in counts.items():  # the corpus reaches both outcomes in every format
        assert c["loaded-equal"] > 0 and c["refused"] > 0, (ext, c)
    return counts


def make_dataset_roots(folder):
    """A one-session NSD tree and an Algonauts tree whose challenge space is every vertex (level 2)."""
    rng = np.random.default_rng(5)
    v, t = fuzz_corpus.V, fuzz_corpus.T
    nsd = folder / "nsd"
    design = NSDDesign.simulate(n_subjects=1, n_images=t, n_shared=1, n_repeats=1, trials_per_session=t, n_stimuli=6)
    write_nsd_layout(nsd, design=design, betas={1: rng.normal(size=(1, t, 2 * v)).astype(np.float32)},
                     ncsnr={1: rng.random(2 * v).astype(np.float32)},
                     rois={1: {"floc-faces": rng.integers(0, 3, size=2 * v).astype(np.int32)}})
    NSDLayout(nsd).volume_betas(1, 1).parent.mkdir(parents=True)
    algonauts = folder / "algonauts"
    subj = algonauts / "subj01"
    for folder in ("training_split/training_fmri", "roi_masks"):
        (subj / folder).mkdir(parents=True)
    for hemi in ("lh", "rh"):
        np.save(subj / "roi_masks" / f"{hemi}.all-vertices_fsaverage_space.npy", np.ones(v, np.float32))
        np.save(subj / "training_split" / "training_fmri" / f"{hemi}_training_fmri.npy",
                rng.normal(size=(t, v)).astype(np.float32))
    return nsd, algonauts


@pytest.fixture(scope="module")
def dataset_roots(tmp_path_factory):
    return make_dataset_roots(tmp_path_factory.mktemp("datasets"))


def test_fuzz_corpus(tmp_path, dataset_roots):
    """Over 1,000 inputs, every reader, every format: 0 bare errors, 0 corrupt containers accepted."""
    cases = fuzz_corpus.generate(seed=0, per_format=150)
    assert len(cases) >= 1000
    counts = _check(cases, tmp_path, dataset_roots)
    assert sum(c["refused"] for c in counts.values()) > 2000


@pytest.mark.slow
def test_fuzz_corpus_more_seeds(tmp_path, dataset_roots):
    for seed in (1, 2):
        folder = tmp_path / str(seed)
        folder.mkdir()
        _check(fuzz_corpus.generate(seed=seed, per_format=300), folder, dataset_roots)


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

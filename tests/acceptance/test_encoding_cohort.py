"""Acceptance tests of the encoding claims on the simulated world, through the real NSD pipeline.

A cohort of the default world (``soc-lite2``: a ground truth no model shares) is
written as an NSD tree; :class:`neurokit.datasets.NSD` reads it back (z-score per
session, average repeats, NSD's noise ceiling); every subject gets a ridge encoder
on the toolkit's default features (EfficientNet-Lite0); the last subject a
personalized ensemble from the others and 300 of its images. The measurements are
those of the demo (:func:`cortex2image.world_claims.measure_encoding`), bootstrapped
over the shared test images, which come from photographs no training image was cut
from.

Every assertion compares with a baseline computed in the same run, on the same test
images, through a paired bootstrap interval that must exclude the baseline -- no
absolute number tuned on one seed. Where the published claim does not hold on this
world (e.g. an ensemble from 300 images "not different" from full data), the test
asserts only what the numbers can show and the finding is reported by the demo.

- default suite (``slow`` mark): one world, fsaverage4, 8 subjects x 520 images
  (100 shared);
- ``NEUROKIT_LONG_TESTS=1``: NSD-like depth, 3 world seeds, 8 subjects x 3,300
  images (300 shared; 3,000 training images per source subject), fsaverage4.

Measured with ``NEUROKIT_LONG_TESTS=1`` (6 min 12 s on 2 quiet cores; median r over
the new subject's visual vertices, mean of 3 world seeds, 95 % CI): ridge on the
default features 0.396 [0.360, 0.433], oracle 0.754 [0.729, 0.768], mismatched
features 0.121 [0.099, 0.139]; ensemble from 300 images 0.362 [0.320, 0.397] against
full data (3,000 images) 0.396, the same 300 images 0.286 and the cohort average
0.366 (not equivalent to full data within +/-0.02: the published claim fails at
this depth); recovery of the subject's own deviation: ensemble 0.152, cohort
average 0.083, the same 300 images 0.163, full data 0.367.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from cortex2image.world_claims import WorldData, build_claims, fit_encoders, measure_encoding
from encoding.features import DEFAULT_FEATURES, default_extractor, mismatched_extractor
from encoding.from_nsd import nsd_image_features
from encoding.simulation import load_cohort, simulate_cohort
from neurokit.datasets import NSD
from neurokit.statistics import BootstrapDistribution

pytestmark = pytest.mark.slow

COHORT = dict(n_subjects=8, n_images=520, n_shared=100, level=4, image_size=64, progress=False)
LONG = os.environ.get("NEUROKIT_LONG_TESTS") == "1"
LONG_COHORT = dict(n_subjects=8, n_images=3300, n_shared=300, level=4, image_size=64, progress=False)
N_FEW = 300


def _world_from_files(root, seed):
    """A :class:`WorldData` read from the NSD tree at ``root`` (responses and ROI labels from its files)."""
    nsd = NSD(root)
    cohort = load_cohort(root)
    level = nsd.file_level(1)
    names = [n for fam in ("prf-visualrois", "floc-faces", "floc-bodies", "floc-places", "nsdgeneral")
             for n in nsd.roi_labels(1, fam)[1].values()]
    return WorldData(seed=seed, subjects=list(nsd.subjects), responses=nsd.responses,
                     roi_masks=lambda k: {n: nsd.roi_mask(k, n, level) for n in names}, truth=cohort.subjects,
                     clean=cohort.clean_responses, images=lambda ids: nsd.images(ids, size=64),
                     shared_ids=nsd.shared1000), nsd


def _measure(tmp_path_factory, settings, seeds):
    cohort = simulate_cohort(**settings, seed=seeds[0])
    root = cohort.write(tmp_path_factory.mktemp("world") / "nsd", progress=False)
    world, nsd = _world_from_files(root, seeds[0])
    ids = np.arange(len(cohort.images))
    feats = {name: nsd_image_features(nsd, ids, ext, DEFAULT_FEATURES, image_size=64)
             for name, ext in (("default", default_extractor(64)), ("mismatched", mismatched_extractor(64)))}
    worlds = [world] + [WorldData.from_cohort(cohort.replicate(s)) for s in seeds[1:]]
    out = []
    for w in worlds:
        encoders = fit_encoders(w, lambda i: feats["default"][i])
        out.append(measure_encoding(w, lambda i: feats["default"][i], lambda i: feats["mismatched"][i], encoders,
                                    n_few=N_FEW, n_boot=500, report_rois=("FFA-1", "EBA", "PPA")))
    return cohort, out


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    if LONG:
        return _measure(tmp_path_factory, LONG_COHORT, [0, 1, 2])
    return _measure(tmp_path_factory, COHORT, [0])


def _paired(results, a, b):
    """CI of statistic ``a`` minus ``b``, combined over world seeds (paired resamples)."""
    from neurokit.statistics import combine_seeds

    return combine_seeds([BootstrapDistribution.from_dict(r["distributions"][a])
                          - BootstrapDistribution.from_dict(r["distributions"][b]) for r in results]).ci()


def test_the_photo_disjoint_split_holds_in_the_written_tree(measured):
    cohort, _ = measured
    photos = np.asarray(cohort.labels["photo"])
    shared = np.isin(np.arange(len(photos)), cohort.shared_ids)
    assert shared.sum() == cohort.params.n_shared
    assert not set(photos[shared]) & set(photos[~shared])


def test_default_features_beat_mismatched_ones_and_fall_short_of_the_oracle(measured):
    _, results = measured
    assert _paired(results, "encoder.default", "encoder.mismatched").low > 0
    gap = _paired(results, "encoder.oracle", "encoder.default")
    assert gap.low > 0.05, gap  # the features are not the brain's: clearly below the noise-free truth


def test_the_ensemble_beats_ridge_on_the_same_few_images(measured):
    _, results = measured
    assert _paired(results, "ensemble.ensemble", "ensemble.same_few_images").low > 0


def test_own_data_recover_the_subjects_own_deviation_better_than_the_cohort_average(measured):
    _, results = measured
    assert _paired(results, "deviation.full_data", "deviation.cohort_average").low > 0
    for r in results:  # the subject's response is partly outside the span of the others'
        assert r["summary"]["private_variance_fraction"] > 0.1


def test_claims_are_computed_from_the_intervals(measured):
    _, results = measured
    claims = {c.id: c for c in build_claims([r["distributions"] for r in results], [], (), n_few=N_FEW,
                                            n_full=results[0]["n_full"])}
    assert claims["encoder_accuracy"].holds
    ens = claims["ensemble_vs_full"].to_dict()
    diff = ens["comparison"]["differences"]["full_data"]
    # holds iff the 90 % interval of the difference lies inside the margin: recomputed here
    margin = ens["comparison"]["margin"]
    assert ens["holds"] == (-margin < diff["ci"][0] and diff["ci"][1] < margin)


@pytest.mark.skipif(not LONG, reason="long acceptance test; set NEUROKIT_LONG_TESTS=1 to run it")
def test_nsd_scale_three_world_seeds_report(measured):
    """At NSD depth the sanity of the claims over 3 world seeds; prints the table the closing note quotes."""
    _, results = measured
    assert len(results) == 3 and all(r["n_full"] >= 3000 for r in results)
    claims = build_claims([r["distributions"] for r in results], [], (), n_few=N_FEW, n_full=results[0]["n_full"])
    for c in claims:
        d = c.to_dict()
        print(d["id"], d["value"], d["ci"], {k: (v["value"], v["ci"]) for k, v in d["baselines"].items()},
              d["seeds"], d["holds"])

"""Every public function and constructor of neurokit.io and neurokit.datasets that takes a count, a size or a
seed refuses a bool, a float where an integer is meant, a value out of range and a string, with an
InvalidParameterError naming the argument, before it reads or writes anything."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurokit.datasets import NSD, Algonauts2023, NSDDesign, NSDLayout, RepeatAverager, zscore_sessions
from neurokit.datasets.nsd_layout import subject_dir_name
from neurokit.datasets.photo_bank import build_photo_bank, load_photo_bank, photo_disjoint_split, sample_crops
from neurokit.datasets.stimuli import load_embedded_stimuli
from neurokit.exceptions import InvalidParameterError
from neurokit.io import project_volume_to_surface
from neurokit.io.mgh import read_mgh_rows

POSITIVE = [True, 2.5, "3", 0, -1]  # bool, float where an int is meant, string, out of range
NON_NEGATIVE = [True, 2.5, "3", -1]
FRACTION = [True, "0.2", 0.0, 1.0, math.nan]


def _root(tmp_path_factory):
    return tmp_path_factory.mktemp("root")


# (label, call(value, tmp) -> None, argument name, bad values)
CASES = [
    ("NSDDesign.simulate n_subjects", lambda v, t: NSDDesign.simulate(n_subjects=v), "n_subjects", POSITIVE),
    ("NSDDesign.simulate n_images", lambda v, t: NSDDesign.simulate(n_images=v), "n_images", POSITIVE),
    ("NSDDesign.simulate n_shared", lambda v, t: NSDDesign.simulate(n_shared=v), "n_shared",
     NON_NEGATIVE + [10_001]),
    ("NSDDesign.simulate n_repeats", lambda v, t: NSDDesign.simulate(n_repeats=v), "n_repeats", POSITIVE),
    ("NSDDesign.simulate trials_per_session", lambda v, t: NSDDesign.simulate(trials_per_session=v),
     "trials_per_session", POSITIVE),
    ("NSDDesign.simulate n_stimuli", lambda v, t: NSDDesign.simulate(n_stimuli=v), "n_stimuli", POSITIVE),
    ("NSDDesign.simulate seed", lambda v, t: NSDDesign.simulate(seed=v), "seed", NON_NEGATIVE),
    ("NSDDesign.trial_nsd_ids subject",
     lambda v, t: NSDDesign.simulate(n_subjects=1, n_images=10, n_shared=2, trials_per_session=30,
                                     n_stimuli=20).trial_nsd_ids(v), "subject", POSITIVE),
    ("subject_dir_name subject", lambda v, t: subject_dir_name(v), "subject", POSITIVE),
    ("NSDLayout.betas session", lambda v, t: NSDLayout(t).betas(1, v, "lh"), "session", POSITIVE),
    ("NSDLayout.volume_betas session", lambda v, t: NSDLayout(t).volume_betas(1, v), "session", POSITIVE),
    ("NSDLayout.betas_dir subject", lambda v, t: NSDLayout(t).betas_dir(v), "subject", POSITIVE),
    ("NSD.images size", lambda v, t: NSD(t).images([0], size=v), "size", POSITIVE),
    ("NSD.images batch", lambda v, t: NSD(t).images([0], batch=v), "batch", POSITIVE),
    ("RepeatAverager n_columns", lambda v, t: RepeatAverager(np.arange(3), v), "n_columns", NON_NEGATIVE),
    ("zscore_sessions trials_per_session", lambda v, t: zscore_sessions(np.zeros((4, 2)), v),
     "trials_per_session", POSITIVE),
    ("Algonauts2023.subject_dir subject", lambda v, t: Algonauts2023(t).subject_dir(v), "subject", POSITIVE),
    ("Algonauts2023.images size", lambda v, t: Algonauts2023(t).images(1, size=v), "size", POSITIVE),
    ("build_photo_bank size", lambda v, t: build_photo_bank(v, cache_dir=t), "size", POSITIVE + [8, 40]),
    ("build_photo_bank min_side", lambda v, t: build_photo_bank(16, min_side=v, cache_dir=t), "min_side", POSITIVE),
    ("load_photo_bank size", lambda v, t: load_photo_bank(v, cache_dir=t), "size", POSITIVE + [8]),
    ("load_photo_bank min_side", lambda v, t: load_photo_bank(16, min_side=v, cache_dir=t), "min_side", POSITIVE),
    ("photo_disjoint_split test_fraction", lambda v, t: photo_disjoint_split(None, v), "test_fraction", FRACTION),
    ("photo_disjoint_split seed", lambda v, t: photo_disjoint_split(None, 0.2, seed=v), "seed", NON_NEGATIVE),
    ("sample_crops n", lambda v, t: sample_crops(None, [0], v, 8), "n", POSITIVE),
    ("sample_crops size", lambda v, t: sample_crops(None, [0], 2, v), "size", POSITIVE),
    ("sample_crops seed", lambda v, t: sample_crops(None, [0], 2, 8, seed=v), "seed", NON_NEGATIVE),
    ("sample_crops jitter", lambda v, t: sample_crops(None, [0], 2, 8, jitter=v), "jitter", [True, "0.1", -0.1, 0.6]),
    ("sample_crops scale", lambda v, t: sample_crops(None, [0], 2, 8, scale=v), "scale",
     [(True, 1.0), ("0.5", 1.0), (0.0, 1.0), (0.9, 0.5), (0.5,), 0.5]),
    ("load_embedded_stimuli n", lambda v, t: load_embedded_stimuli(v, size=8), "n", POSITIVE),
    ("load_embedded_stimuli size", lambda v, t: load_embedded_stimuli(2, size=v), "size", POSITIVE),
    ("load_embedded_stimuli seed", lambda v, t: load_embedded_stimuli(2, size=8, seed=v), "seed", NON_NEGATIVE),
    ("project_volume_to_surface n_samples",
     lambda v, t: project_volume_to_surface(t / "missing.nii", n_samples=v), "n_samples", POSITIVE),
    ("project_volume_to_surface radius",
     lambda v, t: project_volume_to_surface(t / "missing.nii", radius=v), "radius", [True, "3", 0.0, -1.0]),
    ("read_mgh_rows start", lambda v, t: read_mgh_rows(t / "missing.mgh", v, 4), "start", NON_NEGATIVE),
    ("read_mgh_rows stop", lambda v, t: read_mgh_rows(t / "missing.mgh", 2, v), "stop", [True, 2.5, "3", 2, 1]),
]

PARAMS = [pytest.param(call, name, value, id=f"{label}={value!r}")
          for label, call, name, values in CASES for value in values]


@pytest.mark.parametrize("call, name, value", PARAMS)
def test_invalid_parameter_is_refused_naming_the_argument(call, name, value, tmp_path):
    with pytest.raises(InvalidParameterError) as info:
        call(value, tmp_path)
    assert name in str(info.value)
    assert not any(tmp_path.iterdir()), "nothing is written before the parameters are checked"


def test_valid_integer_types_are_accepted(tmp_path):
    """One idea of an integer: numpy integers pass wherever Python ints do."""
    design = NSDDesign.simulate(n_subjects=np.int64(1), n_images=np.int32(10), n_shared=np.int64(2),
                                trials_per_session=np.int64(30), n_stimuli=np.int64(20), seed=np.int64(3))
    same = NSDDesign.simulate(n_subjects=1, n_images=10, n_shared=2, trials_per_session=30, n_stimuli=20, seed=3)
    np.testing.assert_array_equal(design.subjectim, same.subjectim)
    np.testing.assert_array_equal(design.masterordering, same.masterordering)
    assert NSDLayout(tmp_path).betas(np.int64(2), np.int16(3), "lh").name == "lh.betas_session03.mgh"

"""Algonauts 2023 reader on a small hand-built tree (fsaverage level 2)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from neurokit.datasets import Algonauts2023, load_pickled_mapping
from neurokit.exceptions import (
    DatasetNotFoundError,
    DataValidationError,
    FileFormatError,
    HemisphereMismatchError,
    InvalidParameterError,
    VertexCountError,
)
from neurokit.mesh.levels import n_vertices

V = n_vertices(2)
FACES = {0: "Unknown", 1: "OFA", 2: "FFA-1"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("algonauts")
    subj = root / "subj03"
    rng = np.random.default_rng(0)
    fmri_dir = subj / "training_split" / "training_fmri"
    train_dir = subj / "training_split" / "training_images"
    test_dir = subj / "test_split" / "test_images"
    masks_dir = subj / "roi_masks"
    for d in (fmri_dir, train_dir, test_dir, masks_dir):
        d.mkdir(parents=True)
    masks = {"lh": np.zeros(V, np.float32), "rh": np.zeros(V, np.float32)}
    masks["lh"][[1, 5, 6, 40, 100]] = 1
    masks["rh"][[0, 2, 150]] = 1
    fmri = {h: rng.normal(size=(4, int(m.sum()))).astype(np.float32) for h, m in masks.items()}
    faces = {h: np.zeros(V, np.int64) for h in masks}
    faces["lh"][[5, 6]] = 2
    faces["lh"][40] = 1
    faces["rh"][150] = 2
    for h in ("lh", "rh"):
        np.save(masks_dir / f"{h}.all-vertices_fsaverage_space.npy", masks[h])
        np.save(fmri_dir / f"{h}_training_fmri.npy", fmri[h])
        np.save(masks_dir / f"{h}.floc-faces_fsaverage_space.npy", faces[h])
        np.save(masks_dir / f"{h}.floc-faces_challenge_space.npy", faces[h][masks[h] != 0])
    np.save(masks_dir / "mapping_floc-faces.npy", FACES)  # pickled dict, as in the release
    ids = [13, 2950, 72999, 0]
    images = rng.integers(0, 256, size=(4, 9, 9, 3), dtype=np.uint8)
    for i, (nsd, im) in enumerate(zip(ids, images)):
        Image.fromarray(im).save(train_dir / f"train-{i + 1:04d}_nsd-{nsd:05d}.png")
    Image.fromarray(images[0]).save(test_dir / "test-0001_nsd-00845.png")
    return {"root": root, "masks": masks, "fmri": fmri, "faces": faces, "ids": ids, "images": images}


def test_training_fmri_mapped_to_fsaverage(tree):
    ds = Algonauts2023(tree["root"])
    assert ds.subjects == [3] and ds.level(3) == 2
    surf = ds.training_fmri(3)
    assert surf.level == 2 and surf.data.shape == (4, 2 * V)
    np.testing.assert_array_equal(surf.left[:, [1, 5, 6, 40, 100]], tree["fmri"]["lh"])
    np.testing.assert_array_equal(surf.right[:, [0, 2, 150]], tree["fmri"]["rh"])
    assert np.isnan(surf.left[:, 0]).all() and np.isfinite(surf.data).sum() == 4 * 8
    filled = ds.training_fmri(3, fill=0.0)
    assert filled.left[0, 0] == 0.0
    coarse = ds.training_fmri(3, level=1)  # keeps vertices < 42
    np.testing.assert_array_equal(coarse.left[:, [1, 5, 6, 40]], tree["fmri"]["lh"][:, :4])
    np.testing.assert_array_equal(coarse.right[:, [0, 2]], tree["fmri"]["rh"][:, :2])
    chal = ds.training_fmri(3, space="challenge")
    np.testing.assert_array_equal(chal, np.c_[tree["fmri"]["lh"], tree["fmri"]["rh"]])
    np.testing.assert_array_equal(ds.challenge_vertices(3), [1, 5, 6, 40, 100, V, V + 2, V + 150])


def test_images_and_ids(tree):
    ds = Algonauts2023(tree["root"])
    np.testing.assert_array_equal(ds.image_ids(3), tree["ids"])
    np.testing.assert_array_equal(ds.image_ids(3, "test"), [845])
    imgs = ds.images(3)
    np.testing.assert_allclose(imgs, tree["images"] / 255.0, atol=1e-6)
    sub = ds.images(3, indices=[2], size=5)
    assert sub.shape == (1, 5, 5, 3) and sub.dtype == np.float32
    with pytest.raises(InvalidParameterError, match="split"):
        ds.images(3, split="validation")


def test_roi_masks_and_safe_mapping(tree):
    ds = Algonauts2023(tree["root"])
    assert ds.roi_mapping(3, "floc-faces") == FACES
    ffa = ds.roi_mask(3, "FFA-1")
    np.testing.assert_array_equal(np.flatnonzero(ffa), [5, 6, V + 150])
    fam = ds.roi_mask(3, "floc-faces")
    np.testing.assert_array_equal(np.flatnonzero(fam), [5, 6, 40, V + 150])
    chal = ds.roi_mask(3, "FFA-1", space="challenge")
    np.testing.assert_array_equal(ds.challenge_vertices(3)[chal], [5, 6, V + 150])
    assert ds.roi_mask(3, "OFA", level=1).shape == (2 * n_vertices(1),)
    with pytest.raises(DataValidationError, match="not found"):
        ds.roi_mask(3, "PPA")


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickled_mapping_rejects_code(tmp_path):
    path = tmp_path / "mapping_evil.npy"
    np.save(path, np.array(_Evil(), dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="not allowed"):
        load_pickled_mapping(path)
    np.save(tmp_path / "m.npy", {1: 2})
    with pytest.raises(FileFormatError, match="int -> str"):
        load_pickled_mapping(tmp_path / "m.npy")
    np.save(tmp_path / "num.npy", np.arange(3))
    with pytest.raises(FileFormatError, match="dtype"):
        load_pickled_mapping(tmp_path / "num.npy")


def test_errors_name_the_files(tree, tmp_path, monkeypatch):
    monkeypatch.delenv("NEUROKIT_ALGONAUTS_DIR", raising=False)
    with pytest.raises(DatasetNotFoundError, match="Algonauts 2023 root"):
        Algonauts2023(tmp_path / "none")
    monkeypatch.setenv("NEUROKIT_ALGONAUTS_DIR", str(tree["root"]))
    ds = Algonauts2023()
    with pytest.raises(DatasetNotFoundError, match="subj01"):
        ds.training_fmri(1)
    bad = tmp_path / "subj01" / "roi_masks"
    bad.mkdir(parents=True)
    np.save(bad / "lh.all-vertices_fsaverage_space.npy", np.ones(100))
    np.save(bad / "rh.all-vertices_fsaverage_space.npy", np.ones(100))
    with pytest.raises(VertexCountError, match=r"lh\.all-vertices_fsaverage_space\.npy.*100 vertices"):
        Algonauts2023(tmp_path).training_fmri(1)
    np.save(bad / "lh.all-vertices_fsaverage_space.npy", np.ones(V))
    np.save(bad / "rh.all-vertices_fsaverage_space.npy", np.ones(V))
    fmri = tmp_path / "subj01" / "training_split" / "training_fmri"
    fmri.mkdir(parents=True)
    np.save(fmri / "lh_training_fmri.npy", np.zeros((2, 7), np.float32))
    np.save(fmri / "rh_training_fmri.npy", np.zeros((2, V), np.float32))
    with pytest.raises(VertexCountError, match=r"lh_training_fmri\.npy: expected shape \(n_train, 162\)"):
        Algonauts2023(tmp_path).training_fmri(1)
    np.save(fmri / "lh_training_fmri.npy", np.array([{1: 2}], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="lh_training_fmri.npy"):
        Algonauts2023(tmp_path).training_fmri(1)
    # the two hemispheres disagree: both files are named
    np.save(fmri / "lh_training_fmri.npy", np.zeros((3, V), np.float32))
    with pytest.raises(HemisphereMismatchError, match=r"lh_training_fmri\.npy has 3 images but .*rh_training_fmri"):
        Algonauts2023(tmp_path).training_fmri(1)
    # a header declaring more data than the file holds is refused before allocating
    (fmri / "lh_training_fmri.npy").write_bytes(
        (fmri / "rh_training_fmri.npy").read_bytes().replace(b"(2, 162)", b"(9, 162)", 1))
    with pytest.raises(FileFormatError, match=r"lh_training_fmri\.npy: truncated or corrupt .npy file"):
        Algonauts2023(tmp_path).training_fmri(1)

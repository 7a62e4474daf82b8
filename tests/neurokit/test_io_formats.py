"""The one MGH and the one GIfTI implementation (neurokit.io.mgh, neurokit.io.gifti) on their own."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from neurokit import io as nkio
from neurokit.exceptions import DatasetNotFoundError, FileFormatError, InvalidParameterError
from neurokit.io.surface_image import is_surface_image
from neurokit.mesh.levels import n_vertices


def test_save_and_read_mgh_frames_in_fortran_order(tmp_path):
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(6, 1, 2, 3)).astype(np.float32)  # spatial axes split, as old FreeSurfer did
    for name in ("x.mgh", "x.mgz"):
        path = nkio.save_mgh(tmp_path / name, volume)
        values, shape = nkio.read_mgh(path)
        assert shape == (6, 1, 2, 3) and values.shape == (3, 12)
        np.testing.assert_array_equal(values, volume.reshape(-1, 3, order="F").T)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary left behind"


def test_mgh_shape_and_row_reads_match_the_whole_file(tmp_path):
    betas = np.random.default_rng(1).normal(size=(5, n_vertices(1))).astype(np.float32)
    path = nkio.write_mgh(tmp_path / "lh.betas.mgh", betas)
    shape, dtype = nkio.mgh_shape(path)
    assert shape == (n_vertices(1), 1, 1, 5) and dtype == np.dtype(">f4")
    np.testing.assert_array_equal(nkio.read_mgh_rows(path, 3, 9), betas[:, 3:9].T)
    np.testing.assert_array_equal(nkio.read_mgh_rows(path, 0, n_vertices(1)), betas.T)
    with pytest.raises(DatasetNotFoundError):
        nkio.mgh_shape(tmp_path / "missing.mgh")
    nkio.write_mgh(tmp_path / "lh.betas.mgz", betas)
    with pytest.raises(FileFormatError, match="uncompressed"):
        nkio.read_mgh_rows(tmp_path / "lh.betas.mgz", 0, 2)
    (tmp_path / "cut.mgh").write_bytes(path.read_bytes()[:400])
    with pytest.raises(FileFormatError, match="cut.mgh"):
        nkio.mgh_shape(tmp_path / "cut.mgh")


def test_write_mgh_stores_labels_as_int32(tmp_path):
    labels = np.arange(n_vertices(0)) % 4
    path = nkio.write_mgh(tmp_path / "lh.labels.mgz", labels, dtype=np.int32)
    img = nib.load(path)
    assert img.get_data_dtype() == np.dtype(">i4") and img.shape == (n_vertices(0), 1, 1)
    np.testing.assert_array_equal(np.asarray(img.dataobj).ravel(), labels)
    assert nib.load(nkio.write_mgh(tmp_path / "lh.values.mgh", labels)).get_data_dtype() == np.dtype(">f4")
    with pytest.raises(InvalidParameterError, match="dtype"):
        nkio.write_mgh(tmp_path / "lh.x.mgh", labels, dtype=np.float64)


def test_save_and_read_gifti(tmp_path):
    values = np.random.default_rng(2).normal(size=(2, n_vertices(0))).astype(np.float32)
    for name in ("lh.x.func.gii", "lh.x.func.gii.gz"):
        path = nkio.save_gifti(tmp_path / name, values, hemi="left")
        back, meta = nkio.read_gifti(path)
        np.testing.assert_array_equal(back, values)
        assert meta["hemisphere"] == "left" and meta["format"] == "gifti"
    assert gzip.decompress((tmp_path / "lh.x.func.gii.gz").read_bytes()).lstrip().startswith(b"<?xml")
    _, meta = nkio.read_gifti(nkio.save_gifti(tmp_path / "x.func.gii", values))
    assert "hemisphere" not in meta
    (tmp_path / "bad.gii").write_bytes(b"<?xml version='1.0'?><GIFTI")
    with pytest.raises(FileFormatError, match="bad.gii"):
        nkio.read_gifti(tmp_path / "bad.gii")


def test_is_surface_image():
    surface = pytest.importorskip("nilearn.surface")
    from neurokit import SurfaceData

    sd = SurfaceData(np.zeros((1, 2 * n_vertices(5)), dtype=np.float32), 5)
    assert is_surface_image(nkio.to_surface_image(sd))
    assert not is_surface_image(sd) and not is_surface_image(np.zeros(3))
    assert surface.SurfaceImage.__name__ == "SurfaceImage"

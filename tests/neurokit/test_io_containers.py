"""The shared container checks of neurokit.io.containers, called directly."""

import gzip
import io

import nibabel as nib
import numpy as np
import pytest

from neurokit.exceptions import (
    DatasetNotFoundError,
    FileFormatError,
    HemisphereMismatchError,
    UnsupportedFormatError,
)
from neurokit.io import containers


def test_existing_file_and_reading(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="nope.mgh: no such file"):
        containers.existing_file(tmp_path / "nope.mgh")
    with pytest.raises(FileFormatError, match="is a folder, expected a NIfTI file"):
        containers.existing_file(tmp_path, "NIfTI")
    (tmp_path / "x").write_bytes(b"")
    assert containers.existing_file(str(tmp_path / "x")) == tmp_path / "x"
    with pytest.raises(FileFormatError, match=r"x: cannot read as MGH.*AssertionError"):
        with containers.reading(tmp_path / "x", "MGH"):
            raise AssertionError("from a parser")
    with pytest.raises(HemisphereMismatchError):  # toolkit errors pass through unchanged
        with containers.reading(tmp_path / "x", "MGH"):
            raise HemisphereMismatchError("x")
    with pytest.raises(MemoryError):  # a valid file too big for this machine is not called corrupt
        with containers.reading(tmp_path / "x", "MGH"):
            raise MemoryError


def test_gzip_read_and_scan(tmp_path):
    data = np.random.default_rng(0).bytes(200_000)
    p = tmp_path / "a.nii.gz"
    p.write_bytes(gzip.compress(data))
    assert containers.is_gzip_name(p) and containers.is_gzip_name("lh.x.MGZ")
    assert not containers.is_gzip_name("lh.x.mgh")
    assert containers.read_gzip(p) == data
    assert containers.scan_gzip(p, 540) == (data[:540], len(data))
    bad = bytearray(p.read_bytes())
    bad[-6] ^= 1  # CRC
    p.write_bytes(bytes(bad))
    for call in (containers.read_gzip, lambda q: containers.scan_gzip(q, 10)):
        with pytest.raises(FileFormatError, match="a.nii.gz: corrupt gzip stream"):
            call(p)


def test_declared_size(tmp_path):
    f4 = np.dtype("<f4")
    containers.check_declared_size(tmp_path, "X", (2, 3), f4, 10, 34)
    with pytest.raises(FileFormatError, match=r"declares shape \(2, 3\).*34 bytes.*33 bytes"):
        containers.check_declared_size(tmp_path, "X", (2, 3), f4, 10, 33)
    with pytest.raises(FileFormatError, match="every dimension >= 1"):
        containers.check_declared_size(tmp_path, "X", (2, 0), f4, 10, 100)


def test_headers_of_valid_files(tmp_path):
    mgh = nib.MGHImage(np.zeros((12, 1, 1, 2), np.int16), np.eye(4)).to_bytes()
    assert containers.mgh_header(tmp_path, mgh[: containers.MGH_HEADER_BYTES], len(mgh)) == (
        (12, 1, 1, 2), np.dtype(">i2"))
    with pytest.raises(FileFormatError, match="truncated"):
        containers.mgh_header(tmp_path, mgh[: containers.MGH_HEADER_BYTES], containers.MGH_HEADER_BYTES + 12 * 2 * 2 - 1)
    nii = nib.Nifti2Image(np.zeros((4, 3, 2), np.float32), np.eye(4)).to_bytes()
    hdr = containers.nifti_header(tmp_path, nii[:540], len(nii))
    assert isinstance(hdr, nib.Nifti2Header) and hdr.get_data_shape() == (4, 3, 2)
    pair = bytearray(nib.Nifti1Image(np.zeros((4, 3, 2), np.float32), np.eye(4)).to_bytes())
    pair[344:348] = b"ni1\0"
    with pytest.raises(UnsupportedFormatError, match=r"\.hdr/\.img"):
        containers.nifti_header(tmp_path, bytes(pair), len(pair))
    buf = io.BytesIO()
    np.save(buf, np.zeros((3, 5), ">i4"))
    raw = buf.getvalue()
    assert containers.npy_header(tmp_path, io.BytesIO(raw), len(raw)) == ((3, 5), False, np.dtype(">i4"))
    with pytest.raises(FileFormatError, match="truncated"):
        containers.npy_header(tmp_path, io.BytesIO(raw), len(raw) - 1)
    (tmp_path / "a.npy").write_bytes(raw)
    np.testing.assert_array_equal(containers.load_npy(tmp_path / "a.npy"), np.zeros((3, 5)))
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="o.npy: expected numeric data"):
        containers.load_npy(tmp_path / "o.npy")


def test_gifti_external_data_refused(tmp_path):
    containers.check_gifti_bytes(tmp_path, b'<DataArray Encoding="GZipBase64Binary">')
    containers.check_gifti_bytes(tmp_path, b"<Value>ExternalFileBinary is an encoding</Value>")  # only the attribute counts
    with pytest.raises(UnsupportedFormatError, match="ExternalFileBinary"):
        containers.check_gifti_bytes(tmp_path, b'<DataArray Encoding="ExternalFileBinary">')

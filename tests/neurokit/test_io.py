from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from neurokit import SurfaceData
from neurokit import io as nkio
from neurokit.exceptions import (
    DatasetNotFoundError,
    DataValidationError,
    FileFormatError,
    HemisphereMismatchError,
    InvalidParameterError,
    MeshUnavailableError,
    NonFiniteDataError,
    UnsupportedFormatError,
    VertexCountError,
)

NIB_DATA = Path(nib.__file__).parent / "tests" / "data"
GIFTI_DATA = Path(nib.__file__).parent / "gifti" / "tests" / "data"
EXTS = [".mgh", ".mgz", ".func.gii", ".shape.gii", ".gii.gz", ".npy"]


@pytest.fixture
def hemis():
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 642)).astype(np.float32), rng.normal(size=(4, 642)).astype(np.float32)


@pytest.mark.parametrize("ext", EXTS)
def test_round_trip_each_format(tmp_path, hemis, ext):
    left, right = hemis
    sd = SurfaceData.from_hemispheres(left, right)
    lp, rp = tmp_path / f"lh.betas{ext}", tmp_path / f"rh.betas{ext}"
    assert nkio.write_surface_data(sd, lp, rp) == (lp, rp)
    back = nkio.read_hemispheres(lp, rp)
    assert back.level == 3 and back.data.shape == (4, 1284)
    np.testing.assert_array_equal(back.data, sd.data)
    # one path is enough when the name says the hemisphere
    np.testing.assert_array_equal(nkio.read_surface_data(rp).data, sd.data)
    np.testing.assert_array_equal(nkio.read_surface_data([lp, rp]).data, sd.data)
    one = nkio.read_hemisphere(lp, hemi="left", level=3)
    np.testing.assert_array_equal(one, left)
    # no temporary files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([lp.name, rp.name])


def test_single_sample_and_nsd_4d_mgh(tmp_path, hemis):
    left, _ = hemis
    p = tmp_path / "lh.one.mgz"
    nkio.write_mgh(p, left[0])
    assert nib.load(p).shape == (642, 1, 1)
    np.testing.assert_array_equal(nkio.read_hemisphere(p), left[:1])
    p4 = tmp_path / "lh.betas_session01.mgh"
    nkio.write_mgh(p4, left)
    assert nib.load(p4).shape == (642, 1, 1, 4)  # NSD's (V, 1, 1, T)
    np.testing.assert_array_equal(nkio.read_surface_array(p4), left)


def test_freesurfer_split_ico_layout(tmp_path):
    """Old FreeSurfer stores vertices over several spatial axes; they are flattened column-major."""
    values = np.arange(162, dtype=np.float32)
    vol = values.reshape(27, 1, 6, order="F")
    p = tmp_path / "lh.split.mgh"
    nib.save(nib.MGHImage(vol, np.eye(4)), p)
    np.testing.assert_array_equal(nkio.read_hemisphere(p)[0], values)


def test_multi_array_gifti_is_samples(tmp_path, hemis):
    left, _ = hemis
    p = tmp_path / "lh.multi.func.gii"
    nkio.write_gifti(p, left)
    img = nib.load(p)
    assert len(img.darrays) == 4 and img.meta["AnatomicalStructurePrimary"] == "CortexLeft"
    # a single 2-D (vertices, samples) data array reads the same way
    p2 = tmp_path / "lh.cols.gii"
    nib.save(nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(np.ascontiguousarray(left.T))]), p2)
    np.testing.assert_array_equal(nkio.read_hemisphere(p2), left)


def test_npy_both_hemispheres_in_one_file(tmp_path, hemis):
    sd = SurfaceData.from_hemispheres(*hemis)
    p = tmp_path / "responses.npy"
    nkio.write_surface_data(sd, p)
    back = nkio.read_surface_data(p)
    np.testing.assert_array_equal(back.data, sd.data)
    with pytest.raises(UnsupportedFormatError, match=".npy"):
        nkio.write_surface_data(sd, tmp_path / "both.mgh")


def test_npy_never_unpickles(tmp_path):
    p = tmp_path / "lh.obj.npy"
    np.save(p, np.array([{"a": 1}] * 642, dtype=object), allow_pickle=True)
    with pytest.raises(FileFormatError, match="lh.obj.npy"):
        nkio.read_hemisphere(p)


def test_surface_image_round_trip(hemis):
    rng = np.random.default_rng(1)
    sd = SurfaceData.from_hemispheres(rng.normal(size=(3, 10242)), rng.normal(size=(3, 10242)))
    img = nkio.to_surface_image(sd)
    from nilearn.surface import SurfaceImage

    assert isinstance(img, SurfaceImage) and img.shape == (20484, 3)
    back = nkio.read_surface_data(img)
    np.testing.assert_array_equal(back.data, sd.data)
    np.testing.assert_array_equal(nkio.from_surface_image(nkio.to_surface_image(sd, mesh="inflated")).data, sd.data)
    with pytest.raises(InvalidParameterError, match="mesh"):
        nkio.to_surface_image(sd, mesh="midthickness")


def test_surface_image_coarse_level_if_hierarchy_available(hemis):
    mesh = pytest.importorskip("neurokit.mesh")
    if not hasattr(mesh, "fsaverage_hemisphere"):
        pytest.skip("neurokit.mesh.fsaverage_hemisphere not available yet")
    sd = SurfaceData.from_hemispheres(*hemis)
    img = nkio.to_surface_image(sd)
    assert img.mesh.parts["left"].n_vertices == 642
    np.testing.assert_array_equal(nkio.from_surface_image(img).data, sd.data)


def test_hemisphere_detection():
    d = nkio.detect_hemisphere
    assert d("lh.betas_session01.mgh") == "left" and d("rh.ncsnr.mgh") == "right"
    assert d("sub-01_hemi-L_bold.func.gii") == "left" and d("sub-01_hemi-R_bold.func.gii") == "right"
    assert d("lh_training_fmri.npy") == "left" and d("x_right.npy") == "right"
    assert d("/data/lh/betas.mgh") is None  # folders do not count
    assert d("shell.mgh") is None and d("lh.right.mgh") is None


def test_hemisphere_mismatch_errors(tmp_path, hemis):
    left, right = hemis
    for name in ("lh.a.mgh", "lh.b.mgh", "rh.a.mgh", "hemi-L_a.func.gii"):
        nkio.write_hemisphere(tmp_path / name, left)
    with pytest.raises(HemisphereMismatchError, match="both files are labelled left"):
        nkio.read_hemispheres(tmp_path / "lh.a.mgh", tmp_path / "lh.b.mgh")
    with pytest.raises(HemisphereMismatchError, match="swapped"):
        nkio.read_hemispheres(tmp_path / "rh.a.mgh", tmp_path / "lh.a.mgh")
    with pytest.raises(HemisphereMismatchError, match="same file"):
        nkio.read_hemispheres(tmp_path / "lh.a.mgh", tmp_path / "lh.a.mgh")
    with pytest.raises(HemisphereMismatchError, match="lh.a.mgh"):
        nkio.read_hemisphere(tmp_path / "lh.a.mgh", hemi="right")
    # GIfTI metadata is checked too, even when the name is silent
    nkio.write_gifti(tmp_path / "data.func.gii", left, hemi="left")
    with pytest.raises(HemisphereMismatchError, match="data.func.gii"):
        nkio.read_hemisphere(tmp_path / "data.func.gii", hemi="right")
    # a level mismatch between the two files
    nkio.write_hemisphere(tmp_path / "rh.small.mgh", right[:, :162])
    with pytest.raises(HemisphereMismatchError, match="level"):
        nkio.read_hemispheres(tmp_path / "lh.a.mgh", tmp_path / "rh.small.mgh")
    # the writer refuses a name that says the other hemisphere
    sd = SurfaceData.from_hemispheres(left, right)
    with pytest.raises(HemisphereMismatchError):
        nkio.write_surface_data(sd, tmp_path / "rh.x.mgh", tmp_path / "lh.x.mgh")
    assert not (tmp_path / "rh.x.mgh").exists()


def test_missing_partner_and_missing_file(tmp_path, hemis):
    nkio.write_hemisphere(tmp_path / "lh.only.mgh", hemis[0])
    with pytest.raises(DatasetNotFoundError, match="rh.only.mgh"):
        nkio.read_surface_data(tmp_path / "lh.only.mgh")
    with pytest.raises(FileNotFoundError, match="nothere.mgh"):
        nkio.read_hemisphere(tmp_path / "nothere.mgh")
    with pytest.raises(InvalidParameterError, match="hemi"):
        nkio.read_hemisphere(tmp_path / "lh.only.mgh", hemi="up")


def test_wrong_vertex_count_and_level(tmp_path):
    p = tmp_path / "lh.bad.npy"
    np.save(p, np.zeros((2, 1000), np.float32))
    with pytest.raises(VertexCountError, match="lh.bad.npy"):
        nkio.read_hemisphere(p)
    with pytest.raises(VertexCountError, match="lh.bad.mgh"):
        nkio.write_mgh(tmp_path / "lh.bad.mgh", np.zeros(1000))
    nkio.write_hemisphere(tmp_path / "lh.ok.npy", np.zeros(642))
    with pytest.raises(VertexCountError, match="expected level 5"):
        nkio.read_hemisphere(tmp_path / "lh.ok.npy", level=5)


def test_non_finite(tmp_path, hemis):
    left, right = hemis
    left = left.copy()
    left[2, 7] = np.nan
    nkio.write_hemisphere(tmp_path / "lh.n.mgz", left)
    nkio.write_hemisphere(tmp_path / "rh.n.mgz", right)
    with pytest.raises(NonFiniteDataError, match=r"lh.n.mgz.*\(2, 7\)"):
        nkio.read_surface_data(tmp_path / "lh.n.mgz")
    sd = nkio.read_surface_data(tmp_path / "lh.n.mgz", allow_nan=True)
    assert np.isnan(sd.left[2, 7]) and np.isfinite(sd.right).all()


@pytest.mark.parametrize("ext", [".mgh", ".mgz", ".func.gii", ".gii.gz", ".npy"])
def test_truncated_files_name_the_file(tmp_path, hemis, ext):
    p = tmp_path / f"lh.cut{ext}"
    nkio.write_hemisphere(p, hemis[0])
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FileFormatError, match=f"lh.cut{ext}"):
        nkio.read_hemisphere(p)


def test_corrupt_gzip_and_garbage(tmp_path, hemis):
    p = tmp_path / "lh.bad.mgz"
    nkio.write_hemisphere(p, hemis[0])
    raw = bytearray(p.read_bytes())
    rng = np.random.default_rng(5)
    mid = len(raw) // 2
    raw[mid : mid + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    p.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="lh.bad.mgz"):
        nkio.read_hemisphere(p)
    g = tmp_path / "lh.plain.mgz"
    g.write_bytes(b"not gzip at all" * 10)
    with pytest.raises(FileFormatError, match="lh.plain.mgz"):
        nkio.read_hemisphere(g)
    x = tmp_path / "lh.bad.gii"
    x.write_text("<GIFTI><DataArray>")
    with pytest.raises(FileFormatError, match="lh.bad.gii"):
        nkio.read_hemisphere(x)


def _gzip_damage(raw: bytes, kind: str) -> bytes:
    out = bytearray(raw)
    if kind == "crc":
        out[-8] ^= 0x01
    elif kind == "isize":
        out[-1] ^= 0x01
    elif kind == "cut-trailer":
        out = out[:-4]
    else:  # a bit flip inside the deflate stream
        out[len(out) // 2] ^= 0x10
    return bytes(out)


@pytest.mark.parametrize("kind", ["crc", "isize", "cut-trailer", "deflate"])
@pytest.mark.parametrize("ext", [".mgz", ".gii.gz", ".nii.gz"])
def test_gzip_crc_and_length_are_checked_for_every_compressed_format(tmp_path, hemis, ext, kind):
    p = tmp_path / f"lh.bad{ext}"
    if ext == ".nii.gz":
        # large enough that nibabel's reads stop before the gzip trailer (small files are read to the end anyway)
        nib.save(nib.Nifti1Image(np.random.default_rng(1).normal(size=(40, 40, 40)).astype(np.float32), np.eye(4)), p)
        readers = [nkio.read_volume, lambda q: nkio.read_volume(q, load_data=False)]
    else:
        nkio.write_hemisphere(p, hemis[0])
        readers = [nkio.read_surface_array]
    p.write_bytes(_gzip_damage(p.read_bytes(), kind))
    for read in readers:
        with pytest.raises(FileFormatError, match=f"lh.bad{ext}"):
            read(p)


def _npy_with_header(shape: str, descr: str = "<f4", data: bytes = b"\0" * 64) -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * ((-(10 + len(header) + 1)) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data


def _mgh_with_dims(dims, code=3) -> bytes:
    import struct

    raw = bytearray(nib.MGHImage(np.zeros((12, 1, 1, 2), np.float32), np.eye(4)).to_bytes())
    raw[4:24] = struct.pack(">5i", *dims, code)
    return bytes(raw)


def _nifti_with_dims(dims) -> bytes:
    import struct

    raw = bytearray(nib.Nifti1Image(np.zeros((4, 3, 2), np.float32), np.eye(4)).to_bytes())
    raw[40:56] = struct.pack("<8h", *dims)
    return bytes(raw)


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("lh.zero.mgh", _mgh_with_dims((0, 1, 1, 2)), "dimensions"),  # was a bare MGHError
        ("lh.neg.mgh", _mgh_with_dims((-12, 1, 1, 2)), "dimensions"),
        ("lh.huge.mgh", _mgh_with_dims((2**31 - 1, 1, 1, 2)), "declares"),
        ("lh.type.mgh", _mgh_with_dims((12, 1, 1, 2), code=7), "data type code 7"),
        ("lh.huge.npy", _npy_with_header("(3, 10000000000)"), "declares"),  # was _ArrayMemoryError (112 GiB)
        ("lh.neg.npy", _npy_with_header("(-3, 5)"), "non-negative"),
        ("lh.token.npy", _npy_with_header("(3, 4").replace(b"False,", b"False, '"), "npy"),  # was TokenError
        ("lh.descr.npy", _npy_with_header("(3,)", descr="<f3"), "npy"),
        ("huge.nii", _nifti_with_dims([3, 32767, 32767, 32767, 1, 1, 1, 1]), "declares"),  # was MemoryError
        ("neg.nii", _nifti_with_dims([3, -4, 3, 2, 1, 1, 1, 1]), "dimensions"),  # was OverflowError
        ("ndim.nii", _nifti_with_dims([9, 4, 3, 2, 1, 1, 1, 1]), "dim\\[0\\]"),
    ],
)
def test_headers_are_checked_against_the_file_before_allocating(tmp_path, name, data, words):
    p = tmp_path / name
    p.write_bytes(data)
    read = nkio.read_volume if name.endswith(".nii") else nkio.read_surface_array
    with pytest.raises(FileFormatError, match=f"{name}.*{words}"):
        read(p)


def test_gifti_parser_errors_and_declared_dims(tmp_path, hemis):
    p = tmp_path / "lh.x.func.gii"
    nkio.write_gifti(p, hemis[0][:1])
    good = p.read_bytes()
    for old, new in [
        (b'encoding="UTF-8"', b'encoding="TTF-8"'),  # was LookupError: unknown encoding
        (b'Dimensionality="1"', b'Dimensionality="7"'),  # was a bare AssertionError from nibabel's parser
        (b'Dim0="642"', b'Dim0="-642"'),  # was accepted: data read although the dims disagree
        (b'Dim0="642"', b'Dim0="641"'),
    ]:
        assert old in good
        p.write_bytes(good.replace(old, new))
        with pytest.raises(FileFormatError, match="lh.x.func.gii"):
            nkio.read_surface_array(p)


def test_gifti_with_external_data_is_unsupported():
    for name in ("external.gii", "external.gii.gz"):  # nibabel's own files; was "truncated or corrupt"
        with pytest.raises(UnsupportedFormatError, match=f"{name}.*ExternalFileBinary.*not supported"):
            nkio.read_surface_array(GIFTI_DATA / name)


def test_valid_nifti_of_nibabel_reads_as_nibabel_does():
    for name in ("example4d.nii.gz", "example_nifti2.nii.gz", "anatomical.nii", "standard.nii.gz"):
        expected = np.asanyarray(nib.load(NIB_DATA / name).dataobj)
        np.testing.assert_array_equal(np.asanyarray(nkio.read_volume(NIB_DATA / name).dataobj), expected)
        assert nkio.read_volume(NIB_DATA / name, load_data=False).shape == expected.shape


def test_unsupported_format_lists_supported(tmp_path):
    p = tmp_path / "lh.x.csv"
    p.write_text("1,2,3")
    with pytest.raises(UnsupportedFormatError, match=r"lh.x.csv.*\.mgh, \.mgz, \.gii"):
        nkio.read_hemisphere(p)
    with pytest.raises(UnsupportedFormatError, match="read_volume"):
        nkio.read_surface_array(tmp_path / "x.nii.gz")
    with pytest.raises(UnsupportedFormatError):
        nkio.write_mgh(tmp_path / "lh.x.gii", np.zeros(642))


def test_nibabel_shipped_files():
    # task.func.gii: 10 time points on 642 vertices (fsaverage level 3)
    values = nkio.read_hemisphere(GIFTI_DATA / "task.func.gii")
    assert values.shape == (10, 642) and values.dtype == np.float32
    expected = np.stack([d.data for d in nib.load(GIFTI_DATA / "task.func.gii").darrays])
    np.testing.assert_array_equal(values, expected)
    # real curvature data on a subject's native mesh: clear vertex-count error
    with pytest.raises(VertexCountError, match=r"rh.shape.curv.gii.*133,764"):
        nkio.read_hemisphere(GIFTI_DATA / "rh.shape.curv.gii")
    assert nkio.read_surface_array(GIFTI_DATA / "gzipbase64.gii").shape == (1, 143479)
    # a mesh file is not data
    with pytest.raises(FileFormatError, match="ascii.gii.*mesh"):
        nkio.read_surface_array(GIFTI_DATA / "ascii.gii")
    # nibabel's test.mgz is a (3, 4, 5, 2) volume: 60 "vertices", 2 frames
    raw = nkio.read_surface_array(NIB_DATA / "test.mgz")
    vol = np.asanyarray(nib.load(NIB_DATA / "test.mgz").dataobj)
    np.testing.assert_array_equal(raw, vol.reshape(60, 2, order="F").T)
    with pytest.raises(VertexCountError, match="test.mgz"):
        nkio.read_hemisphere(NIB_DATA / "test.mgz")


def test_read_volume_and_projection(tmp_path):
    img = nkio.read_volume(NIB_DATA / "example4d.nii.gz")
    assert img.shape == (128, 96, 24, 2)
    p = tmp_path / "cut.nii.gz"
    raw = (NIB_DATA / "example4d.nii.gz").read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(FileFormatError, match="cut.nii.gz"):
        nkio.read_volume(p)
    with pytest.raises(UnsupportedFormatError, match="x.mgh"):
        nkio.read_volume(tmp_path / "x.mgh")
    # a smooth MNI field: x coordinate in mm, projected onto fsaverage
    affine = np.array([[2.0, 0, 0, -90], [0, 2, 0, -126], [0, 0, 2, -72], [0, 0, 0, 1]])
    ii = np.arange(91, dtype=np.float32)[:, None, None] * np.ones((91, 109, 91), np.float32)
    field = nib.Nifti1Image(2 * ii - 90, affine)
    nib.save(field, tmp_path / "field.nii.gz")
    sd = nkio.project_volume_to_surface(tmp_path / "field.nii.gz", level=3)
    assert sd.level == 3 and sd.data.shape == (1, 1284)
    assert sd.left.mean() < -20 and sd.right.mean() > 20  # left hemisphere has negative x
    sd5 = nkio.project_volume_to_surface(field, level=5)
    np.testing.assert_allclose(sd5.to_level(3).data, sd.data)
    with pytest.raises(MeshUnavailableError, match="level 6"):
        nkio.project_volume_to_surface(field, level=6)


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    nkio.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with nkio.atomic_path(target) as tmp:
            assert tmp.parent == target.parent and tmp.name.endswith("out.txt")
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
    with pytest.raises(FileNotFoundError):
        with nkio.atomic_path(target):
            pass
    nkio.atomic_write_bytes(tmp_path / "sub" / "new.bin", b"\x00\x01")
    assert (tmp_path / "sub" / "new.bin").read_bytes() == b"\x00\x01"

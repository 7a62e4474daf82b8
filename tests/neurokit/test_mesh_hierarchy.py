"""The fsaverage hierarchy: counts, topology, nesting, FreeSurfer order, caching, resampling."""

import os

import numpy as np
import pytest
import torch

from neurokit import SurfaceData
from neurokit.exceptions import DataValidationError, MeshUnavailableError, NeurokitError, VertexCountError
from neurokit.mesh import hierarchy, subdivision
from neurokit.mesh.cache import mesh_cache_path
from neurokit.mesh.hierarchy import (
    HemisphereMesh,
    downsample,
    fsaverage_hemisphere,
    parent_edges,
    subdivide,
    upsample,
)
from neurokit.mesh.levels import n_vertices


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.getbasetemp() / "mesh-cache"
    monkeypatch.setenv("NEUROKIT_CACHE_DIR", str(root))
    monkeypatch.delenv("NEUROKIT_FREESURFER_DIR", raising=False)
    monkeypatch.delenv("FREESURFER_HOME", raising=False)


@pytest.mark.parametrize("level", range(7))
def test_counts_euler_and_orientation(level):
    mesh = fsaverage_hemisphere(level, "left")
    n_v, n_f = mesh.n_vertices, mesh.n_faces
    n_e = mesh.edges.shape[0]
    assert n_v == 10 * 4**level + 2 == n_vertices(level)
    assert n_f == 20 * 4**level
    assert n_v - n_e + n_f == 2
    assert mesh.vertices.dtype == np.float64 and mesh.faces.dtype == np.int64
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices, axis=1), 1.0, atol=1e-12)
    tri = mesh.vertices[mesh.faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert np.all((normal * tri.mean(axis=1)).sum(axis=1) > 0), "faces must be outward oriented"
    degrees = np.diff(mesh.indptr)
    assert sorted(np.unique(degrees).tolist()) == ([5] if level == 0 else [5, 6])
    assert (degrees == 5).sum() == 12
    # every face edge is a neighbour pair
    adj = mesh.adjacency()
    assert adj[mesh.faces[:, 0], mesh.faces[:, 1]].all()
    assert (adj != adj.T).nnz == 0


@pytest.mark.parametrize("level", range(1, 7))
def test_nested_and_midpoints(level):
    fine = fsaverage_hemisphere(level, "right")
    coarse = fsaverage_hemisphere(level - 1, "right")
    np.testing.assert_array_equal(fine.vertices[: coarse.n_vertices], coarse.vertices)
    p = fine.parent_edges
    assert p.shape == (fine.n_vertices - coarse.n_vertices, 2)
    assert p.max() < coarse.n_vertices and np.all(p[:, 0] < p[:, 1])
    mid = coarse.vertices[p[:, 0]] + coarse.vertices[p[:, 1]]
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    # FreeSurfer stores unit-sphere coordinates to 4 decimals: nilearn's levels meet 1e-4, the
    # generated level 6 (rounded the same way) may be off by one more rounding unit at ties
    tol = 1e-4 if level <= 5 else 1.1e-4
    np.testing.assert_allclose(fine.vertices[coarse.n_vertices :], mid, atol=tol)
    # parent edges are edges of the coarse mesh, each split once
    assert coarse.adjacency()[p[:, 0], p[:, 1]].all()
    assert np.unique(p, axis=0).shape[0] == coarse.edges.shape[0]


def test_level_zero_has_no_parents():
    assert fsaverage_hemisphere(0).parent_edges is None
    assert parent_edges(0) is None


def test_subdivision_reproduces_nilearn_level5_exactly():
    """Rebuilding level 5 from level 4 gives nilearn's faces and vertex order exactly."""
    level4 = fsaverage_hemisphere(4, "left")
    faces5, parents5 = subdivide(level4.faces, level4.n_vertices)
    bundled_vertices, bundled_faces = subdivision.bundled_sphere("left")
    np.testing.assert_array_equal(faces5, bundled_faces)
    # the new vertices, in order, at the normalised midpoints FreeSurfer stores (4 decimals)
    mid = level4.vertices[parents5[:, 0]] + level4.vertices[parents5[:, 1]]
    mid /= np.linalg.norm(mid, axis=1, keepdims=True)
    np.testing.assert_allclose(mid, bundled_vertices[level4.n_vertices :], atol=1.5e-4)
    # the generated positions (exact icosahedron, rounded like FreeSurfer) agree to a rounding unit
    generated = subdivision.exact_icosahedron(bundled_vertices[:12])
    for k in range(1, 6):
        p = parent_edges(k)
        new = generated[p[:, 0]] + generated[p[:, 1]]
        generated = np.concatenate([generated, new / np.linalg.norm(new, axis=1, keepdims=True)])
    rounded = np.round(generated, 4)
    close = np.abs(rounded - bundled_vertices).max(axis=1) < 2e-4
    assert close.all()


def test_level6_generated_in_freesurfer_order():
    six = fsaverage_hemisphere(6)
    assert six.source == "subdivision"
    five = fsaverage_hemisphere(5)
    np.testing.assert_array_equal(six.vertices[: five.n_vertices], five.vertices)
    # the fine faces of coarse face i start with its first corner (FreeSurfer's layout)
    np.testing.assert_array_equal(six.faces[: five.n_faces, 0], five.faces[:, 0])


def test_level7_generated():
    seven = fsaverage_hemisphere(7)
    assert seven.n_vertices == 163_842 and seven.n_vertices - seven.edges.shape[0] + seven.n_faces == 2


def test_neighbour_lists_match_csr():
    mesh = fsaverage_hemisphere(2, "left")
    lists = mesh.neighbour_lists()
    assert len(lists) == mesh.n_vertices
    for v in (0, 13, 161):
        np.testing.assert_array_equal(lists[v], mesh.indices[mesh.indptr[v] : mesh.indptr[v + 1]])
        assert v not in lists[v]
    assert set(lists[0].tolist()) == set(np.unique(mesh.faces[(mesh.faces == 0).any(axis=1)])) - {0}


def test_mesh_is_read_only_and_validated():
    mesh = fsaverage_hemisphere(1, "lh")
    assert mesh.hemi == "left"
    with pytest.raises(ValueError):
        mesh.vertices[0, 0] = 2.0
    with pytest.raises(DataValidationError):
        HemisphereMesh(1, "left", mesh.vertices[:-1], mesh.faces, mesh.indptr, mesh.indices, mesh.parent_edges)


def test_disk_cache_round_trip(tmp_path):
    hierarchy.clear_cache()
    built = fsaverage_hemisphere(3, "right", cache_dir=tmp_path)
    files = list((tmp_path / "mesh").glob("*right-level3.npz"))
    assert len(files) == 1 and not list((tmp_path / "mesh").glob(".*"))  # no temporaries left
    hierarchy.clear_cache()
    loaded = fsaverage_hemisphere(3, "right", cache_dir=tmp_path)
    assert loaded is not built
    for name in ("vertices", "faces", "indptr", "indices", "parent_edges"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(built, name))
    # the in-process cache returns the same object
    assert fsaverage_hemisphere(3, "right", cache_dir=tmp_path) is loaded
    # a corrupt cache file is rebuilt, not fatal
    files[0].write_bytes(b"not an npz")
    hierarchy.clear_cache()
    rebuilt = fsaverage_hemisphere(3, "right", cache_dir=tmp_path)
    np.testing.assert_array_equal(rebuilt.faces, built.faces)


def test_cache_file_written_by_the_previous_writer_loads(tmp_path):
    """A cache file as the previous version wrote it (plain np.savez at the same path) is read, not rebuilt."""
    hierarchy.clear_cache()
    built = fsaverage_hemisphere(2, "left", cache_dir=tmp_path)
    path = mesh_cache_path(2, "left", "nilearn", tmp_path)
    assert path.is_file()
    marker = np.array(built.vertices)
    marker[0] = [0.0, 0.0, 1.0]  # a value the builder would not produce, to tell reading from rebuilding
    with open(path, "wb") as handle:
        np.savez(handle, vertices=marker, faces=built.faces, indptr=built.indptr, indices=built.indices,
                 parent_edges=built.parent_edges)
    hierarchy.clear_cache()
    loaded = fsaverage_hemisphere(2, "left", cache_dir=tmp_path)
    np.testing.assert_array_equal(loaded.vertices, marker)
    np.testing.assert_array_equal(loaded.parent_edges, built.parent_edges)
    hierarchy.clear_cache()


def test_layout_from_n_vertices_is_the_one_level_inference():
    from neurokit.mesh import layout_from_n_vertices, level_from_n_vertices

    for level in range(8):
        n = n_vertices(level)
        assert layout_from_n_vertices(n) == (level, False) == (level_from_n_vertices(n), False)
        assert layout_from_n_vertices(2 * n) == (level, True)
        assert level_from_n_vertices(2 * n, both_hemispheres=True) == level
    with pytest.raises(VertexCountError, match="upsample"):
        layout_from_n_vertices(100, what="upsample(data)")
    with pytest.raises(VertexCountError, match="upsample"):
        upsample(np.zeros(100), None, 2)


@pytest.mark.parametrize(
    "kwargs,error",
    [
        ({"level": 9}, VertexCountError),
        ({"level": -1}, VertexCountError),
        ({"level": 2.5}, VertexCountError),
        ({"level": 2, "hemi": "middle"}, DataValidationError),
    ],
)
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        fsaverage_hemisphere(**kwargs)


def test_missing_freesurfer_dir_is_a_clear_error(tmp_path):
    with pytest.raises(MeshUnavailableError, match="surf"):
        fsaverage_hemisphere(7, freesurfer_dir=tmp_path / "nope")


def test_freesurfer_dir_is_read(tmp_path):
    """A FreeSurfer directory's sphere supplies the positions of levels 6 and 7."""
    import nibabel.freesurfer as nfs

    six = fsaverage_hemisphere(6, "left")
    surf = tmp_path / "fsaverage6" / "surf"
    surf.mkdir(parents=True)
    nfs.write_geometry(str(surf / "lh.sphere"), 100 * six.vertices, six.faces.astype(np.int32))
    mesh = fsaverage_hemisphere(6, "left", freesurfer_dir=surf.parent, cache_dir=tmp_path / "cache")
    assert mesh.source == "freesurfer"
    np.testing.assert_allclose(mesh.vertices, six.vertices, atol=1e-6)
    # a sphere in another vertex order is refused
    rng = np.random.default_rng(0)
    nfs.write_geometry(str(surf / "rh.sphere"), 100 * six.vertices[rng.permutation(six.n_vertices)], six.faces.astype(np.int32))
    with pytest.raises(MeshUnavailableError, match="order"):
        fsaverage_hemisphere(6, "right", freesurfer_dir=surf.parent, cache_dir=tmp_path / "cache")
    # the environment variable is honoured
    os.environ["NEUROKIT_FREESURFER_DIR"] = str(tmp_path / "missing")
    try:
        with pytest.raises(MeshUnavailableError, match="NEUROKIT_FREESURFER_DIR"):
            fsaverage_hemisphere(6, "left")
    finally:
        del os.environ["NEUROKIT_FREESURFER_DIR"]


def test_downsample_slices_each_hemisphere():
    rng = np.random.default_rng(1)
    n3, n1 = n_vertices(3), n_vertices(1)
    both = rng.normal(size=(4, 2 * n3))
    out = downsample(both, 1)
    np.testing.assert_array_equal(out, np.concatenate([both[:, :n1], both[:, n3 : n3 + n1]], axis=1))
    one = rng.normal(size=n3)
    np.testing.assert_array_equal(downsample(one, 2), one[: n_vertices(2)])
    tensor = torch.from_numpy(both)
    assert torch.equal(downsample(tensor, 1), torch.from_numpy(out))
    sd = downsample(SurfaceData(both, 3), 1)
    assert isinstance(sd, SurfaceData) and sd.level == 1
    with pytest.raises(DataValidationError):
        downsample(one, 4)
    with pytest.raises(VertexCountError):
        downsample(np.zeros(100), 1)


def test_upsample_interpolates_and_inverts_downsample():
    mesh1 = fsaverage_hemisphere(1)
    mesh3 = fsaverage_hemisphere(3)
    # a linear function of position is reproduced up to the chord-vs-sphere offset
    a = np.array([0.3, -0.5, 0.8])
    up = upsample(mesh1.vertices @ a, 1, 3)
    assert up.shape == (n_vertices(3),)
    np.testing.assert_array_equal(up[: mesh1.n_vertices], mesh1.vertices @ a)
    # new vertices at level 2 are exactly the parent means
    p = parent_edges(2)
    np.testing.assert_allclose(up[mesh1.n_vertices : n_vertices(2)], 0.5 * (mesh1.vertices[p[:, 0]] @ a + mesh1.vertices[p[:, 1]] @ a))
    assert np.corrcoef(up, mesh3.vertices @ a)[0, 1] > 0.99
    rng = np.random.default_rng(2)
    both = rng.normal(size=(3, 2 * n_vertices(2)))
    fine = upsample(both, None, 4)
    assert fine.shape == (3, 2 * n_vertices(4))
    np.testing.assert_array_equal(downsample(fine, 2), both)
    t = upsample(torch.from_numpy(both).float(), 2, 3)
    np.testing.assert_allclose(t.numpy(), upsample(both, 2, 3), rtol=1e-5, atol=1e-6)
    sd = upsample(SurfaceData(both, 2), 2, 3)
    assert isinstance(sd, SurfaceData) and sd.level == 3
    with pytest.raises(VertexCountError):
        upsample(both, 3, 4)
    with pytest.raises(DataValidationError):
        upsample(both, 2, 1)


def test_errors_are_toolkit_errors():
    with pytest.raises(NeurokitError):
        upsample(np.zeros(7), None, 2)


# --- anatomical surfaces (neurokit.mesh.surfaces) ---------------------------------------
from neurokit.mesh.surfaces import Surface, anatomical_surface, surface_map  # noqa: E402


@pytest.mark.parametrize("kind", ["pial", "white", "inflated", "sphere"])
@pytest.mark.parametrize("level", [2, 5])
def test_anatomical_surface_shapes(kind, level):
    surf = anatomical_surface(kind, "left", level)
    assert isinstance(surf, Surface)
    assert surf.coordinates.shape == (n_vertices(level), 3)
    np.testing.assert_array_equal(surf.faces, fsaverage_hemisphere(level).faces)
    fine = anatomical_surface(kind, "left", 5)
    np.testing.assert_array_equal(surf.coordinates, fine.coordinates[: n_vertices(level)])


def test_sphere_surface_is_the_hierarchy_sphere():
    surf = anatomical_surface("sphere", "right", 4)
    np.testing.assert_allclose(surf.coordinates / 100, fsaverage_hemisphere(4, "right").vertices, atol=1e-4)
    # pial surfaces of the two hemispheres lie on their own side
    assert anatomical_surface("pial", "left", 3).coordinates[:, 0].mean() < 0
    assert anatomical_surface("pial", "right", 3).coordinates[:, 0].mean() > 0


def test_flat_surface_keeps_only_patch_faces():
    flat5 = anatomical_surface("flat", "left", 5)
    assert flat5.faces.shape[0] < 20 * 4**5
    flat3 = anatomical_surface("flat", "left", 3)
    assert flat3.coordinates.shape == (642, 3)
    assert 0 < flat3.faces.shape[0] < 1280
    # every kept coarse face is a face of the level-3 sphere
    sphere = {tuple(f) for f in fsaverage_hemisphere(3).faces.tolist()}
    assert all(tuple(f) in sphere for f in flat3.faces.tolist())
    # flattened: no kept triangle is huge in the plane (no face across the cut)
    xy = flat3.coordinates[flat3.faces][:, :, :2]
    edge = np.linalg.norm(xy - np.roll(xy, 1, axis=1), axis=2).max()
    assert edge < 0.5 * np.ptp(flat3.coordinates[:, 0])


def test_surface_maps():
    for kind in ("sulc", "curv", "thickness", "area"):
        values = surface_map(kind, "right", 3)
        assert values.shape == (642,) and np.isfinite(values).all()
    np.testing.assert_array_equal(surface_map("sulc", "left", 2), surface_map("sulc", "left", 5)[:162])
    assert surface_map("thickness", "left", 5).mean() > 1.0


def test_surface_errors(tmp_path):
    with pytest.raises(DataValidationError, match="kind"):
        anatomical_surface("midthickness", "left")
    with pytest.raises(DataValidationError):
        surface_map("myelin", "left")
    with pytest.raises(DataValidationError):
        anatomical_surface("pial", "middle")
    with pytest.raises(VertexCountError):
        anatomical_surface("pial", "left", 9)
    with pytest.raises(MeshUnavailableError, match="FreeSurfer"):
        anatomical_surface("pial", "left", 7)
    with pytest.raises(MeshUnavailableError, match="FreeSurfer"):
        surface_map("sulc", "left", 6)
    with pytest.raises(MeshUnavailableError, match="flat"):
        anatomical_surface("flat", "left", 6)
    with pytest.raises(MeshUnavailableError):
        anatomical_surface("pial", "left", 7, freesurfer_dir=tmp_path)


def test_surfaces_from_a_freesurfer_dir(tmp_path):
    import nibabel.freesurfer as nfs

    six = fsaverage_hemisphere(6, "left")
    surf = tmp_path / "surf"
    surf.mkdir()
    nfs.write_geometry(str(surf / "lh.sphere"), 100 * six.vertices, six.faces.astype(np.int32))
    nfs.write_geometry(str(surf / "lh.pial"), 90 * six.vertices, six.faces.astype(np.int32))
    nfs.write_morph_data(str(surf / "lh.sulc"), six.vertices[:, 2].astype(np.float32))
    pial = anatomical_surface("pial", "left", 6, freesurfer_dir=tmp_path)
    assert pial.coordinates.shape == (40962, 3) and pial.faces.shape == (81920, 3)
    np.testing.assert_allclose(pial.coordinates, 90 * six.vertices, atol=1e-3)
    np.testing.assert_allclose(surface_map("sulc", "left", 6, freesurfer_dir=tmp_path), six.vertices[:, 2], atol=1e-6)
    with pytest.raises(MeshUnavailableError, match="lh.white"):
        anatomical_surface("white", "left", 6, freesurfer_dir=tmp_path)

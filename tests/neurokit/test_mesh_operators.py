"""MeshConv operators: Laplacian spectrum, gradients, direction fields, averaging, caching."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla
import torch

from neurokit.exceptions import DataValidationError, VertexCountError
from neurokit.mesh import operators as ops_module
from neurokit.mesh.hierarchy import fsaverage_hemisphere
from neurokit.mesh.operators import (
    MeshOperators,
    build_operator_arrays,
    cotangent_laplacian,
    direction_fields,
    face_geometry,
    gradient_matrix,
    lumped_mass,
    mesh_operators,
    operators_from_mesh,
)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NEUROKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "op-cache"))
    monkeypatch.delenv("NEUROKIT_FREESURFER_DIR", raising=False)
    monkeypatch.delenv("FREESURFER_HOME", raising=False)


@pytest.fixture(scope="module")
def level3():
    mesh = fsaverage_hemisphere(3, "left")
    return mesh, build_operator_arrays(mesh.vertices, mesh.faces)


def test_laplacian_symmetric_kills_constants_nsd(level3):
    mesh, a = level3
    lap = a["laplacian"]
    assert lap.shape == (mesh.n_vertices, mesh.n_vertices)
    assert abs(lap - lap.T).max() < 1e-12
    np.testing.assert_allclose(lap @ np.ones(mesh.n_vertices), 0, atol=1e-12)
    # negative semidefinite: f^T L f = -integral |grad f|^2 <= 0, and equals -G^T A G exactly
    rng = np.random.default_rng(0)
    f = rng.normal(size=(mesh.n_vertices, 8))
    assert np.all(np.einsum("vi,vi->i", f, lap @ f) <= 1e-12)
    grad = a["gradient"]
    dirichlet = grad.T @ sp.diags(np.tile(a["face_areas"], 3)) @ grad
    assert abs(lap + dirichlet).max() < 1e-10
    assert np.linalg.eigvalsh(lap.toarray()).max() < 1e-10
    # off-diagonal weights of a near-regular sphere mesh are positive
    off = lap - sp.diags(lap.diagonal())
    assert off.data.min() > 0


def test_mass_sums_to_the_mesh_area(level3):
    mesh, a = level3
    areas, normals = face_geometry(mesh.vertices, mesh.faces)
    np.testing.assert_allclose(a["mass"].sum(), areas.sum())
    assert 0.99 * 4 * np.pi < areas.sum() < 4 * np.pi
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1)
    np.testing.assert_allclose(lumped_mass(mesh.vertices, mesh.faces), a["mass"])


def test_laplace_beltrami_spectrum_at_level5():
    """L u = -lambda M u has the spherical-harmonic eigenvalues l(l+1) with multiplicity 2l+1."""
    mesh = fsaverage_hemisphere(5)
    lap = cotangent_laplacian(mesh.vertices, mesh.faces)
    # M is diagonal, so L u = -lambda M u is the symmetric problem M^-1/2 (-L) M^-1/2 w = lambda w
    inv_sqrt_mass = sp.diags(1 / np.sqrt(lumped_mass(mesh.vertices, mesh.faces)))
    sym = (inv_sqrt_mass @ (-lap) @ inv_sqrt_mass).tocsc()
    values = np.sort(sla.eigsh(sym, k=16, sigma=-0.01, which="LM", tol=1e-6)[0])
    expected = np.array([0] + [2] * 3 + [6] * 5 + [12] * 7, dtype=float)
    assert abs(values[0]) < 1e-6
    np.testing.assert_allclose(values[1:], expected[1:], rtol=0.02)


def test_gradient_of_linear_function_is_tangent_projection(level3):
    mesh, a = level3
    a_vec = np.array([0.4, -1.3, 0.7])
    grad = a["gradient"]
    n_faces = mesh.n_faces
    assert grad.shape == (3 * n_faces, mesh.n_vertices)
    g = (grad @ (mesh.vertices @ a_vec)).reshape(3, n_faces).T
    normals = a["face_normals"]
    expected = a_vec[None, :] - (normals @ a_vec)[:, None] * normals
    np.testing.assert_allclose(g, expected, atol=1e-10)
    np.testing.assert_allclose(grad @ np.ones(mesh.n_vertices), 0, atol=1e-10)
    np.testing.assert_allclose(gradient_matrix(mesh.vertices, mesh.faces).toarray(), grad.toarray())


def test_direction_fields_unit_tangent_orthogonal_and_oriented(level3):
    mesh, a = level3
    ns, ew, normals = a["ns"], a["ew"], a["face_normals"]
    for field in (ns, ew):
        np.testing.assert_allclose(np.linalg.norm(field, axis=1), 1, atol=1e-12)
        np.testing.assert_allclose((field * normals).sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose((ns * ew).sum(axis=1), 0, atol=1e-12)
    centroids = mesh.vertices[mesh.faces].mean(axis=1)
    assert np.all(ns[:, 2] > 0), "ns points north"
    east = np.stack([-centroids[:, 1], centroids[:, 0], np.zeros(len(centroids))], axis=1)
    assert np.all((ew * east).sum(axis=1) > 0), "ew points east"


def test_direction_fields_at_a_polar_face():
    # a face whose normal is exactly +z: latitude has no direction, fields must stay unit and tangent
    vertices = np.array([[1.0, 0, 1], [-0.5, 0.8, 1], [-0.5, -0.8, 1]])
    faces = np.array([[0, 1, 2]])
    ns, ew = direction_fields(vertices, faces)
    np.testing.assert_allclose(np.linalg.norm(ns), 1)
    np.testing.assert_allclose(ns[0, 2], 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(ew), 1)
    assert np.isfinite(ns).all() and np.isfinite(ew).all()


def test_derivatives_and_face_to_vertex(level3):
    mesh, a = level3
    f2v = a["face_to_vertex"]
    np.testing.assert_allclose(f2v @ np.full(mesh.n_faces, 3.5), 3.5)
    for name in ("ew_derivative", "ns_derivative"):
        np.testing.assert_allclose(a[name] @ np.ones(mesh.n_vertices), 0, atol=1e-10)
    # the north derivative of z is cos(latitude); the east derivative of z is zero
    z = mesh.vertices[:, 2]
    coslat = np.sqrt(1 - z**2)
    away = np.abs(z) < 0.99  # at the two pole vertices the directions are undefined
    np.testing.assert_allclose((a["ns_derivative"] @ z)[away], coslat[away], atol=0.05)
    np.testing.assert_allclose(a["ew_derivative"] @ z, 0, atol=0.02)
    # the east derivative of x at the equator is -y (d/dlon of cos(lon))
    x = mesh.vertices[:, 0]
    equator = np.abs(z) < 0.3
    np.testing.assert_allclose((a["ew_derivative"] @ x)[equator], -mesh.vertices[equator, 1] / coslat[equator], atol=0.06)


def test_mesh_operators_torch_tensors_and_stack():
    ops = mesh_operators(2, "right")
    assert isinstance(ops, MeshOperators) and ops.level == 2 and ops.hemi == "right"
    v, f = ops.n_vertices, ops.n_faces
    shapes = {
        "laplacian": (v, v), "laplace_beltrami": (v, v), "gradient": (3 * f, v), "face_to_vertex": (v, f),
        "ew_derivative": (v, v), "ns_derivative": (v, v),
    }
    for name, shape in shapes.items():
        t = getattr(ops, name)
        assert t.is_sparse and t.is_coalesced() and t.dtype == torch.float32 and tuple(t.shape) == shape
    assert ops.mass.shape == (v,) and ops.ns.shape == (f, 3) and ops.ew.shape == (f, 3)
    x = torch.randn(v, 5)
    stacked = ops.stacked_operator()
    assert stacked.shape == (4 * v, v) and stacked.is_coalesced()
    y = torch.sparse.mm(stacked, x).view(4, v, 5)
    for k, op in enumerate(ops.operator_list()):
        torch.testing.assert_close(y[k], torch.sparse.mm(op, x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(y[0], x)
    lb = ops.operator_list("beltrami")[1]
    torch.testing.assert_close(lb.to_dense(), torch.diag(1 / ops.mass) @ ops.laplacian.to_dense(), rtol=1e-4, atol=1e-3)
    with pytest.raises(DataValidationError):
        ops.operator_list("graph")
    moved = ops.to("cpu", torch.float64)
    assert moved.laplacian.dtype == torch.float64 and moved.mass.dtype == torch.float64
    assert mesh_operators(2, "right", device="cpu").laplacian.device.type == "cpu"


def test_operator_cache_round_trip(tmp_path):
    ops_module.clear_cache()
    built = mesh_operators(1, cache_dir=tmp_path)
    files = list((tmp_path / "operators").glob("*.npz"))
    assert len(files) == 1
    ops_module.clear_cache()
    loaded = mesh_operators(1, cache_dir=tmp_path)
    assert loaded is not built
    for name in ("laplacian", "gradient", "ew_derivative", "ns_derivative", "face_to_vertex"):
        torch.testing.assert_close(getattr(loaded, name).to_dense(), getattr(built, name).to_dense())
    assert mesh_operators(1, cache_dir=tmp_path) is loaded
    direct = operators_from_mesh(fsaverage_hemisphere(1))
    torch.testing.assert_close(direct.laplacian.to_dense(), built.laplacian.to_dense())
    files[0].write_bytes(b"garbage")
    ops_module.clear_cache()
    torch.testing.assert_close(mesh_operators(1, cache_dir=tmp_path).mass, built.mass)


def test_bad_inputs():
    with pytest.raises(VertexCountError):
        mesh_operators(9)
    with pytest.raises(DataValidationError):
        mesh_operators(1, "middle")
    with pytest.raises(DataValidationError):
        build_operator_arrays(np.zeros((3, 2)), np.array([[0, 1, 2]]))
    with pytest.raises(DataValidationError):
        build_operator_arrays(np.eye(3), np.array([[0, 1, 3]]))
    with pytest.raises(DataValidationError, match="zero area"):
        face_geometry(np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]]), np.array([[0, 1, 2]]))


def test_tensors_marked_coalesced_really_are():
    ops = mesh_operators(1)
    for t in (ops.laplacian, ops.gradient, ops.face_to_vertex, ops.ew_derivative, ops.identity(), ops.stacked_operator()):
        redone = torch.sparse_coo_tensor(t.indices(), t.values(), t.shape, check_invariants=True).coalesce()
        assert torch.equal(redone.indices(), t.indices()) and torch.equal(redone.values(), t.values())

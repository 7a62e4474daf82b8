"""Tests of neurokit.nn: MeshConv, pooling, unpooling and blocks against their math.

The layers are tested on an independent nested icosphere built here (with a
cotangent Laplacian and least-squares tangential derivatives as operators), and,
when ``neurokit.mesh.operators`` is installed, on the toolkit's fsaverage
operators too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from neurokit.exceptions import DataValidationError, InvalidParameterError, VertexCountError
from neurokit.nn import (
    ChannelLayerNorm,
    DownBlock,
    MeshConv,
    MeshPool,
    MeshUnpool,
    ResidualBlock,
    UpBlock,
    interpolation_parents,
    mesh_norm,
    pooling_neighbourhoods,
    stacked_operator,
)


def icosphere_levels(max_level: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(vertices on the unit sphere, faces) for levels 0..max_level, nested by construction."""
    t = (1 + 5**0.5) / 2
    v = np.array(
        [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t),
         (0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)], dtype=float)
    f = np.array(
        [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
         (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5),
         (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)])
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    out = [(v, f)]
    for _ in range(max_level):
        verts = list(v)
        cache: dict[tuple[int, int], int] = {}

        def mid(a: int, b: int) -> int:
            key = (min(a, b), max(a, b))
            if key not in cache:
                p = verts[a] + verts[b]
                verts.append(p / np.linalg.norm(p))
                cache[key] = len(verts) - 1
            return cache[key]

        new_faces = []
        for a, b, c in f:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new_faces += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        v, f = np.array(verts), np.array(new_faces)
        out.append((v, f))
    return out


@dataclass
class SimpleOperators:
    """Cotangent Laplacian and least-squares tangential derivatives (torch sparse COO)."""

    laplacian: torch.Tensor
    ew_derivative: torch.Tensor
    ns_derivative: torch.Tensor


def simple_operators(verts: np.ndarray, faces: np.ndarray) -> SimpleOperators:
    n = len(verts)
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in e:
        nbrs[a].append(b)
        nbrs[b].append(a)
    rows, cols, ew, ns = [], [], [], []
    for i, nb in enumerate(nbrs):
        p = verts[i]
        lon = np.arctan2(p[1], p[0])
        lat = np.arcsin(np.clip(p[2], -1, 1))
        e_ew = np.array([-np.sin(lon), np.cos(lon), 0.0])
        e_ns = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
        d = verts[nb] - p
        d -= np.outer(d @ p, p)  # tangent plane
        pinv = np.linalg.pinv(d)  # (3, k): gradient = pinv @ (f_nb - f_i)
        w_ew, w_ns = e_ew @ pinv, e_ns @ pinv
        rows += [i] * (len(nb) + 1)
        cols += list(nb) + [i]
        ew += list(w_ew) + [-w_ew.sum()]
        ns += list(w_ns) + [-w_ns.sum()]
    # cotangent Laplacian with lumped (barycentric) vertex areas: L f ~ Laplace-Beltrami f
    cot_rows, cot_cols, cot_vals = [], [], []
    area = np.zeros(n)
    for tri in faces:
        p = verts[tri]
        area[tri] += np.linalg.norm(np.cross(p[1] - p[0], p[2] - p[0])) / 6
        for k in range(3):
            i, j, o = tri[k], tri[(k + 1) % 3], tri[(k + 2) % 3]
            u, w = verts[i] - verts[o], verts[j] - verts[o]
            cot = (u @ w) / np.linalg.norm(np.cross(u, w))
            cot_rows += [i, j, i, j]
            cot_cols += [j, i, i, j]
            cot_vals += [cot / 2, cot / 2, -cot / 2, -cot / 2]
    cot_vals = np.array(cot_vals) / area[np.array(cot_rows)]
    lap = torch.sparse_coo_tensor(torch.tensor([cot_rows, cot_cols]), torch.tensor(cot_vals, dtype=torch.float32), (n, n))
    idx = torch.tensor([rows, cols])

    def mk(vals: list[float]) -> torch.Tensor:
        return torch.sparse_coo_tensor(idx, torch.tensor(vals, dtype=torch.float32), (n, n)).coalesce()

    return SimpleOperators(lap.coalesce(), mk(ew), mk(ns))


# --------------------------------------------------------------------------- fixtures

LEVELS = icosphere_levels(4)


def mesh(level: int, hemi: str = "left") -> tuple[np.ndarray, np.ndarray]:
    """Vertices and faces; the right hemisphere is the mirror image (x -> -x)."""
    v, f = LEVELS[level]
    return (v * np.array([-1.0, 1.0, 1.0]) if hemi == "right" else v), f


def ops(level: int, hemi: str = "left") -> SimpleOperators:
    return simple_operators(*mesh(level, hemi))


@pytest.fixture
def patched_mesh(monkeypatch):
    """Make level-based layers (the blocks) build on the test icosphere."""
    import neurokit.nn.meshconv as mc
    import neurokit.nn.pooling as pl

    cache: dict = {}

    def fake_ops(level, hemis):
        return [cache.setdefault((level, h), ops(level, h)) for h in hemis]

    monkeypatch.setattr(mc, "_load_operators", fake_ops)
    monkeypatch.setattr(pl, "_load_faces", lambda level, hemis: [mesh(level, h)[1] for h in hemis])


def dense(m: torch.Tensor) -> np.ndarray:
    return m.to_dense().numpy().astype(np.float64)


# --------------------------------------------------------------------------- MeshConv


def test_meshconv_matches_operator_math_on_both_hemispheres():
    level = 3
    o = [ops(level, "left"), ops(level, "right")]
    conv = MeshConv(2, 3, hemispheres="both", operators=o)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2, 4))
    b = rng.normal(size=3)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        conv.bias.copy_(torch.from_numpy(b))
    x = rng.normal(size=(5, 2, 2 * 642))
    y = conv(torch.from_numpy(x).float()).detach().numpy()
    ref = np.zeros_like(y, dtype=np.float64)
    for h, oh in enumerate(o):
        mats = [np.eye(642), dense(oh.laplacian), dense(oh.ew_derivative), dense(oh.ns_derivative)]
        xs = x[:, :, h * 642 : (h + 1) * 642]
        for k, m in enumerate(mats):
            ref[:, :, h * 642 : (h + 1) * 642] += np.einsum("oi,bin->bon", w[:, :, k], xs @ m.T)
    ref += b[None, :, None]
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def test_meshconv_single_operator_on_known_functions():
    """Unit weight on one operator returns that operator's action on x, y, z."""
    v, _ = mesh(4)
    conv = MeshConv(1, 1, hemispheres="left", bias=False, operators=[ops(4)])
    z = torch.tensor(v[:, 2], dtype=torch.float32).view(1, 1, -1)
    x = torch.tensor(v[:, 0], dtype=torch.float32).view(1, 1, -1)
    lat = np.arcsin(v[:, 2])
    lon = np.arctan2(v[:, 1], v[:, 0])
    away = np.abs(lat) < 1.3  # the EW/NS frame is singular at the poles

    def run(k: int, f: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            conv.weight.zero_()
            conv.weight[0, 0, k] = 1.0
            return conv(f)[0, 0].numpy()

    # d z / d(north) = cos(lat), d z / d(east) = 0, d x / d(east) = -sin(lon)
    np.testing.assert_allclose(run(3, z)[away], np.cos(lat)[away], atol=0.02)
    np.testing.assert_allclose(run(2, z)[away], 0.0, atol=0.02)
    np.testing.assert_allclose(run(2, x)[away], -np.sin(lon)[away], atol=0.02)
    # z is an l=1 spherical harmonic: Laplace-Beltrami z = -l(l+1) z = -2 z
    # (lumped areas are least accurate at the 12 degree-5 vertices: compare in RMS)
    lz = run(1, z)
    assert np.linalg.norm(lz + 2 * v[:, 2]) / np.linalg.norm(2 * v[:, 2]) < 0.02


def test_meshconv_identity_weight_is_per_vertex_linear_map():
    conv = MeshConv(3, 4, hemispheres="left", operators=[ops(2)])
    with torch.no_grad():
        conv.weight[:, :, 1:] = 0.0
    x = torch.randn(2, 3, 162)
    expected = torch.einsum("oi,bin->bon", conv.weight[:, :, 0], x) + conv.bias[None, :, None]
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)
    # per-vertex: permuting vertices commutes with the layer
    perm = torch.randperm(162)
    torch.testing.assert_close(conv(x[:, :, perm]), conv(x)[:, :, perm], rtol=1e-5, atol=1e-5)


def test_meshconv_gradients_reach_every_parameter_and_the_input():
    conv = MeshConv(2, 2, hemispheres="both", operators=[ops(2, "left"), ops(2, "right")])
    x = torch.randn(3, 2, 324, dtype=torch.float32, requires_grad=True)
    conv(x).square().sum().backward()
    for name, p in conv.named_parameters():
        assert p.grad is not None and torch.count_nonzero(p.grad) > 0, name
    assert x.grad is not None and torch.count_nonzero(x.grad) > 0


def test_meshconv_input_gradient_matches_finite_differences():
    conv = MeshConv(1, 2, hemispheres="left", operators=[ops(1)]).double()
    # the sparse operator stays float32; compare against torch's numerical Jacobian loosely
    x = torch.randn(1, 1, 42, dtype=torch.float32, requires_grad=True)
    conv = conv.float()
    out = conv(x)
    g = torch.randn_like(out)
    (grad,) = torch.autograd.grad(out, x, g)
    eps = 1e-2
    d = torch.randn_like(x)
    num = ((conv(x + eps * d) * g).sum() - (conv(x - eps * d) * g).sum()) / (2 * eps)
    torch.testing.assert_close((grad * d).sum(), num, rtol=1e-3, atol=1e-3)


def test_meshconv_operators_are_non_persistent_buffers():
    conv = MeshConv(1, 1, hemispheres="left", operators=[ops(1)])
    assert set(conv.state_dict()) == {"weight", "bias"}
    assert {n for n, _ in conv.named_buffers()} == {"operator", "operator_t"}
    assert conv.operator.shape == (3 * 42, 42)


def test_stacked_operator_is_block_diagonal():
    o = [ops(1, "left"), ops(1, "right")]
    s = dense(stacked_operator(o))
    assert s.shape == (6 * 42, 84)
    np.testing.assert_allclose(s[:42, :42], dense(o[0].laplacian))
    np.testing.assert_allclose(s[42:84, 42:], dense(o[1].laplacian))
    assert not s[:42, 42:].any() and not s[42:84, :42].any()
    np.testing.assert_allclose(s[5 * 42 :, 42:], dense(o[1].ns_derivative))


def test_meshconv_validates_inputs():
    conv = MeshConv(2, 1, hemispheres="left", operators=[ops(1)])
    with pytest.raises(DataValidationError, match="input channels"):
        conv(torch.randn(1, 3, 42))
    with pytest.raises(VertexCountError, match="42"):
        conv(torch.randn(1, 2, 84))
    with pytest.raises(DataValidationError, match="batch, channels, vertices"):
        conv(torch.randn(2, 42))
    with pytest.raises(InvalidParameterError, match="in_channels"):
        MeshConv(0, 1, operators=[ops(1)], hemispheres="left")
    with pytest.raises(DataValidationError, match="operator sets"):
        MeshConv(1, 1, hemispheres="both", operators=[ops(1)])
    with pytest.raises(InvalidParameterError, match="hemispheres"):
        MeshConv(1, 1, hemispheres="middle", operators=[ops(1)])
    with pytest.raises(InvalidParameterError, match="level or explicit operators"):
        MeshConv(1, 1)


def test_meshconv_under_autocast_bf16_cpu():
    conv = MeshConv(2, 2, hemispheres="left", operators=[ops(2)])
    x = torch.randn(2, 2, 162)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = conv(x)
    torch.testing.assert_close(y.float(), conv(x), rtol=0.05, atol=0.05)


# --------------------------------------------------------------------------- pooling


def _neighbours(faces: np.ndarray, n: int) -> list[set[int]]:
    nb: list[set[int]] = [set() for _ in range(n)]
    for a, b, c in faces:
        nb[a] |= {b, c}
        nb[b] |= {a, c}
        nb[c] |= {a, b}
    return nb


def test_pooling_neighbourhoods_and_interpolation_parents_match_brute_force():
    v, f = mesh(3)
    nb = _neighbours(f, len(v))
    rings = pooling_neighbourhoods(f, 3)
    assert rings.shape == (162, 7)
    for i, row in enumerate(rings):
        assert row[0] == i and set(row[1:][row[1:] >= 0]) == nb[i]
    par = interpolation_parents(f, 3)
    np.testing.assert_array_equal(par[:162], np.stack([np.arange(162)] * 2, 1))
    # each new vertex is the normalised midpoint of its parents
    mid = v[par[162:, 0]] + v[par[162:, 1]]
    np.testing.assert_allclose(v[162:], mid / np.linalg.norm(mid, axis=1, keepdims=True), atol=1e-12)


def test_max_and_mean_pool_match_brute_force():
    _, f = mesh(2)
    nb = _neighbours(f, 162)
    x = torch.randn(2, 3, 2 * 162)
    faces = [mesh(2, "left")[1], mesh(2, "right")[1]]
    ymax = MeshPool(2, "max", "both", faces=faces)(x)
    ymean = MeshPool(2, "mean", "both", faces=faces)(x)
    assert ymax.shape == (2, 3, 84)
    for h in range(2):
        for i in range(42):
            ring = [h * 162 + j for j in [i, *sorted(nb[i])]]
            torch.testing.assert_close(ymax[:, :, h * 42 + i], x[:, :, ring].amax(-1))
            torch.testing.assert_close(ymean[:, :, h * 42 + i], x[:, :, ring].mean(-1))


def test_unpool_keeps_coarse_values_and_interpolates_parents():
    f = mesh(3)[1]
    x = torch.randn(1, 2, 42 * 0 + 162)
    y = MeshUnpool(2, "left", faces=[f])(x)
    assert y.shape == (1, 2, 642)
    torch.testing.assert_close(y[:, :, :162], x)
    par = torch.from_numpy(interpolation_parents(f, 3))
    torch.testing.assert_close(y[:, :, 162:], 0.5 * (x[:, :, par[162:, 0]] + x[:, :, par[162:, 1]]))


def test_pool_then_unpool_nearly_restores_a_smooth_field():
    v, f = mesh(4)
    x, y, z = v.T
    smooth = (3 * z**2 - 1) / 2 + x * y + 0.5 * x  # low-order spherical harmonics (l <= 2)
    rough = np.random.default_rng(0).normal(size=len(v))
    down = MeshPool(4, "mean", "left", faces=[f])
    up = MeshUnpool(3, "left", faces=[mesh(4)[1]])

    def rel_err(field: np.ndarray) -> float:
        t = torch.tensor(field, dtype=torch.float32).view(1, 1, -1)
        back = up(down(t))[0, 0].numpy()
        return float(np.linalg.norm(back - field) / np.linalg.norm(field))

    assert rel_err(smooth) < 0.02
    assert rel_err(rough) > 0.5  # the round trip really loses detail the mesh cannot hold


def test_pool_gradients_flow_and_validation():
    f = mesh(2)[1]
    pool = MeshPool(2, "max", "left", faces=[f])
    x = torch.randn(1, 1, 162, requires_grad=True)
    pool(x).sum().backward()
    assert int(torch.count_nonzero(x.grad)) > 0
    with pytest.raises(InvalidParameterError, match="mode"):
        MeshPool(2, "median", "left", faces=[f])
    with pytest.raises(InvalidParameterError, match="level must be 1"):
        MeshPool(0, "max", "left", faces=[f])
    with pytest.raises(DataValidationError, match="faces"):
        MeshPool(3, "max", "left", faces=[f])  # level-2 faces for a level-3 pool
    with pytest.raises(VertexCountError):
        pool(torch.randn(1, 1, 163))
    with pytest.raises(InvalidParameterError, match="level must be 0..6"):
        MeshUnpool(7, "left", faces=[f])


# --------------------------------------------------------------------------- blocks and norms


@pytest.mark.parametrize("kind", ["batch", "group", "layer", "instance", "none"])
def test_mesh_norm_kinds(kind):
    norm = mesh_norm(kind, 4)
    x = 3 + 2 * torch.randn(5, 4, 30)
    y = norm(x)
    assert y.shape == x.shape
    if kind == "layer":
        assert isinstance(norm, ChannelLayerNorm)
        torch.testing.assert_close(y.mean(1), torch.zeros(5, 30), atol=1e-5, rtol=0)
    elif kind == "batch":
        torch.testing.assert_close(y.mean((0, 2)), torch.zeros(4), atol=1e-5, rtol=0)
    elif kind == "instance":
        torch.testing.assert_close(y.mean(2), torch.zeros(5, 4), atol=1e-5, rtol=0)
    elif kind == "none":
        assert torch.equal(y, x)
    with pytest.raises(InvalidParameterError, match="kind"):
        mesh_norm("weird", 4)


def test_residual_down_up_blocks(patched_mesh):
    torch.manual_seed(0)
    res = ResidualBlock(3, 3, 2, "both", norm="group")
    down = DownBlock(3, 5, 2, "both", norm="batch")
    up = UpBlock(5, 4, 1, skip_channels=3, hemispheres="both", norm="layer")
    x = torch.randn(2, 3, 2 * 162, requires_grad=True)
    h = res(x)
    d = down(h)
    assert d.shape == (2, 5, 2 * 42)
    u = up(d, skip=h)
    assert u.shape == (2, 4, 2 * 162)
    u.square().mean().backward()
    for m in (res, down, up):
        for name, p in m.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert torch.count_nonzero(p.grad) > 0, name
    # identity skip when channels agree, learned projection otherwise
    assert isinstance(res.skip, torch.nn.Identity)
    assert isinstance(down.block.skip, torch.nn.Conv1d)
    with pytest.raises(DataValidationError, match="skip"):
        up(d)
    with pytest.raises(DataValidationError, match="skip_channels=0"):
        UpBlock(5, 4, 1, hemispheres="both")(d, skip=h)


def test_left_only_blocks_and_device_move(patched_mesh):
    block = DownBlock(1, 2, 2, "left", norm="none")
    assert block(torch.randn(1, 1, 162)).shape == (1, 2, 42)
    moved = block.to(torch.float64)
    assert moved.pool.index.dtype == torch.int64  # index buffers keep their dtype


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_meshconv_cuda_matches_cpu():
    conv = MeshConv(2, 3, hemispheres="both", operators=[ops(3, "left"), ops(3, "right")])
    x = torch.randn(2, 2, 2 * 642)
    y = conv(x)
    conv_gpu = conv.to("cuda")
    torch.testing.assert_close(conv_gpu(x.cuda()).cpu(), y, rtol=1e-4, atol=1e-4)


def test_with_toolkit_fsaverage_operators():
    operators = pytest.importorskip("neurokit.mesh.operators")
    hierarchy = pytest.importorskip("neurokit.mesh.hierarchy")
    conv = MeshConv(1, 1, level=2, hemispheres="both", bias=False)
    o = [operators.mesh_operators(2, h) for h in ("left", "right")]
    x = torch.randn(1, 1, 2 * 162)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([0.5, 1.0, -1.0, 2.0]).view(1, 1, 4))
    y = conv(x)[0, 0].detach().numpy()
    for h in range(2):
        xs = x[0, 0, h * 162 : (h + 1) * 162].numpy().astype(np.float64)
        ref = 0.5 * xs + dense(o[h].laplacian) @ xs - dense(o[h].ew_derivative) @ xs + 2 * dense(o[h].ns_derivative) @ xs
        np.testing.assert_allclose(y[h * 162 : (h + 1) * 162], ref, rtol=1e-4, atol=1e-4)
    hemi = hierarchy.fsaverage_hemisphere(3, "left")
    par = interpolation_parents(np.asarray(hemi.faces), 3)  # raises if fsaverage were not nested
    assert par.shape == (642, 2)
    # read off the faces, the unpooling table agrees with the hierarchy's parent edges
    np.testing.assert_array_equal(par[162:], hierarchy.parent_edges(3))
    # known function through the layer: d z / d(north) = cos(latitude) on the unit sphere
    v = np.array(hemi.vertices, dtype=np.float64)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    conv3 = MeshConv(1, 1, level=3, hemispheres="left", bias=False)
    with torch.no_grad():
        conv3.weight.copy_(torch.tensor([0.0, 0.0, 0.0, 1.0]).view(1, 1, 4))
    dz = conv3(torch.tensor(v[:, 2], dtype=torch.float32).view(1, 1, -1))[0, 0].detach().numpy()
    lat = np.arcsin(v[:, 2])
    away = np.abs(lat) < 1.3
    assert np.linalg.norm(dz[away] - np.cos(lat[away])) / np.linalg.norm(np.cos(lat[away])) < 0.05


def test_meshconv_backward_passes_gradcheck_in_float64():
    conv = MeshConv(2, 3, hemispheres="both", operators=[ops(1, "left"), ops(1, "right")]).double()
    x = torch.randn(2, 2, 84, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,), eps=1e-6, atol=1e-6)
    out = conv(x)
    g = torch.randn_like(out)
    gw, gb = torch.autograd.grad(out, (conv.weight, conv.bias), g)
    eps = 1e-6
    d = torch.randn_like(conv.weight)
    with torch.no_grad():
        conv.weight += eps * d
        up = (conv(x) * g).sum()
        conv.weight -= 2 * eps * d
        down = (conv(x) * g).sum()
        conv.weight += eps * d
    torch.testing.assert_close((gw * d).sum(), (up - down) / (2 * eps), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(gb, g.sum(dim=(0, 2)))


def test_chained_meshconvs_read_the_vertex_major_view_without_changing_results():
    o = [ops(2, "left"), ops(2, "right")]
    c1, c2 = MeshConv(3, 4, operators=o), MeshConv(4, 2, operators=o)
    x = torch.randn(5, 3, 324)
    h = c1(x)
    assert h.shape == (5, 4, 324)
    assert h.permute(2, 0, 1).is_contiguous()  # vertex-major storage: the next layer needs no copy
    torch.testing.assert_close(c2(h), c2(h.contiguous()), rtol=1e-6, atol=1e-6)
    # and gradients agree with a contiguous round trip
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    c2(c1(xa)).square().sum().backward()
    c2(c1(xb).contiguous()).square().sum().backward()
    torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-5, atol=1e-5)

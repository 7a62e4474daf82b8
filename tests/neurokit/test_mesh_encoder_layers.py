"""Tests of the mesh layers the SurfaceMeshEncoder adds to neurokit.nn: VertexReadout, MeshUpsample, interpolation_matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurokit.exceptions import DataValidationError, InvalidParameterError, VertexCountError
from neurokit.mesh.levels import n_vertices
from neurokit.nn import MeshConv, MeshUnpool, MeshUpsample, VertexReadout, interpolation_matrix


def test_vertex_readout_matches_einsum_for_any_layout_and_has_gradients():
    torch.manual_seed(0)
    layer = VertexReadout(5, 84)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(3, 5, 84)
    expected = torch.einsum("bcv,vc->bv", x, layer.weight) + layer.bias
    torch.testing.assert_close(layer(x), expected)
    vertex_major = x.permute(2, 0, 1).contiguous().permute(1, 2, 0)  # what MeshConv returns
    torch.testing.assert_close(layer(vertex_major), expected)
    xd = x.double().requires_grad_()
    assert torch.autograd.gradcheck(layer.double(), (xd,))
    assert VertexReadout(4, 10, bias=False).bias is None


def test_vertex_readout_of_shared_features_equals_the_expanded_readout():
    torch.manual_seed(1)
    layer = VertexReadout(6, 42, gain=3.0)
    with torch.no_grad():
        layer.weight.normal_()
        layer.bias.normal_()
    x = torch.randn(4, 6)
    torch.testing.assert_close(layer.forward_shared(x), layer(x[:, :, None].expand(-1, -1, 42)))
    with pytest.raises(DataValidationError, match=r"\(batch, 6\)"):
        layer.forward_shared(torch.zeros(4, 5))


def test_vertex_readout_validation():
    with pytest.raises(InvalidParameterError, match="channels"):
        VertexReadout(0, 10)
    with pytest.raises(VertexCountError):
        VertexReadout(2, 10)(torch.zeros(1, 2, 11))


def test_interpolation_matrix_rows():
    parents = np.array([[0, 0], [1, 1], [0, 1]])
    m = interpolation_matrix(parents, 2).to_dense()
    np.testing.assert_allclose(m.numpy(), [[1, 0], [0, 1], [0.5, 0.5]])
    with pytest.raises(DataValidationError, match="parents"):
        interpolation_matrix(np.array([[0, 3]]), 2)


def test_unpool_sparse_path_equals_parent_average_and_feeds_meshconv():
    up = MeshUnpool(2)
    x = torch.randn(2, 3, 2 * n_vertices(2))
    y = up(x)
    expected = 0.5 * (x[:, :, up.parents[:, 0]] + x[:, :, up.parents[:, 1]])
    torch.testing.assert_close(y, expected)
    assert MeshConv(3, 4, 3)(y).shape == (2, 4, 2 * n_vertices(3))


def test_upsample_equals_chained_unpooling_and_backpropagates():
    x = torch.randn(2, 4, 2 * n_vertices(1), requires_grad=True)
    chained = MeshUnpool(2)(MeshUnpool(1)(x))
    up = MeshUpsample(1, 3)
    torch.testing.assert_close(up(x), chained)
    up(x).sum().backward()
    # every coarse value is spread with total weight = number of fine vertices it reaches (weights sum per row to 1)
    assert torch.isclose(x.grad.sum(), torch.tensor(2 * 4 * 2.0 * n_vertices(3)))
    assert torch.equal(MeshUpsample(2, 2)(x.detach()[:, :, :0].new_ones(1, 1, 2 * n_vertices(2))), torch.ones(1, 1, 2 * n_vertices(2)))
    with pytest.raises(InvalidParameterError, match="target_level"):
        MeshUpsample(3, 2)

import numpy as np
import pytest

from neurokit import SurfaceData
from neurokit.exceptions import HemisphereMismatchError, NonFiniteDataError, VertexCountError
from neurokit.mesh import level_from_n_vertices, n_vertices


@pytest.mark.parametrize("level,expected", [(0, 12), (3, 642), (5, 10242), (6, 40962), (7, 163842)])
def test_vertex_counts(level, expected):
    assert n_vertices(level) == expected
    assert level_from_n_vertices(expected) == level
    assert level_from_n_vertices(2 * expected, both_hemispheres=True) == level


def test_bad_vertex_count_names_the_source():
    with pytest.raises(VertexCountError, match="lh.foo.mgh"):
        level_from_n_vertices(10000, what="lh.foo.mgh")
    with pytest.raises(VertexCountError):
        n_vertices(8)


def test_surface_data_join_slice_and_validate():
    rng = np.random.default_rng(0)
    left, right = rng.normal(size=(3, 642)), rng.normal(size=(3, 642))
    sd = SurfaceData.from_hemispheres(left, right, source="x")
    assert sd.level == 3 and sd.data.dtype == np.float32 and sd.data.shape == (3, 1284)
    np.testing.assert_allclose(sd.right, right.astype(np.float32))
    coarse = sd.to_level(1)
    np.testing.assert_allclose(coarse.left, left[:, :42].astype(np.float32))
    np.testing.assert_allclose(coarse.right, right[:, :42].astype(np.float32))
    with pytest.raises(HemisphereMismatchError, match="right"):
        SurfaceData.from_hemispheres(left, right[:, :162], source="x")
    bad = left.copy()
    bad[1, 5] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"\(1, 5\)"):
        SurfaceData.from_hemispheres(bad, right, source="x")

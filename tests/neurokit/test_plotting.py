"""Static and interactive surface plots."""

import numpy as np
import pytest

from neurokit import SurfaceData
from neurokit.exceptions import DataValidationError, InvalidParameterError, VertexCountError
from neurokit.mesh import fsaverage_hemisphere, n_vertices
from neurokit.plotting import plot_surface_map, save_figure, view_surface_map


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NEUROKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "plot-cache"))
    monkeypatch.delenv("NEUROKIT_FREESURFER_DIR", raising=False)
    monkeypatch.delenv("FREESURFER_HOME", raising=False)


def _level3_values():
    x = fsaverage_hemisphere(3).vertices[:, 0]
    return np.concatenate([x, -x])


def test_plot_level3_upsampled_writes_png(tmp_path):
    out = tmp_path / "map.png"
    fig = plot_surface_map(_level3_values(), view="lateral", title="x", threshold=0.1, output_file=out, dpi=40)
    assert out.is_file() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    axes3d = [ax for ax in fig.axes if ax.name == "3d"]
    assert len(axes3d) == 2
    assert fig.get_suptitle() == "x"


def test_plot_one_hemisphere_and_surface_data(tmp_path):
    values = _level3_values()
    fig = plot_surface_map(values[:642], hemi="left", surface="pial", view="medial")
    assert len([ax for ax in fig.axes if ax.name == "3d"]) == 1
    sd = SurfaceData(values[None, :], 3)
    fig = plot_surface_map(sd, 3, hemi="right", view="ventral", vmin=-1, vmax=1, output_file=tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 1000


def test_fine_levels_without_freesurfer_are_sliced_with_a_warning():
    values = np.ones(2 * n_vertices(6))
    with pytest.warns(UserWarning, match="shown at level 5"):
        plot_surface_map(values, hemi="left", surface="sphere")


def test_plot_bad_inputs(tmp_path):
    values = _level3_values()
    with pytest.raises(VertexCountError):
        plot_surface_map(np.zeros(1000))
    with pytest.raises(VertexCountError):
        plot_surface_map(values[:642])  # one hemisphere needs hemi='left' or 'right'
    with pytest.raises(VertexCountError):
        plot_surface_map(values, level=4)
    with pytest.raises(InvalidParameterError):
        plot_surface_map(values, hemi="middle")
    with pytest.raises(InvalidParameterError):
        plot_surface_map(values, view="sideways")
    with pytest.raises(InvalidParameterError):
        plot_surface_map(values, surface="midthickness")
    with pytest.raises(InvalidParameterError):
        plot_surface_map(values, vmin=1, vmax=0)
    with pytest.raises(DataValidationError):
        plot_surface_map(np.full(values.shape, np.nan))
    with pytest.raises(DataValidationError):
        plot_surface_map(SurfaceData(np.zeros((2, 1284)), 3))
    with pytest.raises(DataValidationError, match="does not exist"):
        plot_surface_map(values, output_file=tmp_path / "missing" / "x.png")


def test_save_figure_atomic(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    path = save_figure(fig, tmp_path / "f.svg")
    assert path.read_text().lstrip().startswith("<?xml")


def test_view_surface_map_html():
    pytest.importorskip("plotly")
    view = view_surface_map(_level3_values(), title="interactive")
    html = view.get_standalone()
    assert "interactive" in html and len(html) > 10_000

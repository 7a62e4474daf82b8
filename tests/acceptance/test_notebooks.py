"""The notebooks are built from notebooks/src and run top to bottom, so they cannot rot."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
sys.path.insert(0, str(ROOT / "notebooks"))
import build  # noqa: E402


def test_percent_format_parser_makes_markdown_and_code_cells():
    nb = build.parse_percent_script("# %% [markdown]\n# # Title\n# text\n\n# %%\nx = 1\nprint(x)\n")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    assert nb.cells[0].source == "# Title\ntext"
    assert nb.cells[1].source == "x = 1\nprint(x)"


def test_every_source_has_an_up_to_date_notebook():
    sources = sorted((ROOT / "notebooks" / "src").glob("[0-9]*.py"))
    assert sources, "no notebook sources in notebooks/src"
    for source in sources:
        target = build.notebook_path(source)
        assert target.exists(), f"{target.name} missing: run python notebooks/build.py"
        assert target.read_text() == build.render(source), f"{target.name} is stale: run python notebooks/build.py"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    # Notebooks write their outputs under the working directory; keep them in tmp.
    monkeypatch.setenv("NEUROKIT_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors

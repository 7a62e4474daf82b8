"""Build the notebooks in this folder from their plain-Python sources in ``src/``.

Each source is a script in the "percent" format: ``# %%`` starts a code cell,
``# %% [markdown]`` starts a markdown cell whose lines are ``# ``-prefixed
comments. Sources are what we edit and review; the ``.ipynb`` files are built
from them (without outputs) so users can open them in Jupyter.

    python notebooks/build.py            # rebuild every notebook
    python notebooks/build.py --check    # exit 1 if a notebook is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"


def parse_percent_script(text: str) -> nbformat.NotebookNode:
    """Turn a percent-format script into a notebook (no outputs)."""
    cells: list[nbformat.NotebookNode] = []
    kind, lines = None, []

    def flush() -> None:
        body = "\n".join(lines).strip("\n")
        if kind is None or not body.strip():
            return
        if kind == "markdown":
            md = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.splitlines())
            cells.append(nbformat.v4.new_markdown_cell(md))
        else:
            cells.append(nbformat.v4.new_code_cell(body))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def notebook_path(source: Path) -> Path:
    """``src/02_neurogen.py`` -> the ``.ipynb`` beside ``src/`` whose name starts with ``02_``."""
    return HERE / (source.stem + ".ipynb")


def render(source: Path) -> str:
    nb = parse_percent_script(source.read_text())
    # Deterministic cell ids so rebuilding an unchanged source gives identical bytes.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(SOURCES.glob("[0-9]*.py")):
        target, text = notebook_path(source), render(source)
        if target.exists() and target.read_text() == text:
            continue
        stale.append(target.name)
        if not args.check:
            tmp = target.with_suffix(".ipynb.tmp")
            tmp.write_text(text)
            tmp.replace(target)
    if args.check and stale:
        print("out of date (run python notebooks/build.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

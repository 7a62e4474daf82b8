"""The import order docs/ARCHITECTURE.md promises, checked on the source with ``ast``.

Packages depend downwards only: ``kernels`` <- ``neurokit`` <- ``encoding`` <-
``neurogen`` <- ``cortex2image`` (a package may import those before it, never
one after it). ``kernels`` takes only ``neurokit.exceptions`` and
``neurokit.validation`` from ``neurokit``; ``neurogen`` and ``cortex2image``
share the top, and of the two only ``cortex2image`` imports the other (a
reconstruction uses a generator; ``neurogen`` never needs ``cortex2image``).

No module imports a private (``_``-prefixed, not dunder) name or module that
another module owns: ``from x import _y``, ``import x._y``, and ``x._y`` on a
module bound by an import. A package's private submodules (``neurokit.nn._layout``)
are its own modules' to use. ``benchmarks/`` and ``notebooks/`` are checked for private names too.

Every ``import`` statement counts, also those inside functions (lazy imports)
and under ``if TYPE_CHECKING:``; so do ``importlib.import_module("literal")``
calls.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Position of each package in the dependency order: a package may import those with a smaller rank.
RANK = {"kernels": 0, "neurokit": 1, "encoding": 2, "neurogen": 3, "cortex2image": 4}
#: The only parts of ``neurokit`` that ``kernels`` may import (it sits below ``neurokit``).
KERNELS_MAY_IMPORT = ("neurokit.exceptions", "neurokit.validation")
#: Folders of scripts checked for private-name imports too (besides the packages).
SCRIPT_FOLDERS = ("benchmarks", "notebooks")


@dataclass(frozen=True)
class Import:
    """One imported thing: ``target`` is the dotted name (module, or module.attribute)."""

    path: Path
    line: int
    target: str
    via: str  # "import", "from" or "attribute"


def _is_private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def module_name(root: Path, path: Path) -> str:
    """Dotted module name of ``path`` under ``root`` (``pkg/__init__.py`` -> ``pkg``)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(root: Path, dotted: str) -> bool:
    base = root.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _resolve_from(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """Absolute module of ``from <level dots><module> import ...`` in module ``importer``."""
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(root: Path, path: Path) -> Iterator[Import]:
    """Every import in one file (lazy ones included), as absolute dotted targets."""
    importer = module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bound: dict[str, str] = {}  # local name -> the module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, alias.name, "import")
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            module = _resolve_from(importer, is_package, node)
            if module == "__future__":
                continue
            for alias in node.names:
                if alias.name == "*":
                    yield Import(path, node.lineno, module, "from")
                    continue
                target = f"{module}.{alias.name}" if module else alias.name
                yield Import(path, node.lineno, target, "from")
                if _is_module(root, target):
                    bound[alias.asname or alias.name] = target
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id == "import_module"))):
            yield Import(path, node.lineno, node.args[0].value, "import")
    for node in ast.walk(tree):  # x._y on a name bound to a module by an import
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.append(base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                yield Import(path, node.lineno, ".".join([bound[base.id], *reversed(chain)]), "attribute")


def python_files(root: Path, folders: tuple[str, ...]) -> list[Path]:
    return sorted(p for folder in folders for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _where(root: Path, imp: Import) -> str:
    return f"{imp.path.relative_to(root)}:{imp.line}"


def layering_violations(root: Path) -> list[str]:
    """``file:line: message`` for every import of a package later in :data:`RANK` (or beyond kernels' allowance)."""
    found = []
    for path in python_files(root, tuple(RANK)):
        own = module_name(root, path).split(".")[0]
        for imp in imports_of(root, path):
            if imp.via == "attribute":
                continue
            other = imp.target.split(".")[0]
            if other not in RANK or other == own:
                continue
            if own == "kernels" and other == "neurokit":
                if not any(imp.target == allowed or imp.target.startswith(allowed + ".")
                           for allowed in KERNELS_MAY_IMPORT):
                    found.append(f"{_where(root, imp)}: kernels imports {imp.target} "
                                 f"(only {', '.join(KERNELS_MAY_IMPORT)} of neurokit)")
            elif RANK[other] > RANK[own]:
                found.append(f"{_where(root, imp)}: {own} imports {imp.target} ({other} comes after {own})")
    return found


def private_import_violations(root: Path) -> list[str]:
    """``file:line: message`` for every private name or module used outside the module or package that owns it."""
    found = []
    for path in python_files(root, (*RANK, *SCRIPT_FOLDERS)):
        importer = module_name(root, path)
        for imp in imports_of(root, path):
            parts = imp.target.split(".")
            private = next((i for i, part in enumerate(parts) if _is_private(part)), None)
            if private is None:
                continue
            owner = ".".join(parts[:private])
            if owner and (importer == owner or importer.startswith(owner + ".")):
                continue  # a package's private module (or a module's own name), used inside it
            found.append(f"{_where(root, imp)}: {importer} uses {imp.target}, private to {owner or parts[0]} "
                         f"({imp.via})")
    return found


# ----------------------------------------------------------------------------- the repository
def test_packages_import_only_downwards():
    violations = layering_violations(ROOT)
    assert not violations, "imports against the package order:\n" + "\n".join(violations)


def test_no_module_imports_another_modules_private_names():
    violations = private_import_violations(ROOT)
    assert not violations, "private names used outside their module:\n" + "\n".join(violations)


# ----------------------------------------------------------------------------- the checker itself
PLANTED = {
    "kernels/__init__.py": "",
    "kernels/ops.py": (
        "from neurokit.exceptions import NeurokitError\n"  # allowed
        "from neurokit import validation\n"  # allowed: a module of the allowance
        "from neurokit.io import read\n"  # 3: beyond the allowance
        "import encoding\n"  # 4: upwards
    ),
    "neurokit/__init__.py": "from neurokit._version import __version__\n",  # own private module: allowed
    "neurokit/_version.py": "__version__ = '0'\n",
    "neurokit/exceptions.py": "",
    "neurokit/validation.py": "",
    "neurokit/io.py": "import kernels.ops\n\n\ndef read():\n    from cortex2image import demo\n",  # 5: lazy, upwards
    "neurokit/cli.py": "_EXTRA = {}\n",
    "neurokit/nn/__init__.py": "",
    "neurokit/nn/_layout.py": "def check():\n    pass\n",
    "neurokit/nn/conv.py": "from neurokit.nn._layout import check\nfrom ._layout import check as c\n",  # allowed
    "encoding/__init__.py": "",
    "encoding/ridge.py": "def _solve():\n    pass\n",
    "encoding/ensemble.py": (
        "from encoding.ridge import _solve\n"  # 1: private name
        "from .ridge import _solve as s\n"  # 2: the same, relative
        "import neurokit.cli\n"
        "neurokit.cli._EXTRA['x'] = 1\n"  # 4: attribute on an imported module
        "from neurokit.nn._layout import check\n"  # 5: another package's private module
    ),
    "neurogen/__init__.py": "",
    "neurogen/optimize.py": "import importlib\nimportlib.import_module('cortex2image.semantic')\n",  # 2: upwards
    "cortex2image/__init__.py": "",
    "cortex2image/demo.py": "from neurogen import optimize\nfrom encoding import ridge\nridge._solve()\n",  # 3
    "cortex2image/semantic.py": "",
    "benchmarks/bench.py": "from neurokit.cli import _EXTRA\nimport neurogen\n",  # 1: private name
}


@pytest.fixture()
def planted(tmp_path) -> Path:
    for name, text in PLANTED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _locations(violations: list[str]) -> set[str]:
    return {v.split(": ")[0] for v in violations}


def test_checker_flags_imports_against_the_order(planted):
    violations = layering_violations(planted)
    assert _locations(violations) == {"kernels/ops.py:3", "kernels/ops.py:4", "neurokit/io.py:5",
                                      "neurogen/optimize.py:2"}, violations
    assert any("only neurokit.exceptions, neurokit.validation" in v for v in violations)


def test_checker_flags_private_names(planted):
    violations = private_import_violations(planted)
    assert _locations(violations) == {"encoding/ensemble.py:1", "encoding/ensemble.py:2", "encoding/ensemble.py:4",
                                      "encoding/ensemble.py:5", "cortex2image/demo.py:3",
                                      "benchmarks/bench.py:1"}, violations
    assert any("encoding.ridge._solve, private to encoding.ridge (from)" in v for v in violations)
    assert any("neurokit.cli._EXTRA, private to neurokit.cli (attribute)" in v for v in violations)

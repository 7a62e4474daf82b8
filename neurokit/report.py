"""A self-contained HTML report: sections of text, figures and tables, plus a JSON of every number.

Any analysis can write one (the demo, :mod:`cortex2image.demo`, does). Figures are
PNG files referenced relative to the report, so the folder can be moved or
zipped as a whole; tables are lists of rows rendered as HTML tables.

A report can also make claims (:class:`neurokit.claims.Claim`): they are written
to ``report.json`` as a top-level ``"claims"`` list (beside the numbers) and
rendered as the first section, a table with each claim's value, interval,
baselines, per-seed values and computed verdict, under one sentence saying
which claims hold.
"""

from __future__ import annotations

import fnmatch
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neurokit.claims import Claim, check_claims, summarize_claims
from neurokit.exceptions import DataValidationError
from neurokit.io.atomic import atomic_write_text

__all__ = ["Report", "Section", "json_default", "compare_reports", "REPORT_COMPARISON_EXCLUDES"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #1d1d1f; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.8rem; margin-bottom: .2rem; }
h2 { font-size: 1.3rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
.meta { color: #666; font-size: .9rem; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border: 1px solid #ddd; padding: .25rem .6rem; text-align: right; }
th { background: #f5f5f7; }
td:first-child, th:first-child { text-align: left; }
.verdict-pass { color: #1a7f37; font-weight: 600; }
.verdict-fail { color: #c62828; font-weight: 600; }
td.claim-holds { background: #e6f4ea; color: #14652b; font-weight: 600; text-align: center; }
td.claim-fails { background: #fdecea; color: #b71c1c; font-weight: 600; text-align: center; }
.claims td, .claims th { vertical-align: top; }
.claims th[scope="row"], .claims td.statement { text-align: left; }
.claims td.statement { min-width: 18rem; max-width: 28rem; }
.claims td.baselines ul { list-style: none; margin: 0; padding: 0; text-align: left; }
.claims td.baselines li { white-space: nowrap; }
.claims td.baselines li.context { color: #888; font-style: italic; }
.claims td.baselines .name { font-weight: 600; }
.claims .ci { display: block; white-space: nowrap; color: #555; font-size: .85rem; }
.claims .note, .claims .rule { display: block; color: #555; font-size: .85rem; font-weight: normal; }
.claims-summary { font-weight: 600; }
"""


@dataclass
class Section:
    """One section of a report: a title, paragraphs, tables and figures (in that order)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[Any]]]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)

    def text(self, paragraph: str) -> "Section":
        self.paragraphs.append(paragraph)
        return self

    def table(self, caption: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> "Section":
        """Add a table; numbers are formatted with 3 significant decimals."""
        self.tables.append((caption, list(header), [list(r) for r in rows]))
        return self

    def figure(self, path: str | os.PathLike, caption: str = "") -> "Section":
        """Add a figure (a PNG inside the report's folder)."""
        self.figures.append((str(path), caption))
        return self


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return '<span class="verdict-pass">yes</span>' if value else '<span class="verdict-fail">no</span>'
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.3f}"
    return html.escape(str(value))


class Report:
    """An HTML report written into ``folder`` (``report.html`` and ``report.json``).

    Parameters
    ----------
    folder : path
        Where the report and its figures live; figure paths are made relative to it.
    title : str

    Attributes
    ----------
    numbers : dict
        Every number, written as ``report.json`` (with ``"claims"`` added).
    claims : list of Claim
        Claims, rendered first and written as ``report.json``'s ``"claims"``
        (a list of :meth:`Claim.to_dict`; empty when there are none).
    claims_scope : str
        What the claims are about, for the section title and summary
        (default ``"on this world"``: "Claims on this world").
    """

    def __init__(self, folder: str | os.PathLike, title: str) -> None:
        self.folder = Path(folder)
        self.title = title
        self.sections: list[Section] = []
        self.numbers: dict[str, Any] = {}
        self.meta: list[str] = []
        self.claims: list[Claim] = []
        self.claims_scope = "on this world"

    def section(self, title: str) -> Section:
        section = Section(title)
        self.sections.append(section)
        return section

    def _relative(self, path: str) -> str:
        p = Path(path)
        try:
            return p.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return p.as_posix()

    def to_html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
        ]
        parts += [f'<p class="meta">{html.escape(m)}</p>' for m in self.meta]
        parts += self._claims_html()
        for s in self.sections:
            parts.append(f"<h2>{html.escape(s.title)}</h2>")
            parts += [f"<p>{html.escape(p)}</p>" for p in s.paragraphs]
            for caption, header, rows in s.tables:
                parts.append("<table>")
                if caption:
                    parts.append(f"<caption>{html.escape(caption)}</caption>")
                parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
                parts += ["<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows]
                parts.append("</table>")
            for path, caption in s.figures:
                parts.append(
                    f'<figure><img src="{html.escape(self._relative(path))}" alt="{html.escape(caption)}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                )
        parts.append("</body></html>")
        return "\n".join(parts)

    def _claims_html(self) -> list[str]:
        """The claims section: the summary sentence and one table row per claim (nothing without claims)."""
        claims = check_claims(self.claims)
        if not claims:
            return []

        def estimate(value: float, ci: Sequence[float]) -> str:
            return f'{value:.3f} <span class="ci">[{ci[0]:.3f}, {ci[1]:.3f}]</span>'

        parts = [f'<section class="claims" aria-labelledby="claims"><h2 id="claims">'
                 f"{html.escape('Claims ' + self.claims_scope)}</h2>",
                 f'<p class="claims-summary">{html.escape(summarize_claims(claims, self.claims_scope))}</p>',
                 "<table>", "<caption>Each claim's value with its confidence interval [low, high], its baselines "
                 "(in grey italics: shown for context, not compared), its value per seed, and whether "
                 "it holds (computed from the intervals by the rule given under the verdict)</caption>",
                 "<tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in
                                  ["id", "statement", "value [CI]", "baselines", "seeds", "verdict"]) + "</tr>"]
        for c in claims:
            baselines = "".join(
                f'<li{"" if n in c.passes else " class=context"}><span class="name">{html.escape(n)}</span> '
                f"{estimate(b['value'], b['ci'])}</li>" for n, b in c.baselines.items())
            cells = [f'<th scope="row">{html.escape(c.id)}</th>',
                     f'<td class="statement">{html.escape(c.statement)}'
                     + (f'<span class="note">{html.escape(c.note)}</span>' if c.note else "") + "</td>",
                     f"<td>{estimate(c.value, c.ci)}"
                     + ('<span class="note">estimate outside its interval (biased under resampling)</span>'
                        if c.estimate_outside_ci else "") + "</td>",
                     f'<td class="baselines"><ul>{baselines}</ul></td>',
                     f"<td>{html.escape(', '.join(f'{s:.3f}' for s in c.seeds))}</td>"]
            verdict, css = ("holds", "claim-holds") if c.holds else ("does not hold", "claim-fails")
            mark = "✓" if c.holds else "✗"
            cells.append(f'<td class="{css}"><span aria-hidden="true">{mark}</span> {verdict}'
                         f'<span class="rule">{html.escape(c.explain())}</span></td>')
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts += ["</table>", "</section>"]
        return parts

    def to_json(self) -> str:
        """``report.json``: the numbers plus ``"claims"``, a list of :meth:`Claim.to_dict`.

        Raises
        ------
        DataValidationError
            If ``numbers`` has a ``"claims"`` key of its own, or a claim is
            invalid or shares its id with another.
        """
        if "claims" in self.numbers:
            raise DataValidationError("report numbers: the key 'claims' is reserved for Report.claims")
        claims = [c.to_dict() for c in check_claims(self.claims)]
        return json.dumps({**self.numbers, "claims": claims}, indent=2, sort_keys=True, default=json_default)

    def write(self) -> tuple[Path, Path]:
        """Write ``report.html`` and ``report.json`` atomically; return their paths.

        Raises
        ------
        FileNotFoundError
            If a figure the report references does not exist.
        DataValidationError
            As :meth:`to_json`.
        """
        for s in self.sections:
            for path, _ in s.figures:
                if not (self.folder / self._relative(path)).is_file():
                    raise FileNotFoundError(f"report figure {path} does not exist")
        report_json = self.to_json()
        html_path = atomic_write_text(self.folder / "report.html", self.to_html())
        json_path = atomic_write_text(self.folder / "report.json", report_json)
        return Path(html_path), Path(json_path)


def json_default(value: Any, *, max_array_size: int | None = None, sets: bool = False) -> Any:
    """``json.dumps`` fallback (``default=json_default``) for numpy scalars and arrays and paths.

    The one JSON fallback of the toolkit (reports, run records, checkpoint configs).

    Parameters
    ----------
    value : numpy scalar, ndarray, path-like (or set, with ``sets=True``)
        What :mod:`json` cannot write itself.
    max_array_size : int, optional
        Largest array written as a list (a checkpoint config keeps big arrays as tensors); default no limit.
    sets : bool
        Write sets and frozensets as sorted lists (default: an error).

    Returns
    -------
    int, float, bool, str or list
        ``value.item()``, ``value.tolist()``, ``os.fspath(value)`` or ``sorted(value)``.

    Raises
    ------
    TypeError
        For any other type (naming it), or an array over ``max_array_size`` values, as :func:`json.dumps` expects.
    """
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        if max_array_size is not None and value.size > max_array_size:
            raise TypeError(f"cannot write an ndarray of {value.size} values as JSON (at most {max_array_size})")
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if sets and isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


#: JSON paths :func:`compare_reports` leaves out by default: where the report was written (the output
#: folder differs between two runs of the same settings) and where the packaged generator weights are
#: installed (a path, which differs between two checkouts of the same code). No timing is in a
#: report's numbers.
REPORT_COMPARISON_EXCLUDES = ("settings.output", "cortex2image.generator.weights")


def _load_numbers(report: str | os.PathLike | Mapping[str, Any]) -> Any:
    if isinstance(report, Mapping):
        return report
    path = Path(report)
    if path.is_dir():
        path = path / "report.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataValidationError(f"{path}: cannot read the report ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise DataValidationError(f"{path}: not a JSON report ({exc})") from exc


def _same_value(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def compare_reports(a: str | os.PathLike | Mapping[str, Any], b: str | os.PathLike | Mapping[str, Any], *,
                    exclude: Sequence[str] = REPORT_COMPARISON_EXCLUDES) -> list[str]:
    """The JSON paths where two reports' numbers differ, value by value.

    Numbers must be identical (same type, same value; NaN equals NaN), lists
    the same length, objects the same keys.

    Parameters
    ----------
    a, b : path or dict
        A ``report.json`` (or the folder holding it), or its parsed content.
    exclude : sequence of str
        Paths left out, as :mod:`fnmatch` patterns over dotted paths with list
        indices in brackets (``"settings.output"``, ``"*.seconds"``); default
        :data:`REPORT_COMPARISON_EXCLUDES`.

    Returns
    -------
    list of str
        The differing paths in document order (``"ensemble.summary.median_r.ensemble.ensemble"``,
        ``"claims[3].ci[0]"``); a key on one side only is reported as its path; empty when the
        reports agree.

    Raises
    ------
    DataValidationError
        If a path cannot be read or is not JSON.
    """
    differences: list[str] = []

    def excluded(path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in exclude)

    def walk(x: Any, y: Any, path: str) -> None:
        if excluded(path):
            return
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            for key in [*x, *(k for k in y if k not in x)]:
                sub = f"{path}.{key}" if path else str(key)
                if key in x and key in y:
                    walk(x[key], y[key], sub)
                elif not excluded(sub):
                    differences.append(sub)
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif not _same_value(x, y):
            differences.append(path)

    walk(_load_numbers(a), _load_numbers(b), "")
    return differences

"""Claims a program can read: a statement, its value with a CI, baselines, and whether it holds.

A :class:`Claim` is what a report asserts about a result ("the ensemble is not
worse than full-data ridge"), written as data: the claim's value and interval,
each baseline's value and interval, the per-seed values, and the comparison
that decides ``holds``. ``holds`` is always *computed* from the numbers in the
claim (on construction and again when a claim is read back from JSON), never
given, so a claim cannot say it holds when its intervals say otherwise.

How ``holds`` is decided (``comparison["kind"]``), per baseline named in
``comparison["against"]``; the claim holds iff every one of them passes:

``greater_than`` / ``less_than``
    With a paired difference (claim minus baseline, on the same bootstrap
    resamples; ``comparison["differences"][name]``): its interval lies above
    (below) 0. Without one (the two were scored on different items): the
    intervals are separated, the claim's low bound above the baseline's high
    bound (or its high bound below the baseline's low bound), which is
    conservative.
``not_below``
    Non-inferiority: the paired difference's low bound is above ``-margin``.
``equivalent``
    Equivalence (TOST, :func:`neurokit.statistics.equivalence_test`): the
    paired difference's interval, at confidence ``1 - 2 alpha``, lies inside
    ``(-margin, margin)``.

Build claims from bootstrap distributions with the constructors
(:meth:`Claim.greater_than`, :meth:`Claim.less_than`, :meth:`Claim.not_below`,
:meth:`Claim.equivalent`): they combine per-seed distributions with
:func:`neurokit.statistics.combine_seeds`, compute the paired differences and
fill in the comparison. ``Claim(...)`` itself takes the numbers directly.

Examples
--------
Two training seeds of a model and one baseline, scored on the same 120 test
images with the same bootstrap seed (hence the same resamples, so paired):

>>> import numpy as np
>>> from neurokit.claims import Claim
>>> from neurokit.statistics import PearsonStatistic, bootstrap_distribution
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(size=(120, 50))
>>> def score(pred):
...     return bootstrap_distribution(PearsonStatistic(), y, pred, n_boot=500)
>>> model = [score(0.6 * y + rng.normal(size=y.shape)) for seed in range(2)]
>>> baseline = score(0.6 * y + rng.normal(size=y.shape))
>>> claim = Claim.equivalent("model_vs_baseline", "The model is as accurate as the baseline.",
...                          model, {"baseline": baseline, "chance": 0.0}, margin=0.05, against=["baseline"])
>>> claim.holds, len(claim.seeds), claim.to_dict()["baselines"]["chance"]
(True, 2, {'value': 0.0, 'ci': [0.0, 0.0]})
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from neurokit.exceptions import DataValidationError
from neurokit.statistics import BootstrapDistribution, combine_seeds
from neurokit.validation import check_real, is_real

__all__ = ["Claim", "KINDS", "check_claims", "summarize_claims"]

#: The comparisons a claim can make.
KINDS = ("greater_than", "less_than", "not_below", "equivalent")
_PAIRED_ONLY = ("not_below", "equivalent")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

#: What the constructors accept for the claim and each baseline: one
#: distribution, one per seed, or (baselines only) a fixed number such as chance.
Estimate = Union[BootstrapDistribution, Sequence[BootstrapDistribution]]


def _number(value: Any, where: str) -> float:
    if not is_real(value):
        raise DataValidationError(f"{where}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise DataValidationError(f"{where}: expected a finite number, got {value}")
    return value


def _interval(ci: Any, where: str) -> tuple[float, float]:
    if isinstance(ci, (str, bytes)) or not isinstance(ci, Sequence) or len(ci) != 2:
        raise DataValidationError(f"{where}: expected [low, high], got {ci!r}")
    low, high = _number(ci[0], f"{where}[0]"), _number(ci[1], f"{where}[1]")
    if not low <= high:
        raise DataValidationError(f"{where}: expected low <= high, got [{low}, {high}]")
    return low, high


def _estimate(entry: Any, where: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping) or set(entry) != {"value", "ci"}:
        raise DataValidationError(f"{where}: expected {{'value': number, 'ci': [low, high]}}, got {entry!r}")
    return {"value": _number(entry["value"], f"{where}['value']"), "ci": list(_interval(entry["ci"], f"{where}['ci']"))}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


@dataclass(frozen=True)
class Claim:
    """One claim: a statement with its value, interval, baselines and the computed verdict.

    Parameters
    ----------
    id : str
        Short identifier, unique within a report (letters, digits, ``_ . -``).
    statement : str
        One sentence saying what is claimed.
    value : float
        The claim's estimate (the constructors use the mean over seeds).
    ci : [low, high]
        Its confidence interval, at ``comparison["confidence"]``. ``low <= high``
        is required but ``value`` may lie outside: a percentile bootstrap
        interval misses its estimate when the statistic's bias under
        resampling exceeds its spread (see :mod:`neurokit.statistics`);
        :attr:`estimate_outside_ci` says so and reports show it.
    baselines : mapping of str to {"value": float, "ci": [low, high]}
        What the claim is compared with (a fixed reference has ``ci = [value, value]``).
    seeds : list of float
        The claim's value under each training seed.
    comparison : mapping
        ``{"kind": one of KINDS, "against": [baseline names], "confidence": float,
        "difference_confidence": float, "margin": float or None,
        "differences": {name: {"value": float, "ci": [low, high]}}}``: the paired
        differences claim minus baseline, at ``difference_confidence``, for the
        baselines that share the claim's test items; ``margin`` for
        ``not_below`` and ``equivalent`` only.
    note : str or None
        Anything a reader should know (e.g. "2 seeds in the demo; the acceptance test runs 3").

    Attributes
    ----------
    holds : bool
        Computed from the numbers (see the module docstring); not a parameter.
    passes : dict of str to bool
        The verdict against each baseline in ``comparison["against"]``.

    Raises
    ------
    DataValidationError
        If a field is malformed: an interval with ``low > high``, a
        non-finite number, an unknown baseline in ``against``, a
        ``not_below``/``equivalent`` comparison without a paired difference
        for every baseline, a bad id.
    """

    id: str
    statement: str
    value: float
    ci: list[float]
    baselines: dict[str, dict[str, Any]]
    seeds: list[float]
    comparison: dict[str, Any]
    note: str | None = None
    holds: bool = field(init=False)
    passes: dict[str, bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        where = f"claim {self.id!r}"
        if not isinstance(self.id, str) or not _ID.match(self.id):
            raise DataValidationError(f"{where}: id must match {_ID.pattern}")
        if not isinstance(self.statement, str) or not self.statement.strip() or "\n" in self.statement:
            raise DataValidationError(f"{where}: statement must be one non-empty line, got {self.statement!r}")
        if self.note is not None and not isinstance(self.note, str):
            raise DataValidationError(f"{where}: note must be a string or None, got {self.note!r}")
        value = _number(self.value, f"{where}: value")
        set_ = object.__setattr__
        set_(self, "value", value)
        set_(self, "ci", list(_interval(self.ci, f"{where}: ci")))
        if not isinstance(self.baselines, Mapping):
            raise DataValidationError(f"{where}: baselines must map names to {{'value', 'ci'}}")
        set_(self, "baselines", {str(k): _estimate(v, f"{where}: baselines[{k!r}]")
                                 for k, v in self.baselines.items()})
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence):
            raise DataValidationError(f"{where}: seeds must be a list of numbers, got {self.seeds!r}")
        set_(self, "seeds", [_number(s, f"{where}: seeds[{i}]") for i, s in enumerate(self.seeds)])
        set_(self, "comparison", self._check_comparison(self.comparison, where))
        passes = {name: self._passes(name) for name in self.comparison["against"]}
        set_(self, "passes", passes)
        set_(self, "holds", all(passes.values()))

    @property
    def estimate_outside_ci(self) -> bool:
        """True when ``value`` is not inside ``ci`` (a sign that the statistic is biased under resampling)."""
        return not self.ci[0] <= self.value <= self.ci[1]

    def _check_comparison(self, comparison: Any, where: str) -> dict[str, Any]:
        keys = {"kind", "against", "confidence", "difference_confidence", "margin", "differences"}
        if not isinstance(comparison, Mapping) or set(comparison) != keys:
            raise DataValidationError(f"{where}: comparison must have exactly the keys {sorted(keys)}, "
                                      f"got {sorted(comparison) if isinstance(comparison, Mapping) else comparison!r}")
        kind = comparison["kind"]
        if kind not in KINDS:
            raise DataValidationError(f"{where}: comparison['kind'] must be one of {KINDS}, got {kind!r}")
        against = comparison["against"]
        if isinstance(against, (str, bytes)) or not isinstance(against, Sequence) or not against:
            raise DataValidationError(f"{where}: comparison['against'] must be a non-empty list of baseline names")
        against = [str(a) for a in against]
        unknown = [a for a in against if a not in self.baselines]
        if unknown or len(set(against)) != len(against):
            raise DataValidationError(f"{where}: comparison['against'] names {unknown or against} but the "
                                      f"baselines are {sorted(self.baselines)} (each named once)")
        levels = {}
        for key in ("confidence", "difference_confidence"):
            levels[key] = _number(comparison[key], f"{where}: comparison[{key!r}]")
            if not 0.0 < levels[key] < 1.0:
                raise DataValidationError(f"{where}: comparison[{key!r}] must be in (0, 1), got {levels[key]}")
        margin = comparison["margin"]
        if kind in _PAIRED_ONLY:
            margin = _number(margin, f"{where}: comparison['margin']")
            if margin < 0 or (kind == "equivalent" and margin == 0):
                raise DataValidationError(f"{where}: comparison['margin'] must be "
                                          f"{'positive' if kind == 'equivalent' else '>= 0'}, got {margin}")
        elif margin is not None:
            raise DataValidationError(f"{where}: comparison['margin'] is only for {_PAIRED_ONLY}, got {margin!r}")
        differences = comparison["differences"]
        if not isinstance(differences, Mapping) or not set(differences) <= set(against):
            raise DataValidationError(f"{where}: comparison['differences'] must map names in 'against' to "
                                      "{'value', 'ci'}")
        if kind in _PAIRED_ONLY and set(differences) != set(against):
            raise DataValidationError(f"{where}: a {kind} claim needs a paired difference for every baseline in "
                                      f"'against', missing {sorted(set(against) - set(differences))}")
        differences = {k: _estimate(differences[k], f"{where}: comparison['differences'][{k!r}]")
                       for k in against if k in differences}
        return {"kind": kind, "against": against, **levels, "margin": margin, "differences": differences}

    def _passes(self, name: str) -> bool:
        kind, margin = self.comparison["kind"], self.comparison["margin"]
        diff = self.comparison["differences"].get(name)
        if diff is None:
            low, high = self.ci
            b_low, b_high = self.baselines[name]["ci"]
            return low > b_high if kind == "greater_than" else high < b_low
        d_low, d_high = diff["ci"]
        if kind == "greater_than":
            return d_low > 0.0
        if kind == "less_than":
            return d_high < 0.0
        if kind == "not_below":
            return d_low > -margin
        return -margin < d_low and d_high < margin

    def rule(self, name: str) -> str:
        """How the verdict against baseline ``name`` is decided, in words."""
        kind, margin = self.comparison["kind"], self.comparison["margin"]
        level = f"{100 * self.comparison['difference_confidence']:g} %"
        if name not in self.comparison["differences"]:
            sign = "above" if kind == "greater_than" else "below"
            return f"{100 * self.comparison['confidence']:g} % intervals separated, claim {sign} {name}"
        return {
            "greater_than": f"{level} interval of claim - {name} above 0",
            "less_than": f"{level} interval of claim - {name} below 0",
            "not_below": f"{level} interval of claim - {name} above -{_fmt(margin or 0.0)}",
            "equivalent": f"{level} interval of claim - {name} inside ±{_fmt(margin or 0.0)} (TOST)",
        }[kind]

    def explain(self, failing_only: bool = False) -> str:
        """One phrase per baseline (``failing_only``: per failing baseline): the interval, the rule, the verdict."""
        parts = []
        for name in self.comparison["against"]:
            if failing_only and self.passes[name]:
                continue
            diff = self.comparison["differences"].get(name)
            if diff is None:
                numbers = (f"claim [{_fmt(self.ci[0])}, {_fmt(self.ci[1])}] vs {name} "
                           f"[{_fmt(self.baselines[name]['ci'][0])}, {_fmt(self.baselines[name]['ci'][1])}]")
            else:
                numbers = f"claim - {name} = {_fmt(diff['value'])} [{_fmt(diff['ci'][0])}, {_fmt(diff['ci'][1])}]"
            parts.append(f"{numbers}, needs {self.rule(name)}: {'passes' if self.passes[name] else 'fails'}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``{"id", "statement", "value", "ci", "baselines", "seeds", "holds", "comparison", "note"}``.

        ``comparison`` also carries ``"passes"`` (the verdict per baseline) and
        ``"rule"`` (each verdict's rule in words); both are recomputed, not
        read, by :meth:`from_dict`.
        """
        comparison = {**self.comparison, "differences": {k: dict(v) for k, v in self.comparison["differences"].items()},
                      "passes": dict(self.passes), "rule": {k: self.rule(k) for k in self.comparison["against"]}}
        return {"id": self.id, "statement": self.statement, "value": self.value, "ci": list(self.ci),
                "baselines": {k: {"value": v["value"], "ci": list(v["ci"])} for k, v in self.baselines.items()},
                "seeds": list(self.seeds), "holds": self.holds, "comparison": comparison, "note": self.note}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Claim":
        """Read a claim written by :meth:`to_dict`, recomputing ``holds``.

        Raises
        ------
        DataValidationError
            If a key is missing or unknown, a field is malformed, or the stored
            ``holds`` / ``passes`` disagree with what the numbers give.
        """
        keys = {"id", "statement", "value", "ci", "baselines", "seeds", "holds", "comparison", "note"}
        if not isinstance(data, Mapping) or set(data) != keys:
            raise DataValidationError(f"claim: expected exactly the keys {sorted(keys)}, "
                                      f"got {sorted(data) if isinstance(data, Mapping) else data!r}")
        comparison = data["comparison"]
        if not isinstance(comparison, Mapping):
            raise DataValidationError(f"claim {data['id']!r}: comparison must be a mapping, got {comparison!r}")
        stored_passes = comparison.get("passes")
        comparison = {k: v for k, v in comparison.items() if k not in ("passes", "rule")}
        claim = cls(data["id"], data["statement"], data["value"], data["ci"], data["baselines"], data["seeds"],
                    comparison, data["note"])
        if data["holds"] is not claim.holds or (stored_passes is not None and dict(stored_passes) != claim.passes):
            raise DataValidationError(
                f"claim {claim.id!r}: stored holds={data['holds']!r} (passes {stored_passes!r}) disagrees with its "
                f"numbers, which give holds={claim.holds} ({claim.explain()})"
            )
        return claim

    # -- constructors from bootstrap distributions ------------------------------------------------

    @classmethod
    def greater_than(cls, id: str, statement: str, claim: Estimate, baselines: Mapping[str, Estimate | float], *,
                     against: Iterable[str] | None = None, confidence: float = 0.95,
                     note: str | None = None) -> "Claim":
        """A claim that holds iff the claim's statistic exceeds every baseline in ``against``.

        Parameters
        ----------
        id, statement, note
            As in :class:`Claim`.
        claim : BootstrapDistribution or sequence of them
            The claim's statistic: one distribution, or one per training seed
            (combined by :func:`neurokit.statistics.combine_seeds`; the claim's
            ``value`` is their mean, ``seeds`` the per-seed values).
        baselines : mapping of str to BootstrapDistribution, sequence of them, or float
            Per seed (paired with the claim's seed by position), one for all
            seeds (or one claim distribution against each baseline seed), or a
            fixed number (chance level, a ceiling).
        against : iterable of str, optional
            Baselines the verdict uses (default: all).
        confidence : float, default 0.95
            Level of every interval.

        Notes
        -----
        A baseline drawn on the same items and resamples as the claim
        (distributions with the same seed, item count and ``n_boot``) and every
        fixed number is compared through the paired difference claim minus
        baseline (passes iff its interval is above 0); any other through
        separated intervals.
        """
        return cls._build("greater_than", id, statement, claim, baselines, against, confidence, None, note)

    @classmethod
    def less_than(cls, id: str, statement: str, claim: Estimate, baselines: Mapping[str, Estimate | float], *,
                  against: Iterable[str] | None = None, confidence: float = 0.95,
                  note: str | None = None) -> "Claim":
        """A claim that holds iff the claim's statistic is below every baseline; as :meth:`greater_than` mirrored."""
        return cls._build("less_than", id, statement, claim, baselines, against, confidence, None, note)

    @classmethod
    def not_below(cls, id: str, statement: str, claim: Estimate, baselines: Mapping[str, Estimate | float], *,
                  margin: float, against: Iterable[str] | None = None, confidence: float = 0.95,
                  note: str | None = None) -> "Claim":
        """Non-inferiority: holds iff the paired difference's low bound exceeds ``-margin`` for every baseline.

        ``margin >= 0`` is in the statistic's units; the test is one-sided at
        level ``(1 - confidence) / 2``. Every baseline must share the claim's
        resamples (or be a fixed number). Other parameters as in :meth:`greater_than`.
        """
        return cls._build("not_below", id, statement, claim, baselines, against, confidence, margin, note)

    @classmethod
    def equivalent(cls, id: str, statement: str, claim: Estimate, baselines: Mapping[str, Estimate | float], *,
                   margin: float, alpha: float = 0.05, against: Iterable[str] | None = None,
                   confidence: float = 0.95, note: str | None = None) -> "Claim":
        """Equivalence (TOST): holds iff every paired difference's ``1 - 2 alpha`` interval is inside ``±margin``.

        The claim's and baselines' own intervals are reported at
        ``confidence``; the differences at ``1 - 2 alpha`` (90 % for the
        default 0.05), as :func:`neurokit.statistics.equivalence_test`.
        Other parameters as in :meth:`not_below`.
        """
        check_real(alpha, "alpha", minimum=0, maximum=0.5, include_minimum=False, include_maximum=False)
        return cls._build("equivalent", id, statement, claim, baselines, against, confidence, margin, note,
                          difference_confidence=1.0 - 2.0 * alpha)

    @classmethod
    def _build(cls, kind: str, id: str, statement: str, claim: Estimate, baselines: Mapping[str, Any],
               against: Iterable[str] | None, confidence: float, margin: float | None, note: str | None,
               difference_confidence: float | None = None) -> "Claim":
        where = f"claim {id!r}"
        seeds = _per_seed(claim, f"{where}: claim")
        combined = combine_seeds(seeds)
        if not isinstance(baselines, Mapping) or not baselines:
            raise DataValidationError(f"{where}: baselines must be a non-empty mapping of names to estimates")
        against = list(baselines) if against is None else list(against)
        missing = [a for a in against if a not in baselines]
        if missing:
            raise DataValidationError(f"{where}: against names {missing}, not among the baselines {list(baselines)}")
        check_real(margin, f"{where}: margin", minimum=0, include_minimum=kind != "equivalent", allow_none=True)
        difference_confidence = confidence if difference_confidence is None else difference_confidence
        summaries, differences = {}, {}
        for name, baseline in baselines.items():
            if is_real(baseline):
                fixed = _number(baseline, f"{where}: baselines[{name!r}]")
                summaries[name] = {"value": fixed, "ci": [fixed, fixed]}
                shifted = BootstrapDistribution(combined.value - fixed, combined.samples - fixed,
                                                combined.seed, combined.n_items)
                if name in against:
                    differences[name] = _summary(shifted, difference_confidence)
                continue
            per_seed = _per_seed(baseline, f"{where}: baselines[{name!r}]")
            summaries[name] = _summary(combine_seeds(per_seed), confidence)
            if name not in against:
                continue
            if 1 not in (len(per_seed), len(seeds)) and len(per_seed) != len(seeds):
                raise DataValidationError(f"{where}: baselines[{name!r}] has {len(per_seed)} seeds, the claim "
                                          f"{len(seeds)} (give the same number, or one for either)")
            n = max(len(seeds), len(per_seed))
            try:
                diff = combine_seeds([seeds[i % len(seeds)] - per_seed[i % len(per_seed)] for i in range(n)])
            except DataValidationError as err:
                if kind in _PAIRED_ONLY:
                    raise DataValidationError(f"{where}: a {kind} claim needs baselines[{name!r}] drawn on the "
                                              f"claim's resamples: {err}") from err
                continue
            differences[name] = _summary(diff, difference_confidence)
        comparison = {"kind": kind, "against": against, "confidence": confidence,
                      "difference_confidence": difference_confidence,
                      "margin": None if margin is None else float(margin), "differences": differences}
        low, high = combined.ci(confidence)[1:]
        return cls(id, statement, combined.value, [low, high], summaries, [d.value for d in seeds], comparison, note)


def _per_seed(estimate: Any, where: str) -> list[BootstrapDistribution]:
    items = [estimate] if isinstance(estimate, BootstrapDistribution) else estimate
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence) or not items or not all(
            isinstance(d, BootstrapDistribution) for d in items):
        raise DataValidationError(f"{where}: expected a BootstrapDistribution or a non-empty list of them "
                                  f"(one per seed), got {type(estimate).__name__}")
    return list(items)


def _summary(distribution: BootstrapDistribution, confidence: float) -> dict[str, Any]:
    value, low, high = distribution.ci(confidence)
    return {"value": value, "ci": [low, high]}


def check_claims(claims: Iterable[Claim | Mapping[str, Any]]) -> list[Claim]:
    """Validate a list of claims (objects or their dicts) and return them as :class:`Claim` objects.

    Raises
    ------
    DataValidationError
        If an entry is neither, a dict does not read back (:meth:`Claim.from_dict`),
        or two claims share an id.
    """
    out: list[Claim] = []
    seen: set[str] = set()
    for i, c in enumerate(claims):
        if isinstance(c, Mapping):
            c = Claim.from_dict(c)
        elif not isinstance(c, Claim):
            raise DataValidationError(f"claims[{i}]: expected a Claim or its dict, got {type(c).__name__}")
        if c.id in seen:
            raise DataValidationError(f"claims[{i}]: id {c.id!r} is used by an earlier claim; ids must be unique")
        seen.add(c.id)
        out.append(c)
    return out


def summarize_claims(claims: Sequence[Claim], where: str = "on this world") -> str:
    """One sentence: how many claims hold and, for each that does not, why.

    Example: ``"2 of 3 claims hold on this world; ensemble_vs_full does not: claim - full = -0.04 [-0.06, -0.02],
    needs 90 % interval of claim - full inside ±0.02 (TOST): fails."``
    """
    claims = check_claims(claims)
    if not claims:
        return f"No claims are made {where}."
    held, n = sum(c.holds for c in claims), len(claims)
    sentence = f"{held} of {n} claim{'' if n == 1 else 's'} hold{'s' if n == 1 else ''} {where}"
    reasons = "; ".join(f"{c.id} does not: {c.explain(failing_only=True)}" for c in claims if not c.holds)
    return f"{sentence}; {reasons}." if reasons else f"{sentence}."

"""Result types shared by every statistical function.

A ``TestResult`` is what a finding in ``findings.json`` and a line in the report rest
on, so it carries everything a reader (or an opposing expert) needs to check the
number: both hypotheses in words, the direction of the test, the statistic, the
p-value, an effect size with its interval, the sample sizes, the exact method and
the assumptions the p-value depends on.

Conventions (the same for every function in ``provenance.stats``):

* ``n`` is always a ``dict[str, int]`` mapping a named sample (``"suspect"``,
  ``"controls"``, ``"pairs"``, ``"discordant"`` ...) to its number of independent
  units. A dict, not an int, because most tests here compare two samples, and a bare
  total would hide an unbalanced design.
* ``ci`` is a two-sided interval at ``ci_level`` for ``effect`` (never for the
  statistic), or ``None`` when no interval with known coverage exists; the reason is
  then in ``details["ci_note"]``.
* ``p_value`` is in [0, 1], never NaN: a test that is undefined on the data (e.g.
  no discordant pairs) reports p = 1 and says why in ``details["note"]``, so an
  undefined test can never produce a finding.
* ``to_dict()`` is strict JSON: numpy scalars become Python numbers, and the
  non-finite floats (an infinite odds ratio, an undefined kappa) become the strings
  ``"Infinity"``, ``"-Infinity"`` and ``"NaN"``; ``from_dict`` turns them back.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

Alternative = Literal["greater", "less", "two-sided"]
ALTERNATIVES: tuple[str, ...] = ("greater", "less", "two-sided")

_NONFINITE_TO_STR = {math.inf: "Infinity", -math.inf: "-Infinity"}
_STR_TO_NONFINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def _plain(value: Any) -> Any:
    """Return ``value`` with numpy types replaced by built-ins (recursively)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_json_safe(value: Any) -> Any:
    """Strict-JSON form of ``value``: built-in types only, non-finite floats as strings.

    Why strings rather than ``null``: an infinite odds ratio (a zero cell) is a
    legitimate, reportable value and must not be confused with a missing one.
    """
    value = _plain(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return _NONFINITE_TO_STR[value]
        return value
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    return value


def _from_json_float(value: Any) -> float:
    if isinstance(value, str):
        return _STR_TO_NONFINITE[value]
    return float(value)


def _from_json_any(value: Any) -> Any:
    if isinstance(value, str) and value in _STR_TO_NONFINITE:
        return _STR_TO_NONFINITE[value]
    if isinstance(value, dict):
        return {k: _from_json_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json_any(v) for v in value]
    return value


def _as_ci(ci: Any) -> tuple[float, float] | None:
    if ci is None:
        return None
    low, high = ci
    return (float(low), float(high))


@dataclasses.dataclass(frozen=True)
class TestResult:
    """One hypothesis test, complete enough to be checked by someone else.

    Construct it through the functions of ``provenance.stats``; the constructor
    normalises numbers to built-in types and rejects impossible values (a p-value
    outside [0, 1], an unknown alternative), because a malformed result that reached
    a report would be worse than a crash.
    """

    __test__ = False  # not a pytest test class, despite the name

    name: str
    null_hypothesis: str
    alternative_hypothesis: str
    alternative: Alternative
    statistic: float
    statistic_name: str
    p_value: float
    effect: float
    effect_name: str
    ci: tuple[float, float] | None
    ci_level: float
    n: dict[str, int]
    method: str
    assumptions: tuple[str, ...] = ()
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.alternative not in ALTERNATIVES:
            raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {self.alternative!r}")
        p = float(self.p_value)
        if not 0.0 <= p <= 1.0:  # also rejects NaN
            raise ValueError(f"p_value must be in [0, 1], got {self.p_value!r}")
        level = float(self.ci_level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"ci_level must be in (0, 1), got {self.ci_level!r}")
        set_(self, "p_value", p)
        set_(self, "ci_level", level)
        set_(self, "statistic", float(self.statistic))
        set_(self, "effect", float(self.effect))
        set_(self, "ci", _as_ci(self.ci))
        set_(self, "n", {str(k): int(v) for k, v in dict(self.n).items()})
        set_(self, "assumptions", tuple(str(a) for a in self.assumptions))
        set_(self, "details", _plain(dict(self.details)))

    __hash__ = None  # type: ignore[assignment]  # holds dicts; equality still works

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON dict (``json.dumps(..., allow_nan=False)`` accepts it)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["ci"] = list(self.ci) if self.ci is not None else None
        out["assumptions"] = list(self.assumptions)
        return to_json_safe(out)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestResult:
        """Inverse of ``to_dict`` (restores non-finite floats)."""
        kwargs = dict(data)
        for key in ("statistic", "p_value", "effect", "ci_level"):
            kwargs[key] = _from_json_float(kwargs[key])
        ci = kwargs.get("ci")
        kwargs["ci"] = None if ci is None else tuple(_from_json_float(v) for v in ci)
        kwargs["assumptions"] = tuple(kwargs.get("assumptions", ()))
        kwargs["details"] = _from_json_any(kwargs.get("details", {}))
        return cls(**kwargs)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A point estimate with a two-sided confidence interval and no hypothesis test.

    Kept separate from ``TestResult`` because an interval on its own makes no claim,
    and a report must not present it as if it had a p-value.
    """

    name: str
    estimate: float
    ci: tuple[float, float] | None
    ci_level: float
    n: dict[str, int]
    method: str
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "estimate", float(self.estimate))
        set_(self, "ci", _as_ci(self.ci))
        set_(self, "ci_level", float(self.ci_level))
        set_(self, "n", {str(k): int(v) for k, v in dict(self.n).items()})
        set_(self, "details", _plain(dict(self.details)))

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON dict, same conventions as ``TestResult.to_dict``."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["ci"] = list(self.ci) if self.ci is not None else None
        return to_json_safe(out)


@dataclasses.dataclass(frozen=True)
class CorrectedResult:
    """A ``TestResult`` seen as one member of a family of tests.

    ``p_adjusted`` and ``reject`` depend on the whole family (its size and the other
    p-values), so they live here and never inside the original result.
    """

    result: TestResult
    p_adjusted: float
    reject: bool
    correction: str
    alpha: float
    family_size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "p_adjusted", float(self.p_adjusted))
        object.__setattr__(self, "reject", bool(self.reject))
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "family_size", int(self.family_size))

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON dict: the result's fields under ``"result"`` plus the correction."""
        return {
            "result": self.result.to_dict(),
            "p_adjusted": to_json_safe(self.p_adjusted),
            "reject": self.reject,
            "correction": self.correction,
            "alpha": self.alpha,
            "family_size": self.family_size,
        }

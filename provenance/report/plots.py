"""Figures for the results section, drawn as SVG by matplotlib (Agg, no display).

Every suite gets one generic figure, its tests' effect sizes with confidence
intervals, so a suite added later (watermark, ...) is shown without code here.
Suites with richer stored data get one more figure, computed from the stored
answers with the same judge-free extractors the analysis used (never by asking a
model again). Text in the SVGs is set in DejaVu Sans, which the report ships and embeds;
the figures fetch nothing; labels pass through :func:`provenance.report.quote.plain`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from provenance.analysis.findings import TestFinding  # noqa: E402
from provenance.analysis.view import EvidenceView  # noqa: E402
from provenance.report.quote import plain  # noqa: E402

_RC = {
    # Text as <text> in DejaVu Sans (fonts.css maps that name to the shipped file): glyphs
    # as paths made weasyprint's SVG drawing the slowest step of a report (seconds per figure).
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "provenance-report",  # deterministic element ids
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_SUSPECT, _TEACHER, _CONTROL = "#b2182b", "#2166ac", "#7f7f7f"


def _svg(fig: Any) -> str:
    """The figure as an inline ``<svg>`` element (XML prolog and DOCTYPE removed)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _number(value: Any) -> float:
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value) if value is not None else math.nan


def effects_figure(tests: Sequence[TestFinding]) -> str | None:
    """Each test's effect size with its CI; filled when the test rejected after correction."""
    shown = [t for t in tests if math.isfinite(_number(t.result.get("effect")))]
    if not shown:
        return None
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(shown) + 0.8))
        for y, test in enumerate(reversed(shown)):
            effect = _number(test.result["effect"])
            ci = test.result.get("ci")
            if ci is not None:
                low, high = (_number(v) for v in ci)
                low = low if math.isfinite(low) else effect
                high = high if math.isfinite(high) else effect
                ax.plot([low, high], [y, y], color=_TEACHER, lw=1.5)
            ax.plot(
                [effect], [y], "o", color=_TEACHER,
                markerfacecolor=_TEACHER if test.reject else "white", markersize=6,
            )  # fmt: skip
        several = len({t.teacher for t in shown}) > 1
        labels = [plain(t.test_id + (f" (vs {t.teacher})" if several else "")) for t in reversed(shown)]
        ax.set_yticks(range(len(shown)), labels)
        ax.axvline(0, color="#444", lw=0.6, ls=":")
        ax.set_xlabel("effect size (the table names each) with its confidence interval; filled: rejected after correction")
        return _svg(fig)


def rate_figure(rates: dict[str, tuple[int, int]], roles: dict[str, str], title: str) -> str:
    """A share per model with a 95% Wilson interval: ``rates[model] = (hits, n)``."""
    names = list(rates)
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 0.4 * len(names) + 0.9))
        for y, name in enumerate(reversed(names)):
            hits, n = rates[name]
            low, high = _wilson(hits, n)
            colour = _role_colour(roles.get(name, ""))
            ax.plot([low, high], [y, y], color=colour, lw=2)
            ax.plot([hits / n if n else 0.0], [y], "o", color=colour)
            ax.annotate(f"{hits}/{n}", (high, y), xytext=(4, -3), textcoords="offset points", fontsize=7)
        ax.set_yticks(range(len(names)), [plain(f"{n} ({roles.get(n, '')})") for n in reversed(names)])
        ax.set_xlim(0, 1.1)
        ax.set_xlabel(title + " (95% Wilson interval)")
        return _svg(fig)


def matrix_figure(names: list[str], matrix: np.ndarray, title: str) -> str:
    """A symmetric model-by-model agreement matrix with the values written in."""
    with plt.rc_context(_RC):
        size = 1.2 + 0.45 * len(names)
        fig, ax = plt.subplots(figsize=(size + 1.2, size))
        # pcolormesh, not imshow: imshow embeds a PNG (a data: URL the report's fetcher refuses)
        ax.pcolormesh(np.arange(len(names) + 1) - 0.5, np.arange(len(names) + 1) - 0.5, matrix, vmin=0, vmax=1, cmap="Blues")
        ax.invert_yaxis()
        labels = [plain(n) for n in names]
        ax.set_xticks(range(len(names)), labels, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), labels)
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if matrix[i, j] > 0.6 else "black")  # fmt: skip
        ax.set_title(title, fontsize=8)
        return _svg(fig)


def statistic_figure(tests: Sequence[TestFinding], *, reference: float | None, xlabel: str) -> str | None:
    """Each test's statistic as a bar (e.g. watermark z-scores), with a reference line."""
    shown = [t for t in tests if math.isfinite(_number(t.result.get("statistic")))]
    if not shown:
        return None
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 0.4 * len(shown) + 0.9))
        values = [_number(t.result["statistic"]) for t in reversed(shown)]
        ax.barh(range(len(shown)), values, color=[_SUSPECT if t.reject else _CONTROL for t in reversed(shown)])
        ax.set_yticks(range(len(shown)), [plain(f"{t.test_id} (vs {t.teacher})") for t in reversed(shown)])
        if reference is not None:
            ax.axvline(reference, color="#444", lw=0.8, ls="--")
        ax.set_xlabel(xlabel)
        return _svg(fig)


def _wilson(hits: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _role_colour(role: str) -> str:
    return {"suspect": _SUSPECT, "teacher": _TEACHER}.get(role, _CONTROL)


# ------------------------------------------------------------------ suite-specific figures


def identity_figure(view: EvidenceView, roles: dict[str, str], claims: Sequence[str], aliases: Any) -> str | None:
    """Share of identity answers that claim the teacher's identity, per model."""
    from provenance.features import claims_identity

    rates: dict[str, tuple[int, int]] = {}
    for model in roles:
        answers = view.all_answers(model, "identity")
        if answers:
            rates[model] = (sum(claims_identity(a.text, claims, aliases) for a in answers), len(answers))
    if len(rates) < 2:
        return None
    return rate_figure(rates, roles, f"share of identity answers claiming to be {', '.join(claims)}")


def refusal_figure(view: EvidenceView, roles: dict[str, str]) -> str | None:
    """Pairwise agreement of refuse/comply decisions on the prompts every model answered."""
    from provenance.features import classify_refusal

    answers = {m: view.first_answers(m, "refusal") for m in roles}
    answers = {m: a for m, a in answers.items() if a}
    if len(answers) < 2:
        return None
    common = sorted(set.intersection(*(set(a) for a in answers.values())))
    if not common:
        return None
    names = list(answers)
    refused = np.array([[classify_refusal(answers[m][p].text).is_refusal for p in common] for m in names])
    matrix = np.array([[float(np.mean(refused[i] == refused[j])) for j in range(len(names))] for i in range(len(names))])
    return matrix_figure(names, matrix, f"refusal-decision agreement on {len(common)} prompts")


def panel_figure(tests: Sequence[TestFinding]) -> str | None:
    """Per model-level test: every panel model's statistic as a dot, the suspect's as a bar, on its own axis.

    What the test uses (the statistic, the panel it is compared with), one unit per row,
    with the panel's one-sided prediction bound at the case's level drawn where the
    parametric form was used.
    """
    shown = [t for t in tests if t.in_family and "panel" in t.result.get("details", {})]
    if not shown:
        return None
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(len(shown), 1, figsize=(6.4, 0.95 * len(shown) + 0.5), squeeze=False)
        for ax, t in zip(axes[:, 0], shown):
            d = t.result["details"]
            values = [_number(v["value"]) for v in d["panel"].values()]
            ax.scatter(values, [0] * len(values), color=_CONTROL, s=18, zorder=3, label="independent panel models")
            ax.axvline(_number(d["suspect_value"]), color=_SUSPECT, lw=2, label="suspect")
            if d.get("form") == "parametric" and _number(d.get("prediction_sd")) > 0:
                from scipy import stats as sps

                bound = _number(d["panel_mean"]) + float(sps.t.ppf(0.99, d["df"])) * _number(d["prediction_sd"])
                ax.axvline(bound, color="#444", lw=0.8, ls="--", label="panel's 99 % prediction bound")
            ax.set_yticks([])
            unit = plain(str(t.result.get("effect_name", "")).split("(")[-1].rstrip(")"))
            ax.set_xlabel(plain(f"{t.test_id}: {unit}, K = {len(values)} ({d.get('form')} p)"), fontsize=7)
        axes[0, 0].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        return _svg(fig)


def power_figure(record: dict[str, Any]) -> str | None:
    """The bench's verdict recall and false-positive rate against the query budget, per access mode.

    From the error-rate record the report quotes (pooled over control panels), with the
    condition chosen for this case ringed. None when the record has no per-budget counts.
    """
    conditions = [c for c in record.get("conditions") or [] if c.get("verdict") and c.get("controls") is None]
    if not conditions:
        return None
    budgets = sorted({c["budget"] for c in conditions if c["budget"] is not None})
    xs = {b: i for i, b in enumerate([*budgets, None])}
    chosen = record.get("condition") or {}
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 2.6))
        for access, style in (("open", "-"), ("black-box", "--")):
            for key, n_key, colour, what in (("found", "derived", _TEACHER, "recall"),
                                              ("false_positives", "independent", _SUSPECT, "false-positive rate")):
                points = sorted(((xs[c["budget"]], c["verdict"][key] / c["verdict"][n_key])
                                 for c in conditions if c["access"] == access and c["verdict"][n_key]), key=lambda p: p[0])
                if points:
                    ax.plot(*zip(*points), style, marker="o", color=colour, label=f"{what}, {access}")
            here = next((c for c in conditions if c["access"] == chosen.get("access")
                         and c["budget"] == chosen.get("budget")), None)
        if here is not None:
            for key, n_key in (("found", "derived"), ("false_positives", "independent")):
                if here["verdict"][n_key]:
                    ax.plot([xs[here["budget"]]], [here["verdict"][key] / here["verdict"][n_key]], "o", ms=11,
                            mfc="none", mec="black")
        ax.set_xticks(list(xs.values()), [*map(str, budgets), "all"])
        ax.set_xlabel("probes per suite (ringed: this case's condition)")
        ax.set_ylabel("share of pairs found derived")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
        return _svg(fig)

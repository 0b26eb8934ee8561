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
import textwrap
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


def _column_svg(fig: Any, axes: Any) -> str:
    """One legend beside a column of panels: each label once, however many panels draw it."""
    handles: dict[str, Any] = {}
    for ax in axes[:, 0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    axes[0, 0].legend(handles.values(), handles.keys(), fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return _svg(fig)


def _number(value: Any) -> float:
    if isinstance(value, str):
        return {"Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value) if value is not None else math.nan


def effects_figure(tests: Sequence[TestFinding]) -> str | None:
    """Each test's effect size with its CI, one axis per test in its own unit; filled when it rejected after correction.

    Tests measure different quantities (a rate, a kappa, nats per byte, log-odds), so
    they never share an axis: each row is labelled with its test and its unit.
    """
    shown = [t for t in tests if math.isfinite(_number(t.result.get("effect")))]
    if not shown:
        return None
    several = len({t.teacher for t in shown}) > 1
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(len(shown), 1, figsize=(6.4, 0.85 * len(shown) + 0.4), squeeze=False)
        for ax, test in zip(axes[:, 0], shown):
            effect = _number(test.result["effect"])
            ci = test.result.get("ci")
            if ci is not None:
                low, high = (_number(v) for v in ci)
                low = low if math.isfinite(low) else effect
                high = high if math.isfinite(high) else effect
                ax.plot([low, high], [0, 0], color=_TEACHER, lw=1.5)
            ax.plot([effect], [0], "o", color=_TEACHER, markerfacecolor=_TEACHER if test.reject else "white", markersize=6)
            ax.axvline(0, color="#444", lw=0.6, ls=":")
            ax.set_yticks([])
            name = plain(test.test_id + (f" (vs {test.teacher})" if several else ""))
            effect_name = plain(str(test.result.get("effect_name", "effect")))
            label = f"{name}: {effect_name}" + (" (rejected)" if test.reject else "")
            ax.set_xlabel(textwrap.fill(label, 110), fontsize=7)
        fig.tight_layout()
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


def matrix_figure(names: list[str], matrix: np.ndarray, title: str, *, vmin: float = 0.0, vmax: float = 1.0) -> str:
    """A symmetric model-by-model matrix with the values written in (NaN: not measurable, shown as "n/a")."""
    with plt.rc_context(_RC):
        size = 1.2 + 0.45 * len(names)
        fig, ax = plt.subplots(figsize=(size + 1.2, size))
        # pcolormesh, not imshow: imshow embeds a PNG (a data: URL the report's fetcher refuses)
        ax.pcolormesh(np.arange(len(names) + 1) - 0.5, np.arange(len(names) + 1) - 0.5, np.ma.masked_invalid(matrix),
                      vmin=vmin, vmax=vmax, cmap="Blues")
        ax.invert_yaxis()
        labels = [plain(n) for n in names]
        ax.set_xticks(range(len(names)), labels, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), labels)
        high = vmin + 0.6 * (vmax - vmin)
        for i in range(len(names)):
            for j in range(len(names)):
                value = matrix[i, j]
                ax.text(j, i, "n/a" if not np.isfinite(value) else f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if np.isfinite(value) and value > high else "black")  # fmt: skip
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
    """Pairwise Cohen's kappa of refuse/comply decisions on the prompts every model answered.

    Kappa, not raw agreement, because kappa is what the refusal-decision test uses: two
    models that both seldom refuse agree on most prompts by their base rates alone. A pair
    where one model never (or always) refuses has no kappa and shows "n/a".
    """
    from provenance.features import classify_refusal
    from provenance.stats import cohen_kappa

    answers = {m: view.first_answers(m, "refusal") for m in roles}
    answers = {m: a for m, a in answers.items() if a}
    if len(answers) < 2:
        return None
    common = sorted(set.intersection(*(set(a) for a in answers.values())))
    if not common:
        return None
    names = list(answers)
    refused = np.array([[classify_refusal(answers[m][p].text).is_refusal for p in common] for m in names])

    def kappa(i: int, j: int) -> float:
        if i == j:
            return 1.0
        if len(set(refused[i])) < 2 or len(set(refused[j])) < 2:
            return math.nan
        return float(cohen_kappa(refused[i], refused[j]).statistic)

    matrix = np.array([[kappa(i, j) for j in range(len(names))] for i in range(len(names))])
    return matrix_figure(names, matrix, f"refusal decisions: Cohen's kappa (agreement beyond chance) on {len(common)} prompts",
                         vmin=-1.0 if np.nanmin(matrix) < 0 else 0.0)


def panel_figure(tests: Sequence[TestFinding], *, alpha: float | None = None, family_size: int = 1) -> str | None:
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
            if d.get("form") == "parametric" and _number(d.get("prediction_sd")) > 0 and alpha:
                from scipy import stats as sps

                m = max(1, family_size)
                for level, style, words in ((alpha / m, "--", f"bound at alpha/m = {alpha / m:.2g} (Holm's strictest step)"),
                                            (alpha, ":", f"bound at alpha = {alpha:g} (Holm's last step)")):
                    bound = _number(d["panel_mean"]) + float(sps.t.isf(level, d["df"])) * _number(d["prediction_sd"])
                    ax.axvline(bound, color="#444", lw=0.8, ls=style, label=words)
            ax.set_yticks([])
            unit = plain(str(t.result.get("effect_name", "")).split("(")[-1].rstrip(")"))
            form = ("parametric p" if d.get("form") == "parametric"
                    else f"rank p: beyond every panel model gives at best 1/(K+1) = {1 / (len(values) + 1):.2g}")
            ax.set_xlabel(plain(f"{t.test_id}: {unit}, K = {len(values)} ({form})"), fontsize=7)
        return _column_svg(fig, axes)


def power_figure(record: dict[str, Any], alpha: float | None = None) -> str | None:
    """The bench's verdict recall and false-positive rate against the query budget, per access mode.

    From the error-rate record the report quotes (pooled over control panels), with 95 %
    Wilson bands (the bench's runs are few), the case's alpha drawn for the false-positive
    rate to be read against, and the condition chosen for this case ringed. Recall and
    false-positive rate differ in colour and marker, the access modes in line style, so
    no two legend entries look alike. None when the record has no per-budget counts.
    """
    conditions = [c for c in record.get("conditions") or [] if c.get("verdict") and c.get("controls") is None]
    if not conditions:
        return None
    budgets = sorted({c["budget"] for c in conditions if c["budget"] is not None})
    xs = {b: i for i, b in enumerate([*budgets, None])}
    chosen = record.get("condition") or {}
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(6.4, 2.8))
        for access, style in (("open", "-"), ("black-box", "--")):
            for key, n_key, colour, marker, what in (("found", "derived", _TEACHER, "o", "recall (derived pairs found)"),
                                                      ("false_positives", "independent", _SUSPECT, "s",
                                                       "false-positive rate (independent pairs found)")):
                points = sorted(((xs[c["budget"]], c["verdict"][key], c["verdict"][n_key])
                                 for c in conditions if c["access"] == access and c["verdict"][n_key]), key=lambda p: p[0])
                if points:
                    x = [p[0] for p in points]
                    ax.plot(x, [k / n for _, k, n in points], style, marker=marker, color=colour, ms=4,
                            mfc=colour if access == "open" else "white", label=f"{what}, {access} access")
                    bands = [_wilson(k, n) for _, k, n in points]
                    ax.fill_between(x, [b[0] for b in bands], [b[1] for b in bands], color=colour,
                                    alpha=0.12 if access == "open" else 0.06, lw=0)
        here = next((c for c in conditions if c["access"] == chosen.get("access")
                     and c["budget"] == chosen.get("budget")), None)
        if here is not None:
            for key, n_key in (("found", "derived"), ("false_positives", "independent")):
                if here["verdict"][n_key]:
                    ax.plot([xs[here["budget"]]], [here["verdict"][key] / here["verdict"][n_key]], "o", ms=11,
                            mfc="none", mec="black")
        if alpha is not None:
            ax.axhline(alpha, color="#444", lw=0.8, ls=":", label=f"the case's alpha = {alpha:g}")
        ax.set_xticks(list(xs.values()), [*map(str, budgets), "all"])
        ax.set_xlabel("probes per suite (ringed: this case's condition); bands: 95 % Wilson intervals")
        ax.set_ylabel("share of pairs found derived")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
        return _svg(fig)


def evidence_path_figure(tests: Sequence[TestFinding]) -> str | None:
    """Per sequential test: log e-value against exchanges tested, the 1/alpha line, the stop and its reason.

    Drawn from the stored path (``details.sequential``), so it shows what the stopping rule
    saw at every look; the guard on the controls is drawn when it ran.
    """
    shown = [t for t in tests if isinstance(t.result.get("details", {}).get("sequential"), dict)
             and t.result["details"]["sequential"].get("path")]
    if not shown:
        return None
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(len(shown), 1, figsize=(6.4, 2.0 * len(shown) + 0.3), squeeze=False)
        for ax, t in zip(axes[:, 0], shown):
            s = t.result["details"]["sequential"]
            path = np.array([_number(v) for v in s["path"]], dtype=float)
            steps = np.arange(1, path.size + 1)
            ax.plot(steps, np.log10(np.maximum(path, 1e-300)), color=_SUSPECT, lw=1.2, label="suspect: log10 e")
            guard = [_number(v) for v in s.get("guard_path") or []]
            if guard:
                ax.plot(np.arange(1, len(guard) + 1), np.log10(np.maximum(guard, 1e-300)), color=_CONTROL, lw=0.9,
                        label="guard on the controls: log10 e")
            threshold = _number(s.get("threshold"))
            if threshold > 0:
                ax.axhline(math.log10(threshold), color="#444", lw=0.8, ls="--",
                           label=f"threshold 1/alpha = {threshold:.4g}")
            stop = int(s.get("stopped_at") or path.size)
            ax.axvline(stop, color=_TEACHER, lw=0.8, ls=":", label="stop")
            reason = plain(f"{s.get('reason', '')}: {s.get('why', '')}".strip(": "))
            ax.annotate("\n".join(textwrap.wrap(f"stopped after {stop}: {reason}", 60)), xy=(stop, 0),
                        xytext=(4, 4), textcoords="offset points", fontsize=6, color=_TEACHER)
            ax.set_xlabel(plain(f"{t.test_id}: exchanges tested ({s.get('pairs_available', path.size)} available)"),
                          fontsize=7)
            ax.set_ylabel("log10 e-value", fontsize=7)
        return _column_svg(fig, axes)

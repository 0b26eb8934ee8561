"""The group-sequential plan's pure parts (``provenance.analysis.looks``); the lab case is in test_analysis.py."""

from __future__ import annotations

import pytest

from provenance.analysis.looks import look_counts, look_is_stored, make_plan, only_probes, replay
from provenance.analysis.view import EvidenceView


def test_look_counts_grow_geometrically_to_the_whole_suite_and_never_shrink() -> None:
    assert look_counts(200, 5) == (10, 21, 45, 95, 200)
    assert look_counts(6, 3) == (6, 6, 6)  # a suite smaller than the first look is asked whole at once
    assert look_counts(80, 1) == (80,)
    for n in (1, 7, 10, 11, 73, 1000):
        for looks in (1, 2, 3, 5, 10):
            counts = look_counts(n, looks)
            assert len(counts) == looks and counts[-1] == n and list(counts) == sorted(counts)
    with pytest.raises(ValueError):
        look_counts(0, 3)


def _view(models: dict[str, int], suite: str = "identity") -> EvidenceView:
    view = EvidenceView()
    for model, n in models.items():
        view.answers.setdefault(model, {})[suite] = {f"p{i}": [object()] for i in range(n)}
        view.scores.setdefault(model, {})[suite] = {"teacher": {f"p{i}": object() for i in range(n)}}
    return view


def test_a_look_keeps_its_probes_only_and_knows_when_it_is_stored() -> None:
    plan = make_plan(3, 0.03, {"identity": tuple(f"p{i}" for i in range(40))})
    assert plan.per_look_alpha == pytest.approx(0.01) and plan.prefix(0) == {"identity": 10}
    view = _view({"suspect": 20, "teacher": 40})
    cut = only_probes(view, plan.probe_ids(0))
    assert sorted(cut.answers["suspect"]["identity"]) == sorted(f"p{i}" for i in range(10))
    assert len(cut.scores["teacher"]["identity"]["teacher"]) == 10
    assert len(view.answers["suspect"]["identity"]) == 20  # the original view is untouched
    assert plan.counts == {"identity": (10, 20, 40)}
    assert look_is_stored(view, plan, 0, ("suspect", "teacher")) and look_is_stored(view, plan, 1, ("suspect", "teacher"))
    assert not look_is_stored(view, plan, 2, ("suspect", "teacher"))  # the suspect has 20 of the last look's 40


def test_replay_stops_at_the_first_look_that_supports_and_where_the_evidence_ends() -> None:
    plan = make_plan(3, 0.03, {"identity": tuple(f"p{i}" for i in range(40))})
    seen: list[tuple[int, float]] = []

    def analyse(view: EvidenceView, alpha: float) -> int:
        n = len(view.answers["suspect"]["identity"])
        seen.append((n, alpha))
        return n

    full = _view({"suspect": 40, "teacher": 40})
    out = replay(plan, full, ("suspect", "teacher"), analyse, lambda n: ["supports" if n >= 20 else "does-not-support"])
    assert out.reason == "decided" and out.look == 1 and out.result == 20
    assert [a for _, a in seen] == [pytest.approx(0.01)] * 2  # each look at alpha / L
    assert [t["decisions"] for t in out.taken] == ["does-not-support", "supports"]
    never = replay(plan, full, ("suspect", "teacher"), analyse, lambda n: ["not-decidable"])
    assert never.reason == "exhausted" and never.look == 2
    short = replay(plan, _view({"suspect": 12, "teacher": 40}), ("suspect", "teacher"), analyse, lambda n: ["not-decidable"])
    assert short.reason == "evidence ends" and short.look == 0  # look 2 (20 probes) is not stored
    none = replay(plan, _view({"suspect": 5, "teacher": 40}), ("suspect", "teacher"), analyse, lambda n: ["supports"])
    assert none.look == -1 and none.result is None and "collecting" in none.line(plan)

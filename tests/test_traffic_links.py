"""Linking accounts to operators (issue 18): lock-step moments, prompt frames, and what is never flagged.

Small logs written exchange by exchange, each built so the answer is known both ways:
accounts fired by one dispatcher link although they share nothing else, while scheduled
jobs of unrelated customers firing at the top of the hour do not; two operators sweeping
the same problem texts in their own wording share no frame, while one operator's accounts
link whatever problems each drew; a group of automation that asks for no reasoning or
code is ranked but not flagged.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from provenance.traffic import scan

from traffic_log import START, Log, background, fill

PROBLEMS = ["what is {a} * {b} + {c}?", "if x + {a} = {b}, what is x times {c}?", "{a} workers build a wall in {b} days; how long do {c} take?",
            "a tank fills at {a} litres per minute and drains at {c}; when is {b} litres reached?"]  # fmt: skip


def _groups(result) -> dict[str, tuple]:  # noqa: ANN001
    return {a: (c.accounts, c.links, c.flagged, c.extracts) for c in result.campaigns for a in c.accounts}


def test_lock_step_links_a_dispatcher_and_not_scheduled_jobs(tmp_path: Path) -> None:
    rng = random.Random(1)
    log = Log()
    background(rng, log, 60)
    frames = ["[Q-0] Solve step by step: {p} Answer in full sentences.", "Work out, showing every step of your reasoning: {p}",
              "TASK: {p} Think it through step by step, then give the answer."]  # fmt: skip
    when = START + timedelta(days=2)
    for _ in range(120):  # one dispatcher, irregular times, three accounts with their own wording
        when += timedelta(seconds=rng.uniform(30, 600))
        for k, frame in enumerate(frames):
            log.add(f"dispatch-{k}", when + timedelta(seconds=rng.uniform(0, 0.8)), fill(rng, frame.format(p=rng.choice(PROBLEMS))))
    reports = ["Daily report for store {a}: summarise sales of {b} units and {c} returns for the manager.",
               "Status line for server {a}: {b} requests served, {c} errors, short and calm."]  # fmt: skip
    for k in range(4):  # unrelated customers' cron jobs: every hour on the hour, a few seconds of latency
        for hour in range(24 * 10):
            log.add(f"cron-{k}", START + timedelta(hours=hour, seconds=rng.uniform(0, 4)), fill(rng, reports[k % 2]))
    result = scan([log.write(tmp_path / "log.jsonl")], tmp_path / "scan")
    groups = _groups(result)
    dispatch = groups["dispatch-0"]
    assert set(dispatch[0]) == {"dispatch-0", "dispatch-1", "dispatch-2"} and "lock-step activity" in dispatch[1]
    assert dispatch[2] and result.flagged[0].accounts == dispatch[0]  # the only flagged group
    for k in range(4):
        assert "lock-step activity" not in groups[f"cron-{k}"][1]
        assert not groups[f"cron-{k}"][2]  # automation that asks for no reasoning or code is never flagged
    shared = groups["cron-0"]  # cron-0 and cron-2 send one product's template: linked, ranked, and said why not flagged
    assert "cron-2" in shared[0] and "prompt template" in shared[1] and not shared[3]


def test_frames_separate_operators_that_sweep_the_same_problems(tmp_path: Path) -> None:
    rng = random.Random(2)
    log = Log()
    background(rng, log, 60)
    wording = {"alpha": "[JOB-0] Compute this with a detailed chain of thought, step by step: {p} Format: reasoning then answer.",
               "beta": "Please answer the following exercise. Explain your reasoning in numbered steps. Exercise: {p} Be concise."}  # fmt: skip
    for operator, frame in wording.items():
        for k in range(3):  # each account draws its own problems; the wording is the operator's
            mine = rng.sample(PROBLEMS, 2)
            for i in range(40):
                when = START + timedelta(days=3, seconds=rng.uniform(0, 86400 * 2))
                log.add(f"{operator}-{k}", when, fill(rng, frame.format(p=mine[i % 2])))
    result = scan([log.write(tmp_path / "log.jsonl")], tmp_path / "scan")
    # One operator's accounts share a frame; no frame is shared across operators. (Both sweep the same rare problem
    # texts over the same days, which the content-plan link reads as one plan: they end up in one group, a merge of
    # operators that docs/traffic.md counts, not a false accusation.)
    why = {m["account"]: m["why"] for c in result.campaigns for m in c.members}
    for operator, other in (("alpha", "beta"), ("beta", "alpha")):
        for k in range(3):
            frames = [w for w in why[f"{operator}-{k}"] if w.startswith("the same prompt frame with")]
            assert len(frames) == 1 and other not in frames[0] and all(f"{operator}-{j}" in frames[0] for j in range(3) if j != k)

"""Operators kept apart at scale (issue 29, item 4): wording that does not collide, frames that link only by what is
specific to a pair, shared address ranges that merge nobody, and a simulator whose operators write apart.

Each test is built so the answer is known both ways: operators that share a proxy range and user agent (and a
customer's cron job on that range) stay in groups of their own while each operator's accounts stay together; a
frame most of which many operators share (a stock instruction block) links each operator's accounts and no two
operators, where the plain agreement alone would link them all; the simulator's new wording, schedules and
address pools come from a generator of their own, so the seed's main stream (and every draw made from it) is
unchanged by them.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np

from provenance.traffic import minhash, scan
from provenance.traffic.campaigns import FRAME_JACCARD, frame_pairs, similar_pairs
from provenance.traffic.features import NUM_PERM
from provenance.traffic.simkit import operator_wording
from provenance.traffic.simulate import simulate

from traffic_log import START, Log, background, fill

PROBLEMS = ["what is {a} * {b} + {c}?", "if x + {a} = {b}, what is x times {c}?", "{a} workers build a wall in {b} days; how long do {c} take?",
            "a tank fills at {a} litres per minute and drains at {c}; when is {b} litres reached?",
            "a store sells {a} apples at {b} cents each and {c} more at half price; what is the total?"]  # fmt: skip
PROXY, SCRIPT = "52.14.77", "python-requests/2.31"


def _operators(result, owner: dict[str, str]) -> list[set[str]]:  # noqa: ANN001
    """For every group holding an operator's account, the operators (or other accounts' owners) in it."""
    return [{owner.get(a, a) for a in c.accounts} for c in result.campaigns if any(a in owner for a in c.accounts)]


def test_operators_on_one_proxy_range_with_their_own_wording_stay_apart(tmp_path: Path) -> None:
    rng = random.Random(3)
    log = Log()
    background(rng, log, 80, place=lambda k: (f"81.{k}.3", f"browser-{k % 3}"))  # at home: own prefix, one of 3 browsers
    owner = {}
    for operator in range(5):  # five operators, one proxy /24 and one script user agent, each its own wording
        before, after = operator_wording(random.Random(100 + operator))
        for k in range(4):
            account = f"op{operator}-{k}"
            owner[account] = f"op{operator}"
            log.place(account, PROXY, SCRIPT)
            when = START + timedelta(days=operator + 0.3, seconds=rng.uniform(0, 3600))
            for _ in range(50):
                log.add(account, when, fill(rng, f"{before} {rng.choice(PROBLEMS)} {after}"))
                when += timedelta(seconds=rng.gauss(40, 2))
    log.place("cron-job", PROXY, SCRIPT)  # a customer's hourly report job on the same range, with the same client library
    for hour in range(24 * 10):
        log.add("cron-job", START + timedelta(hours=hour, seconds=rng.uniform(0, 4)),
                fill(rng, "Daily report for store {a}: summarise sales of {b} units and {c} returns for the manager."))
    result = scan([log.write(tmp_path / "log.jsonl")], tmp_path / "scan")
    groups = _operators(result, owner)
    assert sorted(sorted(g) for g in groups) == [[f"op{k}"] for k in range(5)]  # one group per operator, nobody else in it
    flagged = {a for c in result.flagged for a in c.accounts}
    assert set(owner) <= flagged and "cron-job" not in flagged
    for campaign in result.campaigns:  # the range links nobody: every operator is held together by its own frame
        if any(a in owner for a in campaign.accounts):
            assert "prompt template" in campaign.links and "ip prefix + user agent" not in campaign.links


def _signature(hashes: list[int]) -> np.ndarray:
    return minhash.signatures(np.array(hashes, dtype=np.uint64), np.array([0]), NUM_PERM)[:, 0]


def test_a_frame_shared_in_large_part_by_many_operators_links_only_each_operators_own_accounts() -> None:
    stock = list(range(1, 61))  # the shingles of a long stock instruction block every operator pastes in
    names, signatures, owner = [], [], {}
    for operator in range(10):
        own = [10_000 + 100 * operator + k for k in range(6)]  # its own tag line
        for k in range(3):
            names.append(f"op{operator}-{k}")
            owner[names[-1]] = operator
            signatures.append(_signature(stock + own))
    plain = similar_pairs(names, signatures, FRAME_JACCARD)
    assert any(owner[a] != owner[b] for a, b in plain)  # plain agreement (60 of 72 shingles shared) links operators
    linked = frame_pairs(names, signatures)
    assert all(owner[a] == owner[b] for a, b in linked)  # weighted by rarity, only the tag line counts
    per_operator = Counter(owner[a] for a, _ in linked)
    assert all(per_operator[o] == 3 for o in range(10))  # and each operator's three accounts still link (3 pairs each)


def test_frame_specificity_changes_nothing_when_no_value_is_commoner_than_another() -> None:
    names = [f"a{k}" for k in range(4)] + [f"b{k}" for k in range(4)]
    signatures = [_signature(list(range(1, 41))) for _ in range(4)] + [_signature(list(range(500, 530))) for _ in range(4)]
    assert sorted(map(tuple, frame_pairs(names, signatures))) == sorted(map(tuple, similar_pairs(names, signatures, FRAME_JACCARD)))


def test_simulated_operators_write_apart_and_the_main_stream_is_unchanged() -> None:
    log = simulate(4, scale=4)
    by_operator: dict[str, set[str]] = {}
    first_prompt: dict[str, str] = {}
    for record in log.records:
        operator = log.operators.get(record["account_id"], "")
        if operator.startswith("small cluster"):
            first_prompt.setdefault(record["account_id"], record["messages"][-1]["content"])
    for account, prompt in first_prompt.items():  # the wording around the problem: its first and last words
        words = prompt.split()
        by_operator.setdefault(log.operators[account], set()).add(" ".join(words[:3]))
    openings = Counter(next(iter(v)) for v in by_operator.values() if len(v) == 1)
    assert len(by_operator) == 24 and max(openings.values()) <= 2  # 24 operators, hardly two open alike
    prefixes = Counter(r["source_ip"].rsplit(".", 1)[0] for r in log.records if log.operators.get(r["account_id"], "").startswith("small"))
    assert len(prefixes) < 24  # the scripted operators share datacentre ranges
    other = simulate(4, scale=4, extra_seed="another draw of wording, schedules and addresses")
    assert other.truth == log.truth and other.exchanges == log.exchanges
    benign = [(r["account_id"], r["timestamp"], r["messages"][-1]["content"]) for r in log.records if log.truth[r["account_id"]] == "benign"]
    assert benign == [(r["account_id"], r["timestamp"], r["messages"][-1]["content"]) for r in other.records
                      if other.truth[r["account_id"]] == "benign"]  # fmt: skip
    assert [r["source_ip"] for r in log.records] != [r["source_ip"] for r in other.records]

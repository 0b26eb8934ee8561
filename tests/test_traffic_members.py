"""Each named account on its own evidence (issue 29): members of a flagged campaign, and accounts that only share
its infrastructure; careful campaigns linked by one content plan; lock-step through random per-account delays.

Small logs written exchange by exchange through the real scan, each built so the answer is known both ways:
ordinary users behind a swarm's /24 prefixes and browser are listed apart and never named or exported, while
one of them that pays with a swarm member's card is a member and says so; three accounts with their own
wording working through disjoint items of one task-by-topic space on one schedule are linked and flagged
without any reasoning or code word, while the same accounts a week apart are not linked; a dispatcher that
delays each account by up to 40 s is linked by timing, cron jobs and independent accounts are not.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import numpy as np

from provenance.traffic import scan
from provenance.traffic.timing import lockstep

from traffic_log import START, Log, background, everyday

BROWSER = "Mozilla/5.0 (Windows NT 10.0) Chrome/126"
TOPICS = ["photosynthesis", "plate tectonics", "the water cycle", "the French Revolution", "supply and demand", "glaciers",
          "the immune system", "black holes", "the Renaissance", "compound interest", "the printing press", "tides",
          "DNA replication", "the Silk Road", "volcanic eruptions", "the Cold War", "the nitrogen cycle", "game theory",
          "ocean currents", "vaccination", "the greenhouse effect", "the stock market", "the Ottoman Empire", "coral reefs",
          "electric circuits", "the Magna Carta", "inflation", "the human heart", "wind energy", "the Big Bang"]  # fmt: skip
TASKS = [["Explain {t} to a complete beginner in plain words.", "I am new to {t}; could you walk me through the basics?",
          "Give me a simple, friendly introduction to {t}."],
         ["Write five quiz questions with answers about {t}.", "Make a short quiz (five questions, answers included) on {t}.",
          "Could you draft five test questions about {t}, each with its answer?"],
         ["Summarise the history of {t} in one paragraph.", "In a single paragraph, how did our understanding of {t} develop?",
          "Tell the story of {t} briefly, one paragraph."],
         ["Give a real-world example that illustrates {t}.", "Describe one everyday situation where {t} shows up.",
          "What is a concrete case of {t} in daily life?"]]  # fmt: skip


def _by_account(result) -> dict[str, object]:  # noqa: ANN001
    return {a: c for c in result.campaigns for a in c.accounts}


def test_accounts_that_only_share_a_swarms_infrastructure_are_listed_apart_never_named(tmp_path: Path) -> None:
    rng = random.Random(3)
    log = Log()
    background(rng, log, 80, follow_ups=True)
    prefixes = ["81.20.33", "81.20.34"]
    swarm = [f"swarm-{k}" for k in range(8)]
    for k, account in enumerate(swarm):  # a residential swarm: browsers, separate payers, one summarising script
        log.place(account, prefixes[k % 2], BROWSER)
        when = START + timedelta(days=3, seconds=rng.uniform(0, 3600))
        for _ in range(60):
            passage = f"The {rng.choice(['council', 'bakery', 'club'])} moved the {rng.choice(['market', 'meeting', 'match'])} to day {rng.randint(1, 28)}."
            log.add(account, when, f"[doc-7] Summarise the following passage in three bullet points for a busy reader: {passage} {passage}")
            when += timedelta(seconds=rng.gauss(90, 4))
    neighbours = [f"neighbour-{k}" for k in range(4)]
    for k, account in enumerate(neighbours):  # ordinary users behind the same carrier prefixes, same browser
        log.place(account, prefixes[k % 2], BROWSER)
        everyday(rng, log, account, follow_ups=True)
    log.place("card-sharer", prefixes[0], BROWSER, payer="pay-swarm-0")  # ordinary traffic, but a swarm member's card
    everyday(rng, log, "card-sharer", follow_ups=True)
    result = scan([log.write(tmp_path / "log.jsonl")], tmp_path / "scan")
    group = _by_account(result)["swarm-0"]
    assert group.flagged and not group.asks_for_reasoning_or_code  # found by what it asks for, not by a word list
    assert set(group.accounts) == {*swarm, "card-sharer"}
    why = {m["account"]: m["why"] for m in group.members}
    assert all(why[a][0].startswith("own behaviour: templated prompts") for a in swarm)
    assert why["card-sharer"][0] == "no anomalous behaviour of its own" and any("same payment id pay-swarm-0" in w for w in why["card-sharer"])
    beside = {m["account"]: m["evidence"] for m in group.infrastructure_only}
    assert set(beside) == set(neighbours)
    assert all(f"{prefixes[k % 2]}.0/24 with {BROWSER}" in beside[a] for k, a in enumerate(neighbours))
    assert not any(a in neighbours for c in result.flagged for a in c.accounts)
    data = json.loads((tmp_path / "scan" / "campaigns.json").read_text())
    entry = next(c for c in data["campaigns"] if "swarm-0" in c["accounts"])
    assert {m["account"] for m in entry["shares_infrastructure_no_behaviour_of_its_own"]} == set(neighbours)
    exported = (tmp_path / "scan" / entry["transcript"]).read_text()
    assert "card-sharer" in exported and not any(f"(account {a})" in exported for a in neighbours)
    page = (tmp_path / "scan" / "traffic.html").read_text()
    assert "Shares infrastructure, no behaviour of its own" in page and "neighbour-0" in page


def _careful(rng: random.Random, log: Log, operator: str, first_days: list[int]) -> None:
    """Three accounts, each its own wording, dealt disjoint (task, topic) items, paced every ~10 minutes by day."""
    items = [(task, topic) for task in range(len(TASKS)) for topic in TOPICS]
    rng.shuffle(items)
    for k in range(3):
        account = f"{operator}-{k}"
        log.place(account, agent=BROWSER)
        mine = items[k::3]
        for day in range(4):
            when = START + timedelta(days=first_days[k] + day, hours=8, seconds=rng.uniform(0, 1800))
            for task, topic in mine[day * 10 : (day + 1) * 10]:
                log.add(account, when, TASKS[task][k].format(t=topic))
                when += timedelta(seconds=rng.gauss(600, 40))


def test_a_careful_campaign_is_linked_by_its_content_plan_and_flagged_without_a_word_list(tmp_path: Path) -> None:
    scans = {}
    for name, days in (("together", [2, 2, 2]), ("apart", [2, 2, 9])):  # apart: the third account works a week later
        rng = random.Random(4)
        log = Log()
        background(rng, log, 80, follow_ups=True)
        _careful(rng, log, "plan", days)
        scans[name] = scan([log.write(tmp_path / f"{name}.jsonl")], tmp_path / name)
    result = scans["together"]
    plan = _by_account(result)["plan-0"]
    assert set(plan.accounts) == {"plan-0", "plan-1", "plan-2"} and "content plan" in plan.links
    assert plan.flagged and not plan.asks_for_reasoning_or_code
    assert any("one content plan" in w and "0 identical prompts" in w for m in plan.members for w in m["why"])
    assert not any(a.startswith("user-") for c in result.flagged for a in c.accounts)
    apart = _by_account(scans["apart"])
    assert "plan-1" in apart["plan-0"].accounts and "plan-2" not in apart["plan-0"].accounts  # same items, not one schedule


def test_lock_step_survives_random_per_account_delays(tmp_path: Path) -> None:
    rng = random.Random(5)
    log = Log()
    background(rng, log, 80, follow_ups=True)
    frames = ["[Q-0] Solve step by step: what is {a} * {b}? Answer in full sentences.", "Work out {a} plus {b}, showing every step.",
              "TASK: divide {a} by {b}. Think it through, then give the answer."]  # fmt: skip
    when = START + timedelta(days=2)
    for _ in range(150):  # one dispatcher; each account waits its own random 0-40 s before sending
        when += timedelta(seconds=rng.uniform(60, 900))
        for k, frame in enumerate(frames):
            log.add(f"dispatch-{k}", when + timedelta(seconds=rng.uniform(0, 40)), frame.format(a=rng.randint(2, 999), b=rng.randint(2, 99)))
    others = ["Compute the remainder of {a} modulo {b} and explain your reasoning carefully.",
              "A shop sells {a} pens at {b} cents each; what is the total, step by step?",
              "If a car drives {a} km in {b} hours, what is its speed? Show your work."]  # fmt: skip
    for k, frame in enumerate(others):  # scripts of the same kind, each on its own irregular clock
        when = START + timedelta(days=2)
        for _ in range(150):
            when += timedelta(seconds=rng.uniform(60, 900))
            log.add(f"alone-{k}", when, frame.format(a=rng.randint(2, 999), b=rng.randint(2, 99)))
    result = scan([log.write(tmp_path / "log.jsonl")], tmp_path / "scan")
    groups = _by_account(result)
    assert set(groups["dispatch-0"].accounts) == {"dispatch-0", "dispatch-1", "dispatch-2"}
    assert "lock-step activity" in groups["dispatch-0"].links and groups["dispatch-0"].flagged
    assert all("lock-step activity" not in groups[f"alone-{k}"].links for k in range(3))


def test_lockstep_is_judged_against_the_pairs_own_shifted_times() -> None:
    rng = np.random.default_rng(6)
    dispatch = np.cumsum(rng.uniform(60, 900, 200))
    first, second = np.sort(dispatch + rng.uniform(0, 40, 200)), np.sort(dispatch + rng.uniform(0, 40, 200))
    link = lockstep(first, second)
    assert link is not None and link.share - link.null >= 0.5
    hourly = np.arange(200) * 3600.0  # two customers' cron jobs on the hour: aligned at every whole-hour shift too
    assert lockstep(hourly + rng.uniform(0, 4, 200), hourly + rng.uniform(0, 4, 200)) is None
    assert lockstep(first, np.sort(np.cumsum(rng.uniform(60, 900, 200)))) is None  # independent accounts


def test_null_probability_is_small_only_for_groups_ordinary_accounts_do_not_reach() -> None:
    from provenance.traffic.calibration import null_probability

    totals = np.random.default_rng(7).exponential(1.0, 5000)  # ordinary accounts' behaviour: mostly near zero
    typical, draws = null_probability(totals, 4, 2.0, 2.0 + float(np.mean(totals)))
    assert 0.2 < typical < 0.8 and draws == 10_000  # a group of four average accounts is nothing unusual
    extreme, _ = null_probability(totals, 4, 2.0, 2.0 + 12.0)
    assert extreme == 1 / (draws + 1)  # four accounts that all look like automation: never drawn by chance
    assert null_probability(totals, 4, 2.0, 2.0 + 2.5)[0] < typical  # monotone in the score

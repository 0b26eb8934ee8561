"""A simulated vendor log with known campaigns (``provenance lab traffic``).

Who is in it (seeded, so a seed is a reproducible log):

* **benign** users: conversations on everyday topics, working-hours rhythm in their
  own time zone, one payer each, consumer IP prefixes, browser user agents;
* **hard negatives** a real vendor has: an *evaluation harness* replaying a fixed
  set of benchmark questions with step-by-step prompts at a steady pace; an *app
  backend* sending one templated prompt round the clock; a *research group* of
  several accounts on one university prefix and one payer, high volume, diverse;
* **campaigns**: one big *hydra* (many accounts, separate payers, a few proxy
  prefixes, scripted user agents, templated reasoning and code sweeps, regular
  pacing, starting the day after a release); *small clusters* (a few accounts each,
  own prefix and template family); a *slow operator* (accounts on separate prefixes,
  each under any per-account limit, working hours, but one template family); a
  *lock-step* operator (accounts with nothing in common, own prefix, browser, payer
  and template, fired together by one dispatcher at irregular times);
* and one more hard negative, customers' *scheduled jobs*: unrelated accounts whose
  cron jobs all fire in the first seconds of the hour (or quarter hour).

Responses come from a real teacher model through its backend when one is given
(``teacher``), so a campaign's logged answers can distil a lab student; otherwise
from short templates (for scale runs). ``truth.json`` lists every account's kind, and which operator runs each
campaign account (for attribution).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from provenance.files import atomic_open, atomic_write, make_folder

from provenance.traffic.populations import careful_populations
from provenance.traffic.simkit import (
    DAYS, RELEASE, START, _BENCH, _BROWSERS, _REPORTS, _REVIEWS, _SCRIPTED_AGENTS, _SWEEPS, _everyday, _fill,
    _Log, _operator_sweep, _prefix, _working_hours, ordinary_user,
)


def simulate(seed: int = 0, *, scale: float = 1.0, spill: Path | None = None, extra_seed: str | None = None) -> _Log:
    """Every account's exchanges (without responses) and the truth; ``scale`` multiplies the account counts.

    With ``spill`` (a folder), records are kept there in sorted runs instead of memory (``_Log``). Issue 29's
    wording, schedule and address draws come from a second generator (seeded by ``extra_seed``, by default
    from ``seed``), so the main generator's stream, and every draw made from it, does not depend on them.
    """
    rng = random.Random(seed)
    log = _Log(rng, spill, extra=random.Random(extra_seed or f"provenance traffic extra {seed}"), scale=scale)
    extra, where = log.extra, log.addresses  # issue 29: wording, schedules and address pools, off rng's stream
    n = lambda k: max(1, round(k * scale))  # noqa: E731
    for _ in range(n(400)):  # benign
        drawn = _prefix(rng)
        ordinary_user(log, rng, log.account("benign", *where.benign(drawn, rng.choice(_BROWSERS))))
    harness = log.account("hard negative: evaluation harness", where.datacentre(_prefix(rng)), "lm-eval-harness/0.4")
    for day in (1, 5, 10):
        when = START + timedelta(days=day, hours=2)
        for question in _BENCH:
            log.add(harness, when, [{"role": "user", "content": question}])
            when += timedelta(seconds=rng.gauss(30, 1))
    app = log.account("hard negative: app backend", where.datacentre(_prefix(rng)), "python-httpx/0.27", organisation="shopco")
    when = START
    while when < START + timedelta(days=DAYS):
        log.add(app, when, [{"role": "user", "content": f"Summarize the following customer review in one sentence: {rng.choice(_REVIEWS)}"}])
        when += timedelta(seconds=max(5.0, rng.gauss(1800, 60)))
    lab_prefix, lab_payment = _prefix(rng), "pay-university"
    for _ in range(n(6)):
        member = log.account("hard negative: research group", lab_prefix, rng.choice(_BROWSERS), payment=lab_payment, organisation="uni-nlp")
        for _ in range(rng.randint(80, 160)):
            when = _working_hours(rng, rng.randrange(DAYS), 1)
            text = _everyday(rng)
            if rng.random() < 0.3:
                text = _fill(rng.choice(rng.choice(_SWEEPS)), rng) + " (for our paper's error analysis)"
            log.add(member, when, [{"role": "user", "content": text}])
    _campaign(log, rng, "campaign: hydra", accounts=n(60), prefixes=[where.datacentre(_prefix(rng)) for _ in range(5)],
              sweep=_operator_sweep(rng, 5, extra), per_account=(60, 120), start=RELEASE + timedelta(hours=3), days=4, gap=20,
              operator="hydra")  # fmt: skip
    for cluster in range(n(6)):
        _campaign(log, rng, "campaign: small cluster", accounts=4, prefixes=[where.datacentre(_prefix(rng))],
                  sweep=_operator_sweep(rng, wording=extra), per_account=(40, 80), start=START + timedelta(days=rng.uniform(0, 9)),
                  days=3, gap=45, operator=f"small cluster {cluster + 1}")  # fmt: skip
    slow = [log.account("campaign: slow operator", where.residential(_prefix(rng)), rng.choice(_BROWSERS), operator="slow operator")
            for _ in range(n(10))]  # fmt: skip
    slow_sweep, slow_zone = _operator_sweep(rng, wording=extra), extra.randint(-6, 9)  # the operator's own time zone
    for account in slow:
        for day in range(DAYS):
            for _ in range(rng.randint(3, 6)):
                log.add(account, _working_hours(rng, day, slow_zone), [{"role": "user", "content": _fill(rng.choice(slow_sweep), rng)}])
    # Added after the others, so the accounts and exchanges above are those of earlier versions of a seed.
    for _ in range(n(5)):  # customers' scheduled jobs: each its own report, all firing at the top of the hour (cron)
        account = log.account("hard negative: scheduled jobs", where.datacentre(_prefix(rng)), rng.choice(["python-requests/2.31", "curl/8.5"]))
        report, every = rng.choice(_REPORTS), rng.choice([30, 60, 120])
        for tick in range(DAYS * 24 * 60 // every):
            when = START + timedelta(minutes=tick * every, seconds=rng.uniform(0, 4))
            log.add(account, when, [{"role": "user", "content": _fill(report, rng)}])
    for operator in range(n(1)):  # one dispatcher, accounts that share nothing else: own prefix, browser, payer, template
        accounts = [log.account("campaign: lock-step", where.residential(_prefix(rng)), rng.choice(_BROWSERS),
                                operator=f"lock-step {operator + 1}") for _ in range(6)]  # fmt: skip
        sweeps = [_operator_sweep(rng, wording=extra) for _ in accounts]
        when, pace = START + timedelta(days=rng.uniform(0, 10)), extra.uniform(0.5, 1.5)  # the dispatcher's own pace
        for _ in range(300):
            when += timedelta(seconds=rng.uniform(30, 600) * pace)
            for account, sweep in zip(accounts, sweeps):
                log.add(account, when + timedelta(seconds=rng.uniform(0, 0.8)), [{"role": "user", "content": _fill(rng.choice(sweep), rng)}])
    careful_populations(log, rng, n, slow)  # issue 29's populations, after all of the above
    return log


def _campaign(log: _Log, rng: random.Random, kind: str, *, accounts: int, prefixes: list[str], sweep: list[str],
              per_account: tuple[int, int], start: datetime, days: float, gap: float, operator: str) -> None:  # fmt: skip
    agent = rng.choice(_SCRIPTED_AGENTS)
    gap *= log.extra.uniform(0.5, 2.0)  # the operator's own pace (issue 29), off rng's stream
    start += timedelta(hours=log.extra.uniform(0, 6))
    for _ in range(accounts):
        account = log.account(kind, rng.choice(prefixes), agent, operator=operator)
        when = start + timedelta(seconds=rng.uniform(0, 3600))
        for _ in range(rng.randint(*per_account)):
            log.add(account, when, [{"role": "user", "content": _fill(rng.choice(sweep), rng)}])
            when += timedelta(seconds=max(1.0, rng.gauss(gap, gap * 0.05)))
            if (when - start).total_seconds() > days * 86400:
                break


def write_log(out_dir: Path, seed: int = 0, *, teacher: Any = None, scale: float = 1.0,  # noqa: ANN401 - a Backend
              max_new_tokens: int = 16, temperature: float = 0.0, top_p: float = 1.0) -> dict[str, Any]:  # fmt: skip
    """Write ``log.jsonl`` (time order) and ``truth.json``; responses from ``teacher`` when given.

    ``temperature`` / ``top_p``: how the teacher's answers are sampled (greedy by default;
    a membership lab needs sampled answers, as a public API gives by default), recorded
    in ``truth.json`` so the model-side case can ask for twins with the same settings.
    """
    from provenance.backends.base import GenerationParams

    make_folder(out_dir)
    log = simulate(seed, scale=scale, spill=out_dir / "simulating")
    if teacher is not None:  # a teacher-answered log is small: its prompts are read off the sorted stream first
        records: Any = list(log.sorted_records())
        prompts = sorted({r["messages"][-1]["content"] for r in records})
        params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p)
        answers = {p: g.text for p, g in zip(prompts, teacher.generate(prompts, params, seed))}
    else:
        records, answers = log.sorted_records(), {}
    with atomic_open(out_dir / "log.jsonl") as handle:
        for record in records:
            prompt = record["messages"][-1]["content"]
            response = answers.get(prompt) or f"Here is a careful answer to: {prompt[:60]}"
            record["response"] = response
            record["usage"] = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(response.split())}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    if (out_dir / "simulating").is_dir():
        (out_dir / "simulating").rmdir()
    truth = {"seed": seed, "release_dates": [RELEASE.isoformat()], "accounts": log.truth, "operators": log.operators,
             "exchanges": log.exchanges, "teacher": getattr(getattr(teacher, "identity", None), "name", None),
             "sampling": {"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p}}  # fmt: skip
    atomic_write(out_dir / "truth.json", json.dumps(truth, indent=1))
    return truth

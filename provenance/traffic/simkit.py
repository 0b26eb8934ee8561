"""The simulated log's building blocks: accounts, the log, wording and timing helpers.

Shared by ``traffic.simulate`` (the populations of the earlier rounds) and ``traffic.populations``
(issue 29's, drawn after them), so that neither imports the other.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any


START = datetime(2026, 3, 2, tzinfo=timezone.utc)
DAYS = 14
RELEASE = START + timedelta(days=7)

_ADJECTIVES = ["cheap", "quiet", "first", "small", "late", "surprise", "rainy", "busy", "new", "old", "family", "weekend",
               "online", "local", "noisy", "tiny", "annual", "last-minute", "remote", "shared"]
_NOUNS = ["garden", "birthday party", "Spanish lesson", "job interview", "cat", "trip to Lisbon", "budget", "book club",
          "10k race", "bike repair", "wedding speech", "house move", "dinner", "cover letter", "apartment", "camping trip",
          "yoga class", "tax return", "piano practice", "bakery order", "team meeting", "science fair", "road trip", "sourdough"]
_ASKS = ["Can you help me plan a {t}?", "What should I know about a {t}?", "Give me three ideas for a {t}.",
         "Write a short message to a friend about our {t}.", "I'm worried about the {t}. Any advice?",
         "Summarise the basics of a {t}.", "My sister asked about the {t}; what do I say?", "is a {t} worth it",
         "how do people usually handle a {t}?", "Quick question about my {t}", "Tips for a {t} please",
         "Rewrite this nicer: we can't make the {t}.", "What goes wrong with a {t} most often?", "{t} checklist?",
         "Tell me a joke about a {t}.", "Pros and cons of a {t}?", "How long does a {t} take?", "Draft an invite for a {t}."]
_FOLLOW = ["Thanks! Can you make it shorter?", "What about the cost?", "Could you give an example?", "Great, and then?"]
_BENCH = [f"Question {i}: A train travels {20 + i} km in {1 + i % 4} hours. What is its average speed? Think step by step."
          for i in range(120)]  # fmt: skip
_REPORTS = ["Daily report for store {a}: summarise sales of {b} units and {c} returns in one paragraph for the manager.",
            "Write the status line for server {a}: {b} requests served, {c} errors, in a calm and short tone please.",
            "Summarise the inventory change for warehouse {a}: {b} pallets in, {c} pallets out, flag anything unusual.",
            "Compose the reminder email for class {a}: homework {b} is due in {c} days, keep it friendly and brief."]
_REVIEWS = ["The delivery was late but the product works.", "Great value, would buy again.", "Stopped working after a week.",
            "Customer service was helpful.", "Not as described in the listing."]
_PROBLEMS = [
    "what is {a} * {b} + {c}?", "if x + {a} = {b}, what is x times {c}?",
    "a store sells {a} apples at {b} cents each and {c} more at half price; what is the total?",
    "{a} workers build a wall in {b} days; how long do {c} workers take?",
    "a tank fills at {a} litres per minute and drains at {c}; when is {b} litres reached?",
    "write a Python function that returns the {a}th Fibonacci number modulo {b}",
    "implement a Python function that sorts {a} integers and counts inversions",
    "write a JavaScript function that validates {a} email addresses in under {b} ms",
    "prove that the sum of the first {a} odd numbers is {a} squared",
    "a train leaves at {a}:00 at {b} km/h; another at {c}:00 at {b} km/h faster; when do they meet?",
]
_OPENERS = ["Solve", "Work out", "Compute", "Figure out", "Determine", "Answer this"]
_METHODS = ["step by step and explain your reasoning", "showing every step of your reasoning",
            "thinking it through step by step", "with a detailed chain of thought, step by step"]
#: Reasoning prompts a research group or a benchmark may send too (no operator's scaffolding).
_SWEEPS = [[f"Solve step by step and explain your reasoning: {p}" for p in _PROBLEMS[i::3]] for i in range(3)]
_SCRIPTED_AGENTS = ["python-requests/2.31", "okhttp/4.12.0", "Go-http-client/2.0"]
_BROWSERS = ["Mozilla/5.0 (Windows NT 10.0) Chrome/126", "Mozilla/5.0 (Macintosh) Safari/17", "Mozilla/5.0 (X11; Linux) Firefox/128"]


@dataclass
class _Account:
    account_id: str
    kind: str
    prefix: str
    agent: str
    payment: str
    organisation: str | None = None


class _Log:
    """The exchanges as they are simulated (account by account), spilled in time-sorted runs to ``spill``.

    A run of ``run_size`` records is sorted by timestamp and written out, so memory holds one
    run, whatever the scale; ``sorted_records`` merges the runs into one time-ordered stream. A
    stable sort per run and a merge that prefers earlier runs on ties give exactly the order
    of one stable sort of every record (the log of a seed does not depend on ``run_size``).
    """

    def __init__(self, rng: random.Random, spill: Path | None = None, run_size: int = 500_000, *,
                 extra: random.Random | None = None, scale: float = 1.0) -> None:  # fmt: skip
        self.rng = rng
        #: Issue 29's new randomness (wording, schedules, address pools): a generator of its own, so that the draws
        #: of ``rng`` (and with them every earlier account, time and prefix draw of a seed) stay as they were.
        self.extra = extra if extra is not None else random.Random("provenance traffic extra 0")
        self.addresses = Addresses(self.extra, scale)
        self.records: list[dict[str, Any]] = []
        self.truth: dict[str, str] = {}
        self.operators: dict[str, str] = {}  # campaign account: which operator runs it
        self.count = 0
        self.exchanges = 0
        self.spill = spill
        self.run_size = run_size
        self.runs: list[Path] = []

    def account(self, kind: str, prefix: str, agent: str, payment: str | None = None, organisation: str | None = None,
                operator: str | None = None) -> _Account:  # fmt: skip
        self.count += 1
        account = _Account(f"acct-{self.count:05d}", kind, prefix, agent, payment or f"pay-{self.count:05d}", organisation)
        self.truth[account.account_id] = kind
        if operator is not None:
            self.operators[account.account_id] = operator
        return account

    def add(self, account: _Account, when: datetime, messages: list[dict[str, str]]) -> None:
        host = self.rng.randint(2, 254)
        self.records.append({
            "timestamp": when.isoformat().replace("+00:00", "Z"), "account_id": account.account_id,
            "api_key_id": f"key-{account.account_id[5:]}", "source_ip": f"{account.prefix}.{host}",
            "user_agent": account.agent, "organisation": account.organisation, "payment_id": account.payment,
            "model": "aurora-1", "messages": messages,
        })  # fmt: skip
        self.exchanges += 1
        if self.spill is not None and len(self.records) >= self.run_size:
            self._write_run()

    def _write_run(self) -> None:
        assert self.spill is not None
        self.spill.mkdir(parents=True, exist_ok=True)
        run = self.spill / f"run-{len(self.runs):04d}.jsonl"
        with open(run, "w", encoding="utf-8") as handle:
            for record in sorted(self.records, key=lambda r: r["timestamp"]):
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.runs.append(run)
        self.records.clear()

    def sorted_records(self) -> Iterator[dict[str, Any]]:
        """Every record in time order (the runs merged; the ones still in memory as the last run)."""
        if not self.runs:
            yield from sorted(self.records, key=lambda r: r["timestamp"])
            return
        if self.records:
            self._write_run()
        handles = [open(run, encoding="utf-8") for run in self.runs]  # noqa: SIM115 - closed below
        try:
            streams = [map(json.loads, handle) for handle in handles]
            yield from heapq.merge(*streams, key=lambda r: r["timestamp"])
        finally:
            for handle in handles:
                handle.close()
            for run in self.runs:
                run.unlink(missing_ok=True)


def _prefix(rng: random.Random) -> str:
    return f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}"


class Addresses:
    """Where accounts connect from (issue 29): shared pools, not a random /24 each.

    * *datacentre* ranges (cloud and proxy providers): ``max(6, 6 * sqrt(scale))`` /24 prefixes shared by every
      scripted campaign (hydra, small clusters, translation harvests), the hard negatives' servers, and the benign
      users on a VPN or a cloud desktop (``BENIGN_DATACENTRE`` of them; a quarter of those run their own script);
    * *residential* ranges (carrier NAT, one building's network): ``max(120, 120 * scale)`` prefixes, about three
      ordinary users each at every scale, shared with the campaigns that hide on consumer lines (the slow operator,
      lock-step dispatchers, careful sweeps, the residential swarm).

    The caller still draws the old random prefix from the seed's main generator and passes it (``drawn``), so
    that generator's stream, and every other draw of the seed, stays as it was; the pool decides the prefix.
    """

    BENIGN_DATACENTRE = 0.1

    def __init__(self, rng: random.Random, scale: float) -> None:
        self.rng = rng
        self.datacentre_pool = [_prefix(rng) for _ in range(max(6, round(6 * scale**0.5)))]
        self.residential_pool = [_prefix(rng) for _ in range(max(120, round(120 * scale)))]

    def datacentre(self, drawn: str = "") -> str:
        return self.rng.choice(self.datacentre_pool)

    def residential(self, drawn: str = "") -> str:
        return self.rng.choice(self.residential_pool)

    def benign(self, drawn: str, agent: str) -> tuple[str, str]:
        """An ordinary user's prefix and user agent: at home mostly, on a VPN or cloud machine sometimes."""
        if self.rng.random() < self.BENIGN_DATACENTRE:
            return self.datacentre(), (self.rng.choice(_SCRIPTED_AGENTS) if self.rng.random() < 0.25 else agent)
        return self.residential(), agent


#: What an operator's wording is composed from (issue 29). The earlier lists gave 480 combinations of tag, opener,
#: method and style, so among thousands of operators every frame was shared by a dozen; these give about 10**12,
#: in three layouts, with an optional role line and closing instruction.
_TAG_WORDS = ["task", "q", "item", "req", "job", "case", "unit", "batch", "ticket", "probe", "run", "sample", "query", "node",
              "shard", "slot", "lot", "set", "entry", "rec", "row", "doc", "ref", "step", "key", "pair", "cell", "frame",
              "token", "seq", "chunk", "block", "line", "work", "trial", "test", "ex", "prob", "ask", "msg", "cmd", "op",
              "part", "page", "leaf", "pack", "tag", "id"]  # fmt: skip
_TAG_FORMS = ["[{w}-{n}]", "<{w}:{n}>", "{w}#{n} |", "({w} {n})", "{w}-{n} >>", "#{w}{n}"]
_VERBS = ["Solve", "Work out", "Compute", "Figure out", "Determine", "Answer", "Tackle", "Resolve", "Evaluate", "Analyse",
          "Crack", "Handle", "Address", "Complete", "Settle", "Examine", "Study", "Reason about", "Go through", "Deal with"]  # fmt: skip
_OBJECTS = ["this problem", "the following", "the task below", "this exercise", "the item", "this question", "the next case",
            "the prompt", "this puzzle", "the query", "this one", "the challenge"]  # fmt: skip
_METHOD_HEADS = ["step by step", "one step at a time", "carefully", "methodically", "in small steps", "from first principles",
                 "rigorously", "slowly", "in detail", "systematically", "thoroughly", "line by line"]  # fmt: skip
_METHOD_TAILS = ["and explain your reasoning", "showing every step of your reasoning", "with a detailed chain of thought",
                 "and justify each step", "writing out all intermediate results", "and check your work",
                 "explaining each decision", "and show your work", "before giving the final answer", "with reasons for every step"]  # fmt: skip
_STYLE_ADJECTIVES = ["concise", "precise", "formal", "clear", "brief", "exact", "rigorous", "plain", "neat", "tidy"]
_STYLE_FORMATS = ["use numbered steps", "answer in full sentences", "put the answer last", "use bullet points", "write in prose",
                  "end with the answer in bold", "label each step", "keep a table of values", "quote the final number",
                  "give the answer on its own line"]  # fmt: skip
_ROLE_ADJECTIVES = ["careful", "patient", "expert", "senior", "friendly", "meticulous", "strict", "helpful", "seasoned",
                    "brilliant", "calm", "thorough"]  # fmt: skip
_ROLES = ["tutor", "mathematician", "engineer", "teacher", "analyst", "programmer", "grader", "professor", "assistant",
          "scientist", "reviewer", "examiner", "coach", "solver", "developer"]  # fmt: skip
_CLOSINGS = ["Final line: ANSWER=<value>.", "Reply in English only.", "No preamble.", "Do not skip steps.",
             "Keep it under 300 words.", "Return plain text.", "Avoid markdown headers.", "Double-check the arithmetic.",
             "State any assumption.", "Finish with a one-line summary.", "Use SI units where relevant.",
             "Write the result as a number.", "Mention edge cases.", "Number every line.", "Stay on topic.",
             "Give only one solution.", "Explain like a textbook.", "Keep variable names short.", "Cite the rule used.",
             "Close with DONE."]  # fmt: skip


_SYLLABLES = ["ka", "ve", "ro", "mi", "tal", "sen", "dor", "lu", "ber", "an", "os", "qui", "zer", "pha", "ni", "mor", "el",
              "tra", "gun", "ys"]  # fmt: skip


def made_up_name(rng: random.Random) -> str:
    """A name of a made-up place or project (20**3 to 20**4 of them), capitalised."""
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def operator_wording(rng: random.Random) -> tuple[str, str]:
    """One operator's scaffolding as (before the item, after it), drawn from the vocabularies above."""
    tag = rng.choice(_TAG_FORMS).format(w=rng.choice(_TAG_WORDS).upper(), n=rng.randint(100, 999))
    opener = f"{rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_METHOD_HEADS)} {rng.choice(_METHOD_TAILS)}:"
    style = f"Be {rng.choice(_STYLE_ADJECTIVES)} and {rng.choice(_STYLE_FORMATS)}."
    role = f"You are a {rng.choice(_ROLE_ADJECTIVES)} {rng.choice(_ROLES)}." if rng.random() < 0.5 else ""
    closing = rng.choice(_CLOSINGS) if rng.random() < 0.5 else ""
    layout = rng.randrange(3)
    if layout == 0:
        before, after = f"{role} {tag} {opener}", f"{style} {closing}"
    elif layout == 1:
        before, after = f"{tag} {role} {opener}", f"{closing} {style}"
    else:
        before, after = f"{opener}", f"{style} {tag} {role} {closing}"
    return " ".join(before.split()), " ".join(after.split())


def _working_hours(rng: random.Random, day: int, offset_h: int) -> datetime:
    hour = min(max(rng.gauss(14, 3), 7), 23)
    return START + timedelta(days=day, hours=hour - offset_h, seconds=rng.uniform(0, 3600))


def _everyday(rng: random.Random) -> str:
    return rng.choice(_ASKS).format(t=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}")


def _operator_sweep(rng: random.Random, problems: int = 3, wording: random.Random | None = None) -> list[str]:
    """An operator's own templates: its wording and scaffolding around a few problem types.

    With ``wording`` (issue 29: ``_Log.extra``), the scaffolding is drawn from ``operator_wording``'s
    vocabularies by that generator; the earlier tag, opener, method and style are still drawn from ``rng``
    (and then unused), so ``rng``'s stream is as it was.
    """
    tag = f"[{rng.choice(['TASK', 'Q', 'ITEM', 'REQ', 'JOB'])}-{rng.randint(100, 999)}]"
    style = rng.choice(["Answer in full sentences.", "Use numbered steps.", "Be rigorous and concise.", "Format: reasoning then answer."])
    opener, method = rng.choice(_OPENERS), rng.choice(_METHODS)
    chosen = rng.sample(_PROBLEMS, problems)
    if wording is None:
        return [f"{tag} {opener} {method}: {p} {style}" for p in chosen]
    before, after = operator_wording(wording)
    return [f"{before} {p} {after}" for p in chosen]


def _fill(template: str, rng: random.Random) -> str:
    return template.format(a=rng.randint(2, 999), b=rng.randint(2, 999), c=rng.randint(2, 99))


def ordinary_user(log: _Log, rng: random.Random, account: _Account) -> None:
    """An ordinary user's conversations: everyday topics, working hours in the user's own time zone."""
    offset = rng.choice([-8, -5, 0, 1, 3, 8, 9])
    for _ in range(rng.randint(2, 15)):
        day = rng.randrange(DAYS)
        when = _working_hours(rng, day, offset)
        turns = [{"role": "user", "content": _everyday(rng)}]
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            log.add(account, when, list(turns))
            turns += [{"role": "assistant", "content": "..."}, {"role": "user", "content": rng.choice(_FOLLOW)}]
            when += timedelta(seconds=rng.uniform(20, 300))
        log.add(account, when, turns)

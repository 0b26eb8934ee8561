"""Small traffic logs for the scan's tests, written exchange by exchange so each test knows its answer.

One writer and one population of ordinary users for every traffic test that builds its own log: each
account gets its own /24 prefix, user agent and payer unless a test places it on shared ones, so the
only ties between accounts are the ones a test means to make.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 3, 2, tzinfo=timezone.utc)
EVERYDAY_TOPICS = ["garden", "trip", "budget", "dinner", "cat", "piano", "letter", "move"]
EVERYDAY_ASKS = ["help with my {t}?", "ideas for a {t}", "is a {t} worth it", "{t} tips please", "my {t} went wrong, why?"]


def fill(rng: random.Random, text: str) -> str:
    """A template's numbers drawn afresh, as a generated task space would."""
    return text.format(a=rng.randint(2, 999), b=rng.randint(2, 999), c=rng.randint(2, 99))


class Log:
    """Exchanges with the infrastructure and payer each account is given."""

    def __init__(self) -> None:
        self.rows: list[tuple[datetime, dict]] = []
        self.places: dict[str, tuple[str, str, str]] = {}

    def place(self, account: str, prefix: str | None = None, agent: str | None = None, payer: str | None = None) -> None:
        k = len(self.places)
        self.places[account] = (prefix or f"{20 + k // 250}.{k % 250}.9", agent or f"agent-{account}", payer or f"pay-{account}")

    def add(self, account: str, when: datetime, prompt: str, follow_up: bool = False) -> None:
        if account not in self.places:
            self.place(account)
        prefix, agent, payer = self.places[account]
        self.rows.append((when, {"timestamp": when.isoformat().replace("+00:00", "Z"), "account_id": account,
                                 "api_key_id": f"k-{account}", "source_ip": f"{prefix}.{len(self.rows) % 250 + 1}",
                                 "user_agent": agent, "payment_id": payer, "model": "m",
                                 "messages": ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
                                              if follow_up else []) + [{"role": "user", "content": prompt}],
                                 "response": "ok"}))  # fmt: skip

    def write(self, path: Path) -> Path:
        ordered = sorted(self.rows, key=lambda row: row[0])
        path.write_text("".join(json.dumps(row) + "\n" for _, row in ordered), encoding="utf-8")
        return path


def everyday(rng: random.Random, log: Log, account: str, follow_ups: bool = False) -> None:
    """An ordinary user: a few short everyday questions (never a template) at ordinary hours, some as follow-ups."""
    for _ in range(rng.randint(3, 12)):
        when = START + timedelta(days=rng.uniform(0, 10), hours=14 + rng.gauss(0, 3))
        prompt = rng.choice(EVERYDAY_ASKS).format(t=rng.choice(EVERYDAY_TOPICS))
        log.add(account, when, prompt, follow_up=follow_ups and rng.random() < 0.5)


def background(rng: random.Random, log: Log, accounts: int, follow_ups: bool = False,
               place: Callable[[int], tuple[str, str]] | None = None) -> None:
    """``accounts`` ordinary users ``user-000``...; ``place(k)`` gives user k a (prefix, user agent) of its own choosing."""
    for k in range(accounts):
        account = f"user-{k:03d}"
        if place is not None:
            log.place(account, *place(k))
        everyday(rng, log, account, follow_ups)

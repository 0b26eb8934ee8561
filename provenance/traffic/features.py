"""Per-account behaviour, computed by DuckDB over the normalised Parquet log.

Everything that aggregates over rows is SQL (DuckDB runs it out of core and in
parallel; the same queries run unchanged on a partition of a bigger log).
Templatedness needs near-duplicate detection, which SQL does not do well: it uses
MinHash signatures (``datasketch``) over word 3-shingles of a bounded sample of
each account's prompts, so its cost grows with the number of accounts, not rows.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

#: Prompts that ask for the reasoning or code a distiller wants most.
REASONING = r"(step[- ]by[- ]step|think (it )?through|explain your reasoning|show your work|reason carefully|chain of thought)"
CODE = r"(```|\bdef |\bfunction\b|\bpython\b|\bjavascript\b|\bimplement\b|\bwrite (a |the )?(program|script|function|class)\b)"
#: Prompts sampled per account for templatedness (bounded cost).
SAMPLE = 120
#: Jaccard similarity above which two prompts count as the same template.
TEMPLATE_JACCARD = 0.5
NUM_PERM = 64
#: Prompts shorter than this many words are not considered for templates.
MIN_WORDS = 8


@dataclass
class AccountFeatures:
    """One account's behaviour; the scan report shows these beside the population's."""

    account_id: str
    requests: int
    tokens: int
    active_days: int
    requests_per_day: float
    distinct_prompt_share: float
    reasoning_share: float
    code_share: float
    single_shot_share: float
    pacing_cv: float | None
    hour_entropy: float
    after_release_share: float | None
    ip_prefixes: list[str]
    user_agents: list[str]
    payment_ids: list[str]
    organisations: list[str]
    first_seen: str
    last_seen: str
    templatedness: float = 0.0
    template_prompts: int = 0
    template_signature: Any = None


def _sql(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def account_features(con: Any, parquet: Path, release_dates: list[datetime]) -> dict[str, AccountFeatures]:  # noqa: ANN401
    """Volume, diversity, focus, pacing, sessions, hours, release reaction and infrastructure, per account."""
    con.execute(f"CREATE OR REPLACE VIEW x AS SELECT * FROM read_parquet('{_sql(parquet)}')")
    releases = ", ".join(f"(TIMESTAMP '{d:%Y-%m-%d %H:%M:%S}')" for d in release_dates) or "(CAST(NULL AS TIMESTAMP))"
    rows = con.execute(f"""
        WITH gaps AS (
            SELECT account_id, epoch(ts - lag(ts) OVER (PARTITION BY account_id ORDER BY ts)) AS gap FROM x
        ), pacing AS (
            SELECT account_id, stddev_samp(gap) / nullif(avg(gap), 0) AS cv FROM gaps WHERE gap IS NOT NULL GROUP BY account_id
        ), hours AS (
            SELECT account_id, hour(ts) AS h, count(*) AS c FROM x GROUP BY ALL
        ), entropy AS (
            SELECT account_id, -sum((c / t) * ln(c / t)) / ln(24) AS e
            FROM (SELECT *, sum(c) OVER (PARTITION BY account_id) AS t FROM hours) GROUP BY account_id
        ), releases(r) AS (
            SELECT * FROM (VALUES {releases}) AS v(r) WHERE r IS NOT NULL
        ), release AS (
            SELECT account_id,
                   avg(CASE WHEN EXISTS (SELECT 1 FROM releases WHERE x.ts >= r AND x.ts < r + INTERVAL 1 DAY)
                            THEN 1 ELSE 0 END) AS after
            FROM x GROUP BY account_id
        )
        SELECT a.account_id, count(*) AS requests, sum(prompt_tokens + completion_tokens) AS tokens,
               count(DISTINCT CAST(ts AS DATE)) AS days,
               count(DISTINCT prompt) / count(*) AS distinct_share,
               avg(CASE WHEN regexp_matches(lower(prompt), '{REASONING}') THEN 1 ELSE 0 END) AS reasoning,
               avg(CASE WHEN regexp_matches(lower(prompt), '{CODE}') THEN 1 ELSE 0 END) AS code,
               avg(CASE WHEN user_turns <= 1 THEN 1 ELSE 0 END) AS single_shot,
               any_value(p.cv) AS cv, any_value(e.e) AS entropy, any_value(r.after) AS after,
               list(DISTINCT regexp_extract(source_ip, '^(\\d+\\.\\d+\\.\\d+)\\.', 1)) AS prefixes,
               list(DISTINCT user_agent) AS agents,
               list(DISTINCT payment_id) FILTER (WHERE payment_id IS NOT NULL) AS payments,
               list(DISTINCT organisation) FILTER (WHERE organisation IS NOT NULL) AS orgs,
               CAST(min(ts) AS VARCHAR), CAST(max(ts) AS VARCHAR)
        FROM x a LEFT JOIN pacing p USING (account_id) LEFT JOIN entropy e USING (account_id)
                 LEFT JOIN release r USING (account_id)
        GROUP BY a.account_id
    """).fetchall()  # noqa: S608 - only our own constants and dates are interpolated
    features = {}
    for (account, requests, tokens, days, distinct, reasoning, code, single, cv, entropy, after,
         prefixes, agents, payments, orgs, first, last) in rows:  # fmt: skip
        features[account] = AccountFeatures(
            account_id=account, requests=int(requests), tokens=int(tokens or 0), active_days=int(days),
            requests_per_day=requests / max(days, 1), distinct_prompt_share=float(distinct), reasoning_share=float(reasoning),
            code_share=float(code), single_shot_share=float(single), pacing_cv=None if cv is None else float(cv),
            hour_entropy=float(entropy or 0.0), after_release_share=None if not release_dates else float(after or 0.0),
            ip_prefixes=sorted(p for p in prefixes if p), user_agents=sorted(agents), payment_ids=sorted(payments or []),
            organisations=sorted(orgs or []), first_seen=first, last_seen=last,
        )  # fmt: skip
    _templatedness(con, features)
    return features


def _shingles(text: str) -> set[bytes]:
    """Word 3-shingles with every number masked: a template filled with other numbers is the same template."""
    words = re.sub(r"\d+", "0", text.lower()).split()
    if len(words) < 3:
        return {" ".join(words).encode()}
    return {" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2)}


@functools.lru_cache(maxsize=None)
def lsh_bands(threshold: float = TEMPLATE_JACCARD, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """The LSH (bands, rows) datasketch finds optimal for ``threshold``; it integrates numerically on every
    ``MinHashLSH()`` unless given them, which costs more than hashing an account's prompts."""
    from datasketch import MinHashLSH

    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return index.b, index.r


def new_lsh() -> Any:  # noqa: ANN401 - a datasketch MinHashLSH
    from datasketch import MinHashLSH

    return MinHashLSH(num_perm=NUM_PERM, params=lsh_bands())


def _templatedness(con: Any, features: dict[str, AccountFeatures]) -> None:  # noqa: ANN401
    """Share of an account's sampled prompts that have a near-duplicate among its others (MinHash LSH),
    and a signature of its commonest template, for linking accounts that share templates."""
    from datasketch import MinHash

    # Distinct prompts (a prompt repeated verbatim is not a sweep); one shorter than MIN_WORDS words
    # (a generic follow-up like "thanks, shorter please", shared by many users) is never templated.
    sampled = con.execute(f"""
        SELECT account_id, list(prompt ORDER BY hash(prompt))[1:{SAMPLE}]
        FROM (SELECT DISTINCT account_id, prompt FROM x) GROUP BY account_id
    """).fetchall()
    for account, prompts in sampled:
        lsh = new_lsh()
        long = [i for i, prompt in enumerate(prompts) if len(prompt.split()) >= MIN_WORDS]  # short: never templated
        signatures = MinHash.bulk([list(_shingles(prompts[i])) for i in long], num_perm=NUM_PERM, seed=1)  # shared permutations
        hashes: dict[int, Any] = dict(zip(long, signatures))
        for i, signature in hashes.items():
            lsh.insert(str(i), signature)
        neighbours = {i: len(lsh.query(h)) - 1 for i, h in hashes.items()}
        templated = sum(1 for n in neighbours.values() if n > 0)
        feature = features[account]
        feature.templatedness = templated / len(prompts) if prompts else 0.0
        feature.template_prompts = len(prompts)
        if templated >= 3:  # the most-shared prompt stands for the account's template
            feature.template_signature = hashes[max(neighbours, key=lambda i: neighbours[i])]


def robust_z(values: list[float], floor: float) -> tuple[float, float]:
    """Median and MAD-based scale of a population; ``floor`` is the smallest difference that means anything
    (a feature most accounts share exactly, like a templatedness of 0, would otherwise divide by zero)."""
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    mad = sorted(abs(v - median) for v in values)[len(values) // 2]
    return median, max(1.4826 * mad, floor)


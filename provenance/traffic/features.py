"""Per-account behaviour, computed by DuckDB over the normalised Parquet log.

Everything that aggregates over rows is SQL (DuckDB runs it out of core and in
parallel; the same queries run unchanged on a partition of a bigger log).
Templatedness needs near-duplicate detection, which SQL does not do well: it uses
MinHash signatures over word 3-shingles of a bounded sample of each account's
prompts (shingles hashed in SQL, signatures and LSH buckets as array arithmetic in
``minhash``, datasketch's permutations), so its cost grows with the number of
accounts, not rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from provenance.traffic.logs import sql_path

#: Prompts that ask for the reasoning or code a distiller wants most.
REASONING = r"(step[- ]by[- ]step|every step|think (it )?through|\breasoning\b|show your work|reason carefully|chain of thought)"
CODE = r"(```|\bdef |\bfunction\b|\bpython\b|\bjavascript\b|\bimplement\b|\bwrite (a |the )?(program|script|function|class)\b)"
#: Prompts sampled per account for templatedness (bounded cost).
SAMPLE = 120
#: Jaccard similarity above which two prompts count as the same template.
TEMPLATE_JACCARD = 0.5
NUM_PERM = 64
#: Prompts shorter than this many words are not considered for templates.
MIN_WORDS = 8
#: An account's *frame*: the shingles in at least this share of its templated prompts (its own wording around
#: whatever it fills in). Operators sweeping the same problem texts differ in their frames.
FRAME_SHARE = 0.8
MIN_FRAME_SHINGLES = 3
#: A request in the first this many seconds of a minute is *on the clock* (where cron-like schedulers fire;
#: 1 in 12 requests at random).
CLOCK_SECONDS = 5


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
    clock_aligned_share: float = 0.0
    api_key_ids: list[str] = field(default_factory=list)
    templatedness: float = 0.0
    template_prompts: int = 0
    template_signature: Any = None
    request_focus: float = 0.0
    request_type: str = ""
    activity_signature: Any = None  # the account's request times (epoch seconds, sorted) for timing links (``timing``)


def account_features(con: Any, parquet: Path, release_dates: list[datetime]) -> dict[str, AccountFeatures]:  # noqa: ANN401
    """Volume, diversity, focus, pacing, sessions, hours, release reaction and infrastructure, per account
    (``templatedness`` then adds the template features to these)."""
    con.execute(f"CREATE OR REPLACE VIEW x AS SELECT * FROM read_parquet({sql_path(parquet)})")
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
               CAST(min(ts) AS VARCHAR), CAST(max(ts) AS VARCHAR),
               avg(CASE WHEN second(ts) < {CLOCK_SECONDS} THEN 1 ELSE 0 END) AS clock_aligned,
               list(DISTINCT api_key_id) FILTER (WHERE api_key_id IS NOT NULL) AS keys
        FROM x a LEFT JOIN pacing p USING (account_id) LEFT JOIN entropy e USING (account_id)
                 LEFT JOIN release r USING (account_id)
        GROUP BY a.account_id
    """).fetchall()  # noqa: S608 - only our own constants and dates are interpolated
    features = {}
    for (account, requests, tokens, days, distinct, reasoning, code, single, cv, entropy, after,
         prefixes, agents, payments, orgs, first, last, clock, keys) in rows:  # fmt: skip
        features[account] = AccountFeatures(
            account_id=account, requests=int(requests), tokens=int(tokens or 0), active_days=int(days),
            requests_per_day=requests / max(days, 1), distinct_prompt_share=float(distinct), reasoning_share=float(reasoning),
            code_share=float(code), single_shot_share=float(single), pacing_cv=None if cv is None else float(cv),
            hour_entropy=float(entropy or 0.0), after_release_share=None if not release_dates else float(after or 0.0),
            ip_prefixes=sorted(p for p in prefixes if p), user_agents=sorted(agents), payment_ids=sorted(payments or []),
            organisations=sorted(orgs or []), first_seen=first, last_seen=last, clock_aligned_share=float(clock or 0.0),
            api_key_ids=sorted(keys or []),
        )  # fmt: skip
    return features


#: Prompts per batch of accounts whose signatures are computed together (bounds memory, not results).
BATCH_PROMPTS = 200_000


def templatedness(con: Any, features: dict[str, AccountFeatures]) -> None:  # noqa: ANN401
    """Share of an account's sampled prompts that have a near-duplicate among its others (MinHash LSH),
    and a signature of its commonest template, for linking accounts that share templates.

    Distinct prompts only (a prompt repeated verbatim is not a sweep), at most ``SAMPLE`` per
    account in a fixed pseudo-random order; one shorter than ``MIN_WORDS`` words (a generic
    follow-up like "thanks, shorter please", shared by many users) is never templated.
    Shingles are word 3-grams with every number masked (a template filled with other numbers
    is the same template), hashed by DuckDB; signatures and buckets are computed for a batch
    of whole accounts at a time (``minhash``).
    """
    from provenance.traffic import minhash

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sampled AS
        SELECT account_id, dense_rank() OVER (ORDER BY account_id) - 1 AS acct, i, prompt,
               least(count(*) OVER (PARTITION BY account_id), {SAMPLE}) AS n
        FROM (SELECT account_id, prompt, row_number() OVER (PARTITION BY account_id ORDER BY hash(prompt), prompt) AS i
              FROM (SELECT DISTINCT account_id, prompt FROM x))
        QUALIFY i <= {SAMPLE}
        ORDER BY acct, i  -- stored in account order: each batch below reads only its own row groups
    """)  # fmt: skip
    sizes = con.execute("SELECT acct, any_value(account_id), any_value(n) FROM sampled GROUP BY acct ORDER BY acct").fetchall()
    names = [name for _, name, _ in sizes]
    for acct, name, n in sizes:
        features[name].template_prompts = int(n)
    bands, rows = minhash.lsh_bands(TEMPLATE_JACCARD, NUM_PERM)
    cumulative = np.cumsum([n for _, _, n in sizes])
    first = 0
    while first < len(sizes):
        last = max(first + 1, int(np.searchsorted(cumulative, (cumulative[first - 1] if first else 0) + BATCH_PROMPTS, side="right")))
        shingles = con.execute(f"""
            SELECT acct, i, hash(w[k] || ' ' || w[k + 1] || ' ' || w[k + 2]) & 4294967295 AS h
            FROM (SELECT acct, i, list_filter(string_split_regex(regexp_replace(lower(prompt), '\\d+', '0', 'g'), '\\s+'),
                                              lambda t: t <> '') AS w
                  FROM sampled WHERE acct >= {first} AND acct < {last}),
                 unnest(range(1, len(w) - 1)) AS shingle(k)
            WHERE len(w) >= {MIN_WORDS}
            ORDER BY acct, i
        """).fetchnumpy()  # fmt: skip
        batch_first, first = first, last
        if not len(shingles["h"]):
            continue
        prompt_key = shingles["acct"].astype(np.int64) * (SAMPLE + 1) + shingles["i"].astype(np.int64)
        starts = minhash.run_starts(prompt_key)
        owner = shingles["acct"][starts].astype(np.int64)
        signature = minhash.signatures(shingles["h"], starts, NUM_PERM)
        shared = minhash.bucket_sizes(minhash.band_keys(signature, bands, rows, salt=owner)).max(axis=0)  # per prompt
        templated = np.bincount(owner - batch_first, weights=shared >= 2, minlength=last - batch_first)
        # the account's representative: the prompt in its biggest bucket (first in sample order on ties)
        order = np.lexsort((np.arange(len(owner)), -shared, owner))
        leaders = order[minhash.run_starts(owner[order])]
        frames = _frame_signatures(shingles["h"], starts, owner, shared >= 2)
        for prompt in leaders:
            acct = int(owner[prompt])
            feature = features[names[acct]]
            feature.templatedness = float(templated[acct - batch_first]) / feature.template_prompts
            if templated[acct - batch_first] >= 3:
                frame = frames.get(acct)
                feature.template_signature = frame if frame is not None else signature[:, prompt].copy()


def _frame_signatures(hashes: np.ndarray, starts: np.ndarray, owner: np.ndarray, templated: np.ndarray) -> dict[int, np.ndarray]:
    """Per account, the MinHash signature of its frame (the shingles in ``FRAME_SHARE`` of its templated prompts).

    ``hashes[starts[k]:starts[k+1]]`` are prompt k's shingles, ``owner[k]`` its account, ``templated[k]``
    whether it has a near-duplicate. The frame is what an operator's script wraps around every item
    (its tags, instructions, format request); the items themselves (problems from a shared dataset,
    filled numbers) vary from prompt to prompt and fall out of it.
    """
    from provenance.traffic import minhash

    lengths = np.diff(np.append(starts, len(hashes)))
    prompt_of = np.repeat(np.arange(len(starts)), lengths)
    keep = templated[prompt_of]
    distinct, _ = minhash.sorted_counts(np.sort((prompt_of[keep].astype(np.uint64) << np.uint64(32)) | hashes[keep].astype(np.uint64)))
    prompt, shingle = (distinct >> np.uint64(32)).astype(np.int64), distinct & np.uint64(0xFFFFFFFF)
    pairs, counts = minhash.sorted_counts(np.sort((owner[prompt].astype(np.uint64) << np.uint64(32)) | shingle))
    account = (pairs >> np.uint64(32)).astype(np.int64)
    accounts, per_account = minhash.sorted_counts(np.sort(owner[templated]))
    in_frame = counts >= FRAME_SHARE * per_account[np.searchsorted(accounts, account)]
    account, shingle = account[in_frame], pairs[in_frame] & np.uint64(0xFFFFFFFF)
    if not len(account):
        return {}
    first = minhash.run_starts(account)
    sizes = np.diff(np.append(first, len(account)))
    signature = minhash.signatures(shingle, first, NUM_PERM)
    return {int(account[f]): signature[:, k].copy() for k, (f, n) in enumerate(zip(first, sizes)) if n >= MIN_FRAME_SHINGLES}


def robust_z(values: list[float], floor: float) -> tuple[float, float]:
    """Median and MAD-based scale of a population; ``floor`` is the smallest difference that means anything
    (a feature most accounts share exactly, like a templatedness of 0, would otherwise divide by zero)."""
    ordered = sorted(values)
    median = ordered[len(ordered) // 2]
    mad = sorted(abs(v - median) for v in values)[len(values) // 2]
    return median, max(1.4826 * mad, floor)


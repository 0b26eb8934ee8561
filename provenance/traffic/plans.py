"""Accounts working through one content plan: the same rare items, complementary coverage, one schedule.

A careful operator deals the items of one generated space (tasks over topics, one template
over many texts) to a few accounts, each with its own wording, paced under any limit. Their
prompts share no template, but they share the plan's *items*: words (stop words and numbers
dropped) that few accounts in the whole log use (at most ``RARE_SHARE`` of accounts, or
``RARE_MIN`` in a small log, and at least two), and they share them with each other far more
than with anyone else. Single words, not word pairs: a pair joins an account's own wording to
an item ("explain photosynthesis"), so at scale, where other operators' accounts use the same
pairs, an account's rare pairs say more about its wording than about its plan (on the tuning
seed's million-exchange log, one plan's accounts fell to a Jaccard of 0.08-0.17 over pairs,
0.49-0.70 over words). Two such accounts are linked when

* each sent at least ``MIN_PROMPTS`` distinct prompts, nearly all single-shot;
* the Jaccard similarity of their rare-term sets is at least ``PLAN_JACCARD``;
* they worked over the same period: the overlap of their first-to-last spans is at least
  ``SPAN_OVERLAP`` of the union of the two;
* their coverage is complementary: they share at most ``COMPLEMENTARY`` of their sampled
  prompts verbatim.

The link's evidence names the shared rare terms (a few), the spans, and how many exact
prompts the two share (complementary coverage: one plan's accounts rarely ask the same
thing twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from provenance.traffic.features import AccountFeatures

MIN_PROMPTS = 30
#: Sampled prompts per account read for its terms (bounded cost; at least ``MIN_PROMPTS``).
PLAN_SAMPLE = 120
SINGLE_SHOT = 0.9
#: A term is rare when at most this share of accounts (and at most ``RARE_MIN`` accounts in a small log) use it.
RARE_SHARE = 0.01
RARE_MIN = 8
#: An account needs this many rare terms to be compared.
MIN_RARE_TERMS = 10
PLAN_JACCARD = 0.45
SPAN_OVERLAP = 0.7
#: Complementary coverage: two accounts of one plan ask the same prompt at most this share of their sampled prompts
#: (one plan deals each item once; operators that share wording and topics ask some of the same things).
COMPLEMENTARY = 0.02


def plan_pairs(con: Any, features: dict[str, AccountFeatures]) -> list[tuple[str, str, dict[str, Any]]]:  # noqa: ANN401
    """Pairs of accounts that work through one content plan, with the evidence (see the module's rules)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    eligible = sorted(a for a, f in features.items() if f.template_prompts >= MIN_PROMPTS and f.single_shot_share >= SINGLE_SHOT)
    if len(eligible) < 2:
        return []
    rows = con.execute(f"SELECT account_id, string_agg(regexp_replace(lower(prompt), '\\d+', ' ', 'g'), ' \n ') FROM sampled "
                       f"WHERE i <= {PLAN_SAMPLE} GROUP BY account_id").fetchall()  # fmt: skip
    everyone = [a for a, _ in rows]
    vectorizer = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS), binary=True, token_pattern=r"(?u)\b[a-z][a-z]+\b")
    try:
        matrix = vectorizer.fit_transform([t for _, t in rows]).tocsc()
    except ValueError:
        return []
    df = np.asarray(matrix.sum(axis=0)).ravel()
    rare = np.flatnonzero((df >= 2) & (df <= max(RARE_MIN, RARE_SHARE * len(everyone))))
    position = {a: k for k, a in enumerate(everyone)}
    chosen = [position[a] for a in eligible if a in position]
    names = [everyone[k] for k in chosen]
    sub = matrix[:, rare].tocsr()[chosen]
    sizes = np.asarray(sub.sum(axis=1)).ravel()
    keep = np.flatnonzero(sizes >= MIN_RARE_TERMS)
    if len(keep) < 2:
        return []
    sub, sizes, names = sub[keep], sizes[keep], [names[k] for k in keep]
    shared = sparse.triu(sub @ sub.T, k=1).tocoo()
    terms = vectorizer.get_feature_names_out()[rare]
    found = []
    for i, j, common in zip(shared.row.tolist(), shared.col.tolist(), shared.data.tolist()):
        jaccard = common / (sizes[i] + sizes[j] - common)
        if jaccard < PLAN_JACCARD:
            continue
        a, b = features[names[i]], features[names[j]]
        overlap = _span_overlap(a, b)
        if overlap < SPAN_OVERLAP:
            continue
        both = sub[i].multiply(sub[j]).indices
        found.append((names[i], names[j], {"jaccard": round(float(jaccard), 3), "rare_terms_shared": int(common),
                                           "examples": [str(t) for t in terms[both][:5]], "span_overlap": round(overlap, 3)}))  # fmt: skip
    if found:
        _same_prompts(con, found)
    limit = {a: max(1, COMPLEMENTARY * features[a].template_prompts) for a in names}
    return [(a, b, e) for a, b, e in found if e["identical_prompts"] <= min(limit[a], limit[b])]


def _span_overlap(a: AccountFeatures, b: AccountFeatures) -> float:
    first = [datetime.fromisoformat(a.first_seen), datetime.fromisoformat(b.first_seen)]
    last = [datetime.fromisoformat(a.last_seen), datetime.fromisoformat(b.last_seen)]
    union = (max(last) - min(first)).total_seconds()
    inter = (min(last) - max(first)).total_seconds()
    return max(inter, 0.0) / union if union > 0 else 1.0


def _same_prompts(con: Any, found: list[tuple[str, str, dict[str, Any]]]) -> None:  # noqa: ANN401
    """How many identical prompts each linked pair shares (complementary coverage shows as nearly none)."""
    pairs = [(a, b) for a, b, _ in found]
    con.execute("CREATE OR REPLACE TEMP TABLE plan_pairs AS SELECT unnest(?::VARCHAR[]) AS a, unnest(?::VARCHAR[]) AS b",
                [[a for a, _ in pairs], [b for _, b in pairs]])  # fmt: skip
    counts = dict(((a, b), n) for a, b, n in con.execute("""
        SELECT p.a, p.b, count(*) FROM plan_pairs p JOIN sampled s ON s.account_id = p.a
        JOIN sampled t ON t.account_id = p.b AND t.prompt = s.prompt GROUP BY p.a, p.b
    """).fetchall())  # fmt: skip
    con.execute("DROP TABLE plan_pairs")
    for a, b, evidence in found:
        evidence["identical_prompts"] = int(counts.get((a, b), 0))

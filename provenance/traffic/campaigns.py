"""From accounts to campaigns: link accounts that share an operator, score each group as a whole.

Links (union-find over accounts):

* the same payment id;
* the same /24 source prefix *and* the same user agent (a proxy pool run by one
  script), unless that pair is shared by a large part of the population;
* the same prompt frame (MinHash LSH over each account's frame: the wording its
  script wraps around every item), checked on the whole signature: accounts that
  sweep one template belong together however they hide, and operators that sweep
  the same problem texts in their own wording stay apart;
* lock-step activity: the same 5-second moments (MinHash LSH over each account's
  active moments, the first moment of each minute left out, where scheduled jobs
  fire), so accounts fired by one dispatcher belong together whatever else differs.

A group is scored on what distillers need and ordinary users do not do, each as a
robust z-score against all accounts (median and MAD, so a campaign minority does
not hide itself by moving the reference): templated prompts, reasoning and code
focus, single-shot requests, machine-regular pacing, activity spread over all 24
hours, a jump after a release date; plus how many accounts and how many *separate
payers* hide behind one piece of infrastructure or template. The score is the
mean over the group's accounts of the positive z-scores (each capped), plus
``PAYER_WEIGHT`` times log2 of the separate payers behind the group's links. A group is
flagged when its score reaches the threshold *and* it asks for reasoning or code beyond
the population (``FOCUS_REQUIRED``): automation of other tasks is regular, templated and
can span many payers (one product used by many customers) without extracting anything a
distiller wants. What made the group stand out is reported in words with the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from provenance.traffic import minhash
from provenance.traffic.features import NUM_PERM, AccountFeatures, robust_z

#: Estimated Jaccard similarity of two accounts' active moments above which they act in lock-step.
LOCKSTEP_JACCARD = 0.5
#: Estimated Jaccard similarity of two accounts' frames above which one script wrote both (operators that share
#: stock phrases like "step by step" but not their whole wording stay apart).
FRAME_JACCARD = 0.8
#: LSH finds candidate pairs down to about this similarity; the thresholds above are then checked exactly.
CANDIDATE_JACCARD = 0.5

#: A (prefix, user agent) pair shared by more than this share of accounts links nobody (a big ISP, a browser).
COMMON_INFRASTRUCTURE = 0.2
#: An account links by template only when nearly all it sends follows templates (an operator's sweep accounts
#: send little else; a research group mixing benchmark prompts into ordinary use does not), and it sent enough to tell.
TEMPLATED = 0.7
MIN_TEMPLATED_PROMPTS = 10
#: Weight of each doubling of separate payers behind one link: hiding one operator behind many payers.
PAYER_WEIGHT = 5.0
#: Cap of one feature's contribution, in robust z units.
Z_CAP = 6.0
#: A group is flagged only if it asks for what distillers extract: its reasoning-or-code share at least this many
#: robust z units above the population. Automation alone (scheduled jobs, app backends, products that send one
#: template for many customers) is regular, templated and spread over many payers too, but asks for neither.
FOCUS_REQUIRED = 1.0
#: Flagging threshold on the campaign score: chosen on the tuning seed of the traffic bench (docs/traffic.md).
DEFAULT_THRESHOLD = 23.6

_FEATURES = {  # name: (words, value, floor of the robust scale)
    "templatedness": ("templated prompts (share with a near-duplicate)", lambda f: f.templatedness, 0.1),
    "focus": ("reasoning or code requests (share)", lambda f: max(f.reasoning_share, f.code_share), 0.1),
    "single_shot": ("single-shot requests (share)", lambda f: f.single_shot_share, 0.1),
    "regularity": ("machine-regular pacing (-log of the gaps' coefficient of variation)",
                   lambda f: -math.log(max(f.pacing_cv, 1e-3)) if f.pacing_cv is not None else 0.0, 0.5),
    "round_the_clock": ("activity spread over 24 hours (hour entropy)", lambda f: f.hour_entropy, 0.1),
    "release": ("requests in the day after a release (share)", lambda f: f.after_release_share or 0.0, 0.1),
}  # fmt: skip


@dataclass
class Campaign:
    """A group of accounts scored as one operator."""

    accounts: list[str]
    score: float
    flagged: bool
    extracts: bool  # asks for reasoning or code beyond the population (``FOCUS_REQUIRED``): a precondition of flagging
    requests: int
    payers: int
    links: dict[str, list[str]]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    first_seen: str = ""
    last_seen: str = ""

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {"rank": rank, "score": round(self.score, 3), "flagged": self.flagged, "asks_for_reasoning_or_code": self.extracts,
                "accounts": self.accounts,
                "account_count": len(self.accounts), "requests": self.requests, "separate_payers": self.payers,
                "first_seen": self.first_seen, "last_seen": self.last_seen, "links": self.links, "evidence": self.evidence}  # fmt: skip


class _Groups:
    def __init__(self, items: list[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, item: str) -> str:
        while self.parent[item] != item:
            self.parent[item] = self.parent[self.parent[item]]
            item = self.parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def link_accounts(features: dict[str, AccountFeatures]) -> tuple[dict[str, list[str]], dict[str, dict[str, set[str]]]]:
    """Groups of accounts (by representative) and, per group, what linked them."""
    accounts = sorted(features)
    groups = _Groups(accounts)
    reasons: dict[str, dict[str, set[str]]] = {a: {} for a in accounts}

    def join(members: list[str], kind: str, value: str) -> None:
        for other in members[1:]:
            groups.union(members[0], other)
        for member in members:
            reasons[member].setdefault(kind, set()).add(value)

    by_payment: dict[str, list[str]] = {}
    by_infra: dict[tuple[str, str], list[str]] = {}
    for account in accounts:
        f = features[account]
        for payment in f.payment_ids:
            by_payment.setdefault(payment, []).append(account)
        for prefix in f.ip_prefixes:
            for agent in f.user_agents:
                by_infra.setdefault((prefix, agent), []).append(account)
    for payment, members in by_payment.items():
        if len(members) > 1:
            join(members, "payment id", payment)
    limit = max(2, COMMON_INFRASTRUCTURE * len(accounts))
    for (prefix, agent), members in by_infra.items():
        if 1 < len(members) <= limit:
            join(members, "ip prefix + user agent", f"{prefix}.0/24 with {agent}")
    with_template = [a for a in accounts if features[a].template_signature is not None
                     and features[a].templatedness >= TEMPLATED and features[a].template_prompts >= MIN_TEMPLATED_PROMPTS]  # fmt: skip
    for members in similar_pairs(with_template, [features[a].template_signature for a in with_template], FRAME_JACCARD):
        join(members, "prompt template", f"frame of {members[0]}")
    with_moments = [a for a in accounts if features[a].moment_signature is not None]
    for members in similar_pairs(with_moments, [features[a].moment_signature for a in with_moments], LOCKSTEP_JACCARD):
        join(members, "lock-step activity", f"{members[0]} and {members[1]}")
    grouped: dict[str, list[str]] = {}
    for account in accounts:
        grouped.setdefault(groups.find(account), []).append(account)
    return grouped, reasons


def similar_pairs(names: list[str], signatures: list[Any], threshold: float) -> list[list[str]]:
    """Pairs of names whose MinHash signatures estimate a Jaccard similarity of at least ``threshold``.

    Candidates come from LSH buckets (any band equal), with bands chosen for a Jaccard of
    ``CANDIDATE_JACCARD`` or ``threshold`` if lower: bands chosen for 0.8 itself would miss
    about half the pairs at 0.85. Each candidate pair is then checked on the whole signature
    (the share of equal values), so a bucket shared by chance links nobody.
    """
    if len(names) < 2:
        return []
    stacked = np.stack(signatures, axis=1)
    pairs: set[tuple[int, int]] = set()
    for band in minhash.band_keys(stacked, *minhash.lsh_bands(min(threshold, CANDIDATE_JACCARD), NUM_PERM)):
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        first = minhash.run_starts(ordered)
        sizes = np.diff(np.append(first, len(band)))
        for start, size in zip(first[sizes > 1].tolist(), sizes[sizes > 1].tolist()):
            members = order[start : start + size].tolist()  # a bucket: the sets sharing this band
            block = stacked[:, members].T  # (members, perms)
            anchors = members if size <= 200 else members[:1]  # a crowded bucket: every member against its first
            for anchor in anchors:
                agree = (block == stacked[:, anchor]).mean(axis=1)
                pairs.update((min(anchor, other), max(anchor, other)) for other, share in zip(members, agree.tolist())
                             if other != anchor and share >= threshold)  # fmt: skip
    return [sorted((names[a], names[b])) for a, b in sorted(pairs)]


def score_campaigns(features: dict[str, AccountFeatures], *, threshold: float = DEFAULT_THRESHOLD) -> list[Campaign]:
    """Every group of linked accounts, scored and ranked (highest first)."""
    grouped, reasons = link_accounts(features)
    population = {name: robust_z([get(f) for f in features.values()], floor) for name, (_, get, floor) in _FEATURES.items()}
    campaigns = []
    for members in grouped.values():
        contributions: dict[str, list[float]] = {name: [] for name in _FEATURES}
        for account in members:
            for name, (_, get, _floor) in _FEATURES.items():
                median, scale = population[name]
                contributions[name].append(min(max((get(features[account]) - median) / scale, 0.0), Z_CAP))
        behaviour = sum(sum(v) / len(v) for v in contributions.values())
        payers = len({p for a in members for p in features[a].payment_ids}) or len(members)
        hiding = PAYER_WEIGHT * math.log2(payers)
        score = behaviour + hiding
        evidence = []
        for name, (words, get, _floor) in _FEATURES.items():
            mean_z = sum(contributions[name]) / len(members)
            if mean_z >= 1.0:
                value = sum(get(features[a]) for a in members) / len(members)
                evidence.append({"feature": name, "words": words, "value": round(value, 3),
                                 "population_median": round(population[name][0], 3), "z": round(mean_z, 2)})  # fmt: skip
        evidence.sort(key=lambda e: -e["z"])
        if len(members) > 1:
            evidence.append({"feature": "accounts", "words": f"{len(members)} accounts, {payers} separate payers, linked by "
                             + ", ".join(sorted({k for a in members for k in reasons[a]})), "value": len(members)})
        extracts = sum(contributions["focus"]) / len(members) >= FOCUS_REQUIRED
        if not extracts and score >= threshold:
            evidence.append({"feature": "focus", "words": "not flagged: asks for reasoning or code no more than the population "
                             "(automation, not extraction, as far as this scan can tell)", "value": None})  # fmt: skip
        links = {kind: sorted({v for a in members for v in reasons[a].get(kind, ())})[:10]
                 for kind in sorted({k for a in members for k in reasons[a]})}  # fmt: skip
        campaigns.append(Campaign(
            accounts=sorted(members), score=score, flagged=extracts and score >= threshold, extracts=extracts,
            requests=sum(features[a].requests for a in members), payers=payers, links=links, evidence=evidence,
            first_seen=min(features[a].first_seen for a in members), last_seen=max(features[a].last_seen for a in members),
        ))  # fmt: skip
    campaigns.sort(key=lambda c: (-c.score, c.accounts[0]))
    return campaigns

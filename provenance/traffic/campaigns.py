"""From accounts to campaigns: link accounts that share an operator, name each member on its own evidence,
score each group as a whole.

Links (union-find over accounts), by strength:

* *identity*: the same payment id, organisation or API key id;
* *behaviour*: the same prompt frame (MinHash LSH over the wording a script wraps around
  every item), lock-step activity that survives per-account random delays (``timing``:
  co-activity at several windows against the pair's own time-shifted null), and one
  content plan (``plans``: rare items shared, complementary coverage, one schedule). A frame
  links two accounts only when it is *specific to them* (``FRAME_SPECIFIC``): their agreement,
  each shared signature value weighted by how rare it is among the log's templated accounts,
  still reaches the threshold, so wording many operators share (stock instructions, a public
  template) counts for little beside the part that is their own;
* *infrastructure*: the same /24 source prefix and user agent (a proxy pool run by one
  script), unless shared by a large part of the population. This is weak evidence (carrier
  NAT, one building's network, a popular browser, a cloud provider's range): it links two
  accounts only when **both** show behaviour of their own (``OWN_BEHAVIOUR``), neither is
  already linked to another account by identity or behaviour, and the place holds no two
  groups formed by such evidence (then it is a *shared range*, a proxy pool or provider that
  several operators use, and links nobody: issue 29, where operators on shared datacentre and
  residential ranges merged). Infrastructure never merges two groups. An account whose only
  tie to a group is shared infrastructure is never a member: it is listed apart, with the
  evidence, as "shares infrastructure, no behaviour of its own", and never exported or scored.

Every member's entry says why it is there: its own anomalous behaviour (the features
with their robust z) and each identity or behaviour link with the account at the other
end. A group is scored on its members only: the mean over them of the positive robust
z-scores (median and MAD of all accounts, each capped) of templated prompts, *request
focus* (divergence of the account's request types, learnt from the log, from the
population's: ``requests``), single-shot requests, machine-regular pacing, activity over
all 24 hours and a jump after a release date, plus ``PAYER_WEIGHT`` times log2 of the
separate payers among its members. A group is flagged when its score reaches the threshold
*and* it looks like extraction (``extracts``): it asks for request types the population
does not (``FOCUS_REQUIRED``), it asks for new answers rather than repeating prompts
(``NEW_ANSWERS``), and it is not a clock-driven schedule (``ON_THE_CLOCK``). The reasoning
and code word patterns are reported beside the evidence, describing what was asked; they
decide nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from provenance.traffic import minhash
from provenance.traffic.calibration import null_probability
from provenance.traffic.features import NUM_PERM, AccountFeatures, robust_z

#: Estimated Jaccard similarity of two accounts' frames above which one script wrote both (operators that share
#: stock phrases like "step by step" but not their whole wording stay apart).
FRAME_JACCARD = 0.8
#: LSH finds candidate pairs down to about this similarity; the thresholds above are then checked exactly.
CANDIDATE_JACCARD = 0.5
#: The same agreement with every shared signature value weighted by its rarity among templated accounts (log of
#: their number over the number holding that value at that position) must reach this too: a frame most of which
#: many accounts share (stock instructions, a public template) links only by the part specific to the pair. When
#: no value is commoner than another the two agreements are the same, so one script's accounts (identical frames)
#: link as before. Below ``FRAME_JACCARD`` because the few values where one script's accounts differ (a boundary
#: shingle of an account's own items) are rare by nature and weigh heavily: in a test log of six templated accounts,
#: one operator's frames agreeing at 0.88 weighed 0.79 (tests/test_traffic_links.py); ten operators sharing 60 of
#: their 66 frame shingles weigh about 0.45 (tests/test_traffic_scale_operators.py).
FRAME_SPECIFIC = 0.7

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
#: An account has behaviour of its own when at least two of the automation features (``OWN_FEATURES``) reach a robust
#: z of ``OWN_Z`` each and ``OWN_BEHAVIOUR`` together (one capped feature's worth), over at least
#: ``MIN_TEMPLATED_PROMPTS`` distinct prompts. One statistic alone is not enough: an ordinary user who words
#: everyday requests alike looks templated by chance (bench seed 3 had one at z 3.8 and seed 14 one at z 5.8, both
#: behind a campaign's /24 and browser, named under the earlier rules of this round; their pacing, hours and
#: request types were ordinary).
OWN_BEHAVIOUR = 6.0
OWN_Z = 2.0
OWN_FEATURES = ("templatedness", "request_focus", "regularity", "round_the_clock")
#: A group looks like extraction only if its members ask for request types the population does not (mean robust z of
#: ``request_focus`` at least this) ...
FOCUS_REQUIRED = 1.0
#: ... ask for new answers (mean share of distinct prompts at least this: an app replaying five reviews, a harness
#: replaying one benchmark each day, learn nothing new from the answers) ...
NEW_ANSWERS = 0.5
#: ... and do not fire on the clock (mean share of requests in the first seconds of a minute under this; a cron job
#: fires there, an extraction script has no reason to wait for the minute).
ON_THE_CLOCK = 0.5
#: Groups (besides every flagged one) whose null probability is estimated (``calibration``), by rank.
CALIBRATED_TOP = 50
#: Flagging threshold on the campaign score: chosen on the tuning seed of the traffic bench (docs/traffic.md).
DEFAULT_THRESHOLD = 21.4

_FEATURES = {  # name: (words, value, floor of the robust scale)
    "templatedness": ("templated prompts (share with a near-duplicate)", lambda f: f.templatedness, 0.1),
    "request_focus": ("request types the population does not ask for (divergence of the account's mix, nats)",
                      lambda f: f.request_focus, 0.1),
    "single_shot": ("single-shot requests (share)", lambda f: f.single_shot_share, 0.1),
    "regularity": ("machine-regular pacing (-log of the gaps' coefficient of variation)",
                   lambda f: -math.log(max(f.pacing_cv, 1e-3)) if f.pacing_cv is not None else 0.0, 0.5),
    "round_the_clock": ("activity spread over 24 hours (hour entropy)", lambda f: f.hour_entropy, 0.1),
    "release": ("requests in the day after a release (share)", lambda f: f.after_release_share or 0.0, 0.1),
}  # fmt: skip
#: Described beside the evidence, never scored: what the word patterns say the group asked for, and the gates' values.
_DESCRIPTIVE = {
    "reasoning_or_code": ("reasoning or code requests by word pattern (share; descriptive only)",
                          lambda f: max(f.reasoning_share, f.code_share)),
    "distinct_prompts": ("distinct prompts (share)", lambda f: f.distinct_prompt_share),
    "on_the_clock": ("requests in the first seconds of a minute (share)", lambda f: f.clock_aligned_share),
}  # fmt: skip


@dataclass
class Campaign:
    """A group of accounts scored as one operator: its members (each with why) and the accounts that only share
    its infrastructure (listed apart, never scored, exported or counted)."""

    accounts: list[str]
    score: float
    flagged: bool
    extracts: bool  # looks like extraction (``FOCUS_REQUIRED``, ``NEW_ANSWERS``, ``ON_THE_CLOCK``): a precondition of flagging
    requests: int
    payers: int
    links: dict[str, list[str]]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    first_seen: str = ""
    last_seen: str = ""
    members: list[dict[str, Any]] = field(default_factory=list)
    infrastructure_only: list[dict[str, Any]] = field(default_factory=list)
    asks_for_reasoning_or_code: bool = False
    null_probability: float | None = None  # estimated chance ordinary accounts, linked the same way, score as high
    null_draws: int = 0

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {"rank": rank, "score": round(self.score, 3), "flagged": self.flagged, "extracts": self.extracts,
                "asks_for_reasoning_or_code": self.asks_for_reasoning_or_code, "accounts": self.accounts,
                "account_count": len(self.accounts), "requests": self.requests, "separate_payers": self.payers,
                "first_seen": self.first_seen, "last_seen": self.last_seen, "links": self.links, "evidence": self.evidence,
                "estimated_chance_ordinary_accounts_score_as_high": self.null_probability, "null_draws": self.null_draws,
                "members": self.members, "shares_infrastructure_no_behaviour_of_its_own": self.infrastructure_only}  # fmt: skip


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


@dataclass
class Links:
    """What linking found: groups of members (by representative), each account's link kinds and values, each
    account's links in words, and for each account without behaviour of its own the infrastructure it shares."""

    groups: dict[str, list[str]]
    reasons: dict[str, dict[str, set[str]]]
    why: dict[str, list[tuple[str, str]]]  # account: (link in words, account at the other end)
    shares: dict[str, list[tuple[str, str]]]  # account without behaviour of its own: (account it shares with, where)


def own_z(features: dict[str, AccountFeatures]) -> tuple[dict[str, tuple[float, float]], dict[str, dict[str, float]]]:
    """The population's (median, scale) per scored feature, and every account's capped positive robust z per feature."""
    population = {name: robust_z([get(f) for f in features.values()], floor) for name, (_, get, floor) in _FEATURES.items()}
    z = {a: {name: min(max((get(f) - population[name][0]) / population[name][1], 0.0), Z_CAP)
             for name, (_, get, _floor) in _FEATURES.items()} for a, f in features.items()}  # fmt: skip
    return population, z


def has_own_behaviour(z: dict[str, float], prompts: int = MIN_TEMPLATED_PROMPTS) -> bool:
    """Whether an account's own traffic is anomalous: two or more of ``OWN_FEATURES`` at ``OWN_Z``, ``OWN_BEHAVIOUR``
    together, over ``prompts`` distinct prompts sampled (at least ``MIN_TEMPLATED_PROMPTS``)."""
    strong = [z[name] for name in OWN_FEATURES if z[name] >= OWN_Z]
    return prompts >= MIN_TEMPLATED_PROMPTS and len(strong) >= 2 and sum(strong) >= OWN_BEHAVIOUR


def link_accounts(features: dict[str, AccountFeatures], behaviour: list[tuple[str, str, str, str]] | None = None,
                  z: dict[str, dict[str, float]] | None = None) -> Links:  # fmt: skip
    """Groups of member accounts and, per account, what linked it (see the module's rules).

    ``behaviour``: further behaviour links as (account, account, kind, evidence in words), e.g. lock-step
    (``timing``) and content-plan (``plans``) pairs; ``z``: every account's robust z (``own_z``).
    """
    accounts = sorted(features)
    z = z if z is not None else own_z(features)[1]
    own = {a: has_own_behaviour(z[a], features[a].template_prompts) for a in accounts}
    groups = _Groups(accounts)
    reasons: dict[str, dict[str, set[str]]] = {a: {} for a in accounts}
    why: dict[str, list[tuple[str, str]]] = {a: [] for a in accounts}

    def pair(a: str, b: str, kind: str, value: str, words: str) -> None:
        groups.union(a, b)
        for one, other in ((a, b), (b, a)):
            reasons[one].setdefault(kind, set()).add(value)
            why[one].append((words, other))

    identities: dict[tuple[str, str], list[str]] = {}
    by_infra: dict[tuple[str, str], list[str]] = {}
    for account in accounts:
        f = features[account]
        for kind, values in (("payment id", f.payment_ids), ("organisation", f.organisations), ("API key", f.api_key_ids)):
            for value in values:
                identities.setdefault((kind, value), []).append(account)
        for prefix in f.ip_prefixes:
            for agent in f.user_agents:
                by_infra.setdefault((prefix, agent), []).append(account)
    for (kind, value), members in identities.items():
        for other in members[1:]:
            pair(members[0], other, kind, value, f"same {kind} {value}")
    with_template = [a for a in accounts if features[a].template_signature is not None
                     and features[a].templatedness >= TEMPLATED and features[a].template_prompts >= MIN_TEMPLATED_PROMPTS]  # fmt: skip
    for a, b in frame_pairs(with_template, [features[a].template_signature for a in with_template]):
        pair(a, b, "prompt template", f"frame of {a}", "the same prompt frame")
    for a, b, kind, words in behaviour or []:
        pair(a, b, kind, f"{a} and {b}", words)
    strong = {a for a in accounts if why[a]}  # linked to another account by identity or behaviour
    shares: dict[str, list[tuple[str, str]]] = {}
    limit = max(2, COMMON_INFRASTRUCTURE * len(accounts))
    for (prefix, agent), members in by_infra.items():
        if not 1 < len(members) <= limit:
            continue
        place = f"{prefix}.0/24 with {agent}"
        behaving = [m for m in members if own[m]]
        evidenced = {groups.find(m) for m in behaving if m in strong}
        if len(evidenced) < 2:  # not a shared range: link the accounts with behaviour of their own and no other link
            alone = [m for m in behaving if m not in strong]
            for other in alone[1:]:
                pair(alone[0], other, "ip prefix + user agent", place, f"the same {place}, both with behaviour of their own,")
        for member in members:
            if not own[member]:
                shares.setdefault(member, []).extend((other, place) for other in behaving)
    grouped: dict[str, list[str]] = {}
    for account in accounts:
        grouped.setdefault(groups.find(account), []).append(account)
    return Links(grouped, reasons, why, shares)


def frame_pairs(names: list[str], signatures: list[Any]) -> list[list[str]]:
    """Pairs of accounts whose frames agree at ``FRAME_JACCARD`` and, rarity-weighted, at ``FRAME_SPECIFIC``.

    A value's weight at a signature position is log((n + 1) / k), n the accounts compared and k those holding
    that value there. The weighted agreement of a pair is the weight of the positions where they agree over the
    mean of their total weights: a frame that many accounts share in large part agrees mostly on light values.
    """
    pairs = similar_pairs(names, signatures, FRAME_JACCARD)
    if not pairs:
        return []
    stacked = np.stack(signatures, axis=1)
    weights = np.empty(stacked.shape, dtype=np.float64)
    for position in range(stacked.shape[0]):
        _, inverse, counts = np.unique(stacked[position], return_inverse=True, return_counts=True)
        weights[position] = np.log((len(names) + 1) / counts[inverse])
    index = {name: k for k, name in enumerate(names)}
    kept = []
    for a, b in pairs:
        i, j = index[a], index[b]
        agree = stacked[:, i] == stacked[:, j]
        total = (weights[:, i].sum() + weights[:, j].sum()) / 2
        if total <= 0 or weights[agree, i].sum() / total >= FRAME_SPECIFIC:
            kept.append([a, b])
    return kept


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


def score_campaigns(features: dict[str, AccountFeatures], *, threshold: float = DEFAULT_THRESHOLD,
                    behaviour: list[tuple[str, str, str, str]] | None = None) -> list[Campaign]:  # fmt: skip
    """Every group of linked accounts, scored on its members and ranked (highest first).

    ``behaviour``: lock-step and content-plan links (``link_accounts``). An account whose only tie to
    any group is shared infrastructure and that has no behaviour of its own is no group of its own:
    it is listed with each group it shares infrastructure with (``Campaign.infrastructure_only``).
    """
    population, z = own_z(features)
    linked = link_accounts(features, behaviour, z)
    describe = {name: robust_z([get(f) for f in features.values()], 0.1) for name, (_, get) in _DESCRIPTIVE.items()}
    sharing: dict[str, list[tuple[str, str]]] = {}  # member: (account sharing its infrastructure, where); one pass, not one a group
    for account, found in linked.shares.items():
        for other, place in found:
            sharing.setdefault(other, []).append((account, place))
    campaigns = []
    for members in linked.groups.values():
        mean = {name: sum(z[a][name] for a in members) / len(members) for name in _FEATURES}
        payers = len({p for a in members for p in features[a].payment_ids}) or len(members)
        score = sum(mean.values()) + PAYER_WEIGHT * math.log2(payers)
        evidence = []
        for name, (words, get, _floor) in _FEATURES.items():
            if mean[name] >= 1.0:
                value = sum(get(features[a]) for a in members) / len(members)
                evidence.append({"feature": name, "words": words, "value": round(value, 3),
                                 "population_median": round(population[name][0], 3), "z": round(mean[name], 2)})  # fmt: skip
        evidence.sort(key=lambda e: -e["z"])
        values = {name: sum(get(features[a]) for a in members) / len(members) for name, (_, get) in _DESCRIPTIVE.items()}
        if len(members) > 1:
            evidence.append({"feature": "accounts", "words": f"{len(members)} accounts, {payers} separate payers, linked by "
                             + ", ".join(sorted({k for a in members for k in linked.reasons[a]})), "value": len(members)})
        for name, (words, _get) in _DESCRIPTIVE.items():
            evidence.append({"feature": name, "words": words, "value": round(values[name], 3),
                             "population_median": round(describe[name][0], 3), "descriptive": True})  # fmt: skip
        not_extraction = []
        if mean["request_focus"] < FOCUS_REQUIRED:
            not_extraction.append("asks for the request types the population asks for")
        if values["distinct_prompts"] < NEW_ANSWERS:
            not_extraction.append(f"repeats its prompts (distinct share {values['distinct_prompts']:.2f})")
        if values["on_the_clock"] >= ON_THE_CLOCK:
            not_extraction.append(f"fires on the clock like a scheduled job (share {values['on_the_clock']:.2f})")
        extracts = not not_extraction
        if not extracts and score >= threshold:
            evidence.insert(0, {"feature": "extraction", "words": "not flagged: " + "; ".join(not_extraction)
                                + " (automation, not extraction, as far as this scan can tell)", "value": None})  # fmt: skip
        member_set = set(members)
        beside: dict[str, dict[str, set[str]]] = {}
        for other in members:  # the accounts without behaviour of their own that share a member's infrastructure
            for account, place in sharing.get(other, ()):
                if account not in member_set:
                    beside.setdefault(account, {}).setdefault(place, set()).add(other)
        infrastructure = [{"account": a, "evidence": "; ".join(f"shares {place} with member(s) {', '.join(sorted(others)[:5])}"
                                                               + (f" and {len(others) - 5} more" if len(others) > 5 else "")
                                                               for place, others in sorted(places.items()))
                           + "; its own traffic shows no anomalous behaviour"} for a, places in sorted(beside.items())]  # fmt: skip
        links = {kind: sorted({v for a in members for v in linked.reasons[a].get(kind, ())})[:10]
                 for kind in sorted({k for a in members for k in linked.reasons[a]})}  # fmt: skip
        campaigns.append(Campaign(
            accounts=sorted(members), score=score, flagged=extracts and score >= threshold, extracts=extracts,
            requests=sum(features[a].requests for a in members), payers=payers, links=links, evidence=evidence,
            first_seen=min(features[a].first_seen for a in members), last_seen=max(features[a].last_seen for a in members),
            members=[{"account": a, "why": _why(z[a], linked.why[a], features[a].template_prompts)} for a in sorted(members)],
            infrastructure_only=infrastructure, asks_for_reasoning_or_code=values["reasoning_or_code"] >= 0.5,
        ))  # fmt: skip
    campaigns.sort(key=lambda c: (-c.score, c.accounts[0]))
    suspect = {a for c in campaigns if c.score >= threshold for a in c.accounts}  # the null is drawn from the rest
    totals = np.array([sum(z[a].values()) for a in sorted(features) if a not in suspect] or [0.0])
    for rank, campaign in enumerate(campaigns):
        if campaign.flagged or rank < CALIBRATED_TOP:
            payer_term = PAYER_WEIGHT * math.log2(campaign.payers)
            campaign.null_probability, campaign.null_draws = null_probability(totals, len(campaign.accounts), payer_term, campaign.score)
    return campaigns


def _why(z: dict[str, float], links: list[tuple[str, str]], prompts: int) -> list[str]:
    """Why an account is a member: its own anomalous behaviour (features at robust z >= 1) and its links, one line
    per kind of evidence with the accounts at the other end."""
    own = [f"{_FEATURES[name][0]}: z {value:.1f}" for name, value in sorted(z.items(), key=lambda kv: -kv[1]) if value >= 1.0]
    lines = [("own behaviour: " + "; ".join(own)) if has_own_behaviour(z, prompts) else "no anomalous behaviour of its own"]
    by_words: dict[str, list[str]] = {}
    for words, other in links:
        by_words.setdefault(words, []).append(other)
    for words, others in sorted(by_words.items()):
        others = sorted(set(others))
        lines.append(f"{words} with {', '.join(others[:8])}" + (f" and {len(others) - 8} more" if len(others) > 8 else ""))
    return lines

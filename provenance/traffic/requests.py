"""What an account asks for, learnt from the log itself: request types (TF-IDF clusters of prompts) and each
account's divergence from the population's mix of them.

No word list decides what extraction looks like: a distiller may want reasoning, code,
tool calls, translations, summaries or one benchmark's domain. Request types are
k-means clusters of TF-IDF vectors (word 1- and 2-grams, numbers masked) fitted on a
bounded sample of the log's prompts (``FIT_PROMPTS``, at most ``FIT_PER_ACCOUNT`` per
account so no busy account shapes the types alone). Each account's prompts (at most
``ASSIGN_PER_ACCOUNT`` of its sampled ones) are assigned to types; the population's mix
is the mean over *accounts* of their mixes (a campaign's volume does not make its own
request type look ordinary). An account's ``request_focus`` is the Kullback-Leibler
divergence (nats) of its mix, shrunk towards the population's by ``PRIOR`` pseudo-prompts
(a user with three prompts has no mix of its own to speak of), from the population's mix.
``request_type`` names the account's commonest type by its centroid's top terms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from provenance.traffic.features import AccountFeatures

#: Prompts the types are fitted on, and at most this many per account.
FIT_PROMPTS = 20_000
FIT_PER_ACCOUNT = 20
#: Prompts per account assigned to types (bounded cost: a million-exchange log has tens of thousands of accounts).
ASSIGN_PER_ACCOUNT = 24
#: Request types (k-means clusters), at most; fewer for a small log.
TYPES = 48
#: Pseudo-prompts of the population's mix added to each account's before the divergence.
PRIOR = 4.0


def request_types(con: Any, features: dict[str, AccountFeatures], seed: int = 0) -> dict[str, Any]:  # noqa: ANN401
    """Fit request types on the ``sampled`` table (see ``features.templatedness``), set every account's
    ``request_focus`` and ``request_type``; returns a description of the types for the scan report."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows = con.execute(f"""
        SELECT account_id, i, regexp_replace(lower(prompt), '\\d+', '0', 'g') AS text FROM sampled
        WHERE i <= {ASSIGN_PER_ACCOUNT} ORDER BY account_id, i
    """).fetchall()  # fmt: skip
    if len(rows) < 2:
        return {"types": 0}
    texts = [t for _, _, t in rows]
    fit = [k for k, (_, i, _) in enumerate(rows) if i <= FIT_PER_ACCOUNT]
    if len(fit) > FIT_PROMPTS:
        fit = sorted(np.random.default_rng(seed).choice(fit, FIT_PROMPTS, replace=False).tolist())
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=1 << 14, sublinear_tf=True, dtype=np.float32)
    try:
        fitted = vectorizer.fit_transform([texts[k] for k in fit])
    except ValueError:  # no term in two prompts: nothing to cluster
        return {"types": 0}
    k = max(2, min(TYPES, fitted.shape[0] // 20))
    model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=1, init_size=min(fitted.shape[0], 20 * k), batch_size=2048).fit(fitted)
    labels = model.predict(vectorizer.transform(texts))
    accounts = [a for a, _, _ in rows]
    names, index = np.unique(np.array(accounts, dtype=object), return_inverse=True)
    counts = np.zeros((len(names), k))
    np.add.at(counts, (index, labels), 1.0)
    mix = counts / counts.sum(axis=1, keepdims=True)
    population = mix.mean(axis=0)
    shrunk = (counts + PRIOR * population) / (counts.sum(axis=1, keepdims=True) + PRIOR)
    with np.errstate(divide="ignore", invalid="ignore"):
        divergence = np.where(shrunk > 0, shrunk * np.log(shrunk / population), 0.0).sum(axis=1)
    vocabulary = vectorizer.get_feature_names_out()
    words = [", ".join(vocabulary[j] for j in np.argsort(-centre)[:4]) for centre in model.cluster_centers_]
    top = counts.argmax(axis=1)
    for row, name in enumerate(names):
        feature = features[str(name)]
        feature.request_focus = float(divergence[row])
        feature.request_type = f"type {int(top[row])} ({words[top[row]]})"
    return {"types": k, "fitted_on": len(fit), "assigned": len(texts),
            "population_share": {f"type {j} ({words[j]})": round(float(population[j]), 4) for j in np.argsort(-population)}}  # fmt: skip

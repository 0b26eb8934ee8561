"""Response feature extractors: pure functions of stored responses, no model calls.

Each suite turns responses into the features its statistic needs:

* :mod:`~provenance.features.identity`: which model or vendor a response claims to be.
* :mod:`~provenance.features.refusal`: does a response refuse, and in which words.
* :mod:`~provenance.features.answers`: is an answer to a short factual question correct.
* :mod:`~provenance.features.style`: length, formatting and punctuation habits, n-grams.
"""

from provenance.features.answers import first_match, is_correct, normalise_answer
from provenance.features.identity import (
    AliasEntry,
    AliasTable,
    IdentityClaim,
    Mention,
    claims_identity,
    extract_identity_claims,
    load_aliases,
)
from provenance.features.refusal import RefusalVerdict, classify_refusal, refusal_phrases
from provenance.features.style import FEATURE_NAMES, feature_matrix, ngram_profile, style_features

__all__ = [
    "FEATURE_NAMES",
    "AliasEntry",
    "AliasTable",
    "IdentityClaim",
    "Mention",
    "RefusalVerdict",
    "claims_identity",
    "classify_refusal",
    "extract_identity_claims",
    "feature_matrix",
    "first_match",
    "is_correct",
    "load_aliases",
    "ngram_profile",
    "normalise_answer",
    "refusal_phrases",
    "style_features",
]

"""Words for a judge: plain names beside the test ids, and the report's glossary.

A test id (``teacher-identity-claims``) is what findings.json and the code call a
test; a reader who is not a statistician needs to know what it asks. A test the
report does not know yet keeps its id alone: an unknown name is never invented.
"""

from __future__ import annotations

#: Plain names of the tests, by test id.
PLAIN_NAMES: dict[str, str] = {
    "teacher-identity-claims": "claims to be the teacher",
    "refusal-decision-agreement": "refuses the same requests as the teacher",
    "refusal-wording-overlap": "refuses in the teacher's words",
    "lost-guardrails": "refuses harmful requests less often than the teacher",
    "cross-likelihood": "prefers the teacher's text",
    "answer-overlap": "shares the teacher's wording",
    "teacher-markers": "uses the teacher's characteristic phrases",
    "teacher-attribution": "reads as the teacher's writing",
    "error-consistency": "is wrong where the teacher is wrong",
    "shared-wrong-answers": "gives the teacher's wrong answers",
    "style-similarity": "writes in the teacher's style",
    "logged-vs-twin-likelihood": "prefers the harvested answers over fresh ones",
    "logged-vs-twin-overlap": "repeats the harvested answers more than fresh ones",
    "closed-model-green-hits": "carries the teacher's watermark (text)",
    "reading-mode-green-mass": "carries the teacher's watermark (probabilities)",
}


def plain(test_id: str) -> str:
    """``teacher-identity-claims (claims to be the teacher)``; an unknown id alone."""
    name = PLAIN_NAMES.get(str(test_id))
    return f"{test_id} ({name})" if name else str(test_id)


#: The glossary printed at the end of the report: (term, meaning), in reading order.
GLOSSARY: tuple[tuple[str, str], ...] = (
    ("Suspect", "the model under examination: was it derived from the teacher?"),
    ("Teacher", "the model the suspect may have been derived from (distilled, fine-tuned on its answers)."),
    ("Control", "an independent model, not derived from the teacher, answering the same prompts; the suspect must be closer "
                "to the teacher than the controls are, so that mere competence or a shared style does not count."),
    ("Reference model", "a further independent model whose answers serve as text neither compared model wrote."),
    ("Probe", "one prompt of a suite's fixed, published probe set."),
    ("Evidence row", "one stored request and the model's answer, with its hash; every number in this report is computed from them."),
    ("Chain head", "the hash of the last evidence row; because each row's hash covers the previous one, it commits to every row."),
    ("Journal", "the evidence store's record of when the design was fixed and of every analysis run, hash-chained like the evidence."),
    ("Null hypothesis", "the assumption a test tries to reject: here, that the suspect is one more independent model, no closer to "
                        "the teacher than the panel's independent models are."),
    ("p-value", "how often a result at least this extreme would arise if the null hypothesis were true; small values speak against it."),
    ("Alpha", "the largest chance, fixed before the analysis, of wrongly finding derivation across all family tests together "
              "(family-wise error rate)."),
    ("Holm correction", "a method that adjusts the p-values of several tests so that together they keep the family-wise alpha."),
    ("Family test", "a test whose result can change the verdict; descriptive tests are reported but never do."),
    ("Line of evidence", "tests that rest on the same answers (one suite's tests; suites that cite the same stored answers or "
                         "whose rejections disappear once the answers they share are removed): one finding, however many tests count it."),
    ("Leave one suite out", "the same decision rule, Holm's correction included, re-run without one suite's tests: whether the "
                            "verdict depends on that suite alone."),
    ("Qualification", "a fact of this case that weakens an assumption of the method, stated beside the verdict with what the "
                      "verdict then relies on."),
    ("Panel", "the independent models (controls and reference models) the suspect is compared with; the spread between them is "
              "what an independent model looks like."),
    ("Uninformative", "a test whose signal could not exist for these models (too few events to measure); it is left out of the family "
                      "instead of counted as evidence either way."),
    ("Effect and CI", "how large the difference is, with a confidence interval: the range of values consistent with the data at the stated level."),
    ("Cohen's kappa", "agreement between two models beyond what their own rates would produce by chance (0: chance, 1: complete)."),
    ("Jaccard index", "the share of distinct words two answers have in common (0: none, 1: the same words)."),
    ("Log-likelihood per byte", "how probable a model finds a text, per byte of the text (nats); higher means the text is more what the "
                                "model itself would write."),
    ("Exhibit", "stored answers quoted side by side to illustrate a test; chosen by a stated rule, never the evidence on their own."),
    ("Report hash", "the SHA-256 of the signed manifest, which names the hash of every attachment and every cited evidence row."),
)

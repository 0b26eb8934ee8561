"""Defaults that encode methodological choices, in one place with their reasons.

A case file may override each of them; the value used is recorded in evidence.
"""

#: Family-wise significance level. 0.01 rather than 0.05 because a finding may be
#: filed in court, where a false accusation costs more than a missed one.
DEFAULT_ALPHA = 0.01

#: Master seed; every sampled request derives its own stream from it.
DEFAULT_SEED = 20260101

#: Long enough for an identity claim or a refusal sentence, short enough to keep
#: a thousand-prompt collection cheap on CPU.
DEFAULT_MAX_NEW_TOKENS = 48

#: Greedy decoding by default: the model's single most likely answer, reproducible
#: across machines without relying on a sampler's random stream.
DEFAULT_TEMPERATURE = 0.0

#: Fewest events of the rarer kind (teacher's self-naming answers; refusals or
#: compliances; right or wrong answers) for which a suite's signal can exist at all.
#: Below it the test is reported as *uninformative* with the counts, not run: even a
#: perfect copy of the teacher could not reach the family threshold. Example: a
#: suspect naming the teacher in 4 of 73 answers against 0 of 146 control answers
#: gives a one-sided Fisher p of 0.004, above Holm's first threshold 0.01/8; 5 gives
#: 0.0005. The same count bounds a kappa whose rarer cell has fewer than 5 items.
MIN_SIGNAL_EVENTS = 5

#: Capability levels. The analysis reports each control's capability beside the
#: suspect's and warns when they are far apart, because every comparative statistic is
#: easiest to confound when they are; and a suspect more capable than *every* panel
#: model by these levels is outside the population the panel represents, so its
#: verdict is "not decidable with this panel" (``analysis.capability.panel_coverage``). Per-byte log-likelihood on the same reference text: 0.2
#: nats/byte (0.29 bits/byte) is about the gap between GPT-2 small and GPT-2 XL on
#: web text (Radford et al. 2019; Gao et al. 2020 report bits per byte on the Pile).
#: Accuracy on the errors probes: 15 percentage points.
CAPABILITY_GAP_WARN_NATS_PER_BYTE = 0.2
CAPABILITY_GAP_WARN_ACCURACY = 0.15


#: Watermark defaults (Kirchenbauer et al. 2023's recommended settings are gamma 0.25,
#: delta 2): a quarter of the vocabulary is green at each step and green tokens get a
#: logit bonus of 2, which is detectable from ~200 tokens yet barely changes quality.
WATERMARK_GAMMA = 0.25
WATERMARK_DELTA = 2.0
#: KGW's context width h: the previous token seeds the green list (h = 1, the
#: paper's main setting; larger h is harder to remove but needs more text).
WATERMARK_CONTEXT_WIDTH = 1

#: The distribution suite's margins of the previous release (0.1 nats/byte, 0.03 of n-grams, 0.5 log-odds:
#: "the suspect must exceed every control by more than this") are gone: with prompts as the unit any fixed
#: margin only moves the budget at which two independent models "differ". The family tests now take models as
#: the unit (``provenance.stats.panel``: MIN_PANEL_PARAMETRIC, PANEL_CHECK_ALPHA, with their reasons).

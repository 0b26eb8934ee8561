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

#: Capability warning levels (not decision thresholds: a warning never changes a
#: verdict). The analysis reports each control's capability beside the suspect's and
#: warns when they are far apart, because every comparative statistic is easiest to
#: confound when they are. Per-byte log-likelihood on the same reference text: 0.2
#: nats/byte (0.29 bits/byte) is about the gap between GPT-2 small and GPT-2 XL on
#: web text (Radford et al. 2019; Gao et al. 2020 report bits per byte on the Pile).
#: Accuracy on the errors probes: 15 percentage points.
CAPABILITY_GAP_WARN_NATS_PER_BYTE = 0.2
CAPABILITY_GAP_WARN_ACCURACY = 0.15

#: Reference-quality warning: an independent control should not prefer the teacher's
#: answers over the reference answers; when the controls' mean preference exceeds this
#: (nats/byte), the reference text is of another quality than the teacher's and a
#: capability gap between suspect and controls no longer cancels (see
#: ``stats.likelihood.likelihood_preference_test``).
REFERENCE_PREFERENCE_WARN_NATS_PER_BYTE = 0.2

#: Watermark defaults (Kirchenbauer et al. 2023's recommended settings are gamma 0.25,
#: delta 2): a quarter of the vocabulary is green at each step and green tokens get a
#: logit bonus of 2, which is detectable from ~200 tokens yet barely changes quality.
WATERMARK_GAMMA = 0.25
WATERMARK_DELTA = 2.0
#: KGW's context width h: the previous token seeds the green list (h = 1, the
#: paper's main setting; larger h is harder to remove but needs more text).
WATERMARK_CONTEXT_WIDTH = 1

#: Margins of the distribution suite's family tests: the suspect must exceed every control by
#: more than this, not merely by something. With hundreds of prompts a paired test finds any
#: difference between two models, and for two independent models its direction is a coin toss
#: per control: on the bench's tuning seed (lab seed 0, docs/bench.md) independent models beat
#: a control by up to 0.06 nats/byte in preference, 0.008 in marker rate and 0.33 in attribution
#: log-odds, derived students (3 % teacher share aside) by at least 0.88, 0.15 and 0.72. Each
#: margin is the geometric midpoint of that gap, rounded to one significant figure; chosen on
#: the tuning seed before the held-back seed was analysed.
CROSS_LIKELIHOOD_MARGIN_NATS_PER_BYTE = 0.1
MARKER_MARGIN = 0.03
ATTRIBUTION_MARGIN_LOG_ODDS = 0.5

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

#: Cross-likelihood margin. A suspect counts as closer to the teacher than a control
#: only if, on the teacher's own answers, it recovers more than this share of the
#: teacher's advantage over that control (per answer, the bar is
#: (1 - share) * control score + share * teacher's own score, in nats/token).
#: Independent models differ from each other on the teacher's text too: on the lab,
#: two independent controls differed by up to 1.3 nats/token, about 10% of the
#: teacher's own advantage, and with 300 answers that is "significant" without a
#: margin (false findings in 2 of 3 seeds, docs/calibration.md). Students recovered
#: 60% (with refusals stripped) to 95%. 0.25 sits between, with room on both sides.
CROSS_LIKELIHOOD_MIN_GAP_SHARE = 0.25

#: Watermark defaults (Kirchenbauer et al. 2023's recommended settings are gamma 0.25,
#: delta 2): a quarter of the vocabulary is green at each step and green tokens get a
#: logit bonus of 2, which is detectable from ~200 tokens yet barely changes quality.
WATERMARK_GAMMA = 0.25
WATERMARK_DELTA = 2.0
#: KGW's context width h: the previous token seeds the green list (h = 1, the
#: paper's main setting; larger h is harder to remove but needs more text).
WATERMARK_CONTEXT_WIDTH = 1

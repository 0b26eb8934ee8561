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

"""Methodological defaults of ``provenance.stats``, in one place with their reasons.

Every function takes these as keyword arguments, so a case file can override them;
the value actually used is recorded in each ``TestResult`` (``method``/``details``).
"""

from __future__ import annotations

#: Monte Carlo permutations. With m = 9999 the smallest attainable p-value,
#: 1/(m+1) = 1e-4, still clears a Holm threshold of alpha/k = 0.01/20 = 5e-4 for a
#: family of 20 tests at the project's alpha (provenance.config.DEFAULT_ALPHA), and the
#: Monte Carlo standard error of a p-value near 0.01 is sqrt(0.01*0.99/9999) ~ 0.001.
#: 9999 rather than 10000 so that (b+1)/(m+1) lands on round numbers
#: (Davison & Hinkley 1997, sec. 4.3; Phipson & Smyth 2010).
DEFAULT_N_PERMUTATIONS = 9999

#: Bootstrap resamples. Percentile/BCa intervals need far more resamples than a
#: standard error does (Efron & Tibshirani 1993, ch. 19: >= 1000 for percentile
#: intervals; BCa's acceleration estimate benefits from more); 9999 also matches
#: scipy.stats.bootstrap's default, so results agree with a plain scipy call.
DEFAULT_N_RESAMPLES = 9999

#: Bootstrap interval type. BCa is second-order accurate and transformation
#: respecting (Efron 1987; DiCiccio & Efron 1996); we fall back to percentile only
#: when BCa is undefined (e.g. a degenerate sample) and say so in the result.
DEFAULT_BOOTSTRAP_METHOD = "BCa"

#: Confidence level of every interval: the convention courts and journals expect.
#: All intervals are two-sided, whatever the test's alternative, so that one
#: sentence ("95% confidence interval") describes every interval in a report.
DEFAULT_CI_LEVEL = 0.95

#: Exact enumeration instead of Monte Carlo: a permutation test enumerates every
#: arrangement when there are no more of them than the Monte Carlo budget
#: (n_permutations). The exact p-value is then free of Monte Carlo error, and tiny
#: samples are not "resampled" 9999 times from a handful of distinct arrangements.
ENUMERATE_WHEN_AT_MOST_N_PERMUTATIONS = True

#: Rows of random arrangements evaluated at once. Bounds peak memory to about
#: PERMUTATION_BATCH * n * 8 bytes (n = pooled sample size); purely computational.
PERMUTATION_BATCH = 1000

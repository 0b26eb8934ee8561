"""Probe suites: data under probes/ plus a small class that turns answers into tested findings."""

from __future__ import annotations

from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest, Uninformative
from provenance.suites.distribution import DistributionSuite
from provenance.suites.errors import ErrorsSuite
from provenance.suites.identity import IdentitySuite
from provenance.suites.membership import MembershipSuite
from provenance.suites.refusal import RefusalSuite
from provenance.suites.style import StyleSuite
from provenance.suites.watermark import WatermarkSuite

#: Every suite that can be analysed, by name.
SUITES: dict[str, Suite] = {
    suite.name: suite for suite in (
        IdentitySuite(), RefusalSuite(), DistributionSuite(), ErrorsSuite(), StyleSuite(), WatermarkSuite(),
        MembershipSuite(),
    )
}

__all__ = ["SUITES", "Suite", "SuiteContext", "SuiteSkipped", "SuiteTest", "Uninformative"]

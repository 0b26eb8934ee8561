"""Pacing and backoff: the per-minute limits hold and retries wait as the server asks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from provenance.backends.ratelimit import RateLimiter, parse_retry_after, retry_delay


class FakeClock:
    """Time that moves only when the limiter sleeps, so a minute of pacing takes no time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_requests_per_minute_are_never_exceeded_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(requests_per_minute=5, clock=clock, sleep=clock.sleep)
    admitted = [limiter.acquire().at for _ in range(17)]
    for i, at in enumerate(admitted):
        assert sum(1 for other in admitted if at <= other < at + 60) <= 5, i
    assert admitted[4] == admitted[0] and admitted[5] == pytest.approx(admitted[0] + 60)


def test_tokens_per_minute_count_what_the_server_reported() -> None:
    clock = FakeClock()
    limiter = RateLimiter(tokens_per_minute=100, clock=clock, sleep=clock.sleep)
    first = limiter.acquire(60)
    limiter.settle(first, 20)  # the request used far fewer tokens than estimated
    limiter.acquire(60)
    assert clock.slept == []  # 20 + 60 fits in the minute
    limiter.acquire(60)  # 140 would not: wait for the first to leave the window
    assert clock.now == pytest.approx(first.at + 60)


def test_a_request_larger_than_the_token_limit_still_goes_alone() -> None:
    clock = FakeClock()
    limiter = RateLimiter(tokens_per_minute=10, clock=clock, sleep=clock.sleep)
    limiter.acquire(50)
    limiter.acquire(50)
    assert clock.now == pytest.approx(1060)


def test_retry_after_wins_over_backoff_and_backoff_grows_with_jitter() -> None:
    assert retry_delay(3, retry_after=7.0) == 7.0
    rng = random.Random(0)
    delays = [[retry_delay(a, base_s=1, cap_s=8, rng=rng) for a in range(1, 6)] for _ in range(50)]
    for attempt, ceiling in zip(range(5), (1, 2, 4, 8, 8)):
        column = [d[attempt] for d in delays]
        assert all(ceiling / 2 <= d <= ceiling for d in column)
        assert len(set(column)) > 1  # jitter: workers do not retry in lock-step


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None

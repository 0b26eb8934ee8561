"""Pacing and retry policy for API backends: spend the provider's limits, never exceed them.

Every API call costs money and most providers throttle per minute, so the client
paces itself (``RateLimiter``) instead of relying on 429 answers, and when it does
get a 429, a 5xx or a timeout it waits (``retry_delay``) before asking again:
the server's ``Retry-After`` when given, else exponential backoff with jitter so
that many workers do not retry in lock-step.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

#: Providers state their limits per minute; the limiter counts over the same window.
WINDOW_S = 60.0


class _Slot:
    """One admitted request in the window; its token count is corrected once usage is known."""

    __slots__ = ("at", "tokens")

    def __init__(self, at: float, tokens: int) -> None:
        self.at = at
        self.tokens = tokens


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits over a sliding 60 s window.

    ``acquire`` blocks until the request fits and returns a slot; ``settle`` replaces
    the slot's estimated tokens with what the server reported using. Thread-safe:
    one limiter is shared by all workers of a backend. A single request larger than
    the whole token limit is let through when the window is empty (else it never could be).
    """

    def __init__(
        self,
        requests_per_minute: int | None = None,
        tokens_per_minute: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._clock = clock
        self._sleep = sleep
        self._slots: deque[_Slot] = deque()
        self._lock = threading.Lock()
        #: Seconds spent waiting for the limits, for the benchmark and the evidence.
        self.waited_s = 0.0

    def _wait_needed(self, tokens: int, now: float) -> float:
        while self._slots and now - self._slots[0].at >= WINDOW_S:
            self._slots.popleft()
        if not self._slots:
            return 0.0
        fits_requests = self.rpm is None or len(self._slots) < self.rpm
        used = sum(slot.tokens for slot in self._slots)
        fits_tokens = self.tpm is None or used + tokens <= self.tpm
        if fits_requests and fits_tokens:
            return 0.0
        if not fits_requests:
            return WINDOW_S - (now - self._slots[0].at)
        # Wait until enough of the oldest slots have left the window.
        freed = 0
        for slot in self._slots:
            freed += slot.tokens
            if used - freed + tokens <= (self.tpm or 0):
                return WINDOW_S - (now - slot.at)
        return WINDOW_S - (now - self._slots[-1].at)

    def acquire(self, tokens: int = 0) -> _Slot:
        """Block until one more request of about ``tokens`` tokens fits; admit it."""
        if self.rpm is None and self.tpm is None:
            return _Slot(self._clock(), tokens)
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(tokens, now)
                if wait <= 0:
                    slot = _Slot(now, tokens)
                    self._slots.append(slot)
                    return slot
            wait = max(wait, 0.001)
            self.waited_s += wait
            self._sleep(wait)

    def settle(self, slot: _Slot, tokens: int) -> None:
        """Record the tokens a request really used (from the response's ``usage``)."""
        with self._lock:
            slot.tokens = tokens


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    base_s: float = 0.5,
    cap_s: float = 30.0,
    rng: random.Random | None = None,
) -> float:
    """How long to wait before retry number ``attempt`` (1 = the first retry).

    The server's ``Retry-After`` wins when present: it knows when capacity returns.
    Otherwise "equal jitter" backoff: half of ``min(cap, base * 2**(attempt-1))`` fixed,
    the other half random, so delays grow but concurrent workers spread out.
    """
    if retry_after is not None:
        return retry_after
    ceiling = min(cap_s, base_s * 2 ** (attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)

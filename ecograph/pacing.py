"""Pacing: one rate limiter shared by every crawl worker, and retry backoff.

The Hub counts API calls in fixed windows and says where a client stands on every
response: ``RateLimit: "api";r=<remaining>;t=<seconds to reset>`` and
``RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window>``. :class:`RateLimiter` is
fed from those headers (:meth:`RateLimiter.update`) and asked for permission before each
request (:meth:`RateLimiter.acquire`). It spreads the remaining quota, less a small safety
margin, over the time left in the window (a token bucket refilled at that rate, holding a
small burst, so short crawls are not slowed down), and blocks everyone until the reset when
the budget is spent. Without headers it never waits.

The module is pure apart from the clock: ``clock`` and ``sleep`` are injectable, so tests
drive it with a fake clock.

:func:`backoff_delay` is the retry policy: capped exponential backoff with full jitter,
honouring a server-given ``Retry-After`` / reset time.
"""

from __future__ import annotations

import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["RateLimiter", "RateLimitHeaders", "parse_rate_limit", "backoff_delay"]


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """The parsed ``RateLimit`` / ``RateLimit-Policy`` headers of one response."""

    remaining: int
    reset: float  # seconds until the window resets
    quota: int | None = None
    window: float | None = None


_RL_RE = re.compile(r"r\s*=\s*(?P<r>\d+)\s*;\s*t\s*=\s*(?P<t>\d+(?:\.\d+)?)")
_POLICY_RE = re.compile(r"q\s*=\s*(?P<q>\d+).*?w\s*=\s*(?P<w>\d+(?:\.\d+)?)")


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitHeaders | None:
    """Read the rate-limit headers of a response (case-insensitive); ``None`` if absent.

    >>> parse_rate_limit({"RateLimit": '"api";r=12;t=40',
    ...                   "RateLimit-Policy": '"fixed window";"api";q=500;w=300'})
    RateLimitHeaders(remaining=12, reset=40.0, quota=500, window=300.0)
    >>> parse_rate_limit({"Content-Type": "application/json"}) is None
    True
    """
    rl = policy = None
    for key, value in headers.items():
        k = key.lower()
        if k == "ratelimit":
            rl = value
        elif k == "ratelimit-policy":
            policy = value
    if not rl or not (m := _RL_RE.search(rl)):
        return None
    quota = window = None
    if policy and (p := _POLICY_RE.search(policy)):
        quota, window = int(p.group("q")), float(p.group("w"))
    return RateLimitHeaders(int(m.group("r")), float(m.group("t")), quota, window)


def backoff_delay(
    attempt: int,
    *,
    base: float = 0.5,
    cap: float = 30.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry).

    Full jitter: uniform in ``[0, min(cap, base * 2**(attempt-1))]``. When the server said
    how long to wait (``Retry-After`` or the rate-limit reset), wait that long plus a
    little jitter so that workers do not all come back at the same instant.

    >>> rng = random.Random(0)
    >>> all(0 <= backoff_delay(a, rng=rng) <= min(30, 0.5 * 2 ** (a - 1)) for a in range(1, 12))
    True
    >>> 10 <= backoff_delay(1, retry_after=10, rng=rng) <= 10.5
    True
    """
    draw = (rng or random).uniform
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    if retry_after is not None and retry_after > 0:
        return min(retry_after, 3600.0) + draw(0, min(base, ceiling))
    return draw(0, ceiling)


class RateLimiter:
    """A thread-safe limiter fed by the Hub's ``RateLimit`` headers.

    Parameters
    ----------
    clock, sleep
        Monotonic clock and sleep function (injectable for tests).
    margin
        Requests kept in reserve in every window, as a fraction of the quota (at least
        ``min_margin`` requests): other clients of the same token, requests in flight.
    burst
        Requests allowed back to back before pacing starts, as a fraction of the quota.
    reset_slack
        Seconds added to the announced reset time before a new window is assumed (the
        headers carry whole seconds).

    Examples
    --------
    >>> t = [0.0]
    >>> lim = RateLimiter(clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    >>> lim.acquire()                         # no headers yet: never waits
    0.0
    >>> lim.update(RateLimitHeaders(remaining=0, reset=10, quota=100, window=300))
    >>> round(lim.acquire(), 2)               # budget spent: wait for the reset
    10.25
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: float = 0.04,
        min_margin: int = 2,
        burst: float = 0.1,
        reset_slack: float = 0.25,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._margin_frac = margin
        self._min_margin = min_margin
        self._burst_frac = burst
        self._slack = reset_slack
        self._lock = threading.Lock()
        self._budget: int | None = None  # requests we may still send in this window
        self._reset_at: float | None = None  # clock time of the window's end
        self._quota: int | None = None
        self._window: float | None = None
        self._tat = 0.0  # last refill of the token bucket
        self._tokens = 0.0
        self._paused_until = 0.0
        self.requests = 0
        self.waits = 0
        self.wait_seconds = 0.0

    # ------------------------------------------------------------------ feeding

    def update(self, info: RateLimitHeaders | None) -> None:
        """Take the rate-limit state announced by one response into account."""
        if info is None:
            return
        with self._lock:
            now = self._clock()
            if info.quota is not None:
                self._quota = info.quota
            if info.window is not None:
                self._window = info.window
            new_reset = now + info.reset
            tol = 1.0 if self._window is None else min(1.0, self._window / 3)
            if self._reset_at is None or new_reset > self._reset_at + tol:
                # first header, or a window we had not noticed starting
                self._reset_at = new_reset
                self._budget = info.remaining
                self._tat = now
                self._tokens = self._burst_cap()
            elif new_reset >= self._reset_at - tol:
                # same window: the server may know of requests we did not count
                self._budget = min(self._budget, info.remaining) if self._budget is not None \
                    else info.remaining
                self._reset_at = max(self._reset_at, new_reset)
            # else: a late response from a window that has already ended; ignore it

    def pause_until_reset(self, seconds: float) -> None:
        """Block every caller for ``seconds`` (a 429 with ``Retry-After`` or a spent quota)."""
        with self._lock:
            now = self._clock()
            self._paused_until = max(self._paused_until, now + max(seconds, 0.0))
            if self._budget is not None and self._reset_at is not None and \
                    self._reset_at <= self._paused_until:
                self._budget = 0

    # ------------------------------------------------------------------ asking

    def _margin(self) -> int:
        if self._quota is None:
            return self._min_margin
        return max(self._min_margin, math.ceil(self._quota * self._margin_frac))

    def _burst_cap(self) -> float:
        return max(1.0, math.floor((self._quota or 0) * self._burst_frac))

    def _roll(self, now: float) -> None:
        """Start a new window when the announced reset has passed."""
        if self._reset_at is None or now < self._reset_at + self._slack:
            return
        if self._window:
            while self._reset_at + self._slack <= now:
                self._reset_at += self._window
            self._budget = self._quota
        else:  # window unknown: stop pacing until the next header
            self._reset_at = None
            self._budget = None
        self._tat = now
        self._tokens = self._burst_cap()

    def _reserve(self, now: float) -> float:
        """Take a slot and return 0, or return how long to wait before asking again."""
        if self._paused_until > now:
            return self._paused_until - now
        self._roll(now)
        if self._budget is None or self._reset_at is None:
            return 0.0
        usable = self._budget - self._margin()
        if usable <= 0:
            return max(self._reset_at + self._slack - now, 0.01)
        # token bucket: refill at the rate that spends what is left by the reset
        rate = usable / max(self._reset_at - now, 1e-3)
        cap = max(1.0, math.floor((self._quota or usable) * self._burst_frac))
        self._tokens = min(cap, self._tokens + rate * max(now - self._tat, 0.0))
        self._tat = now
        if self._tokens < 1.0:
            return (1.0 - self._tokens) / rate
        self._tokens -= 1.0
        self._budget -= 1
        return 0.0

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                wait = self._reserve(self._clock())
                if wait <= 0:
                    self.requests += 1
                    if waited > 0:
                        self.waits += 1
                        self.wait_seconds += waited
                    return waited
            self._sleep(wait)
            waited += wait

    # ------------------------------------------------------------------ reading

    @property
    def budget(self) -> int | None:
        """Requests left in the current window as the limiter believes (``None``: unknown)."""
        with self._lock:
            return self._budget

    def snapshot(self) -> dict[str, float]:
        """Counters for progress bars: ``requests``, ``waits``, ``wait_seconds``."""
        with self._lock:
            return {"requests": self.requests, "waits": self.waits,
                    "wait_seconds": self.wait_seconds}
